/* NumPy .npz archives, writing: a ZIP archive of NAME.npy members, stored
 * or deflated, laid out as np.savez writes it (a Zip64 extra field in every
 * local header, Zip64 end records only when needed), written atomically
 * (io/atomic.h).  Format and guarantees: see include/lamina/npy.h; the
 * reader is npz.c. */
#include "lamina/npy.h"

#include "io/atomic.h"
#include "io/json.h"
#include "io/npy_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define LIM32 0xFFFFFFFFu
#define OUT_CHUNK ((size_t)1 << 16)
#define LOCAL_EXTRA 20 /* Zip64 extra field: id, size, usize, csize */

/* What the central directory needs to know of a written member. */
typedef struct written {
    uint64_t offset, csize, usize;
    uint32_t crc;
    uint16_t flags;
} written;

static void put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static bool ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80) return false;
    return true;
}

/* The local header of a member (30 bytes, the name, the Zip64 field). */
static size_t local_header(unsigned char *h, const char *name, size_t nlen, uint16_t flags, bool deflate,
                           const written *w)
{
    bool big = w->csize >= LIM32 || w->usize >= LIM32;
    put32(h, 0x04034b50u);
    put16(h + 4, big ? 45 : 20);
    put16(h + 6, flags);
    put16(h + 8, deflate ? 8 : 0);
    put16(h + 10, 0);    /* time 00:00:00 */
    put16(h + 12, 0x21); /* date 1980-01-01, as np.savez writes */
    put32(h + 14, w->crc);
    put32(h + 18, big ? LIM32 : (uint32_t)w->csize);
    put32(h + 22, big ? LIM32 : (uint32_t)w->usize);
    put16(h + 26, (unsigned)nlen + 4);
    put16(h + 28, LOCAL_EXTRA);
    memcpy(h + 30, name, nlen);
    memcpy(h + 30 + nlen, ".npy", 4);
    unsigned char *x = h + 30 + nlen + 4;
    put16(x, 1);
    put16(x + 2, 16);
    put64(x + 4, w->usize);
    put64(x + 12, w->csize);
    return 30 + nlen + 4 + LOCAL_EXTRA;
}

/* A central-directory entry; returns its length. */
static size_t central_entry(unsigned char *c, const char *name, size_t nlen, bool deflate, const written *w)
{
    bool big = w->csize >= LIM32 || w->usize >= LIM32, far = w->offset >= LIM32;
    size_t xl = (big ? 16 : 0) + (far ? 8 : 0);
    put32(c, 0x02014b50u);
    put16(c + 4, 3 << 8 | 20); /* made by: Unix, 2.0 (as Python's zipfile) */
    put16(c + 6, big || far ? 45 : 20);
    put16(c + 8, w->flags);
    put16(c + 10, deflate ? 8 : 0);
    put16(c + 12, 0);
    put16(c + 14, 0x21);
    put32(c + 16, w->crc);
    put32(c + 20, big ? LIM32 : (uint32_t)w->csize);
    put32(c + 24, big ? LIM32 : (uint32_t)w->usize);
    put16(c + 28, (unsigned)nlen + 4);
    put16(c + 30, xl ? (unsigned)xl + 4 : 0);
    put16(c + 32, 0);
    put16(c + 34, 0);
    put16(c + 36, 0);
    put32(c + 38, 0600u << 16); /* -rw------- */
    put32(c + 42, far ? LIM32 : (uint32_t)w->offset);
    memcpy(c + 46, name, nlen);
    memcpy(c + 46 + nlen, ".npy", 4);
    unsigned char *x = c + 46 + nlen + 4;
    if (xl) {
        put16(x, 1);
        put16(x + 2, (unsigned)xl);
        x += 4;
        if (big) put64(x, w->usize), put64(x + 8, w->csize), x += 16;
        if (far) put64(x, w->offset);
    }
    return 46 + nlen + 4 + (xl ? xl + 4 : 0);
}

/* The end records after a central directory of cd_size bytes at cd_off. */
static size_t end_records(unsigned char *e, uint64_t n, uint64_t cd_off, uint64_t cd_size)
{
    size_t k = 0;
    if (n >= 0xFFFF || cd_off >= LIM32 || cd_size >= LIM32) {
        uint64_t rec = cd_off + cd_size;
        put32(e, 0x06064b50u);
        put64(e + 4, 44);
        put16(e + 12, 45);
        put16(e + 14, 45);
        put32(e + 16, 0);
        put32(e + 20, 0);
        put64(e + 24, n);
        put64(e + 32, n);
        put64(e + 40, cd_size);
        put64(e + 48, cd_off);
        put32(e + 56, 0x07064b50u);
        put32(e + 60, 0);
        put64(e + 64, rec);
        put32(e + 72, 1);
        k = 76;
    }
    unsigned char *r = e + k;
    put32(r, 0x06054b50u);
    put16(r + 4, 0);
    put16(r + 6, 0);
    put16(r + 8, n >= 0xFFFF ? 0xFFFF : (unsigned)n);
    put16(r + 10, n >= 0xFFFF ? 0xFFFF : (unsigned)n);
    put32(r + 12, cd_size >= LIM32 ? LIM32 : (uint32_t)cd_size);
    put32(r + 16, cd_off >= LIM32 ? LIM32 : (uint32_t)cd_off);
    put16(r + 20, 0);
    return k + 22;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((*(const lam_npz_entry *const *)a)->name, (*(const lam_npz_entry *const *)b)->name);
}

static uint32_t crc_of(uint32_t crc, const void *p, uint64_t n)
{
    const unsigned char *c = p;
    uLong r = crc;
    while (n) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        r = crc32(r, c, k);
        c += k;
        n -= k;
    }
    return (uint32_t)r;
}

/* Deflate n bytes (flush: the member's last bytes) and write the output. */
static lam_status deflate_out(z_stream *zs, const void *p, uint64_t n, bool flush, unsigned char *out,
                              lam_atomic_file *af, uint64_t *csize)
{
    const unsigned char *c = p;
    for (;;) {
        if (zs->avail_in == 0 && n) {
            uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
            zs->next_in = (unsigned char *)c;
            zs->avail_in = k;
            c += k;
            n -= k;
        }
        zs->next_out = out;
        zs->avail_out = (uInt)OUT_CHUNK;
        int zr = deflate(zs, flush && !n ? Z_FINISH : Z_NO_FLUSH);
        size_t got = OUT_CHUNK - zs->avail_out;
        if (got) {
            lam_status st = lam_atomic_write(af, out, got);
            if (st) return st;
            *csize += got;
        }
        if (zr == Z_STREAM_END) return LAM_OK;
        if (zr != Z_OK && zr != Z_BUF_ERROR)
            return lam_fail(LAM_ERR_ARG, "npz write: zlib deflate failed (%d)", zr);
        if (!flush && !n && zs->avail_in == 0 && zs->avail_out) return LAM_OK;
    }
}

lam_status lam_npz_write(const char *path, const lam_npz_entry *entries, size_t n, bool compress)
{
    if (!path || !*path) return lam_fail(LAM_ERR_ARG, "npz write: path is NULL or empty");
    if (n && !entries) return lam_fail(LAM_ERR_ARG, "npz write: entries is NULL");
    lam_status st = LAM_OK;
    lam_atomic_file af = LAM_ATOMIC_FILE_INIT;
    size_t cap = n ? n : 1;
    char **hdr = lam_calloc(cap, sizeof *hdr);
    size_t *hlen = lam_calloc(cap, sizeof *hlen);
    uint64_t *nbytes = lam_calloc(cap, sizeof *nbytes);
    written *w = lam_calloc(cap, sizeof *w);
    const lam_npz_entry **sorted = lam_calloc(cap, sizeof *sorted);
    unsigned char *cd = NULL, *out = NULL, *lh = NULL;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    bool zinit = false;
    if (!hdr || !hlen || !nbytes || !w || !sorted) {
        st = LAM_ERR_NOMEM;
        goto done;
    }
    /* check every entry and build its .npy header; size the central directory */
    size_t cd_cap = 22 + 76, lh_cap = 1;
    for (size_t i = 0; i < n && !st; i++) {
        const lam_npz_entry *e = &entries[i];
        if (!e->name) {
            st = lam_fail(LAM_ERR_ARG, "npz write: entry %zu has a NULL name", i);
            break;
        }
        size_t nl = strlen(e->name);
        if (nl > 65535 - 4 || !lam_json_utf8_valid(e->name, nl)) {
            st = lam_fail(LAM_ERR_ARG, "npz write: entry %zu: the name is %s", i,
                          nl > 65535 - 4 ? "longer than 65531 bytes" : "not valid UTF-8");
            break;
        }
        char who[160];
        snprintf(who, sizeof who, "npz write: array '%.64s'", e->name);
        st = lam_npy_header_(who, e->dtype, e->ndim, e->dims, e->data, &hdr[i], &hlen[i], &nbytes[i]);
        cd_cap += 46 + nl + 4 + 4 + 24;
        if (30 + nl + 4 + LOCAL_EXTRA > lh_cap) lh_cap = 30 + nl + 4 + LOCAL_EXTRA;
        sorted[i] = e;
    }
    if (st) goto done;
    if (n) qsort(sorted, n, sizeof *sorted, cmp_name);
    for (size_t i = 1; i < n; i++)
        if (!strcmp(sorted[i - 1]->name, sorted[i]->name)) {
            st = lam_fail(LAM_ERR_ARG, "npz write: duplicate array name '%.64s'", sorted[i]->name);
            goto done;
        }
    /* every allocation happens before the temporary file exists: zlib's too */
    cd = lam_malloc(cd_cap);
    lh = lam_malloc(lh_cap);
    out = compress ? lam_malloc(OUT_CHUNK) : NULL;
    if (!cd || !lh || (compress && !out)) {
        st = LAM_ERR_NOMEM;
        goto done;
    }
    if (compress) {
        zs.zalloc = lam_zalloc_;
        zs.zfree = lam_zfree_;
        int zr = deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
        if (zr != Z_OK) {
            st = zr == Z_MEM_ERROR ? LAM_ERR_NOMEM : lam_fail(LAM_ERR_ARG, "npz write: zlib cannot start");
            goto done;
        }
        zinit = true;
    }
    if ((st = lam_atomic_begin(&af, path))) goto done;
    if ((st = lam_atomic_create(&af))) goto done;
    for (size_t i = 0; i < n && !st; i++) {
        const lam_npz_entry *e = &entries[i];
        size_t nl = strlen(e->name);
        written *m = &w[i];
        m->offset = af.pos;
        m->flags = ascii(e->name) ? 0 : 0x800; /* bit 11: the name is UTF-8 */
        m->usize = hlen[i] + nbytes[i];
        m->crc = crc_of(crc_of(0, hdr[i], hlen[i]), e->data, nbytes[i]);
        if (!compress) m->csize = m->usize;
        /* sizes to be fixed once the member is written */
        size_t ll = local_header(lh, e->name, nl, m->flags, compress, m);
        if ((st = lam_atomic_write(&af, lh, ll))) break;
        if (!compress) {
            st = lam_atomic_write(&af, hdr[i], hlen[i]);
            if (!st && nbytes[i]) st = lam_atomic_write(&af, e->data, (size_t)nbytes[i]);
        } else {
            if (deflateReset(&zs) != Z_OK) st = lam_fail(LAM_ERR_ARG, "npz write: zlib reset failed");
            if (!st) st = deflate_out(&zs, hdr[i], hlen[i], false, out, &af, &m->csize);
            if (!st) st = deflate_out(&zs, e->data, nbytes[i], true, out, &af, &m->csize);
        }
        if (!st && compress) {
            local_header(lh, e->name, nl, m->flags, compress, m);
            st = lam_atomic_pwrite(&af, m->offset, lh, ll);
        }
    }
    if (st) goto done;
    uint64_t cd_off = af.pos;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += central_entry(cd + k, entries[i].name, strlen(entries[i].name), compress, &w[i]);
    k += end_records(cd + k, n, cd_off, k);
    st = lam_atomic_write(&af, cd, k);
    if (!st) st = lam_atomic_commit(&af);
done:
    lam_atomic_end(&af);
    if (zinit) deflateEnd(&zs);
    for (size_t i = 0; hdr && i < n; i++) lam_free(hdr[i]);
    lam_free(hdr);
    lam_free(hlen);
    lam_free(nbytes);
    lam_free(w);
    lam_free(sorted);
    lam_free(cd);
    lam_free(lh);
    lam_free(out);
    return st;
}
