/* Tokenisers and vocabularies: strict UTF-8 decoding (every offending byte
 * becomes one U+FFFD), the byte / char / word unit iterator, the train/test
 * cut of a document on a unit boundary, lam_vocab (build from training
 * texts, lookup, encode, decode) and its JSON form for checkpoints.  Encode
 * and decode allocate nothing; a vocabulary is immutable once built. */
#include "text_internal.h"

#include "io/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const tok_names[LAM_TOKENIZER_COUNT_] = {"byte", "char", "word"};

const char *lam_tokenizer_name(lam_tokenizer t)
{
    return (unsigned)t < LAM_TOKENIZER_COUNT_ ? tok_names[t] : "?";
}

bool lam_tokenizer_from_name(const char *name, lam_tokenizer *out)
{
    for (int t = 0; name && t < LAM_TOKENIZER_COUNT_; t++)
        if (strcmp(name, tok_names[t]) == 0) {
            if (out) *out = (lam_tokenizer)t;
            return true;
        }
    return false;
}

lam_vocab_opts lam_vocab_opts_defaults(void)
{
    return (lam_vocab_opts){.tokenizer = LAM_TOKENIZER_BYTE, .min_freq = 1, .max_size = 0,
                            .lowercase = false, .pad = false, .unk = false};
}

/* ---- UTF-8 and character classes --------------------------------------------- */

/* The code point at s[0..n) and its length (1..4), or 0 when s[0] does not
 * start a valid sequence (Unicode table 3-7: no overlongs, no surrogates,
 * nothing above U+10FFFF, no truncated sequence). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    uint32_t v;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        v = c & 0x0F;
        if (c == 0xE0) lo = 0xA0; /* overlong below U+0800 */
        if (c == 0xED) hi = 0x9F; /* surrogates U+D800..DFFF */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        v = c & 0x07;
        if (c == 0xF0) lo = 0x90; /* overlong below U+10000 */
        if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0; /* continuation byte, C0/C1 overlong lead, F5..FF */
    }
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    v = (v << 6) | (s[1] & 0x3F);
    for (size_t i = 2; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cp = v;
    return len;
}

enum { CL_WORD, CL_SPACE, CL_PUNCT };

/* Non-ASCII code points that are not letters, digits or marks: white space
 * (Unicode White_Space, plus U+200B and U+FEFF, which separate and carry no
 * text) and a table of punctuation and symbol ranges.  Every other code
 * point counts as a word character.  Sorted, disjoint. */
static const struct cprange { uint32_t lo, hi; unsigned char cl; } cp_table[] = {
    {0x0080, 0x0084, CL_PUNCT}, {0x0085, 0x0085, CL_SPACE}, {0x0086, 0x009F, CL_PUNCT},
    {0x00A0, 0x00A0, CL_SPACE}, {0x00A1, 0x00A9, CL_PUNCT}, {0x00AB, 0x00AC, CL_PUNCT},
    {0x00AE, 0x00B1, CL_PUNCT}, {0x00B4, 0x00B4, CL_PUNCT}, {0x00B6, 0x00B8, CL_PUNCT},
    {0x00BB, 0x00BB, CL_PUNCT}, {0x00BF, 0x00BF, CL_PUNCT}, {0x00D7, 0x00D7, CL_PUNCT},
    {0x00F7, 0x00F7, CL_PUNCT}, {0x02C2, 0x02C5, CL_PUNCT}, {0x02D2, 0x02DF, CL_PUNCT},
    {0x02E5, 0x02EB, CL_PUNCT}, {0x02ED, 0x02ED, CL_PUNCT}, {0x02EF, 0x02FF, CL_PUNCT},
    {0x0375, 0x0375, CL_PUNCT}, {0x037E, 0x037E, CL_PUNCT}, {0x0384, 0x0385, CL_PUNCT},
    {0x0387, 0x0387, CL_PUNCT}, {0x03F6, 0x03F6, CL_PUNCT}, {0x0482, 0x0482, CL_PUNCT},
    {0x055A, 0x055F, CL_PUNCT}, {0x0589, 0x058A, CL_PUNCT}, {0x058D, 0x058F, CL_PUNCT},
    {0x05BE, 0x05BE, CL_PUNCT}, {0x05C0, 0x05C0, CL_PUNCT}, {0x05C3, 0x05C3, CL_PUNCT},
    {0x05C6, 0x05C6, CL_PUNCT}, {0x05F3, 0x05F4, CL_PUNCT}, {0x0606, 0x060F, CL_PUNCT},
    {0x061B, 0x061B, CL_PUNCT}, {0x061D, 0x061F, CL_PUNCT}, {0x066A, 0x066D, CL_PUNCT},
    {0x06D4, 0x06D4, CL_PUNCT}, {0x06DE, 0x06DE, CL_PUNCT}, {0x06E9, 0x06E9, CL_PUNCT},
    {0x06FD, 0x06FE, CL_PUNCT}, {0x0700, 0x070D, CL_PUNCT}, {0x0964, 0x0965, CL_PUNCT},
    {0x0970, 0x0970, CL_PUNCT}, {0x0E3F, 0x0E3F, CL_PUNCT}, {0x0E4F, 0x0E4F, CL_PUNCT},
    {0x0E5A, 0x0E5B, CL_PUNCT}, {0x0F04, 0x0F12, CL_PUNCT}, {0x104A, 0x104F, CL_PUNCT},
    {0x10FB, 0x10FB, CL_PUNCT}, {0x1360, 0x1368, CL_PUNCT}, {0x166E, 0x166E, CL_PUNCT},
    {0x1680, 0x1680, CL_SPACE}, {0x169B, 0x169C, CL_PUNCT}, {0x16EB, 0x16ED, CL_PUNCT},
    {0x17D4, 0x17D6, CL_PUNCT}, {0x17D8, 0x17DB, CL_PUNCT}, {0x1800, 0x180A, CL_PUNCT},
    {0x2000, 0x200B, CL_SPACE}, {0x200E, 0x2027, CL_PUNCT}, {0x2028, 0x2029, CL_SPACE},
    {0x202A, 0x202E, CL_PUNCT}, {0x202F, 0x202F, CL_SPACE}, {0x2030, 0x205E, CL_PUNCT},
    {0x205F, 0x205F, CL_SPACE}, {0x2060, 0x206F, CL_PUNCT}, {0x207A, 0x207E, CL_PUNCT},
    {0x208A, 0x208E, CL_PUNCT}, {0x20A0, 0x20CF, CL_PUNCT}, {0x2100, 0x2101, CL_PUNCT},
    {0x2103, 0x2106, CL_PUNCT}, {0x2108, 0x2109, CL_PUNCT}, {0x2114, 0x2114, CL_PUNCT},
    {0x2116, 0x2118, CL_PUNCT}, {0x211E, 0x2123, CL_PUNCT}, {0x2125, 0x2125, CL_PUNCT},
    {0x2127, 0x2127, CL_PUNCT}, {0x2129, 0x2129, CL_PUNCT}, {0x212E, 0x212E, CL_PUNCT},
    {0x213A, 0x213B, CL_PUNCT}, {0x2140, 0x2144, CL_PUNCT}, {0x214A, 0x214D, CL_PUNCT},
    {0x214F, 0x214F, CL_PUNCT}, {0x2190, 0x245F, CL_PUNCT}, {0x2500, 0x2775, CL_PUNCT},
    {0x2794, 0x2BFF, CL_PUNCT}, {0x2CF9, 0x2CFC, CL_PUNCT}, {0x2CFE, 0x2CFF, CL_PUNCT},
    {0x2E00, 0x2FFF, CL_PUNCT}, {0x3000, 0x3000, CL_SPACE}, {0x3001, 0x3004, CL_PUNCT},
    {0x3008, 0x3020, CL_PUNCT}, {0x3030, 0x3030, CL_PUNCT}, {0x3036, 0x3037, CL_PUNCT},
    {0x303D, 0x303F, CL_PUNCT}, {0x309B, 0x309C, CL_PUNCT}, {0x30A0, 0x30A0, CL_PUNCT},
    {0x30FB, 0x30FB, CL_PUNCT}, {0xFD3E, 0xFD3F, CL_PUNCT}, {0xFE10, 0xFE19, CL_PUNCT},
    {0xFE30, 0xFE6F, CL_PUNCT}, {0xFEFF, 0xFEFF, CL_SPACE}, {0xFF01, 0xFF0F, CL_PUNCT},
    {0xFF1A, 0xFF20, CL_PUNCT}, {0xFF3B, 0xFF40, CL_PUNCT}, {0xFF5B, 0xFF65, CL_PUNCT},
    {0xFFE0, 0xFFEE, CL_PUNCT}, {0xFFF0, 0xFFFF, CL_PUNCT}, {0x1F000, 0x1FBFF, CL_PUNCT},
    {0xE0000, 0xE007F, CL_PUNCT},
};

static int cp_class(uint32_t cp)
{
    if (cp < 0x80) {
        if (cp == ' ' || (cp >= '\t' && cp <= '\r')) return CL_SPACE;
        if ((cp >= '0' && cp <= '9') || (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') ||
            cp == '_' || cp == '\'')
            return CL_WORD;
        return CL_PUNCT;
    }
    size_t lo = 0, hi = sizeof cp_table / sizeof cp_table[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < cp_table[mid].lo) hi = mid;
        else if (cp > cp_table[mid].hi) lo = mid + 1;
        else return cp_table[mid].cl;
    }
    return CL_WORD;
}

/* ---- units ---------------------------------------------------------------------- */

void tok_iter_init(tok_iter *it, lam_tokenizer tok, bool lower, const char *s, size_t len)
{
    *it = (tok_iter){(const unsigned char *)s, len, 0, tok, lower, 0};
}

static inline unsigned char fold(unsigned char c, bool lower)
{
    return lower && c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Decode at it->pos without consuming: code point, bytes (k), valid? */
static inline size_t peek_cp(const tok_iter *it, uint32_t *cp, bool *valid)
{
    size_t k = utf8_decode(it->s + it->pos, it->len - it->pos, cp);
    *valid = k != 0;
    if (!k) {
        *cp = 0xFFFD;
        k = 1;
    }
    return k;
}

/* Copy the code point just peeked (k bytes at pos) into buf, consuming it. */
static inline size_t take_cp(tok_iter *it, size_t k, bool valid, char *buf)
{
    if (!valid) {
        it->invalid++;
        it->pos++;
        memcpy(buf, "\xEF\xBF\xBD", 3);
        return 3;
    }
    for (size_t i = 0; i < k; i++) buf[i] = (char)fold(it->s[it->pos + i], it->lower);
    it->pos += k;
    return k;
}

bool tok_iter_next(tok_iter *it, char *buf, size_t *ulen, size_t *off)
{
    uint32_t cp;
    bool valid;
    if (it->tok == LAM_TOKENIZER_BYTE) {
        if (it->pos >= it->len) return false;
        *off = it->pos;
        buf[0] = (char)fold(it->s[it->pos++], it->lower);
        *ulen = 1;
        return true;
    }
    if (it->tok == LAM_TOKENIZER_CHAR) {
        if (it->pos >= it->len) return false;
        *off = it->pos;
        size_t k = peek_cp(it, &cp, &valid);
        *ulen = take_cp(it, k, valid, buf);
        return true;
    }
    /* words: skip white space; a run of word characters (cut every
     * TOK_UNIT_MAX bytes) or one other code point */
    for (;;) {
        if (it->pos >= it->len) return false;
        size_t k = peek_cp(it, &cp, &valid);
        int cl = valid ? cp_class(cp) : CL_PUNCT;
        if (cl == CL_SPACE) {
            it->pos += k;
            continue;
        }
        *off = it->pos;
        size_t n = take_cp(it, k, valid, buf);
        if (cl == CL_WORD) {
            while (it->pos < it->len) {
                k = peek_cp(it, &cp, &valid);
                if (!valid || cp_class(cp) != CL_WORD || n + k > TOK_UNIT_MAX) break;
                n += take_cp(it, k, valid, buf + n);
            }
        }
        *ulen = n;
        return true;
    }
}

size_t text_cut(lam_tokenizer tok, const char *s, size_t len, double f)
{
    if (!(f > 0)) return len;
    if (f > 1) f = 1;
    char buf[TOK_UNIT_MAX];
    size_t ulen, off;
    tok_iter it;
    int64_t n = 0;
    tok_iter_init(&it, tok, false, s, len);
    while (tok_iter_next(&it, buf, &ulen, &off)) n++;
    int64_t k = n - (int64_t)ceil(f * (double)n);
    if (k >= n) return len;
    tok_iter_init(&it, tok, false, s, len);
    for (int64_t i = 0; tok_iter_next(&it, buf, &ulen, &off); i++)
        if (i == k) return off;
    return len; /* not reached: the second walk sees the same n units */
}

void lam_text_split_parts(const lam_text_set *s, lam_tokenizer tok, double test_fraction,
                          const char **parts, size_t *lens)
{
    if (!s || !parts || !lens) return;
    for (int64_t i = 0; i < s->n; i++) {
        parts[i] = s->text[i];
        lens[i] = text_cut(tok, s->text[i], s->len[i], test_fraction);
    }
}

/* ---- unit tables ------------------------------------------------------------------ */

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

/* Distinct units with their counts (vocabulary building): a byte pool and an
 * open-addressing index.  Grows with the distinct units actually seen. */
typedef struct umap {
    char *pool;
    size_t used, cap;
    struct uent { size_t off; uint32_t len; int64_t count; } *e;
    size_t n, ecap;
    int32_t *h; /* -1: empty */
    size_t hcap;
} umap;

static void umap_free(umap *m)
{
    lam_free(m->pool);
    lam_free(m->e);
    lam_free(m->h);
    memset(m, 0, sizeof *m);
}

static lam_status umap_rehash(umap *m, size_t hcap)
{
    int32_t *h = lam_malloc(hcap * sizeof *h);
    if (!h) return LAM_ERR_NOMEM;
    for (size_t i = 0; i < hcap; i++) h[i] = -1;
    for (size_t id = 0; id < m->n; id++) {
        size_t i = (size_t)hash_bytes(m->pool + m->e[id].off, m->e[id].len) & (hcap - 1);
        while (h[i] >= 0) i = (i + 1) & (hcap - 1);
        h[i] = (int32_t)id;
    }
    lam_free(m->h);
    m->h = h;
    m->hcap = hcap;
    return LAM_OK;
}

/* Count one more occurrence of unit u[0..n). */
static lam_status umap_add(umap *m, const char *u, size_t n)
{
    lam_status st;
    if ((m->n + 1) * 2 > m->hcap) {
        if (m->n >= (size_t)INT32_MAX - 1)
            return lam_fail(LAM_ERR_FORMAT, "more than %d distinct units in the training text",
                            INT32_MAX - 1);
        if ((st = umap_rehash(m, m->hcap ? m->hcap * 2 : 256)) != LAM_OK) return st;
    }
    size_t i = (size_t)hash_bytes(u, n) & (m->hcap - 1);
    while (m->h[i] >= 0) {
        struct uent *e = &m->e[m->h[i]];
        if (e->len == n && memcmp(m->pool + e->off, u, n) == 0) {
            e->count++;
            return LAM_OK;
        }
        i = (i + 1) & (m->hcap - 1);
    }
    if ((st = lam_grow((void **)&m->pool, &m->cap, m->used + n, 1, 64, "vocabulary table")) != LAM_OK) return st;
    if ((st = lam_grow((void **)&m->e, &m->ecap, m->n + 1, sizeof *m->e, 64, "vocabulary table")) != LAM_OK) return st;
    memcpy(m->pool + m->used, u, n);
    m->e[m->n] = (struct uent){m->used, (uint32_t)n, 1};
    m->used += n;
    m->h[i] = (int32_t)m->n++;
    return LAM_OK;
}

/* ---- the vocabulary ------------------------------------------------------------------ */

struct lam_vocab {
    lam_tokenizer tok;
    bool lower, pad, unk;
    int32_t size, pad_id, unk_id, first; /* ids [first, size) are units */
    char *pool;       /* every token's text, NUL-terminated */
    size_t *off;      /* [size] */
    uint32_t *len;    /* [size] */
    int32_t *h;       /* open addressing over unit ids, -1 empty */
    size_t hcap;
    int32_t byte_id[256]; /* byte vocabularies: id of each byte, -1 absent */
};

typedef struct unit_ref { const char *s; uint32_t len; int64_t count; } unit_ref;

void lam_vocab_free(lam_vocab *v)
{
    if (!v) return;
    lam_free(v->pool);
    lam_free(v->off);
    lam_free(v->len);
    lam_free(v->h);
    lam_free(v);
}

static int32_t unit_lookup(const lam_vocab *v, const char *u, size_t n)
{
    if (v->tok == LAM_TOKENIZER_BYTE) return n == 1 ? v->byte_id[(unsigned char)u[0]] : -1;
    size_t i = (size_t)hash_bytes(u, n) & (v->hcap - 1);
    while (v->h[i] >= 0) {
        int32_t id = v->h[i];
        if (v->len[id] == n && memcmp(v->pool + v->off[id], u, n) == 0) return id;
        i = (i + 1) & (v->hcap - 1);
    }
    return -1;
}

/* A vocabulary of the given specials and units (in id order).  *dup gets
 * the index of the first unit that repeats an earlier one (then LAM_ERR_FORMAT
 * without a message), else -1. */
static lam_status vocab_make(lam_tokenizer tok, bool lower, bool pad, bool unk, const unit_ref *u,
                             size_t nu, int64_t *dup, lam_vocab **out)
{
    *out = NULL;
    *dup = -1;
    size_t nspec = (size_t)pad + (size_t)unk, size = nspec + nu, pool = 0;
    LAM_ASSERT(size <= LAM_VOCAB_MAX_SIZE);
    for (size_t i = 0; i < nu; i++) pool += u[i].len + 1; /* <= the input's size */
    pool += 12;
    lam_vocab *v = lam_calloc(1, sizeof *v);
    if (!v) return LAM_ERR_NOMEM;
    v->tok = tok;
    v->lower = lower;
    v->pad = pad;
    v->unk = unk;
    v->size = (int32_t)size;
    v->pad_id = pad ? 0 : -1;
    v->unk_id = unk ? (int32_t)pad : -1;
    v->first = (int32_t)nspec;
    size_t hcap = 16;
    while (hcap < 2 * size) hcap *= 2;
    v->hcap = hcap;
    v->pool = lam_malloc(pool);
    v->off = lam_calloc(size, sizeof *v->off);
    v->len = lam_calloc(size, sizeof *v->len);
    v->h = lam_malloc(hcap * sizeof *v->h);
    if (!v->pool || !v->off || !v->len || !v->h) {
        lam_vocab_free(v);
        return LAM_ERR_NOMEM;
    }
    for (size_t i = 0; i < hcap; i++) v->h[i] = -1;
    for (int i = 0; i < 256; i++) v->byte_id[i] = -1;
    size_t used = 0;
    for (size_t id = 0; id < size; id++) {
        const char *s;
        size_t n;
        if ((int32_t)id == v->pad_id) s = "<pad>", n = 5;
        else if ((int32_t)id == v->unk_id) s = "<unk>", n = 5;
        else s = u[id - nspec].s, n = u[id - nspec].len;
        memcpy(v->pool + used, s, n);
        v->pool[used + n] = 0;
        v->off[id] = used;
        v->len[id] = (uint32_t)n;
        used += n + 1;
        if (id < nspec) continue;
        if (unit_lookup(v, s, n) >= 0) {
            *dup = (int64_t)(id - nspec);
            lam_vocab_free(v);
            return LAM_ERR_FORMAT;
        }
        size_t i = (size_t)hash_bytes(s, n) & (hcap - 1);
        while (v->h[i] >= 0) i = (i + 1) & (hcap - 1);
        v->h[i] = (int32_t)id;
        if (tok == LAM_TOKENIZER_BYTE) v->byte_id[(unsigned char)s[0]] = (int32_t)id;
    }
    *out = v;
    return LAM_OK;
}

static int bytes_cmp(const char *a, size_t na, const char *b, size_t nb)
{
    int r = memcmp(a, b, na < nb ? na : nb);
    return r ? r : (na > nb) - (na < nb);
}

static int cmp_freq(const void *pa, const void *pb) /* count desc, bytes asc */
{
    const unit_ref *a = pa, *b = pb;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    return bytes_cmp(a->s, a->len, b->s, b->len);
}

static int cmp_text(const void *pa, const void *pb)
{
    const unit_ref *a = pa, *b = pb;
    return bytes_cmp(a->s, a->len, b->s, b->len);
}

lam_status lam_vocab_build(const lam_vocab_opts *opts, const char *const *texts, const size_t *lens,
                           int64_t n, lam_vocab **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_vocab_build: out is NULL");
    *out = NULL;
    lam_vocab_opts o = opts ? *opts : lam_vocab_opts_defaults();
    int32_t nspec = (int32_t)o.pad + (int32_t)o.unk;
    if ((unsigned)o.tokenizer >= LAM_TOKENIZER_COUNT_)
        return lam_fail(LAM_ERR_ARG, "lam_vocab_build: unknown tokenizer %d", (int)o.tokenizer);
    if (o.min_freq < 1)
        return lam_fail(LAM_ERR_ARG, "lam_vocab_build: min_freq %lld must be >= 1",
                        (long long)o.min_freq);
    if (o.max_size < 0 || o.max_size > LAM_VOCAB_MAX_SIZE ||
        (o.max_size > 0 && o.max_size <= nspec))
        return lam_fail(LAM_ERR_ARG,
                        "lam_vocab_build: max_size %d must be 0 (no limit) or in [%d, %d] (the "
                        "specials count)",
                        (int)o.max_size, (int)nspec + 1, LAM_VOCAB_MAX_SIZE);
    if (n < 0 || (n > 0 && (!texts || !lens)))
        return lam_fail(LAM_ERR_ARG, "lam_vocab_build: %lld texts with NULL arrays", (long long)n);
    for (int64_t i = 0; i < n; i++)
        if (!texts[i] && lens[i])
            return lam_fail(LAM_ERR_ARG, "lam_vocab_build: text %lld is NULL", (long long)i);
    umap m;
    memset(&m, 0, sizeof m);
    unit_ref *u = NULL;
    lam_status st = LAM_OK;
    char buf[TOK_UNIT_MAX];
    size_t ulen, off;
    for (int64_t i = 0; i < n && st == LAM_OK; i++) {
        tok_iter it;
        tok_iter_init(&it, o.tokenizer, o.lowercase, texts[i], lens[i]);
        while (st == LAM_OK && tok_iter_next(&it, buf, &ulen, &off)) st = umap_add(&m, buf, ulen);
    }
    if (st != LAM_OK) goto done;
    size_t nu = 0;
    if (m.n && !(u = lam_calloc(m.n, sizeof *u))) {
        st = LAM_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < m.n; i++)
        if (m.e[i].count >= o.min_freq)
            u[nu++] = (unit_ref){m.pool + m.e[i].off, m.e[i].len, m.e[i].count};
    if (nu == 0) {
        if (m.n)
            st = lam_fail(LAM_ERR_FORMAT,
                          "lam_vocab_build: no %s token occurs min_freq = %lld times in the "
                          "%lld training text(s); hint: lower min_freq",
                          lam_tokenizer_name(o.tokenizer), (long long)o.min_freq, (long long)n);
        else
            st = lam_fail(LAM_ERR_FORMAT,
                          "lam_vocab_build: the %lld training text(s) hold no %s token; hint: "
                          "pass the training texts (they are empty%s)",
                          (long long)n, lam_tokenizer_name(o.tokenizer),
                          o.tokenizer == LAM_TOKENIZER_WORD ? " or white space" : "");
        goto done;
    }
    qsort(u, nu, sizeof *u, cmp_freq);
    size_t room = (size_t)(o.max_size ? o.max_size : LAM_VOCAB_MAX_SIZE) - (size_t)nspec;
    if (nu > room) {
        if (!o.max_size) {
            st = lam_fail(LAM_ERR_FORMAT,
                          "lam_vocab_build: %zu distinct %s tokens are more than the %d a "
                          "vocabulary holds; hint: set max_size or raise min_freq",
                          nu, lam_tokenizer_name(o.tokenizer), LAM_VOCAB_MAX_SIZE);
            goto done;
        }
        nu = room; /* the most frequent */
    }
    if (o.tokenizer != LAM_TOKENIZER_WORD) qsort(u, nu, sizeof *u, cmp_text);
    int64_t dup;
    st = vocab_make(o.tokenizer, o.lowercase, o.pad, o.unk, u, nu, &dup, out);
    LAM_ASSERT(dup < 0);
done:
    lam_free(u);
    umap_free(&m);
    return st;
}

int32_t lam_vocab_size(const lam_vocab *v) { return v ? v->size : 0; }
lam_tokenizer lam_vocab_tokenizer(const lam_vocab *v) { return v ? v->tok : LAM_TOKENIZER_BYTE; }
int32_t lam_vocab_pad_id(const lam_vocab *v) { return v ? v->pad_id : -1; }
int32_t lam_vocab_unk_id(const lam_vocab *v) { return v ? v->unk_id : -1; }

const char *lam_vocab_token(const lam_vocab *v, int32_t id, size_t *len)
{
    if (!v || id < 0 || id >= v->size) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = v->len[id];
    return v->pool + v->off[id];
}

int32_t lam_vocab_find(const lam_vocab *v, const char *token, size_t len)
{
    if (!v || (!token && len)) return -1;
    if (len == 5 && v->pad && memcmp(token, "<pad>", 5) == 0) return v->pad_id;
    if (len == 5 && v->unk && memcmp(token, "<unk>", 5) == 0) return v->unk_id;
    if (len == 0 || len > TOK_UNIT_MAX) return -1;
    return unit_lookup(v, token, len);
}

/* s[0..n) for a message: quotes, backslashes and control bytes escaped
 * (and bytes >= 0x80 when hex_high), "..." when cut at ~60 bytes. */
static const char *escape(const char *u, size_t n, bool hex_high, char *out, size_t cap)
{
    size_t k = 0, i = 0;
    for (; i < n && k + 12 < cap && i < 60; i++) {
        unsigned char c = (unsigned char)u[i];
        if (c == '"' || c == '\\') k += (size_t)snprintf(out + k, cap - k, "\\%c", c);
        else if (c < 32 || c == 127 || (hex_high && c >= 128))
            k += (size_t)snprintf(out + k, cap - k, "\\x%02x", c);
        else out[k++] = (char)c;
    }
    if (i < n) { /* cut: drop a partial UTF-8 sequence at the end */
        while (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0x80) k--;
        if (k > 0 && (unsigned char)out[k - 1] >= 0xC0) k--;
    }
    if (i < n && k + 4 <= cap) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k < cap ? k : cap - 1] = 0;
    return out;
}

/* A unit for messages: byte 0x41 ("A"), character U+00E9 (the character
 * itself in quotes), word "text". */
static const char *show_unit(lam_tokenizer tok, const char *u, size_t n, char *out, size_t cap)
{
    char esc[100];
    escape(u, n, tok == LAM_TOKENIZER_BYTE, esc, sizeof esc);
    if (tok == LAM_TOKENIZER_BYTE) {
        snprintf(out, cap, "byte 0x%02x (\"%s\")", (unsigned char)u[0], esc);
    } else if (tok == LAM_TOKENIZER_CHAR) {
        uint32_t cp = 0xFFFD;
        utf8_decode((const unsigned char *)u, n, &cp);
        snprintf(out, cap, "character U+%04X (\"%s\")", (unsigned)cp, esc);
    } else {
        snprintf(out, cap, "word \"%s\"", esc);
    }
    return out;
}

lam_status lam_vocab_encode(const lam_vocab *v, const char *text, size_t len, int32_t *ids,
                            int64_t cap, int64_t *n, lam_text_stats *stats, const char *where)
{
    if (n) *n = 0;
    if (!v || !n || (!text && len) || cap < 0 || (cap > 0 && !ids))
        return lam_fail(LAM_ERR_ARG, "lam_vocab_encode: NULL argument or negative cap");
    tok_iter it;
    tok_iter_init(&it, v->tok, v->lower, text, len);
    char buf[TOK_UNIT_MAX];
    size_t ulen, off;
    int64_t count = 0, unknown = 0;
    while (tok_iter_next(&it, buf, &ulen, &off)) {
        int32_t id = unit_lookup(v, buf, ulen);
        if (id < 0) {
            if (!v->unk) {
                char shown[160];
                return lam_fail(LAM_ERR_FORMAT,
                                "%s: byte %zu: %s is not in the vocabulary (%d tokens); hint: "
                                "build the vocabulary with unk = true so that units unseen in "
                                "the training text encode as <unk>",
                                where ? where : "text", off,
                                show_unit(v->tok, buf, ulen, shown, sizeof shown), (int)v->size);
            }
            id = v->unk_id;
            unknown++;
        }
        if (count < cap) ids[count] = id;
        count++;
    }
    *n = count;
    if (stats) {
        stats->bytes += (int64_t)len;
        stats->tokens += count;
        stats->invalid_utf8 += it.invalid;
        stats->unknown += unknown;
        stats->truncated += count > cap ? count - cap : 0;
    }
    return LAM_OK;
}

lam_status lam_vocab_decode(const lam_vocab *v, const int32_t *ids, int64_t n, char *out,
                            size_t cap, size_t *len)
{
    if (len) *len = 0;
    if (!v || n < 0 || (n > 0 && !ids) || (cap > 0 && !out))
        return lam_fail(LAM_ERR_ARG, "lam_vocab_decode: NULL argument or negative n");
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= v->size)
            return lam_fail(LAM_ERR_ARG, "lam_vocab_decode: id %d at position %lld is outside "
                                         "[0, %d)", (int)ids[i], (long long)i, (int)v->size);
    size_t used = 0;
    bool any = false;
    for (int64_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id == v->pad_id) continue;
        const char *s = id == v->unk_id ? "\xEF\xBF\xBD" : v->pool + v->off[id];
        size_t k = id == v->unk_id ? 3 : v->len[id];
        if (v->tok == LAM_TOKENIZER_WORD && any) {
            if (used + 1 < cap) out[used] = ' ';
            used++;
        }
        for (size_t j = 0; j < k; j++, used++)
            if (used + 1 < cap) out[used] = s[j];
        any = true;
    }
    if (cap > 0) out[used < cap ? used : cap - 1] = 0;
    if (len) *len = used;
    return LAM_OK;
}

/* ---- JSON ------------------------------------------------------------------------------ */

lam_status lam_vocab_to_json(const lam_vocab *v, char **json, size_t *len)
{
    if (json) *json = NULL;
    if (len) *len = 0;
    if (!v || !json) return lam_fail(LAM_ERR_ARG, "lam_vocab_to_json: NULL argument");
    lam_json_buf b = {0};
    lam_json_buf_puts(&b, "{\"tokenizer\": ");
    lam_json_write_string(&b, lam_tokenizer_name(v->tok), strlen(lam_tokenizer_name(v->tok)));
    lam_json_buf_puts(&b, v->lower ? ", \"lowercase\": true" : ", \"lowercase\": false");
    lam_json_buf_puts(&b, v->pad ? ", \"pad\": true" : ", \"pad\": false");
    lam_json_buf_puts(&b, v->unk ? ", \"unk\": true" : ", \"unk\": false");
    lam_json_buf_puts(&b, ", \"tokens\": [");
    for (int32_t id = v->first; id < v->size; id++) {
        if (id > v->first) lam_json_buf_puts(&b, ", ");
        if (v->tok == LAM_TOKENIZER_BYTE)
            lam_json_write_int(&b, (unsigned char)v->pool[v->off[id]]);
        else
            lam_json_write_string(&b, v->pool + v->off[id], v->len[id]);
    }
    lam_json_buf_puts(&b, "]}");
    if (b.status != LAM_OK) {
        lam_status st = b.status;
        lam_json_buf_free(&b);
        return st;
    }
    *json = b.data;
    if (len) *len = b.len;
    return LAM_OK;
}

/* Commas outside strings: an upper bound of the array lengths, found before
 * parsing, so that a text listing millions of tokens fails before the parse
 * tree is allocated. */
static size_t count_commas(const char *s, size_t n)
{
    size_t c = 0;
    bool in = false;
    for (size_t i = 0; i < n; i++) {
        if (in) {
            if (s[i] == '\\') i++;
            else if (s[i] == '"') in = false;
        } else if (s[i] == '"') {
            in = true;
        } else if (s[i] == ',') {
            c++;
        }
    }
    return c;
}

#define JFAIL(at, fmt, ...) \
    (st = lam_fail(LAM_ERR_FORMAT, "vocabulary JSON: byte %zu: " fmt, (size_t)(at), __VA_ARGS__))

/* Check that token text t[0..n) is exactly one unit of the tokenizer (as
 * lowercase would leave it). */
static bool one_unit(lam_tokenizer tok, bool lower, const char *t, size_t n)
{
    if (n == 0 || n > TOK_UNIT_MAX) return false;
    tok_iter it;
    char buf[TOK_UNIT_MAX];
    size_t ulen, off;
    tok_iter_init(&it, tok, lower, t, n);
    if (!tok_iter_next(&it, buf, &ulen, &off)) return false;
    return off == 0 && it.pos == n && it.invalid == 0 && ulen == n && memcmp(buf, t, n) == 0;
}

lam_status lam_vocab_from_json(const char *json, size_t len, lam_vocab **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_vocab_from_json: out is NULL");
    *out = NULL;
    if (!json && len) return lam_fail(LAM_ERR_ARG, "lam_vocab_from_json: json is NULL");
    lam_status st;
    /* a valid text has at most LAM_VOCAB_MAX_SIZE - 1 commas between tokens
     * and 4 between the fields */
    if (count_commas(json, len) > (size_t)LAM_VOCAB_MAX_SIZE + 3)
        return lam_fail(LAM_ERR_FORMAT,
                        "vocabulary JSON: more than %d tokens listed; hint: this is not a "
                        "vocabulary written by lam_vocab_to_json",
                        LAM_VOCAB_MAX_SIZE);
    lam_arena *arena = lam_arena_new(0);
    if (!arena) return LAM_ERR_NOMEM;
    unit_ref *u = NULL;
    lam_json *root = NULL;
    lam_json_error jerr;
    st = lam_json_parse(arena, json, len, NULL, &root, &jerr);
    if (st == LAM_ERR_FORMAT) {
        st = lam_fail(LAM_ERR_FORMAT, "vocabulary JSON: %s at byte %zu", jerr.msg, jerr.offset);
        goto done;
    }
    if (st != LAM_OK) goto done;
    if (root->type != LAM_JSON_OBJECT) {
        JFAIL(root->offset, "expected an object, found %s", lam_json_type_name(root->type));
        goto done;
    }
    static const char *const keys[] = {"tokenizer", "lowercase", "pad", "unk", "tokens"};
    static const lam_json_type types[] = { LAM_JSON_STRING, LAM_JSON_BOOL, LAM_JSON_BOOL,
                                           LAM_JSON_BOOL, LAM_JSON_ARRAY };
    const lam_json *f[5];
    for (size_t i = 0; i < root->n; i++) {
        const lam_json *m = root->items[i];
        bool known = false;
        for (int k = 0; k < 5; k++)
            known |= strcmp(m->key, keys[k]) == 0 && strlen(keys[k]) == m->key_len;
        if (!known) {
            char shown[100];
            JFAIL(m->offset, "unknown field \"%s\"; the fields are tokenizer, lowercase, pad, "
                             "unk, tokens", escape(m->key, m->key_len, false, shown, sizeof shown));
            goto done;
        }
    }
    for (int k = 0; k < 5; k++) {
        f[k] = lam_json_get(root, keys[k]);
        if (!f[k]) {
            JFAIL(root->offset, "the field \"%s\" is missing", keys[k]);
            goto done;
        }
        if (f[k]->type != types[k]) {
            JFAIL(f[k]->offset, "\"%s\" must be a%s %s, found %s", keys[k],
                  types[k] == LAM_JSON_ARRAY ? "n" : "", lam_json_type_name(types[k]),
                  lam_json_type_name(f[k]->type));
            goto done;
        }
    }
    lam_tokenizer tok;
    if (strlen(f[0]->str) != f[0]->len || !lam_tokenizer_from_name(f[0]->str, &tok)) {
        char shown[100];
        JFAIL(f[0]->offset, "unknown tokenizer \"%s\"; hint: byte, char or word",
              escape(f[0]->str, f[0]->len, false, shown, sizeof shown));
        goto done;
    }
    bool lower = f[1]->boolean, pad = f[2]->boolean, unk = f[3]->boolean;
    const lam_json *arr = f[4];
    size_t nspec = (size_t)pad + (size_t)unk;
    if (arr->n == 0 || arr->n + nspec > LAM_VOCAB_MAX_SIZE) {
        JFAIL(arr->offset, "%zu tokens; a vocabulary has 1 to %d", arr->n,
              LAM_VOCAB_MAX_SIZE - (int)nspec);
        goto done;
    }
    if (!(u = lam_calloc(arr->n, sizeof *u))) {
        st = LAM_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < arr->n; i++) {
        lam_json *t = arr->items[i];
        if (tok == LAM_TOKENIZER_BYTE) {
            if (t->type != LAM_JSON_NUMBER || !t->is_int || t->int_overflow || t->integer < 0 ||
                t->integer > 255) {
                JFAIL(t->offset, "token %zu of a byte vocabulary must be an integer in [0, 255]",
                      i);
                goto done;
            }
            /* the byte's text is a byte of the (arena-owned) number node */
            unsigned char *b = lam_arena_alloc(arena, 1);
            if (!b) {
                st = LAM_ERR_NOMEM;
                goto done;
            }
            b[0] = (unsigned char)t->integer;
            u[i] = (unit_ref){(const char *)b, 1, 0};
        } else {
            if (t->type != LAM_JSON_STRING) {
                JFAIL(t->offset, "token %zu must be a string, found %s", i,
                      lam_json_type_name(t->type));
                goto done;
            }
            u[i] = (unit_ref){t->str, (uint32_t)(t->len > UINT32_MAX ? UINT32_MAX : t->len), 0};
        }
        if (!one_unit(tok, lower, u[i].s, u[i].len)) {
            char shown[160];
            JFAIL(t->offset, "token %zu (%s) is not one %s token%s", i,
                  show_unit(tok, u[i].s, u[i].len, shown, sizeof shown), lam_tokenizer_name(tok),
                  lower ? " of lower-case text" : "");
            goto done;
        }
        if (tok != LAM_TOKENIZER_WORD && i > 0 && cmp_text(&u[i - 1], &u[i]) >= 0) {
            JFAIL(t->offset, "token %zu is %s; %s tokens are listed in ascending order, each once",
                  i, cmp_text(&u[i - 1], &u[i]) ? "out of order" : "a duplicate",
                  lam_tokenizer_name(tok));
            goto done;
        }
    }
    int64_t dup;
    st = vocab_make(tok, lower, pad, unk, u, arr->n, &dup, out);
    if (st == LAM_ERR_FORMAT && dup >= 0) {
        char shown[160];
        JFAIL(arr->items[dup]->offset, "token %lld (%s) is listed twice", (long long)dup,
              show_unit(tok, u[dup].s, u[dup].len, shown, sizeof shown));
    }
done:
    lam_free(u);
    lam_arena_free(arena);
    return st;
}
