/* The safetensors container: the strict reader (validate the whole header,
 * then allocate and read the data buffer) and the atomic writer (temporary
 * file, fsync, rename, directory fsync).  Format and guarantees: see
 * include/lamina/io.h. */
#include "lamina/io.h"

#include "io/atomic.h"
#include "io/fileio.h"
#include "io/json.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SLOT_ALIGN 64

struct lam_safetensors {
    lam_st_tensor *tensors; /* sorted by name */
    size_t n;
    lam_st_meta *meta;      /* sorted by key */
    size_t nmeta;
    char *strings;          /* names, metadata keys and values */
    unsigned char *data;    /* tensor bytes, one 64-aligned slot each */
};

/* Shown in messages: names may be long or hostile, so they are cut. */
#define NAMEFMT "\"%.64s%s\""
#define NAMEARG(s) (s), (strlen(s) > 64 ? "..." : "")

/* ---- the byte source: a file descriptor or a memory block ---------------- */

typedef struct source {
    int fd;                   /* -1 for memory */
    const unsigned char *mem;
    uint64_t size;
    const char *label;        /* path or label for messages */
} source;

static lam_status src_read(const source *s, uint64_t off, void *buf, size_t n)
{
    if (s->fd < 0) {
        if (off > s->size || n > s->size - off)
            return lam_fail(LAM_ERR_IO, "%s: read past the end", s->label);
        if (n) memcpy(buf, s->mem + off, n);
        return LAM_OK;
    }
    return lam_pread_full_(s->fd, off, buf, n, s->label);
}

/* A format error: "<label>: <message> (file offset N)". */
static lam_status ferr(const source *s, uint64_t off, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static lam_status ferr(const source *s, uint64_t off, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lam_fail(LAM_ERR_FORMAT, "%s: %s (file offset %" PRIu64 ")", s->label, msg, off);
}

/* ---- header validation -------------------------------------------------- */

/* One tensor entry after its own checks, before the tiling check. */
typedef struct rec {
    const char *name;
    lam_dtype dtype;
    lam_shape shape;
    uint64_t begin, end;
    uint64_t hdr_off;  /* file offset of the entry, for messages */
} rec;

/* safetensors dtypes that are valid in the format but have no Lamina type. */
static bool foreign_dtype(const char *s)
{
    static const char *const names[] = {"BOOL", "U8", "I16", "U16", "U32", "I64", "U64", "F64",
                                        "F8_E5M2", "F8_E4M3", "F8_E8M0", "F6_E2M3", "F6_E3M2",
                                        "F4", "C64"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(s, names[i]) == 0) return true;
    return false;
}

/* An integer in [0, 2^53] from a JSON value; `what` names it in messages. */
static lam_status get_uint(const source *s, uint64_t base, const lam_json *v, const char *tname,
                           const char *what, uint64_t *out)
{
    uint64_t off = base + v->offset;
    if (v->type != LAM_JSON_NUMBER)
        return ferr(s, off, "tensor " NAMEFMT ": %s must be an integer, found a %s", NAMEARG(tname),
                    what, lam_json_type_name(v->type));
    if (!v->is_int)
        return ferr(s, off, "tensor " NAMEFMT ": %s must be an integer, found a fraction or exponent",
                    NAMEARG(tname), what);
    if (v->number < 0 || (!v->int_overflow && v->integer < 0))
        return ferr(s, off, "tensor " NAMEFMT ": %s must not be negative", NAMEARG(tname), what);
    if (v->int_overflow || (uint64_t)v->integer > LAM_ST_MAX_INT)
        return ferr(s, off, "tensor " NAMEFMT ": %s exceeds 2^53", NAMEARG(tname), what);
    *out = (uint64_t)v->integer;
    return LAM_OK;
}

static lam_status check_entry(const source *s, uint64_t base, const lam_json *e, uint64_t data_len,
                              rec *r)
{
    const char *name = e->key;
    uint64_t off = base + e->offset;
    r->name = name;
    r->hdr_off = off;
    if (e->type != LAM_JSON_OBJECT)
        return ferr(s, off, "tensor " NAMEFMT ": entry must be an object, found a %s", NAMEARG(name),
                    lam_json_type_name(e->type));
    for (size_t i = 0; i < e->n; i++) {
        const char *k = e->items[i]->key;
        if (strcmp(k, "dtype") && strcmp(k, "shape") && strcmp(k, "data_offsets"))
            return ferr(s, base + e->items[i]->offset,
                        "tensor " NAMEFMT ": unknown field \"%.40s\" (allowed: dtype, shape, "
                        "data_offsets)", NAMEARG(name), k);
    }
    const lam_json *dt = lam_json_get(e, "dtype"), *sh = lam_json_get(e, "shape"),
                   *of = lam_json_get(e, "data_offsets");
    const char *missing = !dt ? "dtype" : !sh ? "shape" : !of ? "data_offsets" : NULL;
    if (missing) return ferr(s, off, "tensor " NAMEFMT ": missing field \"%s\"", NAMEARG(name), missing);

    /* dtype */
    if (dt->type != LAM_JSON_STRING)
        return ferr(s, base + dt->offset, "tensor " NAMEFMT ": dtype must be a string",
                    NAMEARG(name));
    if (!lam_dtype_from_name(dt->str, &r->dtype) || strlen(dt->str) != dt->len) {
        if (foreign_dtype(dt->str))
            return lam_fail(LAM_ERR_UNSUPPORTED,
                            "%s: tensor " NAMEFMT ": dtype %s is valid safetensors but not "
                            "supported by Lamina (F32, F16, BF16, I32, I8) (file offset %" PRIu64 ")",
                            s->label, NAMEARG(name), dt->str, base + dt->offset);
        return ferr(s, base + dt->offset, "tensor " NAMEFMT ": unknown dtype \"%.20s\"",
                    NAMEARG(name), dt->str);
    }

    /* shape */
    if (sh->type != LAM_JSON_ARRAY)
        return ferr(s, base + sh->offset, "tensor " NAMEFMT ": shape must be an array",
                    NAMEARG(name));
    if (sh->n > LAM_MAX_DIMS)
        return ferr(s, base + sh->offset, "tensor " NAMEFMT ": rank %zu exceeds LAM_MAX_DIMS = %d",
                    NAMEARG(name), sh->n, LAM_MAX_DIMS);
    uint64_t bytes = lam_dtype_size(r->dtype);
    bool overflow = false;
    r->shape.ndim = (int)sh->n;
    for (size_t i = 0; i < sh->n; i++) {
        uint64_t d;
        lam_status st = get_uint(s, base, sh->items[i], name, "a shape dimension", &d);
        if (st) return st;
        r->shape.d[i] = (int64_t)d;
        if (d && bytes > UINT64_MAX / d) overflow = true;
        else bytes *= d;
    }
    /* a zero dimension makes the product 0 whatever overflowed before it */
    for (size_t i = 0; i < sh->n; i++)
        if (r->shape.d[i] == 0) overflow = false, bytes = 0;

    /* data_offsets */
    if (of->type != LAM_JSON_ARRAY || of->n != 2)
        return ferr(s, base + of->offset,
                    "tensor " NAMEFMT ": data_offsets must be an array of two integers [begin, end]",
                    NAMEARG(name));
    lam_status st = get_uint(s, base, of->items[0], name, "data_offsets begin", &r->begin);
    if (!st) st = get_uint(s, base, of->items[1], name, "data_offsets end", &r->end);
    if (st) return st;
    if (r->begin > r->end)
        return ferr(s, base + of->offset, "tensor " NAMEFMT ": data_offsets [%" PRIu64 ", %" PRIu64
                    "] have begin > end", NAMEARG(name), r->begin, r->end);
    char sb[160];
    if (overflow)
        return ferr(s, base + sh->offset, "tensor " NAMEFMT ": shape %s x %s size overflows",
                    NAMEARG(name), lam_shape_str(&r->shape, sb, sizeof sb), dt->str);
    if (bytes != r->end - r->begin)
        return ferr(s, base + of->offset,
                    "tensor " NAMEFMT ": shape %s of %s needs %" PRIu64 " bytes but data_offsets [%"
                    PRIu64 ", %" PRIu64 "] span %" PRIu64, NAMEARG(name),
                    lam_shape_str(&r->shape, sb, sizeof sb), dt->str, bytes, r->begin, r->end,
                    r->end - r->begin);
    if (r->end > data_len)
        return ferr(s, base + of->offset,
                    "tensor " NAMEFMT ": data_offsets [%" PRIu64 ", %" PRIu64 "] extend past the end "
                    "of the %" PRIu64 "-byte data buffer", NAMEARG(name), r->begin, r->end, data_len);
    return LAM_OK;
}

static int cmp_rec_range(const void *a, const void *b)
{
    const rec *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* The sorted byte ranges must tile [0, data_len) exactly. */
static lam_status check_tiling(const source *s, rec *r, size_t n, uint64_t data_start,
                               uint64_t data_len)
{
    if (n) qsort(r, n, sizeof *r, cmp_rec_range);
    uint64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (r[i].begin < at)
            return ferr(s, data_start + r[i].begin,
                        "tensor " NAMEFMT ": data_offsets [%" PRIu64 ", %" PRIu64 "] overlap tensor "
                        NAMEFMT " which ends at %" PRIu64 " (byte ranges must not overlap)",
                        NAMEARG(r[i].name), r[i].begin, r[i].end, NAMEARG(r[i - 1].name), at);
        if (r[i].begin > at)
            return ferr(s, data_start + at,
                        "gap of %" PRIu64 " bytes in the data buffer before tensor " NAMEFMT
                        " at data offset %" PRIu64 " (byte ranges must be contiguous)",
                        r[i].begin - at, NAMEARG(r[i].name), at);
        at = r[i].end;
    }
    if (at != data_len)
        return ferr(s, data_start + at,
                    "%" PRIu64 " trailing bytes of the data buffer belong to no tensor (the tensors "
                    "must cover the data buffer to its end)", data_len - at);
    return LAM_OK;
}

static lam_status check_meta(const source *s, uint64_t base, const lam_json *m)
{
    if (m->type != LAM_JSON_OBJECT)
        return ferr(s, base + m->offset, "__metadata__ must be an object of strings, found a %s",
                    lam_json_type_name(m->type));
    for (size_t i = 0; i < m->n; i++) {
        const lam_json *v = m->items[i];
        if (strlen(v->key) != v->key_len)
            return ferr(s, base + v->offset, "__metadata__ key contains a NUL character");
        if (v->type != LAM_JSON_STRING)
            return ferr(s, base + v->offset, "__metadata__ value of " NAMEFMT
                        " must be a string, found a %s", NAMEARG(v->key), lam_json_type_name(v->type));
        if (strlen(v->str) != v->len)
            return ferr(s, base + v->offset, "__metadata__ value of " NAMEFMT
                        " contains a NUL character", NAMEARG(v->key));
    }
    return LAM_OK;
}

static int cmp_tensor(const void *a, const void *b)
{
    return strcmp(((const lam_st_tensor *)a)->name, ((const lam_st_tensor *)b)->name);
}
static int cmp_meta(const void *a, const void *b)
{
    return strcmp(((const lam_st_meta *)a)->key, ((const lam_st_meta *)b)->key);
}

static char *put_str(char **cursor, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = *cursor;
    memcpy(d, s, n);
    *cursor += n;
    return d;
}

/* Everything after the header was parsed: check, then build the object. */
static lam_status build(const source *s, const lam_json *root, uint64_t hlen, lam_safetensors *st)
{
    const uint64_t base = 8, data_start = 8 + hlen, data_len = s->size - data_start;
    const lam_json *meta = NULL;
    size_t n = 0, strbytes = 0;
    for (size_t i = 0; i < root->n; i++) {
        const lam_json *e = root->items[i];
        if (strlen(e->key) != e->key_len)
            return ferr(s, base + e->offset, "tensor name contains a NUL character");
        if (strcmp(e->key, "__metadata__") == 0) {
            lam_status stt = check_meta(s, base, e);
            if (stt) return stt;
            meta = e;
            for (size_t j = 0; j < e->n; j++) strbytes += e->items[j]->key_len + e->items[j]->len + 2;
        } else {
            n++;
            strbytes += e->key_len + 1;
        }
    }
    /* all counts and string bytes are bounded by the header length (<= 100 MiB) */
    rec *r = n ? lam_malloc(n * sizeof *r) : NULL;
    if (n && !r) return LAM_ERR_NOMEM;
    if (n) memset(r, 0, n * sizeof *r);
    lam_status stt = LAM_OK;
    size_t k = 0;
    for (size_t i = 0; i < root->n && !stt; i++) {
        const lam_json *e = root->items[i];
        if (e != meta) stt = check_entry(s, base, e, data_len, &r[k++]);
    }
    if (!stt) stt = check_tiling(s, r, n, data_start, data_len);
    /* every rule holds: the data buffer size is now known to be real */
    size_t total = SLOT_ALIGN, nmeta = meta ? meta->n : 0;
    for (size_t i = 0; i < n && !stt; i++) {
        size_t nb = (size_t)(r[i].end - r[i].begin);
        if ((uint64_t)nb != r[i].end - r[i].begin || !lam_add_size(total, nb, &total) ||
            !lam_add_size(total, SLOT_ALIGN - 1, &total))
            stt = lam_fail(LAM_ERR_NOMEM, "%s: data buffer too large for this machine", s->label);
        total &= ~(size_t)(SLOT_ALIGN - 1);
    }
    if (!stt && n) {
        st->tensors = lam_malloc(n * sizeof *st->tensors);
        if (!st->tensors) stt = LAM_ERR_NOMEM;
    }
    if (!stt && nmeta) {
        st->meta = lam_malloc(nmeta * sizeof *st->meta);
        if (!st->meta) stt = LAM_ERR_NOMEM;
    }
    if (!stt && !(st->strings = lam_malloc(strbytes ? strbytes : 1))) stt = LAM_ERR_NOMEM;
    if (!stt && !(st->data = lam_malloc(total))) stt = LAM_ERR_NOMEM;
    /* Read the whole data buffer with one read, packed at the start of the
     * allocation, then move each tensor up to its 64-aligned slot, last first:
     * slot i starts at or after begin i and at or before slot i+1, so a move
     * only overwrites bytes of tensors already moved (and usually nothing
     * moves: large tensors tend to be multiples of 64 bytes). */
    if (!stt) stt = src_read(s, data_start, st->data, (size_t)data_len);
    char *cur = st->strings;
    size_t at = 0;
    for (size_t i = 0; i < n && !stt; i++) {
        lam_st_tensor *t = &st->tensors[i];
        t->name = put_str(&cur, r[i].name);
        t->dtype = r[i].dtype;
        t->shape = r[i].shape;
        t->nbytes = (size_t)(r[i].end - r[i].begin);
        t->file_offset = data_start + r[i].begin;
        t->data = st->data + at;
        at = (at + t->nbytes + SLOT_ALIGN - 1) & ~(size_t)(SLOT_ALIGN - 1);
    }
    for (size_t i = n; i-- > 0 && !stt;) {
        unsigned char *dst = (unsigned char *)st->tensors[i].data, *src = st->data + r[i].begin;
        if (dst != src && st->tensors[i].nbytes) memmove(dst, src, st->tensors[i].nbytes);
    }
    for (size_t i = 0; i < nmeta && !stt; i++) {
        st->meta[i].key = put_str(&cur, meta->items[i]->key);
        st->meta[i].value = put_str(&cur, meta->items[i]->str);
    }
    if (!stt) {
        st->n = n;
        st->nmeta = nmeta;
        if (n) qsort(st->tensors, n, sizeof *st->tensors, cmp_tensor);
        if (nmeta) qsort(st->meta, nmeta, sizeof *st->meta, cmp_meta);
    }
    lam_free(r);
    return stt;
}

static lam_status open_source(const source *s, lam_safetensors **out)
{
    if (s->size < 8)
        return ferr(s, 0, "file is %" PRIu64 " bytes, shorter than the 8-byte header length field",
                    s->size);
    unsigned char b8[8];
    lam_status stt = src_read(s, 0, b8, 8);
    if (stt) return stt;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | b8[i];
    if (hlen > s->size - 8)
        return ferr(s, 0, "header length %" PRIu64 " exceeds the %" PRIu64 " bytes that follow the "
                    "length field (header length <= file size - 8)", hlen, s->size - 8);
    if (hlen > LAM_ST_MAX_HEADER)
        return ferr(s, 0, "header length %" PRIu64 " exceeds the cap of %" PRIu64 " bytes", hlen,
                    LAM_ST_MAX_HEADER);
    if (hlen < 2) return ferr(s, 8, "header of %" PRIu64 " bytes cannot hold a JSON object", hlen);

    lam_safetensors *st = lam_calloc(1, sizeof *st);
    char *hdr = lam_malloc((size_t)hlen);
    lam_arena *arena = lam_arena_new(65536);
    if (!st || !hdr || !arena) {
        stt = LAM_ERR_NOMEM;
        goto done;
    }
    if ((stt = src_read(s, 8, hdr, (size_t)hlen))) goto done;
    if (hdr[0] != '{') {
        stt = ferr(s, 8, "header must begin with '{'");
        goto done;
    }
    lam_json *root;
    lam_json_error jerr;
    stt = lam_json_parse(arena, hdr, (size_t)hlen, NULL, &root, &jerr);
    if (stt == LAM_ERR_FORMAT) {
        stt = ferr(s, 8 + jerr.offset, "header is not valid JSON: %s", jerr.msg);
        goto done;
    }
    if (stt) goto done;
    stt = build(s, root, hlen, st);
done:
    lam_arena_free(arena);
    lam_free(hdr);
    if (stt) {
        lam_safetensors_close(st);
        st = NULL;
    }
    *out = st;
    return stt;
}

lam_status lam_safetensors_open(const char *path, lam_safetensors **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_safetensors_open: out is NULL");
    *out = NULL;
    if (!path) return lam_fail(LAM_ERR_ARG, "lam_safetensors_open: path is NULL");
    /* O_NONBLOCK: opening a FIFO must not hang; it is refused below */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return lam_fail(LAM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    lam_status stt;
    if (fstat(fd, &sb) != 0) stt = lam_fail(LAM_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode)) stt = lam_fail(LAM_ERR_IO, "%s: not a regular file", path);
    else {
        source s = {.fd = fd, .size = (uint64_t)sb.st_size, .label = path};
        stt = open_source(&s, out);
    }
    close(fd);
    return stt;
}

lam_status lam_safetensors_open_mem(const void *bytes, size_t size, const char *label,
                                    lam_safetensors **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_safetensors_open_mem: out is NULL");
    *out = NULL;
    if (!bytes && size) return lam_fail(LAM_ERR_ARG, "lam_safetensors_open_mem: bytes is NULL");
    source s = {.fd = -1, .mem = bytes, .size = size, .label = label ? label : "<memory>"};
    return open_source(&s, out);
}

size_t lam_safetensors_count(const lam_safetensors *st) { return st ? st->n : 0; }

const lam_st_tensor *lam_safetensors_at(const lam_safetensors *st, size_t i)
{
    return st && i < st->n ? &st->tensors[i] : NULL;
}

const lam_st_tensor *lam_safetensors_find(const lam_safetensors *st, const char *name)
{
    if (!st || !name || !st->n) return NULL;
    lam_st_tensor probe = {.name = name};
    return bsearch(&probe, st->tensors, st->n, sizeof *st->tensors, cmp_tensor);
}

lam_status lam_safetensors_get(const lam_safetensors *st, const char *name, lam_dtype dtype,
                               const lam_shape *shape, const lam_st_tensor **out)
{
    if (!st || !name || !shape || !out) return lam_fail(LAM_ERR_ARG, "lam_safetensors_get: NULL argument");
    *out = NULL;
    const lam_st_tensor *t = lam_safetensors_find(st, name);
    if (!t) return lam_fail(LAM_ERR_FORMAT, "checkpoint has no tensor " NAMEFMT, NAMEARG(name));
    char a[160], b[160];
    if (t->dtype != dtype || !lam_shape_eq(&t->shape, shape))
        return lam_fail(LAM_ERR_SHAPE, "checkpoint tensor " NAMEFMT " is %s %s, expected %s %s",
                        NAMEARG(name), lam_dtype_name(t->dtype), lam_shape_str(&t->shape, a, sizeof a),
                        lam_dtype_name(dtype), lam_shape_str(shape, b, sizeof b));
    *out = t;
    return LAM_OK;
}

const char *lam_safetensors_meta(const lam_safetensors *st, const char *key)
{
    if (!st || !key || !st->nmeta) return NULL;
    lam_st_meta probe = {.key = key};
    const lam_st_meta *m = bsearch(&probe, st->meta, st->nmeta, sizeof *st->meta, cmp_meta);
    return m ? m->value : NULL;
}

size_t lam_safetensors_meta_count(const lam_safetensors *st) { return st ? st->nmeta : 0; }

const lam_st_meta *lam_safetensors_meta_at(const lam_safetensors *st, size_t i)
{
    return st && i < st->nmeta ? &st->meta[i] : NULL;
}

void lam_safetensors_close(lam_safetensors *st)
{
    if (!st) return;
    lam_free(st->tensors);
    lam_free(st->meta);
    lam_free(st->strings);
    lam_free(st->data);
    lam_free(st);
}

/* ---- writer ------------------------------------------------------------- */

/* qsort has no context argument: sort arrays of pointers to the entries. */
static int cmp_entry_name(const void *a, const void *b)
{
    return strcmp((*(const lam_st_entry *const *)a)->name, (*(const lam_st_entry *const *)b)->name);
}
static int cmp_entry_layout(const void *a, const void *b)
{
    const lam_st_entry *x = *(const lam_st_entry *const *)a, *y = *(const lam_st_entry *const *)b;
    size_t sx = lam_dtype_size(x->dtype), sy = lam_dtype_size(y->dtype);
    if (sx != sy) return sx > sy ? -1 : 1;
    return strcmp(x->name, y->name);
}
static int cmp_meta_ptr(const void *a, const void *b)
{
    return strcmp((*(const lam_st_meta *const *)a)->key, (*(const lam_st_meta *const *)b)->key);
}

static lam_status entry_bytes(const lam_st_entry *e, uint64_t *out)
{
    if (!e->name || !*e->name)
        return lam_fail(LAM_ERR_ARG, "safetensors write: tensor name is NULL or empty");
    if (strcmp(e->name, "__metadata__") == 0)
        return lam_fail(LAM_ERR_ARG, "safetensors write: \"__metadata__\" is reserved");
    if ((unsigned)e->dtype >= LAM_DTYPE_COUNT_)
        return lam_fail(LAM_ERR_ARG, "safetensors write: tensor " NAMEFMT ": invalid dtype %d",
                        NAMEARG(e->name), (int)e->dtype);
    if (e->shape.ndim < 0 || e->shape.ndim > LAM_MAX_DIMS)
        return lam_fail(LAM_ERR_ARG, "safetensors write: tensor " NAMEFMT ": rank %d out of range",
                        NAMEARG(e->name), e->shape.ndim);
    uint64_t bytes = lam_dtype_size(e->dtype);
    bool zero = false, overflow = false;
    for (int i = 0; i < e->shape.ndim; i++) {
        int64_t d = e->shape.d[i];
        if (d < 0 || (uint64_t)d > LAM_ST_MAX_INT)
            return lam_fail(LAM_ERR_ARG, "safetensors write: tensor " NAMEFMT ": dimension %" PRId64
                            " outside [0, 2^53]", NAMEARG(e->name), d);
        if (d == 0) zero = true;
        else if (bytes > UINT64_MAX / (uint64_t)d) overflow = true;
        else bytes *= (uint64_t)d;
    }
    if (zero) bytes = 0;
    else if (overflow || bytes > LAM_ST_MAX_INT)
        return lam_fail(LAM_ERR_ARG, "safetensors write: tensor " NAMEFMT ": size overflows",
                        NAMEARG(e->name));
    if (bytes && !e->data)
        return lam_fail(LAM_ERR_ARG, "safetensors write: tensor " NAMEFMT ": data is NULL",
                        NAMEARG(e->name));
    *out = bytes;
    return LAM_OK;
}

/* Build the header (8-byte length + JSON + padding) into b. */
static void build_header(lam_json_buf *b, const lam_st_entry *const *by_name, size_t n,
                         const uint64_t *begin, const uint64_t *nbytes, const lam_st_entry *base,
                         const lam_st_meta *const *meta, size_t nmeta)
{
    lam_json_buf_append(b, "\0\0\0\0\0\0\0\0{", 9);
    if (nmeta) {
        lam_json_buf_puts(b, "\"__metadata__\":{");
        for (size_t i = 0; i < nmeta; i++) {
            if (i) lam_json_buf_puts(b, ",");
            lam_json_write_string(b, meta[i]->key, strlen(meta[i]->key));
            lam_json_buf_puts(b, ":");
            lam_json_write_string(b, meta[i]->value, strlen(meta[i]->value));
        }
        lam_json_buf_puts(b, "}");
    }
    for (size_t i = 0; i < n; i++) {
        const lam_st_entry *e = by_name[i];
        size_t j = (size_t)(e - base);
        if (i || nmeta) lam_json_buf_puts(b, ",");
        lam_json_write_string(b, e->name, strlen(e->name));
        lam_json_buf_puts(b, ":{\"dtype\":\"");
        lam_json_buf_puts(b, lam_dtype_name(e->dtype));
        lam_json_buf_puts(b, "\",\"shape\":[");
        for (int k = 0; k < e->shape.ndim; k++) {
            if (k) lam_json_buf_puts(b, ",");
            lam_json_write_int(b, e->shape.d[k]);
        }
        lam_json_buf_puts(b, "],\"data_offsets\":[");
        lam_json_write_int(b, (int64_t)begin[j]);
        lam_json_buf_puts(b, ",");
        lam_json_write_int(b, (int64_t)(begin[j] + nbytes[j]));
        lam_json_buf_puts(b, "]}");
    }
    lam_json_buf_puts(b, "}");
    while (b->status == LAM_OK && (b->len - 8) % 8) lam_json_buf_puts(b, " ");
    if (b->status == LAM_OK) {
        uint64_t h = b->len - 8;
        for (int i = 0; i < 8; i++) b->data[i] = (char)(unsigned char)(h >> (8 * i));
    }
}

lam_status lam_safetensors_write(const char *path, const lam_st_entry *entries, size_t n,
                                 const lam_st_meta *meta, size_t nmeta)
{
    if (!path || !*path) return lam_fail(LAM_ERR_ARG, "safetensors write: path is NULL or empty");
    if ((n && !entries) || (nmeta && !meta))
        return lam_fail(LAM_ERR_ARG, "safetensors write: entries or meta is NULL");
    lam_status stt = LAM_OK;
    const lam_st_entry **by_name = NULL, **by_layout = NULL;
    const lam_st_meta **mo = NULL;
    uint64_t *begin = NULL, *nbytes = NULL;
    lam_json_buf hb = {0};
    lam_atomic_file af = LAM_ATOMIC_FILE_INIT;
    size_t cap = n ? n : 1;

    /* every allocation happens before the temporary file exists */
    by_name = lam_malloc(cap * sizeof *by_name);
    by_layout = lam_malloc(cap * sizeof *by_layout);
    begin = lam_malloc(cap * sizeof *begin);
    nbytes = lam_malloc(cap * sizeof *nbytes);
    mo = lam_malloc((nmeta ? nmeta : 1) * sizeof *mo);
    stt = lam_atomic_begin(&af, path);
    if (!by_name || !by_layout || !begin || !nbytes || !mo || stt) {
        stt = LAM_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < n && !stt; i++) {
        stt = entry_bytes(&entries[i], &nbytes[i]);
        by_name[i] = by_layout[i] = &entries[i];
    }
    if (stt) goto done;
    if (n) qsort(by_name, n, sizeof *by_name, cmp_entry_name);
    for (size_t i = 1; i < n; i++)
        if (strcmp(by_name[i - 1]->name, by_name[i]->name) == 0) {
            stt = lam_fail(LAM_ERR_ARG, "safetensors write: duplicate tensor name " NAMEFMT,
                           NAMEARG(by_name[i]->name));
            goto done;
        }
    for (size_t i = 0; i < nmeta; i++) {
        if (!meta[i].key || !meta[i].value) {
            stt = lam_fail(LAM_ERR_ARG, "safetensors write: metadata %zu has a NULL key or value", i);
            goto done;
        }
        mo[i] = &meta[i];
    }
    if (nmeta) qsort(mo, nmeta, sizeof *mo, cmp_meta_ptr);
    for (size_t i = 1; i < nmeta; i++)
        if (strcmp(mo[i - 1]->key, mo[i]->key) == 0) {
            stt = lam_fail(LAM_ERR_ARG, "safetensors write: duplicate metadata key " NAMEFMT,
                           NAMEARG(mo[i]->key));
            goto done;
        }
    if (n) qsort(by_layout, n, sizeof *by_layout, cmp_entry_layout);
    uint64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = (size_t)(by_layout[i] - entries);
        begin[j] = at;
        at += nbytes[j];
        if (at > LAM_ST_MAX_INT) {
            stt = lam_fail(LAM_ERR_ARG, "safetensors write: total data exceeds 2^53 bytes");
            goto done;
        }
    }
    build_header(&hb, by_name, n, begin, nbytes, entries, mo, nmeta);
    if ((stt = hb.status)) goto done; /* NOMEM, or ARG for invalid UTF-8 */
    if (hb.len - 8 > LAM_ST_MAX_HEADER) {
        stt = lam_fail(LAM_ERR_ARG, "safetensors write: header of %zu bytes exceeds the %" PRIu64
                       "-byte cap", hb.len - 8, LAM_ST_MAX_HEADER);
        goto done;
    }

    if ((stt = lam_atomic_create(&af))) goto done;
    if ((stt = lam_atomic_write(&af, hb.data, hb.len))) goto done;
    for (size_t i = 0; i < n && !stt; i++) {
        const lam_st_entry *e = by_layout[i];
        stt = lam_atomic_write(&af, e->data, (size_t)nbytes[e - entries]);
    }
    if (!stt) stt = lam_atomic_commit(&af);
done:
    lam_atomic_end(&af);
    lam_json_buf_free(&hb);
    lam_free(by_name);
    lam_free(by_layout);
    lam_free(begin);
    lam_free(nbytes);
    lam_free(mo);
    return stt;
}
