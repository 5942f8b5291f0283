/* NumPy .npy arrays: the strict reader (preamble, header dict, descr, shape,
 * exact data length; byte swapping and Fortran-to-C transposition), the
 * writer (np.save's header, atomic file), the element types and the
 * conversion to float.  Format and guarantees: see include/lamina/npy.h. */
#include "lamina/npy.h"

#include "io/atomic.h"
#include "io/fileio.h"
#include "io/json.h"
#include "io/npy_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- element types -------------------------------------------------------- */

static const struct {
    const char *name; /* NumPy's kind and size */
    size_t size;
} types[LAM_NPY_DTYPE_COUNT_] = {
    [LAM_NPY_BOOL] = {"b1", 1}, [LAM_NPY_I1] = {"i1", 1}, [LAM_NPY_U1] = {"u1", 1},
    [LAM_NPY_I2] = {"i2", 2},   [LAM_NPY_U2] = {"u2", 2}, [LAM_NPY_I4] = {"i4", 4},
    [LAM_NPY_U4] = {"u4", 4},   [LAM_NPY_I8] = {"i8", 8}, [LAM_NPY_U8] = {"u8", 8},
    [LAM_NPY_F2] = {"f2", 2},   [LAM_NPY_F4] = {"f4", 4}, [LAM_NPY_F8] = {"f8", 8},
};

const char *lam_npy_dtype_name(lam_npy_dtype t)
{
    return (unsigned)t < LAM_NPY_DTYPE_COUNT_ ? types[t].name : "?";
}

size_t lam_npy_dtype_size(lam_npy_dtype t)
{
    return (unsigned)t < LAM_NPY_DTYPE_COUNT_ ? types[t].size : 0;
}

static bool host_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

void lam_npy_free(lam_npy *a)
{
    if (!a) return;
    lam_free(a->data);
    lam_free(a);
}

/* ---- messages --------------------------------------------------------------- */

lam_status lam_npy_err_(lam_status s, const char *label, uint64_t off, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lam_fail(s, "%s: byte offset %" PRIu64 ": %s", label, off, msg);
}

/* Bytes of a hostile file shown safely: printable ASCII as is, the rest as
 * \xNN, cut at 40 bytes. */
static const char *show(const char *s, size_t n, char *buf, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i == 40) {
            memcpy(buf + k, "...", 3);
            k += 3;
            break;
        }
        if (c >= 0x20 && c < 0x7f && c != '\\') buf[k++] = (char)c;
        else k += (size_t)snprintf(buf + k, cap - k, "\\x%02x", c);
    }
    buf[k] = 0;
    return buf;
}

/* "(2, 3)" as Python prints the tuple: "()", "(3,)". */
static const char *shape_str(int ndim, const int64_t *dims, char *buf, size_t cap)
{
    size_t k = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%" PRId64, i ? ", " : "", dims[i]);
    if (k < cap) snprintf(buf + k, cap - k, ndim == 1 ? ",)" : ")");
    return buf;
}

/* ---- the header ---------------------------------------------------------------- */

typedef struct npy_info {
    lam_npy_dtype dtype;
    bool swap;       /* stored in the other byte order than the host's */
    bool fortran;
    int ndim;
    int64_t dims[LAM_NPY_MAX_DIMS];
    int64_t numel;
    uint64_t nbytes;
    uint64_t data_off; /* preamble + header */
    char descr[48];    /* as found, for messages */
} npy_info;

/* The header text h[0..n), at file offset base. */
typedef struct hparse {
    const char *s;
    size_t n, i;
    uint64_t base;
    const char *label;
} hparse;

static uint64_t at(const hparse *p) { return p->base + p->i; }

/* What is at the cursor, for messages. */
static const char *here(const hparse *p, char *buf, size_t cap)
{
    if (p->i >= p->n) return "the end of the header dict";
    unsigned char c = (unsigned char)p->s[p->i];
    if (c >= 0x20 && c < 0x7f) snprintf(buf, cap, "'%c'", c);
    else snprintf(buf, cap, "byte 0x%02x", c);
    return buf;
}

static void skip_ws(hparse *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static lam_status expected(const hparse *p, const char *what)
{
    char b[16];
    return lam_npy_err_(LAM_ERR_FORMAT, p->label, at(p),
                "expected %s in the header dict, found %s; hint: a .npy header is a dict such as "
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                what, here(p, b, sizeof b));
}

/* A quoted string: *s, *len point into the header. */
static lam_status parse_string(hparse *p, const char **s, size_t *len)
{
    if (p->i >= p->n || (p->s[p->i] != '\'' && p->s[p->i] != '"')) return expected(p, "a quoted string");
    char q = p->s[p->i];
    size_t start = p->i++;
    while (p->i < p->n && p->s[p->i] != q) {
        if (p->s[p->i] == '\\')
            return lam_npy_err_(LAM_ERR_FORMAT, p->label, at(p),
                        "escape sequence in a header string; hint: the keys and type strings of a "
                        ".npy header need none");
        if (p->s[p->i] == '\n') break;
        p->i++;
    }
    if (p->i >= p->n || p->s[p->i] != q)
        return lam_npy_err_(LAM_ERR_FORMAT, p->label, p->base + start,
                    "string opened here is not closed on its line");
    *s = p->s + start + 1;
    *len = p->i - start - 1;
    p->i++;
    return LAM_OK;
}

static lam_status parse_descr(hparse *p, npy_info *inf)
{
    uint64_t off = at(p);
    if (p->i < p->n && p->s[p->i] == '[')
        return lam_npy_err_(LAM_ERR_UNSUPPORTED, p->label, off,
                    "structured dtype (descr is a list of fields); hint: Lamina reads arrays of "
                    "one numeric type: b1, i1..i8, u1..u8, f2, f4, f8");
    const char *s;
    size_t n;
    lam_status st = parse_string(p, &s, &n);
    if (st) return st;
    char b[200];
    show(s, n, inf->descr, sizeof inf->descr);
    char order = '=';
    size_t k = 0;
    if (n && strchr("<>|=", s[0])) order = s[0], k = 1;
    for (int t = 0; t < LAM_NPY_DTYPE_COUNT_; t++)
        if (n - k == 2 && !memcmp(s + k, types[t].name, 2)) {
            inf->dtype = (lam_npy_dtype)t;
            bool le = host_little_endian();
            inf->swap = types[t].size > 1 && ((order == '<' && !le) || (order == '>' && le));
            return LAM_OK;
        }
    static const struct {
        char kind;
        const char *what;
    } kinds[] = {{'c', "complex numbers"},  {'O', "Python objects (pickled)"},
                 {'S', "byte strings"},     {'a', "byte strings"},
                 {'U', "unicode strings"},  {'V', "raw bytes or records"},
                 {'M', "datetime64 values"}, {'m', "timedelta64 values"},
                 {'f', "floats of this size"}, {'i', "integers of this size"},
                 {'u', "integers of this size"}, {'b', "booleans of this size"}};
    /* a NumPy type Lamina has no use for: kind, size digits ("O" alone;
     * datetimes may carry a unit such as "[ns]") */
    size_t j = k + 1;
    while (j < n && isdigit((unsigned char)s[j])) j++;
    bool sized = j > k + 1 || (n > k && s[k] == 'O');
    if (j < n && (s[k] == 'M' || s[k] == 'm') && s[j] == '[' && s[n - 1] == ']') j = n;
    if (n > k && sized && j == n)
        for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
            if (s[k] == kinds[i].kind)
                return lam_npy_err_(LAM_ERR_UNSUPPORTED, p->label, off,
                            "dtype '%s' (%s) is not supported; hint: Lamina reads b1, i1, u1, i2, "
                            "u2, i4, u4, i8, u8, f2, f4 and f8 arrays (convert with "
                            "a.astype(np.float32))",
                            show(s, n, b, sizeof b), kinds[i].what);
    return lam_npy_err_(LAM_ERR_FORMAT, p->label, off,
                "unknown dtype '%s'; hint: descr is a NumPy type string such as '<f4' or '|u1'",
                show(s, n, b, sizeof b));
}

static lam_status parse_bool(hparse *p, bool *out)
{
    size_t j = p->i;
    while (j < p->n && (isalnum((unsigned char)p->s[j]) || p->s[j] == '_')) j++;
    if (j - p->i == 4 && !memcmp(p->s + p->i, "True", 4)) *out = true;
    else if (j - p->i == 5 && !memcmp(p->s + p->i, "False", 5)) *out = false;
    else return expected(p, "True or False for 'fortran_order'");
    p->i = j;
    return LAM_OK;
}

/* A dimension: decimal digits, optionally Python 2's 'L' suffix. */
static lam_status parse_dim(hparse *p, int64_t *out)
{
    uint64_t off = at(p);
    if (p->i < p->n && p->s[p->i] == '-')
        return lam_npy_err_(LAM_ERR_FORMAT, p->label, off,
                    "negative dimension in 'shape'; hint: dimensions are integers >= 0");
    if (p->i >= p->n || !isdigit((unsigned char)p->s[p->i]))
        return expected(p, "a dimension (an integer >= 0) or ')' in 'shape'");
    if (p->s[p->i] == '0' && p->i + 1 < p->n && isdigit((unsigned char)p->s[p->i + 1]))
        return lam_npy_err_(LAM_ERR_FORMAT, p->label, off, "dimension with a leading zero in 'shape'");
    uint64_t v = 0;
    while (p->i < p->n && isdigit((unsigned char)p->s[p->i])) {
        unsigned d = (unsigned)(p->s[p->i] - '0');
        if (v > ((uint64_t)INT64_MAX - d) / 10)
            return lam_npy_err_(LAM_ERR_FORMAT, p->label, off,
                        "dimension in 'shape' exceeds 2^63 - 1; hint: the header is corrupt");
        v = v * 10 + d;
        p->i++;
    }
    if (p->i < p->n && (p->s[p->i] == 'L' || p->s[p->i] == 'l')) p->i++;
    if (p->i < p->n && (isalnum((unsigned char)p->s[p->i]) || p->s[p->i] == '_' || p->s[p->i] == '.'))
        return expected(p, "',' or ')' after a dimension in 'shape'");
    *out = (int64_t)v;
    return LAM_OK;
}

static lam_status parse_shape(hparse *p, npy_info *inf)
{
    uint64_t off = at(p);
    if (p->i < p->n && p->s[p->i] == '[')
        return lam_npy_err_(LAM_ERR_FORMAT, p->label, off,
                    "'shape' is a list; hint: it must be a tuple such as (2, 3)");
    if (p->i >= p->n || p->s[p->i] != '(') return expected(p, "a tuple such as (2, 3) for 'shape'");
    p->i++;
    int n = 0;
    bool comma = false;
    for (;;) {
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == ')') break;
        if (n && !comma) return expected(p, "',' or ')' in 'shape'");
        if (p->i < p->n && (p->s[p->i] == '(' || p->s[p->i] == '[' || p->s[p->i] == '{'))
            return lam_npy_err_(LAM_ERR_FORMAT, p->label, at(p),
                        "nested brackets in 'shape'; hint: the shape is a flat tuple of integers "
                        "such as (2, 3)");
        int64_t d = 0;
        lam_status st = parse_dim(p, &d);
        if (st) return st;
        if (n == LAM_NPY_MAX_DIMS)
            return lam_npy_err_(LAM_ERR_UNSUPPORTED, p->label, off,
                        "'shape' has more than %d dimensions; hint: LAM_NPY_MAX_DIMS = %d",
                        LAM_NPY_MAX_DIMS, LAM_NPY_MAX_DIMS);
        inf->dims[n++] = d;
        skip_ws(p);
        comma = p->i < p->n && p->s[p->i] == ',';
        if (comma) p->i++;
    }
    p->i++;
    if (n == 1 && !comma)
        return lam_npy_err_(LAM_ERR_FORMAT, p->label, off,
                    "'shape' (%" PRId64 ") is an integer in parentheses, not a tuple; hint: a "
                    "one-dimensional shape is written (%" PRId64 ",)",
                    inf->dims[0], inf->dims[0]);
    inf->ndim = n;
    return LAM_OK;
}

/* Parse the header text (its last byte, '\n', already checked and not
 * included in n).  Fills everything but data_off. */
static lam_status parse_dict(hparse *p, npy_info *inf)
{
    enum { K_DESCR, K_FORTRAN, K_SHAPE, K_COUNT };
    static const char *const keys[K_COUNT] = {"descr", "fortran_order", "shape"};
    uint64_t seen[K_COUNT] = {0};
    bool have[K_COUNT] = {false};
    uint64_t shape_off = 0;
    if (p->n == 0 || p->s[0] != '{')
        return lam_npy_err_(LAM_ERR_FORMAT, p->label, p->base,
                    "the header does not start with '{'; hint: a .npy header is a dict such as "
                    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
    p->i = 1;
    bool comma = true;
    for (;;) {
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == '}') break;
        if (!comma) return expected(p, "',' or '}'");
        if (p->i < p->n && (p->s[p->i] == '{' || p->s[p->i] == '[' || p->s[p->i] == '('))
            return lam_npy_err_(LAM_ERR_FORMAT, p->label, at(p),
                        "nested brackets where a key belongs; hint: the keys are 'descr', "
                        "'fortran_order' and 'shape'");
        uint64_t koff = at(p);
        const char *k;
        size_t kn;
        lam_status st = parse_string(p, &k, &kn);
        if (st) return st;
        int key = -1;
        for (int i = 0; i < K_COUNT; i++)
            if (kn == strlen(keys[i]) && !memcmp(k, keys[i], kn)) key = i;
        char b[200];
        if (key < 0)
            return lam_npy_err_(LAM_ERR_FORMAT, p->label, koff,
                        "unknown key '%s'; hint: a .npy header has exactly the keys 'descr', "
                        "'fortran_order' and 'shape'",
                        show(k, kn, b, sizeof b));
        if (have[key])
            return lam_npy_err_(LAM_ERR_FORMAT, p->label, koff,
                        "duplicate key '%s' (first at byte offset %" PRIu64 "); hint: each key "
                        "appears once",
                        keys[key], seen[key]);
        have[key] = true;
        seen[key] = koff;
        skip_ws(p);
        if (p->i >= p->n || p->s[p->i] != ':') return expected(p, "':' after the key");
        p->i++;
        skip_ws(p);
        if (key == K_DESCR) st = parse_descr(p, inf);
        else if (key == K_FORTRAN) st = parse_bool(p, &inf->fortran);
        else shape_off = at(p), st = parse_shape(p, inf);
        if (st) return st;
        skip_ws(p);
        comma = p->i < p->n && p->s[p->i] == ',';
        if (comma) p->i++;
    }
    p->i++;
    while (p->i < p->n && p->s[p->i] == ' ') p->i++;
    if (p->i < p->n) {
        char b[16];
        return lam_npy_err_(LAM_ERR_FORMAT, p->label, at(p),
                    "%s after the header dict; hint: the dict is followed only by spaces and "
                    "'\\n'",
                    here(p, b, sizeof b));
    }
    for (int i = 0; i < K_COUNT; i++)
        if (!have[i])
            return lam_npy_err_(LAM_ERR_FORMAT, p->label, p->base,
                        "the header has no key '%s'; hint: a .npy header has exactly the keys "
                        "'descr', 'fortran_order' and 'shape'",
                        keys[i]);
    /* the byte count, without overflow; a zero dimension makes it 0 */
    uint64_t numel = 1, esize = types[inf->dtype].size;
    bool zero = false, over = false;
    for (int i = 0; i < inf->ndim; i++) {
        uint64_t d = (uint64_t)inf->dims[i];
        if (d == 0) zero = true;
        else if (numel > (uint64_t)INT64_MAX / d) over = true;
        else numel *= d;
    }
    if (zero) numel = 0, over = false;
    if (over || numel > UINT64_MAX / esize) {
        char b[256];
        return lam_npy_err_(LAM_ERR_FORMAT, p->label, shape_off,
                    "shape %s of '%s' overflows (more than 2^63 elements or 2^64 bytes); hint: "
                    "the header is corrupt",
                    shape_str(inf->ndim, inf->dims, b, sizeof b), inf->descr);
    }
    inf->numel = (int64_t)numel;
    inf->nbytes = numel * esize;
    return LAM_OK;
}

/* Offset of the first invalid UTF-8 sequence in s[0..n), or n. */
static size_t utf8_bad(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t k = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (k > n - i || !lam_json_utf8_valid(s + i, k)) return i;
        i += k;
    }
    return n;
}

/* The 10- or 12-byte preamble: magic, version, header length.  `p` holds
 * the first min(size, 12) bytes of a source of `size` bytes.  Sets
 * inf->data_off and *hlen, *version. */
static lam_status parse_preamble(const unsigned char *p, uint64_t size, const char *label,
                                 npy_info *inf, uint32_t *hlen, int *version)
{
    static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    if (size == 0)
        return lam_npy_err_(LAM_ERR_FORMAT, label, 0,
                    "the file is empty; hint: a .npy file starts with \\x93NUMPY");
    size_t m = size < 6 ? (size_t)size : 6;
    if (memcmp(p, magic, m) != 0) {
        char b[64];
        bool zip = size >= 4 && !memcmp(p, "PK\x03\x04", 4);
        return lam_npy_err_(LAM_ERR_FORMAT, label, 0,
                    "not a .npy file: it starts with '%s', not \\x93NUMPY; hint: %s",
                    show((const char *)p, m, b, sizeof b),
                    zip ? "this is a ZIP archive: an .npz is read with lam_npz_open "
                          "(model files: path = FILE.npz)"
                        : "pass a file written by numpy.save");
    }
    if (size < 10)
        return lam_npy_err_(LAM_ERR_FORMAT, label, size,
                    "truncated: the file ends inside the 10-byte preamble (magic, version, header "
                    "length); hint: the file is incomplete");
    if ((p[6] != 1 && p[6] != 2 && p[6] != 3) || p[7] != 0)
        return lam_npy_err_(LAM_ERR_FORMAT, label, 6,
                    "unknown .npy format version %u.%u; hint: NumPy writes 1.0, 2.0 and 3.0",
                    p[6], p[7]);
    *version = p[6];
    uint64_t pre = *version == 1 ? 10 : 12;
    if (size < pre)
        return lam_npy_err_(LAM_ERR_FORMAT, label, size,
                    "truncated: the file ends inside the %" PRIu64 "-byte preamble of version "
                    "%d.0; hint: the file is incomplete",
                    pre, *version);
    uint32_t h = *version == 1 ? (uint32_t)(p[8] | p[9] << 8)
                               : (uint32_t)p[8] | (uint32_t)p[9] << 8 | (uint32_t)p[10] << 16 |
                                     (uint32_t)p[11] << 24;
    if (h > LAM_NPY_MAX_HEADER)
        return lam_npy_err_(LAM_ERR_FORMAT, label, 8,
                    "header length %" PRIu32 " exceeds the cap of %" PRIu32 " bytes; hint: the "
                    "file is corrupt (NumPy's headers take a few hundred bytes)",
                    h, LAM_NPY_MAX_HEADER);
    if (h > size - pre)
        return lam_npy_err_(LAM_ERR_FORMAT, label, 8,
                    "truncated: header length %" PRIu32 " runs past the end of the %" PRIu64
                    "-byte file; hint: the file is incomplete",
                    h, size);
    if (h == 0)
        return lam_npy_err_(LAM_ERR_FORMAT, label, pre, "the header is empty (length 0)");
    *hlen = h;
    inf->data_off = pre + h;
    return LAM_OK;
}

/* Check the header text hdr[0..hlen) at offset base. */
static lam_status parse_header(const char *hdr, uint32_t hlen, uint64_t base, int version,
                               const char *label, npy_info *inf)
{
    if (version == 3) {
        size_t bad = utf8_bad(hdr, hlen);
        if (bad < hlen)
            return lam_npy_err_(LAM_ERR_FORMAT, label, base + bad,
                        "invalid UTF-8 in the version 3.0 header; hint: the file is corrupt");
    }
    if (hdr[hlen - 1] != '\n') {
        char b[16];
        hparse q = {hdr, hlen, hlen - 1, base, label};
        return lam_npy_err_(LAM_ERR_FORMAT, label, base + hlen - 1,
                    "the header ends with %s, not '\\n'; hint: the header is padded with spaces "
                    "and ends with a newline",
                    here(&q, b, sizeof b));
    }
    hparse p = {hdr, hlen - 1, 0, base, label};
    return parse_dict(&p, inf);
}

/* The data length must be exactly what the header declares. */
static lam_status check_length(const npy_info *inf, uint64_t size, const char *label)
{
    uint64_t have = size - inf->data_off;
    char b[256];
    if (have < inf->nbytes)
        return lam_npy_err_(LAM_ERR_FORMAT, label, size,
                    "truncated: the header declares shape %s of '%s', %" PRIu64 " bytes of data "
                    "from byte offset %" PRIu64 ", but the file ends after %" PRIu64 "; hint: the "
                    "file is incomplete (interrupted download?)",
                    shape_str(inf->ndim, inf->dims, b, sizeof b), inf->descr, inf->nbytes,
                    inf->data_off, have);
    if (have > inf->nbytes)
        return lam_npy_err_(LAM_ERR_FORMAT, label, inf->data_off + inf->nbytes,
                    "%" PRIu64 " unexpected bytes after the data (the header declares shape %s of "
                    "'%s', %" PRIu64 " bytes); hint: the header and the data do not agree: the "
                    "file is corrupt",
                    have - inf->nbytes, shape_str(inf->ndim, inf->dims, b, sizeof b), inf->descr,
                    inf->nbytes);
    if (inf->nbytes > SIZE_MAX - 64)
        return lam_fail(LAM_ERR_NOMEM, "%s: %" PRIu64 " bytes of data do not fit in memory", label,
                        inf->nbytes);
    return LAM_OK;
}

/* ---- data: byte order and layout ---------------------------------------------- */

static void swap_bytes(unsigned char *d, size_t n, size_t esize)
{
    for (size_t i = 0; i < n; i++, d += esize)
        for (size_t a = 0, b = esize - 1; a < b; a++, b--) {
            unsigned char t = d[a];
            d[a] = d[b];
            d[b] = t;
        }
}

/* dst (C order) from src (Fortran order) of the same dims. */
static void fortran_to_c(unsigned char *dst, const unsigned char *src, const npy_info *inf)
{
    int nd = inf->ndim;
    size_t es = types[inf->dtype].size, n = (size_t)inf->numel;
    size_t stride[LAM_NPY_MAX_DIMS], idx[LAM_NPY_MAX_DIMS] = {0}, s = 1;
    for (int k = 0; k < nd; k++) stride[k] = s, s *= (size_t)inf->dims[k];
    size_t off = 0; /* element offset in src of the C-order index idx */
    for (size_t i = 0; i < n; i++) {
        memcpy(dst + i * es, src + off * es, es);
        for (int k = nd - 1; k >= 0; k--) {
            if (++idx[k] < (size_t)inf->dims[k]) {
                off += stride[k];
                break;
            }
            off -= stride[k] * (idx[k] - 1);
            idx[k] = 0;
        }
    }
}

/* Bring data (nbytes, as stored) into host order and C layout; *data may be
 * replaced (the old block freed). */
static lam_status to_host(const npy_info *inf, unsigned char **data)
{
    size_t es = types[inf->dtype].size;
    if (inf->swap) swap_bytes(*data, (size_t)inf->numel, es);
    if (inf->fortran && inf->ndim > 1 && inf->numel > 1) {
        unsigned char *c = lam_malloc((size_t)inf->nbytes);
        if (!c) return LAM_ERR_NOMEM;
        fortran_to_c(c, *data, inf);
        lam_free(*data);
        *data = c;
    }
    return LAM_OK;
}

static lam_status make_array(const npy_info *inf, unsigned char *data, lam_npy **out)
{
    lam_npy *a = lam_calloc(1, sizeof *a);
    if (!a) return LAM_ERR_NOMEM;
    a->dtype = inf->dtype;
    a->ndim = inf->ndim;
    memcpy(a->dims, inf->dims, sizeof a->dims);
    a->numel = inf->numel;
    a->nbytes = (size_t)inf->nbytes;
    a->data = data;
    a->fortran_order = inf->fortran;
    *out = a;
    return LAM_OK;
}

/* ---- reading -------------------------------------------------------------------- */

/* Read from a file descriptor (fd >= 0) or from memory (mem). */
static lam_status read_source(int fd, const unsigned char *mem, uint64_t size, const char *label,
                              lam_npy **out)
{
    unsigned char pre[12] = {0};
    size_t np = size < 12 ? (size_t)size : 12;
    lam_status st = LAM_OK;
    if (fd >= 0) st = lam_pread_full_(fd, 0, pre, np, label);
    else if (mem && np) memcpy(pre, mem, np);
    if (st) return st;
    npy_info inf;
    memset(&inf, 0, sizeof inf);
    uint32_t hlen = 0;
    int version = 0;
    if ((st = parse_preamble(pre, size, label, &inf, &hlen, &version))) return st;
    uint64_t base = inf.data_off - hlen;
    char *hbuf = NULL;
    const char *hdr = mem ? (const char *)mem + base : NULL;
    if (fd >= 0) {
        /* hlen is at most LAM_NPY_MAX_HEADER and within the file */
        if (!(hbuf = lam_malloc(hlen))) return LAM_ERR_NOMEM;
        if ((st = lam_pread_full_(fd, base, hbuf, hlen, label))) goto done;
        hdr = hbuf;
    }
    if ((st = parse_header(hdr, hlen, base, version, label, &inf))) goto done;
    if ((st = check_length(&inf, size, label))) goto done;
    unsigned char *data = lam_malloc(inf.nbytes ? (size_t)inf.nbytes : 1);
    if (!data) {
        st = LAM_ERR_NOMEM;
        goto done;
    }
    if (fd >= 0) st = lam_pread_full_(fd, inf.data_off, data, (size_t)inf.nbytes, label);
    else if (inf.nbytes) memcpy(data, mem + inf.data_off, (size_t)inf.nbytes);
    if (!st) st = to_host(&inf, &data);
    if (!st) st = make_array(&inf, data, out);
    if (st) lam_free(data);
done:
    lam_free(hbuf);
    return st;
}

lam_status lam_npy_read(const char *path, lam_npy **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_npy_read: out is NULL");
    *out = NULL;
    if (!path) return lam_fail(LAM_ERR_ARG, "lam_npy_read: path is NULL");
    /* O_NONBLOCK: opening a FIFO must not hang; it is refused below */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return lam_fail(LAM_ERR_IO, "%s: cannot open: %s; hint: check the path (relative paths "
                                    "start from the current directory)",
                        path, strerror(errno));
    struct stat sb;
    lam_status st;
    if (fstat(fd, &sb) != 0) st = lam_fail(LAM_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode)) st = lam_fail(LAM_ERR_IO, "%s: not a regular file", path);
    else st = read_source(fd, NULL, (uint64_t)sb.st_size, path, out);
    close(fd);
    return st;
}

lam_status lam_npy_read_mem(const void *bytes, size_t size, const char *label, lam_npy **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_npy_read_mem: out is NULL");
    *out = NULL;
    if (!bytes && size) return lam_fail(LAM_ERR_ARG, "lam_npy_read_mem: bytes is NULL");
    return read_source(-1, bytes, size, label ? label : "<memory>", out);
}

lam_status lam_npy_from_buffer_(unsigned char *buf, size_t size, const char *label, lam_npy **out)
{
    *out = NULL;
    npy_info inf;
    memset(&inf, 0, sizeof inf);
    uint32_t hlen = 0;
    int version = 0;
    lam_status st = parse_preamble(buf, size, label, &inf, &hlen, &version);
    if (!st) st = parse_header((const char *)buf + inf.data_off - hlen, hlen, inf.data_off - hlen, version,
                               label, &inf);
    if (!st) st = check_length(&inf, size, label);
    if (st) {
        lam_free(buf);
        return st;
    }
    if (inf.nbytes) memmove(buf, buf + inf.data_off, (size_t)inf.nbytes);
    st = to_host(&inf, &buf);
    if (!st) st = make_array(&inf, buf, out);
    if (st) lam_free(buf);
    return st;
}

/* ---- writing ---------------------------------------------------------------------- */

lam_status lam_npy_header_(const char *who, lam_npy_dtype dtype, int ndim, const int64_t *dims,
                           const void *data, char **hdr, size_t *hlen, uint64_t *nbytes)
{
    *hdr = NULL;
    if ((unsigned)dtype >= LAM_NPY_DTYPE_COUNT_)
        return lam_fail(LAM_ERR_ARG, "%s: invalid dtype %d", who, (int)dtype);
    if (ndim < 0 || ndim > LAM_NPY_MAX_DIMS)
        return lam_fail(LAM_ERR_ARG, "%s: ndim %d outside 0..%d", who, ndim, LAM_NPY_MAX_DIMS);
    if (ndim && !dims) return lam_fail(LAM_ERR_ARG, "%s: dims is NULL", who);
    uint64_t numel = 1, es = types[dtype].size;
    bool zero = false, over = false;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0)
            return lam_fail(LAM_ERR_ARG, "%s: dimension %d is %" PRId64 " (negative)", who, i, dims[i]);
        uint64_t d = (uint64_t)dims[i];
        if (d == 0) zero = true;
        else if (numel > (uint64_t)INT64_MAX / d) over = true;
        else numel *= d;
    }
    if (zero) numel = 0, over = false;
    if (over || numel > (SIZE_MAX - 64) / es)
        return lam_fail(LAM_ERR_ARG, "%s: the array's size overflows", who);
    if (numel && !data) return lam_fail(LAM_ERR_ARG, "%s: data is NULL", who);
    *nbytes = numel * es;
    /* np.save's header: sorted keys, repr values, room for the first
     * dimension to grow to 21 digits, padding to a multiple of 64 */
    char dict[400], sh[300];
    shape_str(ndim, dims, sh, sizeof sh);
    char order = es == 1 ? '|' : host_little_endian() ? '<' : '>';
    int len = snprintf(dict, sizeof dict, "{'descr': '%c%s', 'fortran_order': False, 'shape': %s, }",
                       order, types[dtype].name, sh);
    if (ndim > 0) {
        char d0[24];
        int w = snprintf(d0, sizeof d0, "%" PRId64, dims[0]);
        for (int i = w; i < 21; i++) dict[len++] = ' ';
    }
    size_t total = 10 + (size_t)len + 1;
    size_t pad = 64 - total % 64;
    total += pad;
    char *h = lam_malloc(total);
    if (!h) return LAM_ERR_NOMEM;
    memcpy(h, "\x93NUMPY\x01\x00", 8);
    size_t hl = total - 10;
    h[8] = (char)(hl & 0xff);
    h[9] = (char)(hl >> 8);
    memcpy(h + 10, dict, (size_t)len);
    memset(h + 10 + len, ' ', pad);
    h[total - 1] = '\n';
    *hdr = h;
    *hlen = total;
    return LAM_OK;
}

lam_status lam_npy_write(const char *path, lam_npy_dtype dtype, int ndim, const int64_t *dims,
                         const void *data)
{
    if (!path || !*path) return lam_fail(LAM_ERR_ARG, "npy write: path is NULL or empty");
    char *hdr = NULL;
    size_t hlen = 0;
    uint64_t nbytes = 0;
    lam_atomic_file af = LAM_ATOMIC_FILE_INIT;
    /* every allocation happens before the temporary file exists */
    lam_status st = lam_npy_header_("npy write", dtype, ndim, dims, data, &hdr, &hlen, &nbytes);
    if (!st) st = lam_atomic_begin(&af, path);
    if (!st) st = lam_atomic_create(&af);
    if (!st) st = lam_atomic_write(&af, hdr, hlen);
    if (!st && nbytes) st = lam_atomic_write(&af, data, (size_t)nbytes);
    if (!st) st = lam_atomic_commit(&af);
    lam_atomic_end(&af);
    lam_free(hdr);
    return st;
}

/* ---- conversion to float ------------------------------------------------------------ */

static float half_to_float(uint16_t h)
{
    uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1f, m = h & 0x3ff, bits;
    if (e == 0) {
        float v = ldexpf((float)m, -24); /* zero or subnormal */
        return s ? -v : v;
    }
    if (e == 31) bits = s | 0x7f800000u | m << 13; /* infinity or NaN */
    else bits = s | (e + 112) << 23 | m << 13;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static lam_status bad_value(const lam_npy *a, size_t i, double v)
{
    char idx[256];
    size_t rem = i;
    int64_t sub[LAM_NPY_MAX_DIMS];
    for (int d = a->ndim - 1; d >= 0; d--) {
        sub[d] = (int64_t)(rem % (size_t)a->dims[d]);
        rem /= (size_t)a->dims[d];
    }
    return lam_fail(LAM_ERR_FORMAT,
                    "element %zu (index %s) is %g: %s; hint: the values must be finite floats "
                    "(clean the array, e.g. with np.nan_to_num, or drop those samples)",
                    i, shape_str(a->ndim, sub, idx, sizeof idx), v,
                    isnan(v) ? "not a number" : isinf(v) ? "infinite" : "beyond float range");
}

lam_status lam_npy_to_f32(const lam_npy *a, float *dst)
{
    if (!a || !dst) return lam_fail(LAM_ERR_ARG, "lam_npy_to_f32: NULL argument");
    size_t n = (size_t)a->numel;
    const void *d = a->data;
    switch (a->dtype) {
#define CONV(T)                                                           \
    for (size_t i = 0; i < n; i++) dst[i] = (float)((const T *)d)[i];    \
    return LAM_OK;
    case LAM_NPY_BOOL:
        for (size_t i = 0; i < n; i++) dst[i] = ((const uint8_t *)d)[i] ? 1.0f : 0.0f;
        return LAM_OK;
    case LAM_NPY_I1: CONV(int8_t)
    case LAM_NPY_U1: CONV(uint8_t)
    case LAM_NPY_I2: CONV(int16_t)
    case LAM_NPY_U2: CONV(uint16_t)
    case LAM_NPY_I4: CONV(int32_t)
    case LAM_NPY_U4: CONV(uint32_t)
    case LAM_NPY_I8: CONV(int64_t)
    case LAM_NPY_U8: CONV(uint64_t)
#undef CONV
    case LAM_NPY_F2:
        for (size_t i = 0; i < n; i++) {
            float v = half_to_float(((const uint16_t *)d)[i]);
            if (!isfinite(v)) return bad_value(a, i, v);
            dst[i] = v;
        }
        return LAM_OK;
    case LAM_NPY_F4:
        for (size_t i = 0; i < n; i++) {
            float v = ((const float *)d)[i];
            if (!isfinite(v)) return bad_value(a, i, v);
            dst[i] = v;
        }
        return LAM_OK;
    case LAM_NPY_F8:
        for (size_t i = 0; i < n; i++) {
            double v = ((const double *)d)[i];
            if (!isfinite(v) || fabs(v) > FLT_MAX) return bad_value(a, i, v);
            dst[i] = (float)v;
        }
        return LAM_OK;
    default: break;
    }
    return lam_fail(LAM_ERR_ARG, "lam_npy_to_f32: invalid dtype %d", (int)a->dtype);
}
