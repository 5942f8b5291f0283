/* NumPy .npz archives, reading: the ZIP structure (end records, Zip64,
 * central directory, local headers, data descriptors) validated as a whole
 * when the archive is opened, and members read on demand (stored or
 * inflated through zlib, CRC-32 checked) into lam_npy arrays.  Format and
 * guarantees: see include/lamina/npy.h; the writer is npz_write.c. */
#include "lamina/npy.h"

#include "io/fileio.h"
#include "io/json.h"
#include "io/npy_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END 0x06054b50u
#define SIG_END64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u
#define SIG_DESCRIPTOR 0x08074b50u
#define DEFLATE_RATIO 1032 /* deflate's largest expansion: 258 bytes per 2 bits */

typedef struct member {
    const char *name;   /* the member's name, NUL-terminated, in the names block */
    const char *key;    /* the name without ".npy" */
    size_t name_len;
    uint16_t flags, method;
    uint32_t crc;
    uint64_t csize, usize;
    uint64_t offset;    /* its local header */
    uint64_t data_off;  /* its data, after the local header */
    size_t index;       /* position in the central directory */
} member;

struct lam_npz {
    int fd;               /* -1 for an archive in memory */
    unsigned char *mem;   /* the bytes of an archive in memory */
    uint64_t size;
    char *label;
    member *m;            /* in central-directory order */
    size_t n;
    member **by_key;      /* the members in key order */
    char *names;          /* names and keys, NUL-terminated */
};

/* ---- zlib's memory goes through the library allocator ---------------------- */

void *lam_zalloc_(void *opaque, unsigned items, unsigned size)
{
    (void)opaque;
    size_t n;
    if (!lam_mul_size(items, size, &n)) return NULL;
    return lam_malloc(n);
}

void lam_zfree_(void *opaque, void *p)
{
    (void)opaque;
    lam_free(p);
}

/* ---- reading bytes and messages ---------------------------------------------- */

static lam_status zread(const lam_npz *z, uint64_t off, void *buf, size_t n)
{
    if (off > z->size || n > z->size - off)
        return lam_fail(LAM_ERR_IO, "%s: read past the end (byte offset %" PRIu64 ")", z->label, off);
    if (z->fd < 0) {
        if (n) memcpy(buf, z->mem + off, n);
        return LAM_OK;
    }
    return lam_pread_full_(z->fd, off, buf, n, z->label);
}


/* Member names in messages: cut, and bytes outside printable ASCII escaped
 * (a name is checked for UTF-8 only after it is first shown). */
#define NAMEFMT "'%s'"
static const char *shown(const char *s, size_t n, char *buf)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < 80; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') buf[k++] = (char)c;
        else k += (size_t)snprintf(buf + k, 8, "\\x%02x", c);
    }
    if (k >= 80) memcpy(buf + k, "...", 4);
    else buf[k] = 0;
    return buf;
}
#define SHOWN_CAP 96

static uint16_t u16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t u64(const unsigned char *p) { return (uint64_t)u32(p) | (uint64_t)u32(p + 4) << 32; }

/* ---- the end records ------------------------------------------------------------ */

typedef struct end_info {
    uint64_t count, cd_size, cd_off;
    uint64_t end_start; /* where the end records begin: the central directory ends here */
} end_info;

static lam_status find_end(const lam_npz *z, end_info *e)
{
    if (z->size == 0)
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, 0, "the file is empty; hint: an .npz is a ZIP archive "
                                          "written by np.savez");
    if (z->size < 22)
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, 0,
                    "not a ZIP archive: %" PRIu64 " bytes, shorter than the 22-byte "
                    "end-of-central-directory record; hint: the file is truncated or not an .npz",
                    z->size);
    size_t tail = z->size < 22 + 65535 ? (size_t)z->size : 22 + 65535;
    uint64_t tail_off = z->size - tail;
    unsigned char *t = lam_malloc(tail);
    if (!t) return LAM_ERR_NOMEM;
    lam_status st = zread(z, tail_off, t, tail);
    if (st) {
        lam_free(t);
        return st;
    }
    /* the last record whose comment ends the file exactly */
    size_t found = SIZE_MAX, any = SIZE_MAX;
    for (size_t i = tail - 22 + 1; i-- > 0;) {
        if (u32(t + i) != SIG_END) continue;
        if (any == SIZE_MAX) any = i;
        if (i + 22 + u16(t + i + 20) == tail) {
            found = i;
            break;
        }
    }
    if (found == SIZE_MAX) {
        if (any != SIZE_MAX) {
            unsigned clen = u16(t + any + 20);
            uint64_t pos = tail_off + any, end = pos + 22 + clen;
            lam_free(t);
            if (end > z->size)
                return lam_npy_err_(LAM_ERR_FORMAT, z->label, pos,
                            "truncated: the end-of-central-directory record's %u-byte comment runs "
                            "past the end of the file; hint: the file is incomplete",
                            clen);
            return lam_npy_err_(LAM_ERR_FORMAT, z->label, end,
                        "%" PRIu64 " unexpected bytes after the end-of-central-directory record "
                        "(byte offset %" PRIu64 "); hint: something was appended to the archive",
                        z->size - end, pos);
        }
        bool npy = tail_off == 0 && tail >= 6 && !memcmp(t, "\x93NUMPY", 6);
        lam_free(t);
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, z->size,
                    "no end-of-central-directory record (a ZIP archive ends with one); hint: %s",
                    npy ? "this is a .npy file, not an .npz: read it with lam_npy_read (model "
                          "files: x = FILE.npy, y = FILE.npy)"
                        : "the file is truncated or is not an .npz written by np.savez");
    }
    const unsigned char *r = t + found;
    uint64_t pos = tail_off + found;
    uint16_t disk = u16(r + 4), cd_disk = u16(r + 6), n_disk = u16(r + 8), n_all = u16(r + 10);
    uint32_t cd_size = u32(r + 12), cd_off = u32(r + 16);
    lam_free(t);
    unsigned char loc[20];
    bool locator = false;
    if (pos >= 20) {
        if ((st = zread(z, pos - 20, loc, 20))) return st;
        locator = u32(loc) == SIG_LOCATOR64;
    }
    if (!locator) {
        if (disk || cd_disk || n_disk != n_all)
            return lam_npy_err_(LAM_ERR_UNSUPPORTED, z->label, pos,
                        "a multi-disk (spanned) ZIP archive (disk %u, central directory on disk "
                        "%u, %u of %u entries here); hint: join the parts into one archive",
                        disk, cd_disk, n_disk, n_all);
        *e = (end_info){n_all, cd_size, cd_off, pos};
        return LAM_OK;
    }
    /* Zip64: locator, then the Zip64 end record it points to */
    uint64_t loc_pos = pos - 20, rec = u64(loc + 8);
    if (u32(loc + 4) != 0 || u32(loc + 16) != 1)
        return lam_npy_err_(LAM_ERR_UNSUPPORTED, z->label, loc_pos,
                    "a multi-disk (spanned) ZIP archive (Zip64 locator: disk %" PRIu32 " of %" PRIu32
                    "); hint: join the parts into one archive",
                    u32(loc + 4), u32(loc + 16));
    if (rec > loc_pos || loc_pos - rec < 56)
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, loc_pos + 8,
                    "the Zip64 end record's offset %" PRIu64 " leaves no room for it before the "
                    "locator at byte offset %" PRIu64 "; hint: the archive is corrupt",
                    rec, loc_pos);
    unsigned char z64[56];
    if ((st = zread(z, rec, z64, 56))) return st;
    if (u32(z64) != SIG_END64)
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, rec,
                    "no Zip64 end-of-central-directory record where the locator points; hint: the "
                    "archive is corrupt");
    uint64_t rsize = u64(z64 + 4);
    if (rsize < 44 || rsize != loc_pos - rec - 12)
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, rec + 4,
                    "the Zip64 end record's size %" PRIu64 " does not reach the locator at byte "
                    "offset %" PRIu64 " (expected %" PRIu64 "); hint: the archive is corrupt",
                    rsize, loc_pos, loc_pos - rec - 12);
    uint32_t d64 = u32(z64 + 16), cd64 = u32(z64 + 20);
    uint64_t nd64 = u64(z64 + 24), na64 = u64(z64 + 32), size64 = u64(z64 + 40), off64 = u64(z64 + 48);
    if (d64 || cd64 || nd64 != na64)
        return lam_npy_err_(LAM_ERR_UNSUPPORTED, z->label, rec,
                    "a multi-disk (spanned) ZIP archive (Zip64 end record: disk %" PRIu32 ", "
                    "central directory on disk %" PRIu32 "); hint: join the parts into one archive",
                    d64, cd64);
    /* the 16/32-bit fields agree with the 64-bit ones or hold the "see Zip64" value */
    if ((disk && disk != 0xFFFF) || (cd_disk && cd_disk != 0xFFFF) ||
        (n_disk != 0xFFFF && n_disk != na64) || (n_all != 0xFFFF && n_all != na64) ||
        (cd_size != 0xFFFFFFFFu && cd_size != size64) || (cd_off != 0xFFFFFFFFu && cd_off != off64))
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, pos,
                    "the end-of-central-directory record (%u entries, %" PRIu32 " bytes at byte "
                    "offset %" PRIu32 ") disagrees with the Zip64 end record (%" PRIu64 " entries, %"
                    PRIu64 " bytes at byte offset %" PRIu64 "); hint: the archive is corrupt",
                    n_all, cd_size, cd_off, na64, size64, off64);
    *e = (end_info){na64, size64, off64, rec};
    return LAM_OK;
}

/* ---- the central directory -------------------------------------------------------- */

/* Walk the extra fields x[0..n) (at file offset off) of a central-directory
 * or local header; take the Zip64 field's values for the fields marked
 * need_* (in the order usize, csize, offset, disk) into the pointers. */
typedef struct z64_fields {
    bool usize, csize, offset, disk; /* which to read (central) */
    bool local;                      /* local header: usize and csize both present */
    bool found;
    uint64_t v_usize, v_csize, v_offset;
} z64_fields;

static lam_status walk_extra(const lam_npz *z, const unsigned char *x, size_t n, uint64_t off,
                             const char *who, z64_fields *f)
{
    size_t i = 0;
    while (i < n) {
        if (n - i < 4)
            return lam_npy_err_(LAM_ERR_FORMAT, z->label, off + i,
                        "%s: %zu stray bytes at the end of the extra fields (each is a 4-byte "
                        "header and its data); hint: the archive is corrupt",
                        who, n - i);
        uint16_t id = u16(x + i), sz = u16(x + i + 2);
        if (sz > n - i - 4)
            return lam_npy_err_(LAM_ERR_FORMAT, z->label, off + i,
                        "%s: extra field 0x%04x of %u bytes runs past the %zu bytes of extra fields; "
                        "hint: the archive is corrupt",
                        who, id, sz, n);
        if (id == 1) {
            if (f->found)
                return lam_npy_err_(LAM_ERR_FORMAT, z->label, off + i, "%s: two Zip64 extra fields", who);
            f->found = true;
            const unsigned char *d = x + i + 4;
            size_t need = 8 * (f->local ? 2 : (size_t)f->usize + f->csize + f->offset) + 4 * f->disk, k = 0;
            if (f->local && sz < 16) need = 16;
            if (sz < need)
                return lam_npy_err_(LAM_ERR_FORMAT, z->label, off + i,
                            "%s: Zip64 extra field of %u bytes, fewer than the %zu its header "
                            "needs; hint: the archive is corrupt",
                            who, sz, need);
            if (f->local || f->usize) f->v_usize = u64(d + k), k += 8;
            if (f->local || f->csize) f->v_csize = u64(d + k), k += 8;
            if (!f->local && f->offset) f->v_offset = u64(d + k);
        }
        i += 4 + (size_t)sz;
    }
    return LAM_OK;
}

static bool ends_npy(const char *s, size_t n) { return n >= 4 && !memcmp(s + n - 4, ".npy", 4); }

static const char *method_name(unsigned m)
{
    switch (m) {
    case 1: return "shrink";
    case 6: return "implode";
    case 9: return "deflate64";
    case 12: return "bzip2";
    case 14: return "lzma";
    case 93: return "zstd";
    case 95: return "xz";
    case 99: return "AES encryption";
    default: return "unknown";
    }
}

/* One central-directory entry at cd[pos..) (file offset base + pos). */
static lam_status parse_entry(const lam_npz *z, const unsigned char *cd, size_t cd_size, size_t *pos,
                              uint64_t base, const end_info *e, size_t idx, member *m, char **names)
{
    size_t p = *pos;
    uint64_t off = base + p;
    if (cd_size - p < 46)
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, off,
                    "truncated central directory: entry %zu of %" PRIu64 " does not fit in the %zu "
                    "bytes left; hint: the archive is corrupt",
                    idx, e->count, cd_size - p);
    const unsigned char *r = cd + p;
    if (u32(r) != SIG_CENTRAL)
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, off,
                    "central directory entry %zu has no signature PK\\1\\2 (found 0x%08" PRIx32
                    "); hint: the archive is corrupt",
                    idx, u32(r));
    m->flags = u16(r + 8);
    m->method = u16(r + 10);
    m->crc = u32(r + 16);
    uint32_t cs = u32(r + 20), us = u32(r + 24), lo = u32(r + 42);
    uint16_t nlen = u16(r + 28), elen = u16(r + 30), clen = u16(r + 32), disk = u16(r + 34);
    if ((size_t)nlen + elen + clen > cd_size - p - 46)
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, off,
                    "central directory entry %zu: its name, extra fields and comment (%u + %u + %u "
                    "bytes) run past the end of the central directory; hint: the archive is corrupt",
                    idx, nlen, elen, clen);
    const char *name = (const char *)r + 46;
    char sb[SHOWN_CAP];
    shown(name, nlen, sb);
    char who[160];
    snprintf(who, sizeof who, "member " NAMEFMT, sb);
    z64_fields f = {.usize = us == 0xFFFFFFFFu, .csize = cs == 0xFFFFFFFFu, .offset = lo == 0xFFFFFFFFu,
                    .disk = disk == 0xFFFF};
    lam_status st = walk_extra(z, r + 46 + nlen, elen, off + 46 + nlen, who, &f);
    if (st) return st;
    if ((f.usize || f.csize || f.offset || f.disk) && !f.found)
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, off,
                    "%s: a size or offset of 0xFFFFFFFF says \"see the Zip64 extra field\", which is "
                    "missing; hint: the archive is corrupt",
                    who);
    m->usize = f.usize ? f.v_usize : us;
    m->csize = f.csize ? f.v_csize : cs;
    m->offset = f.offset ? f.v_offset : lo;
    *pos = p + 46 + nlen + elen + clen;
    if (disk)
        return lam_npy_err_(LAM_ERR_UNSUPPORTED, z->label, off + 34,
                    "%s is on another disk (a multi-disk archive); hint: join the parts into one "
                    "archive",
                    who);
    if (m->flags & 0x2041)
        return lam_npy_err_(LAM_ERR_UNSUPPORTED, z->label, off + 8,
                    "%s is encrypted (flags 0x%04x); hint: np.load cannot read it either: decrypt "
                    "the archive",
                    who, m->flags);
    if (m->method != 0 && m->method != 8)
        return lam_npy_err_(LAM_ERR_UNSUPPORTED, z->label, off + 10,
                    "%s is compressed with method %u (%s); hint: Lamina reads stored and deflated "
                    "members, as np.savez and np.savez_compressed write them",
                    who, m->method, method_name(m->method));
    if (nlen == 0) return lam_npy_err_(LAM_ERR_FORMAT, z->label, off + 28, "central directory entry %zu has an empty name", idx);
    if (memchr(name, 0, nlen))
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, off + 46, "%s: the name holds a NUL byte", who);
    if (!lam_json_utf8_valid(name, nlen))
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, off + 46,
                    "%s: the name is not valid UTF-8; hint: the archive is corrupt", who);
    if (!ends_npy(name, nlen))
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, off + 46,
                    "%s is not a .npy file (its name does not end in .npy); hint: an .npz holds "
                    "arrays NAME.npy, as np.savez writes them",
                    who);
    if (m->method == 0 && m->csize != m->usize)
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, off + 20,
                    "%s is stored (not compressed) but its compressed size %" PRIu64 " differs from "
                    "its size %" PRIu64 "; hint: the archive is corrupt",
                    who, m->csize, m->usize);
    if (m->method == 8 && m->csize < (UINT64_MAX - DEFLATE_RATIO) / DEFLATE_RATIO &&
        m->usize > m->csize * DEFLATE_RATIO + DEFLATE_RATIO)
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, off + 24,
                    "%s declares %" PRIu64 " bytes from %" PRIu64 " compressed ones, more than "
                    "deflate can produce (at most %d:1); hint: the archive is corrupt or a zip bomb",
                    who, m->usize, m->csize, DEFLATE_RATIO);
    if (m->offset > e->cd_off || e->cd_off - m->offset < 30)
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, off + 42,
                    "%s: its local header at byte offset %" PRIu64 " is not before the central "
                    "directory at byte offset %" PRIu64 "; hint: the archive is corrupt",
                    who, m->offset, e->cd_off);
    if (m->csize > e->cd_off - m->offset)
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, off + 20,
                    "%s: %" PRIu64 " compressed bytes from byte offset %" PRIu64 " run past the "
                    "central directory at byte offset %" PRIu64 "; hint: the archive is corrupt",
                    who, m->csize, m->offset, e->cd_off);
    /* name and key into the names block */
    char *d = *names;
    memcpy(d, name, nlen);
    d[nlen] = 0;
    m->name = d;
    m->name_len = nlen;
    memcpy(d + nlen + 1, name, nlen - 4);
    d[nlen + 1 + nlen - 4] = 0;
    m->key = d + nlen + 1;
    *names = d + 2 * (size_t)nlen - 2;
    m->index = idx;
    return LAM_OK;
}

/* ---- local headers and the layout ---------------------------------------------------- */

/* qsort has no context argument: arrays of pointers to the members */
static int cmp_offset(const void *a, const void *b)
{
    const member *x = *(const member *const *)a, *y = *(const member *const *)b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}
static int cmp_key(const void *a, const void *b)
{
    const member *x = *(const member *const *)a, *y = *(const member *const *)b;
    int c = strcmp(x->key, y->key);
    if (c) return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Check member m's local header against its central-directory entry; *end
 * receives where its bytes end (after the data descriptor, if any).
 * scratch holds at least 2 * 65535 + 30 bytes or the file size. */
static lam_status check_local(const lam_npz *z, member *m, uint64_t limit, unsigned char *scratch,
                              uint64_t *end)
{
    char sb[SHOWN_CAP];
    char who[160];
    snprintf(who, sizeof who, "member " NAMEFMT, shown(m->name, m->name_len, sb));
    unsigned char h[30];
    lam_status st = zread(z, m->offset, h, 30);
    if (st) return st;
    if (u32(h) != SIG_LOCAL)
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, m->offset,
                    "%s: no local header (signature PK\\3\\4) where the central directory puts it; "
                    "hint: the archive is corrupt",
                    who);
    uint16_t flags = u16(h + 6), method = u16(h + 8), nlen = u16(h + 26), elen = u16(h + 28);
    uint32_t crc = u32(h + 14), cs = u32(h + 18), us = u32(h + 22);
    if (flags != m->flags || method != m->method)
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, m->offset + 6,
                    "%s: the local header says flags 0x%04x, method %u; the central directory "
                    "0x%04x, %u; hint: the archive is corrupt",
                    who, flags, method, m->flags, m->method);
    if ((uint64_t)nlen + elen > limit - m->offset - 30)
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, m->offset + 26,
                    "%s: the local header's name and extra fields (%u + %u bytes) run past the "
                    "central directory; hint: the archive is corrupt",
                    who, nlen, elen);
    if ((st = zread(z, m->offset + 30, scratch, (size_t)nlen + elen))) return st;
    if (nlen != m->name_len || memcmp(scratch, m->name, nlen))
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, m->offset + 30,
                    "%s: the local header names it " NAMEFMT "; hint: the archive is corrupt",
                    who, shown((const char *)scratch, nlen, sb));
    z64_fields f = {.local = true};
    if ((st = walk_extra(z, scratch + nlen, elen, m->offset + 30 + nlen, who, &f))) return st;
    uint64_t lcs = cs, lus = us;
    if (f.found && cs == 0xFFFFFFFFu) lcs = f.v_csize;
    if (f.found && us == 0xFFFFFFFFu) lus = f.v_usize;
    bool desc = m->flags & 8;
    const char *bad = NULL;
    uint64_t have = 0, want = 0;
    if (!(desc && crc == 0) && crc != m->crc) bad = "CRC-32", have = crc, want = m->crc;
    else if (!(desc && lcs == 0) && lcs != m->csize) bad = "compressed size", have = lcs, want = m->csize;
    else if (!(desc && lus == 0) && lus != m->usize) bad = "uncompressed size", have = lus, want = m->usize;
    else if (f.found && !(desc && f.v_csize == 0 && f.v_usize == 0) && f.v_csize != m->csize)
        bad = "Zip64 compressed size", have = f.v_csize, want = m->csize;
    else if (f.found && !(desc && f.v_csize == 0 && f.v_usize == 0) && f.v_usize != m->usize)
        bad = "Zip64 uncompressed size", have = f.v_usize, want = m->usize;
    if (bad)
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, m->offset + 14,
                    "%s: the local header's %s is %" PRIu64 ", the central directory's %" PRIu64 "; "
                    "hint: the archive is corrupt",
                    who, bad, have, want);
    m->data_off = m->offset + 30 + nlen + elen;
    if (m->csize > limit - m->data_off)
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, m->data_off,
                    "%s: %" PRIu64 " bytes of data from here run past the central directory at "
                    "byte offset %" PRIu64 "; hint: the archive is truncated or corrupt",
                    who, m->csize, limit);
    *end = m->data_off + m->csize;
    if (!desc) return LAM_OK;
    /* the data descriptor: [signature] crc, sizes (8 bytes each with Zip64) */
    unsigned char d[24];
    size_t dl = f.found ? 20 : 12;
    uint64_t at = *end;
    if (limit - at >= 4) {
        if ((st = zread(z, at, d, 4))) return st;
        if (u32(d) == SIG_DESCRIPTOR) dl += 4;
    }
    if (limit - at < dl)
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, at,
                    "%s: its %zu-byte data descriptor runs past the central directory; hint: the "
                    "archive is truncated or corrupt",
                    who, dl);
    if ((st = zread(z, at, d, dl))) return st;
    const unsigned char *q = d + (dl == 16 || dl == 24 ? 4 : 0);
    uint64_t dcs = f.found ? u64(q + 4) : u32(q + 4), dus = f.found ? u64(q + 12) : u32(q + 8);
    if (u32(q) != m->crc || dcs != m->csize || dus != m->usize)
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, at,
                    "%s: the data descriptor (CRC 0x%08" PRIx32 ", %" PRIu64 " -> %" PRIu64 " bytes) "
                    "disagrees with the central directory (CRC 0x%08" PRIx32 ", %" PRIu64 " -> %"
                    PRIu64 "); hint: the archive is corrupt",
                    who, u32(q), dcs, dus, m->crc, m->csize, m->usize);
    *end = at + dl;
    return LAM_OK;
}

/* Members one after the other from offset 0 to the central directory. */
static lam_status check_layout(lam_npz *z, const end_info *e, member **order)
{
    for (size_t i = 0; i < z->n; i++) order[i] = &z->m[i];
    if (z->n) qsort(order, z->n, sizeof *order, cmp_offset);
    size_t cap = z->size < 2 * 65535 ? (size_t)z->size + 1 : 2 * 65535;
    unsigned char *scratch = lam_malloc(cap);
    if (!scratch) return LAM_ERR_NOMEM;
    lam_status st = LAM_OK;
    uint64_t next = 0;
    char sa[SHOWN_CAP], sb[SHOWN_CAP];
    const member *prev = NULL;
    for (size_t k = 0; k < z->n && !st; k++) {
        member *m = order[k];
        if (m->offset < next)
            st = lam_npy_err_(LAM_ERR_FORMAT, z->label, m->offset,
                      "member " NAMEFMT " (local header here) overlaps member " NAMEFMT ", which "
                      "ends at byte offset %" PRIu64 "; hint: each member's bytes belong to it "
                      "alone (overlapping members are a zip-bomb trick)",
                      shown(m->name, m->name_len, sa), shown(prev->name, prev->name_len, sb), next);
        else if (m->offset > next)
            st = lam_npy_err_(LAM_ERR_FORMAT, z->label, next,
                      "%" PRIu64 " bytes belong to no member (before member " NAMEFMT " at byte "
                      "offset %" PRIu64 "); hint: the archive has bytes before or between its "
                      "members: it is corrupt",
                      m->offset - next, shown(m->name, m->name_len, sa), m->offset);
        else
            st = check_local(z, m, e->cd_off, scratch, &next);
        prev = m;
    }
    if (!st && next != e->cd_off)
        st = lam_npy_err_(LAM_ERR_FORMAT, z->label, next,
                  "%" PRIu64 " bytes between the last member and the central directory at byte "
                  "offset %" PRIu64 " belong to no member; hint: the archive is corrupt",
                  e->cd_off - next, e->cd_off);
    lam_free(scratch);
    return st;
}

static lam_status open_archive(lam_npz *z)
{
    end_info e = {0, 0, 0, 0};
    lam_status st = find_end(z, &e);
    if (st) return st;
    if (e.cd_off > e.end_start || e.cd_size != e.end_start - e.cd_off)
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, e.end_start,
                    "the central directory (%" PRIu64 " bytes at byte offset %" PRIu64 ") does not "
                    "end where the end records begin (byte offset %" PRIu64 "); hint: the archive is truncated, or has bytes "
                    "before or inside it",
                    e.cd_size, e.cd_off, e.end_start);
    if (e.count > e.cd_size / 46)
        return lam_npy_err_(LAM_ERR_FORMAT, z->label, e.end_start,
                    "%" PRIu64 " entries cannot fit in the %" PRIu64 "-byte central directory "
                    "(46 bytes or more each); hint: the archive is corrupt",
                    e.count, e.cd_size);
    /* every count and size below is bounded by the central directory's
     * size, itself within the file */
    size_t n = (size_t)e.count, cds = (size_t)e.cd_size;
    unsigned char *cd = lam_malloc(cds ? cds : 1);
    member **order = lam_malloc((n ? n : 1) * sizeof *order);
    z->m = lam_calloc(n ? n : 1, sizeof *z->m);
    z->by_key = lam_malloc((n ? n : 1) * sizeof *z->by_key);
    z->names = lam_malloc(2 * cds + 1);
    if (!cd || !order || !z->m || !z->by_key || !z->names) {
        st = LAM_ERR_NOMEM;
        goto done;
    }
    if ((st = zread(z, e.cd_off, cd, cds))) goto done;
    size_t pos = 0;
    char *names = z->names;
    for (size_t i = 0; i < n && !st; i++) st = parse_entry(z, cd, cds, &pos, e.cd_off, &e, i, &z->m[i], &names);
    if (st) goto done;
    z->n = n;
    if (pos != cds) {
        st = lam_npy_err_(LAM_ERR_FORMAT, z->label, e.cd_off + pos,
                  "%zu bytes of the central directory follow its %zu entries; hint: the "
                  "end-of-central-directory record's entry count is wrong: the archive is corrupt",
                  cds - pos, n);
        goto done;
    }
    for (size_t i = 0; i < n; i++) z->by_key[i] = &z->m[i];
    if (n) qsort(z->by_key, n, sizeof *z->by_key, cmp_key);
    for (size_t i = 1; i < n; i++) {
        const member *a = z->by_key[i - 1], *b = z->by_key[i];
        if (!strcmp(a->key, b->key)) {
            char sb[SHOWN_CAP];
            st = lam_npy_err_(LAM_ERR_FORMAT, z->label, e.cd_off,
                      "duplicate member name " NAMEFMT " (central directory entries %zu and %zu); "
                      "hint: each array of an archive has its own name",
                      shown(b->name, b->name_len, sb), a->index, b->index);
            goto done;
        }
    }
    st = check_layout(z, &e, order);
done:
    lam_free(cd);
    lam_free(order);
    return st;
}

/* ---- opening, lookups, closing ------------------------------------------------------- */

static lam_status new_npz(const char *label, lam_npz **out)
{
    lam_npz *z = lam_calloc(1, sizeof *z);
    if (!z) return LAM_ERR_NOMEM;
    z->fd = -1;
    if (!(z->label = lam_strdup(label))) {
        lam_free(z);
        return LAM_ERR_NOMEM;
    }
    *out = z;
    return LAM_OK;
}

lam_status lam_npz_open(const char *path, lam_npz **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_npz_open: out is NULL");
    *out = NULL;
    if (!path) return lam_fail(LAM_ERR_ARG, "lam_npz_open: path is NULL");
    lam_npz *z;
    lam_status st = new_npz(path, &z);
    if (st) return st;
    /* O_NONBLOCK: opening a FIFO must not hang; it is refused below */
    z->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat sb;
    if (z->fd < 0)
        st = lam_fail(LAM_ERR_IO, "%s: cannot open: %s; hint: check the path (relative paths start "
                                  "from the current directory)",
                      path, strerror(errno));
    else if (fstat(z->fd, &sb) != 0)
        st = lam_fail(LAM_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode))
        st = lam_fail(LAM_ERR_IO, "%s: not a regular file", path);
    else {
        z->size = (uint64_t)sb.st_size;
        st = open_archive(z);
    }
    if (st) {
        lam_npz_close(z);
        return st;
    }
    *out = z;
    return LAM_OK;
}

lam_status lam_npz_open_mem(const void *bytes, size_t size, const char *label, lam_npz **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_npz_open_mem: out is NULL");
    *out = NULL;
    if (!bytes && size) return lam_fail(LAM_ERR_ARG, "lam_npz_open_mem: bytes is NULL");
    lam_npz *z;
    lam_status st = new_npz(label ? label : "<memory>", &z);
    if (st) return st;
    z->size = size;
    if (!(z->mem = lam_malloc(size ? size : 1))) st = LAM_ERR_NOMEM;
    else {
        if (size) memcpy(z->mem, bytes, size);
        st = open_archive(z);
    }
    if (st) {
        lam_npz_close(z);
        return st;
    }
    *out = z;
    return LAM_OK;
}

size_t lam_npz_count(const lam_npz *z) { return z ? z->n : 0; }

const char *lam_npz_name(const lam_npz *z, size_t i) { return z && i < z->n ? z->m[i].key : NULL; }

int64_t lam_npz_find(const lam_npz *z, const char *name)
{
    if (!z || !name) return -1;
    size_t lo = 0, hi = z->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(z->by_key[mid]->key, name);
        if (!c) return (int64_t)(z->by_key[mid] - z->m);
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

void lam_npz_close(lam_npz *z)
{
    if (!z) return;
    if (z->fd >= 0) close(z->fd);
    lam_free(z->mem);
    lam_free(z->label);
    lam_free(z->m);
    lam_free(z->by_key);
    lam_free(z->names);
    lam_free(z);
}

/* ---- reading a member ------------------------------------------------------------------ */

/* Inflate the raw deflate stream in[0..cs) into out[0..us) exactly. */
static lam_status inflate_member(const lam_npz *z, const member *m, const unsigned char *in,
                                 unsigned char *out, const char *who)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    zs.zalloc = lam_zalloc_;
    zs.zfree = lam_zfree_;
    int zr = inflateInit2(&zs, -15);
    if (zr == Z_MEM_ERROR) return LAM_ERR_NOMEM;
    if (zr != Z_OK) return lam_fail(LAM_ERR_UNSUPPORTED, "%s: zlib cannot start: %s", z->label, zs.msg ? zs.msg : "?");
    uint64_t in_left = m->csize, out_left = m->usize, produced = 0;
    unsigned char spare[64];
    bool spill = false;
    lam_status st = LAM_OK;
    const uInt chunk = 1u << 30;
    for (;;) {
        if (zs.avail_in == 0 && in_left) {
            zs.next_in = (unsigned char *)in;
            zs.avail_in = in_left > chunk ? chunk : (uInt)in_left;
            in += zs.avail_in;
            in_left -= zs.avail_in;
        }
        if (zs.avail_out == 0) {
            if (out_left) {
                zs.next_out = out;
                zs.avail_out = out_left > chunk ? chunk : (uInt)out_left;
                out += zs.avail_out;
                out_left -= zs.avail_out;
                produced += zs.avail_out; /* minus what is left, below */
            } else {
                zs.next_out = spare;
                zs.avail_out = sizeof spare;
                spill = true;
            }
        }
        zr = inflate(&zs, Z_NO_FLUSH);
        if (spill && zs.avail_out < sizeof spare) {
            st = lam_npy_err_(LAM_ERR_FORMAT, z->label, m->data_off,
                      "%s: the deflate data inflates to more than the %" PRIu64 " bytes the archive "
                      "declares; hint: the archive is corrupt",
                      who, m->usize);
            break;
        }
        if (zr == Z_STREAM_END) break;
        if (zr == Z_OK) continue;
        if (zr == Z_MEM_ERROR) {
            st = LAM_ERR_NOMEM;
            break;
        }
        if (zr == Z_BUF_ERROR && zs.avail_in == 0 && in_left == 0) {
            st = lam_npy_err_(LAM_ERR_FORMAT, z->label, m->data_off + m->csize,
                      "%s: truncated deflate data: the %" PRIu64 " compressed bytes end before the "
                      "stream does; hint: the archive is corrupt",
                      who, m->csize);
            break;
        }
        st = lam_npy_err_(LAM_ERR_FORMAT, z->label, m->data_off + (m->csize - in_left - zs.avail_in),
                  "%s: corrupt deflate data (zlib: %s); hint: the archive is corrupt", who,
                  zs.msg ? zs.msg : "no progress");
        break;
    }
    if (!st && !spill) produced -= zs.avail_out;
    if (!st && !spill && produced != m->usize)
        st = lam_npy_err_(LAM_ERR_FORMAT, z->label, m->data_off,
                  "%s: the deflate data inflates to %" PRIu64 " bytes, the archive declares %" PRIu64
                  "; hint: the archive is corrupt",
                  who, produced, m->usize);
    if (!st && (in_left || zs.avail_in))
        st = lam_npy_err_(LAM_ERR_FORMAT, z->label, m->data_off + m->csize - (in_left + zs.avail_in),
                  "%s: the deflate stream ends %" PRIu64 " bytes before the member's %" PRIu64
                  " compressed bytes do; hint: the archive is corrupt",
                  who, in_left + zs.avail_in, m->csize);
    inflateEnd(&zs);
    return st;
}

lam_status lam_npz_read(const lam_npz *z, const char *name, lam_npy **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_npz_read: out is NULL");
    *out = NULL;
    if (!z || !name) return lam_fail(LAM_ERR_ARG, "lam_npz_read: NULL argument");
    int64_t i = lam_npz_find(z, name);
    char sb[SHOWN_CAP];
    if (i < 0) {
        char list[256];
        size_t k = 0;
        list[0] = 0;
        for (size_t j = 0; j < z->n && k + 100 < sizeof list; j++)
            k += (size_t)snprintf(list + k, sizeof list - k, "%s'%s'", j ? ", " : "",
                                  shown(z->m[j].key, strlen(z->m[j].key), sb));
        if (k + 100 >= sizeof list) snprintf(list + k, sizeof list - k, ", ...");
        return lam_fail(LAM_ERR_FORMAT,
                        "%s: no array '%s' in the archive (it holds %zu: %s); hint: the names are "
                        "the keywords given to np.savez, without .npy",
                        z->label, shown(name, strlen(name), sb), z->n, z->n ? list : "none");
    }
    const member *m = &z->m[i];
    /* the archive's rules: messages with file offsets, naming the member;
     * the .npy inside: "ARCHIVE[NAME.npy]" with offsets inside the member */
    char label[512], who[160];
    snprintf(label, sizeof label, "%.300s[%s]", z->label, shown(m->name, m->name_len, sb));
    snprintf(who, sizeof who, "member " NAMEFMT, shown(m->name, m->name_len, sb));
    if (m->usize > SIZE_MAX - 64 || m->csize > SIZE_MAX)
        return lam_fail(LAM_ERR_NOMEM, "%s: %" PRIu64 " bytes do not fit in memory", label, m->usize);
    /* the sizes were checked against the file (and the deflate ratio) when
     * the archive was opened */
    unsigned char *buf = lam_malloc(m->usize ? (size_t)m->usize : 1);
    if (!buf) return LAM_ERR_NOMEM;
    lam_status st;
    if (m->method == 0) {
        st = zread(z, m->data_off, buf, (size_t)m->usize);
    } else {
        unsigned char *cbuf = NULL;
        const unsigned char *in = z->mem ? z->mem + m->data_off : NULL;
        if (!in) {
            cbuf = lam_malloc(m->csize ? (size_t)m->csize : 1);
            st = cbuf ? zread(z, m->data_off, cbuf, (size_t)m->csize) : LAM_ERR_NOMEM;
            in = cbuf;
        } else {
            st = LAM_OK;
        }
        if (!st) st = inflate_member(z, m, in, buf, who);
        lam_free(cbuf);
    }
    if (!st) {
        uLong crc = crc32(0L, Z_NULL, 0);
        const unsigned char *p = buf;
        for (uint64_t left = m->usize; left;) {
            uInt c = left > (1u << 30) ? (1u << 30) : (uInt)left;
            crc = crc32(crc, p, c);
            p += c;
            left -= c;
        }
        if ((uint32_t)crc != m->crc)
            st = lam_npy_err_(LAM_ERR_FORMAT, z->label, m->data_off,
                      "%s: CRC-32 mismatch: its bytes give 0x%08" PRIx32 ", the archive says 0x%08"
                      PRIx32 "; hint: the archive is corrupt",
                      who, (uint32_t)crc, m->crc);
    }
    if (st) {
        lam_free(buf);
        return st;
    }
    return lam_npy_from_buffer_(buf, (size_t)m->usize, label, out);
}
