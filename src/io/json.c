/* Strict JSON parser into an arena tree, UTF-8 validation, and the JSON text
 * writer (escaped strings, locale-independent numbers).  See json.h for the
 * exact rules.  The parser is recursive descent with the depth bounded by the
 * options; children are collected on one shared growable stack and copied
 * into arena arrays when their container closes, so nodes carry no links. */
#include "io/json.h"

#include <inttypes.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH_LIMIT 1000

lam_json_options lam_json_defaults(void) { return (lam_json_options){.max_depth = 64}; }

const char *lam_json_type_name(lam_json_type t)
{
    switch (t) {
    case LAM_JSON_NULL: return "null";
    case LAM_JSON_BOOL: return "boolean";
    case LAM_JSON_NUMBER: return "number";
    case LAM_JSON_STRING: return "string";
    case LAM_JSON_ARRAY: return "array";
    case LAM_JSON_OBJECT: return "object";
    }
    return "?";
}

/* ---- UTF-8 -------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if invalid (Unicode
 * table 3-7: no overlongs, no surrogates, nothing above U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else
        return 0;
    if (n < len) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return len;
}

bool lam_json_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_seq(p + i, n - i);
        if (!k) return false;
        i += k;
    }
    return true;
}

/* ---- parser ------------------------------------------------------------- */

typedef struct parser {
    const char *s;
    size_t len, pos;
    int max_depth;
    lam_arena *arena;
    lam_json **stack; /* children of the open containers */
    size_t sp, scap;
    locale_t cloc;    /* "C" locale for strtod_l, or (locale_t)0 */
    lam_status status;
    lam_json_error *err;
} parser;

static lam_status perr(parser *p, size_t at, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static lam_status perr(parser *p, size_t at, const char *fmt, ...)
{
    if (p->status != LAM_OK) return p->status; /* keep the first error */
    char msg[sizeof p->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->err) {
        p->err->offset = at;
        memcpy(p->err->msg, msg, sizeof msg);
    }
    p->status = LAM_ERR_FORMAT;
    return lam_fail(LAM_ERR_FORMAT, "JSON: %s at byte %zu", msg, at);
}

static lam_status nomem(parser *p)
{
    if (p->status == LAM_OK) p->status = LAM_ERR_NOMEM;
    return p->status;
}

static void *palloc(parser *p, size_t size)
{
    void *q = lam_arena_alloc(p->arena, size);
    if (!q) {
        nomem(p);
        lam_fail(LAM_ERR_NOMEM, "JSON: out of memory");
    }
    return q;
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

/* Describe the character at `at` for an error message. */
static const char *describe(parser *p, size_t at, char *buf, size_t n)
{
    if (at >= p->len) return "end of input";
    unsigned char c = (unsigned char)p->s[at];
    if (c >= 0x21 && c < 0x7F) snprintf(buf, n, "'%c'", c);
    else snprintf(buf, n, "byte 0x%02X", c);
    return buf;
}

static lam_status push(parser *p, lam_json *v)
{
    if (p->sp == p->scap) {
        size_t ncap = p->scap ? p->scap * 2 : 64, bytes;
        if (!lam_mul_size(ncap, sizeof *p->stack, &bytes)) return nomem(p);
        lam_json **ns = lam_realloc(p->stack, p->scap * sizeof *p->stack, bytes);
        if (!ns) return nomem(p);
        p->stack = ns;
        p->scap = ncap;
    }
    p->stack[p->sp++] = v;
    return LAM_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Four hex digits at s[at..]; -1 if not. */
static long hex4(parser *p, size_t at)
{
    if (p->len - at < 4) return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p->s[at + (size_t)i]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    return v;
}

static size_t put_utf8(char *o, unsigned long cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Parse the string starting at the opening quote at p->pos. */
static lam_status parse_string(parser *p, const char **out, size_t *out_len)
{
    size_t start = p->pos; /* the opening quote */
    size_t i = start + 1;
    /* first pass: find the closing quote; the raw length bounds the decoded one */
    for (;;) {
        if (i >= p->len) return perr(p, start, "unterminated string");
        char c = p->s[i];
        if (c == '"') break;
        if (c == '\\') i++;
        i++;
    }
    size_t end = i;
    char *o = palloc(p, end - start); /* raw length - 1 + terminator */
    if (!o) return p->status;
    size_t k = 0;
    i = start + 1;
    while (i < end) {
        unsigned char c = (unsigned char)p->s[i];
        if (c < 0x20) return perr(p, i, "unescaped control character 0x%02X in string", c);
        if (c >= 0x80) {
            size_t n = utf8_seq((const unsigned char *)p->s + i, end - i);
            if (!n) return perr(p, i, "invalid UTF-8 in string");
            memcpy(o + k, p->s + i, n);
            k += n;
            i += n;
            continue;
        }
        if (c != '\\') {
            o[k++] = (char)c;
            i++;
            continue;
        }
        char e = p->s[i + 1]; /* i + 1 < end: the first pass skipped it */
        switch (e) {
        case '"': o[k++] = '"'; break;
        case '\\': o[k++] = '\\'; break;
        case '/': o[k++] = '/'; break;
        case 'b': o[k++] = '\b'; break;
        case 'f': o[k++] = '\f'; break;
        case 'n': o[k++] = '\n'; break;
        case 'r': o[k++] = '\r'; break;
        case 't': o[k++] = '\t'; break;
        case 'u': {
            long cp = hex4(p, i + 2);
            if (cp < 0 || i + 6 > end) return perr(p, i, "\\u must be followed by four hex digits");
            size_t adv = 6;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return perr(p, i, "unpaired low surrogate \\u%04lX", (unsigned long)cp);
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                long lo = -1;
                if (i + 12 <= end && p->s[i + 6] == '\\' && p->s[i + 7] == 'u') lo = hex4(p, i + 8);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return perr(p, i, "high surrogate \\u%04lX not followed by a low surrogate",
                                (unsigned long)cp);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                adv = 12;
            }
            k += put_utf8(o + k, (unsigned long)cp);
            i += adv;
            continue;
        }
        default: {
            char b[16];
            return perr(p, i, "invalid escape \\%s", describe(p, i + 1, b, sizeof b));
        }
        }
        i += 2;
    }
    o[k] = 0;
    *out = o;
    *out_len = k;
    p->pos = end + 1;
    return LAM_OK;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static lam_status parse_number(parser *p, lam_json *v)
{
    size_t start = p->pos, i = start;
    bool neg = false, frac = false;
    if (i < p->len && p->s[i] == '-') {
        neg = true;
        i++;
    }
    if (i >= p->len || !is_digit(p->s[i])) return perr(p, start, "invalid number");
    if (p->s[i] == '0') {
        i++;
        if (i < p->len && is_digit(p->s[i])) return perr(p, start, "leading zero in number");
    } else
        while (i < p->len && is_digit(p->s[i])) i++;
    size_t int_end = i;
    if (i < p->len && p->s[i] == '.') {
        frac = true;
        i++;
        if (i >= p->len || !is_digit(p->s[i])) return perr(p, i, "digit expected after '.'");
        while (i < p->len && is_digit(p->s[i])) i++;
    }
    if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
        frac = true;
        i++;
        if (i < p->len && (p->s[i] == '+' || p->s[i] == '-')) i++;
        if (i >= p->len || !is_digit(p->s[i])) return perr(p, i, "digit expected in exponent");
        while (i < p->len && is_digit(p->s[i])) i++;
    }
    v->type = LAM_JSON_NUMBER;
    v->is_int = !frac;
    if (!frac) {
        /* exact integer: accumulate the magnitude, allowing -2^63 */
        uint64_t mag = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        for (size_t j = start + neg; j < int_end; j++) {
            unsigned d = (unsigned)(p->s[j] - '0');
            if (mag > (lim - d) / 10) {
                v->int_overflow = true;
                break;
            }
            mag = mag * 10 + d;
        }
        if (!v->int_overflow)
            v->integer = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag)
                             : (int64_t)mag;
    }
    /* the double, via strtod on a NUL-terminated copy, in the C locale */
    size_t n = i - start;
    char small[64], *buf = small;
    if (n >= sizeof small) {
        buf = palloc(p, n + 1);
        if (!buf) return p->status;
    }
    memcpy(buf, p->s + start, n);
    buf[n] = 0;
    v->number = p->cloc ? strtod_l(buf, NULL, p->cloc) : strtod(buf, NULL);
    p->pos = i;
    return LAM_OK;
}

static int cmp_members(const void *a, const void *b)
{
    const lam_json *x = *(const lam_json *const *)a, *y = *(const lam_json *const *)b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    if (c) return c;
    return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* Move the children pushed since `mark` into the container `v`. */
static lam_status close_container(parser *p, lam_json *v, size_t mark)
{
    size_t n = p->sp - mark;
    v->n = n;
    p->sp = mark;
    if (!n) return LAM_OK;
    v->items = palloc(p, n * sizeof *v->items); /* n * 8 <= 8 * len: no overflow */
    if (!v->items) return p->status;
    memcpy(v->items, p->stack + mark, n * sizeof *v->items);
    if (v->type != LAM_JSON_OBJECT) return LAM_OK;
    v->sorted_ = palloc(p, n * sizeof *v->sorted_);
    if (!v->sorted_) return p->status;
    memcpy(v->sorted_, v->items, n * sizeof *v->items);
    qsort(v->sorted_, n, sizeof *v->sorted_, cmp_members);
    for (size_t j = 1; j < n; j++)
        if (cmp_members(&v->sorted_[j - 1], &v->sorted_[j]) == 0) {
            const lam_json *a = v->sorted_[j - 1], *b = v->sorted_[j];
            const lam_json *later = a->offset > b->offset ? a : b;
            return perr(p, later->offset, "duplicate key \"%.80s\" (value starts here)", later->key);
        }
    return LAM_OK;
}

static lam_status parse_value(parser *p, int depth, lam_json **out);

static lam_status parse_container(parser *p, int depth, lam_json *v)
{
    bool obj = p->s[p->pos] == '{';
    char close = obj ? '}' : ']';
    v->type = obj ? LAM_JSON_OBJECT : LAM_JSON_ARRAY;
    if (depth >= p->max_depth)
        return perr(p, p->pos, "nesting deeper than %d levels", p->max_depth);
    p->pos++;
    size_t mark = p->sp;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        return close_container(p, v, mark);
    }
    for (;;) {
        const char *key = NULL;
        size_t key_len = 0;
        char b[16];
        if (obj) {
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != '"')
                return perr(p, p->pos, "object key (a string) expected, found %s",
                            describe(p, p->pos, b, sizeof b));
            if (parse_string(p, &key, &key_len)) return p->status;
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':')
                return perr(p, p->pos, "':' expected after object key, found %s",
                            describe(p, p->pos, b, sizeof b));
            p->pos++;
        }
        lam_json *child;
        if (parse_value(p, depth + 1, &child)) return p->status;
        child->key = key;
        child->key_len = key_len;
        if (push(p, child)) return p->status;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            skip_ws(p);
            if (p->pos < p->len && p->s[p->pos] == close)
                return perr(p, p->pos, "trailing comma before '%c'", close);
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == close) {
            p->pos++;
            return close_container(p, v, mark);
        }
        return perr(p, p->pos, "',' or '%c' expected, found %s", close,
                    describe(p, p->pos, b, sizeof b));
    }
}

static bool match(parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0) return false;
    p->pos += n;
    return true;
}

static lam_status parse_value(parser *p, int depth, lam_json **out)
{
    skip_ws(p);
    lam_json *v = palloc(p, sizeof *v);
    if (!v) return p->status;
    v->offset = p->pos;
    *out = v;
    char b[16];
    if (p->pos >= p->len) return perr(p, p->pos, "value expected, found end of input");
    switch (p->s[p->pos]) {
    case '{':
    case '[': return parse_container(p, depth, v);
    case '"':
        v->type = LAM_JSON_STRING;
        return parse_string(p, &v->str, &v->len);
    case 't':
    case 'f':
    case 'n':
        if (match(p, "true")) v->type = LAM_JSON_BOOL, v->boolean = true;
        else if (match(p, "false")) v->type = LAM_JSON_BOOL, v->boolean = false;
        else if (match(p, "null")) v->type = LAM_JSON_NULL;
        else return perr(p, p->pos, "invalid literal (true, false or null expected)");
        return LAM_OK;
    default:
        if (p->s[p->pos] == '-' || is_digit(p->s[p->pos])) return parse_number(p, v);
        return perr(p, p->pos, "value expected, found %s", describe(p, p->pos, b, sizeof b));
    }
}

lam_status lam_json_parse(lam_arena *arena, const char *text, size_t len,
                          const lam_json_options *opt, lam_json **out, lam_json_error *err)
{
    if (!arena || (!text && len) || !out) return lam_fail(LAM_ERR_ARG, "lam_json_parse: NULL argument");
    *out = NULL;
    if (err) {
        err->offset = 0;
        err->msg[0] = 0;
    }
    lam_json_options o = opt ? *opt : lam_json_defaults();
    if (o.max_depth < 1) o.max_depth = 1;
    if (o.max_depth > MAX_DEPTH_LIMIT) o.max_depth = MAX_DEPTH_LIMIT;
    parser p = {.s = text ? text : "", .len = len, .max_depth = o.max_depth, .arena = arena,
                .err = err, .status = LAM_OK};
    /* glibc and musl return a static object for "C": this does not allocate */
    p.cloc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    lam_json *root = NULL;
    if (parse_value(&p, 0, &root) == LAM_OK) {
        skip_ws(&p);
        if (p.pos != p.len) {
            char b[16];
            perr(&p, p.pos, "unexpected %s after the JSON value", describe(&p, p.pos, b, sizeof b));
        }
    }
    if (p.cloc) freelocale(p.cloc);
    lam_free(p.stack);
    if (p.status != LAM_OK) return p.status;
    *out = root;
    return LAM_OK;
}

const lam_json *lam_json_get(const lam_json *obj, const char *key)
{
    if (!obj || obj->type != LAM_JSON_OBJECT || !key || !obj->n) return NULL;
    lam_json probe = {.key = key, .key_len = strlen(key)};
    const lam_json *pp = &probe;
    lam_json **hit = bsearch(&pp, obj->sorted_, obj->n, sizeof *obj->sorted_, cmp_members);
    return hit ? *hit : NULL;
}

/* ---- writing ------------------------------------------------------------ */

static bool buf_reserve(lam_json_buf *b, size_t extra)
{
    if (b->status != LAM_OK) return false;
    size_t need;
    if (!lam_add_size(b->len, extra, &need) || !lam_add_size(need, 1, &need)) {
        b->status = lam_fail(LAM_ERR_NOMEM, "JSON buffer size overflows");
        return false;
    }
    if (need <= b->cap) return true;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) {
            ncap = need;
            break;
        }
        ncap *= 2;
    }
    char *nd = lam_realloc(b->data, b->len, ncap);
    if (!nd) {
        b->status = LAM_ERR_NOMEM;
        return false;
    }
    b->data = nd;
    b->cap = ncap;
    return true;
}

void lam_json_buf_append(lam_json_buf *b, const void *p, size_t n)
{
    if (!buf_reserve(b, n)) return;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}

void lam_json_buf_puts(lam_json_buf *b, const char *s) { lam_json_buf_append(b, s, strlen(s)); }

void lam_json_buf_free(lam_json_buf *b)
{
    lam_free(b->data);
    *b = (lam_json_buf){0};
}

void lam_json_write_string(lam_json_buf *b, const char *s, size_t n)
{
    if (b->status != LAM_OK) return;
    if (!lam_json_utf8_valid(s, n)) {
        b->status = lam_fail(LAM_ERR_ARG, "string is not valid UTF-8: \"%.*s\"", (int)(n < 60 ? n : 60), s);
        return;
    }
    lam_json_buf_append(b, "\"", 1);
    size_t run = 0; /* start of the pending verbatim run */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        lam_json_buf_append(b, s + run, i - run);
        run = i + 1;
        char e[8];
        switch (c) {
        case '"': lam_json_buf_append(b, "\\\"", 2); break;
        case '\\': lam_json_buf_append(b, "\\\\", 2); break;
        case '\n': lam_json_buf_append(b, "\\n", 2); break;
        case '\t': lam_json_buf_append(b, "\\t", 2); break;
        case '\r': lam_json_buf_append(b, "\\r", 2); break;
        case '\b': lam_json_buf_append(b, "\\b", 2); break;
        case '\f': lam_json_buf_append(b, "\\f", 2); break;
        default:
            snprintf(e, sizeof e, "\\u%04x", c);
            lam_json_buf_append(b, e, 6);
        }
    }
    lam_json_buf_append(b, s + run, n - run);
    lam_json_buf_append(b, "\"", 1);
}

void lam_json_write_int(lam_json_buf *b, int64_t x)
{
    char t[32];
    int k = snprintf(t, sizeof t, "%" PRId64, x);
    lam_json_buf_append(b, t, (size_t)k);
}

/* printf's "%g" uses the locale's decimal point: rewrite any non-number
 * character run as '.' so the output is JSON in every locale. */
size_t lam_c_decimal(char *out, size_t cap, const char *t)
{
    size_t k = 0;
    bool in_other = false;
    for (size_t i = 0; t[i] && k + 1 < cap; i++) {
        char c = t[i];
        if (is_digit(c) || c == '-' || c == '+' || c == 'e' || c == 'E') {
            out[k++] = c;
            in_other = false;
        } else if (!in_other) {
            out[k++] = '.';
            in_other = true;
        }
    }
    out[k] = 0;
    return k;
}

static size_t fmt_double(char *out, size_t cap, int prec, double x)
{
    char t[64];
    snprintf(t, sizeof t, "%.*g", prec, x);
    return lam_c_decimal(out, cap, t);
}

void lam_json_write_double(lam_json_buf *b, double x)
{
    if (x != x || x - x != 0) { /* NaN or infinite */
        lam_json_buf_append(b, "null", 4);
        return;
    }
    locale_t cloc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    char t[64];
    size_t k = 0;
    for (int prec = 15; prec <= 17; prec++) {
        k = fmt_double(t, sizeof t, prec, x);
        if (prec == 17 || !cloc) break;
        if (strtod_l(t, NULL, cloc) == x) break;
    }
    if (cloc) freelocale(cloc);
    lam_json_buf_append(b, t, k);
}

void lam_json_key(lam_json_buf *b, const char *k)
{
    if (b->len && b->data && b->data[b->len - 1] != '{') lam_json_buf_append(b, ",", 1);
    lam_json_write_string(b, k, strlen(k));
    lam_json_buf_append(b, ":", 1);
}

void lam_json_put_str(lam_json_buf *b, const char *k, const char *v)
{
    lam_json_key(b, k);
    if (v) lam_json_write_string(b, v, strlen(v));
    else lam_json_buf_append(b, "null", 4);
}

void lam_json_put_int(lam_json_buf *b, const char *k, int64_t v)
{
    lam_json_key(b, k);
    lam_json_write_int(b, v);
}

void lam_json_put_double(lam_json_buf *b, const char *k, double v)
{
    lam_json_key(b, k);
    lam_json_write_double(b, v);
}

void lam_json_put_bool(lam_json_buf *b, const char *k, bool v)
{
    lam_json_key(b, k);
    lam_json_buf_puts(b, v ? "true" : "false");
}

void lam_json_put_raw(lam_json_buf *b, const char *k, const char *json)
{
    lam_json_key(b, k);
    lam_json_buf_puts(b, json ? json : "null");
}

void lam_json_write_string_lossy(lam_json_buf *b, const char *s, size_t n)
{
    if (b->status != LAM_OK) return;
    size_t cap;
    if (!lam_mul_size(n, 3, &cap)) {
        b->status = lam_fail(LAM_ERR_NOMEM, "JSON string of %zu bytes too long", n);
        return;
    }
    unsigned char *t = lam_malloc(cap + 1), *o = t;
    if (!t) {
        b->status = LAM_ERR_NOMEM;
        return;
    }
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(p + i, n - i);
        if (k) {
            memcpy(o, p + i, k);
            o += k;
            i += k;
        } else {
            memcpy(o, "\xEF\xBF\xBD", 3); /* U+FFFD */
            o += 3;
            i++;
        }
    }
    lam_json_write_string(b, (const char *)t, (size_t)(o - t));
    lam_free(t);
}

lam_status lam_json_buf_take(lam_json_buf *b, char **out)
{
    lam_status s = b->status;
    *out = s == LAM_OK ? b->data : NULL;
    if (s != LAM_OK) lam_json_buf_free(b);
    else *b = (lam_json_buf){0};
    return s;
}
