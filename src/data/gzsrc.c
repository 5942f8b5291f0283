/* A file read through zlib for the image readers (see gzsrc.h). */
#include "data/gzsrc.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* zlib's message without the "<fd:N>: " prefix that gzdopen'ed files get. */
static const char *zmsg(const char *m)
{
    if (!m) return "?";
    if (strncmp(m, "<fd:", 4) == 0) {
        const char *p = strstr(m, ">: ");
        if (p) return p + 3;
    }
    return m;
}

lam_status lam_gzsrc_open(lam_gzsrc *s, const char *path, const char *dir_hint)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    s->fsize = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lam_fail(LAM_ERR_IO, "%s: cannot open: %s; hint: check the path (relative paths "
                                    "start from the current directory)",
                        path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) {
            close(fd);
            return lam_fail(LAM_ERR_IO, "%s: is a directory; hint: %s", path, dir_hint);
        }
        if (S_ISREG(sb.st_mode)) s->fsize = (int64_t)sb.st_size;
    }
    s->gz = gzdopen(fd, "rb");
    if (!s->gz) {
        close(fd);
        return lam_fail(LAM_ERR_NOMEM, "%s: cannot open: out of memory in zlib", path);
    }
    gzbuffer(s->gz, 1u << 17);
    return LAM_OK;
}

void lam_gzsrc_close(lam_gzsrc *s)
{
    if (s->gz) gzclose(s->gz);
    s->gz = NULL;
}

/* Read up to n bytes into buf; *got < n only at the end of the data.
 * Errors: LAM_ERR_IO (read failed), LAM_ERR_FORMAT (corrupt or truncated gzip
 * stream), LAM_ERR_NOMEM (zlib). */
lam_status lam_gzsrc_read(lam_gzsrc *s, void *buf, size_t n, size_t *got)
{
    size_t done = 0;
    while (done < n) {
        size_t left = n - done;
        unsigned want = left > (1u << 30) ? (1u << 30) : (unsigned)left;
        errno = 0;
        int r = gzread(s->gz, (unsigned char *)buf + done, want);
        int e = errno;
        if (s->pos == 0 && done == 0) s->gzip = !gzdirect(s->gz);
        if (r > 0) {
            done += (size_t)r;
            s->pos += (uint64_t)r;
            continue;
        }
        /* a truncated gzip stream ends with a short read and then an error
         * state (Z_BUF_ERROR): check the state, not only r < 0 */
        int errnum = Z_OK;
        const char *msg = gzerror(s->gz, &errnum);
        if (r < 0 || (errnum != Z_OK && errnum != Z_STREAM_END)) {
            *got = done;
            if (errnum == Z_ERRNO)
                return lam_fail(LAM_ERR_IO, "%s: read error at byte offset %llu: %s", s->path,
                                (unsigned long long)s->pos, strerror(e));
            if (errnum == Z_MEM_ERROR)
                return lam_fail(LAM_ERR_NOMEM, "%s: out of memory in zlib", s->path);
            return lam_fail(LAM_ERR_FORMAT,
                            "%s: corrupt or truncated gzip data near uncompressed byte offset "
                            "%llu (zlib: %s); hint: check the file with gzip -t, fetch it again",
                            s->path, (unsigned long long)s->pos, zmsg(msg));
        }
        break;
    }
    *got = done;
    return LAM_OK;
}

/* Read up to `want` bytes (the size a validated header declares) into a new
 * buffer; *have < want when the data ends early.
 * The buffer starts at a size the file can really fill -- its exact size for
 * a plain file, at most 1032 times its size for gzip (deflate's largest
 * ratio), 1 MiB when the size is unknown -- and doubles, up to `want`, only
 * as data arrives: a header that lies costs no memory.  When the data ends
 * early the buffer is returned all the same, with *have < want. */
lam_status lam_gzsrc_read_exact(lam_gzsrc *s, size_t want, unsigned char **out, size_t *have)
{
    *out = NULL;
    *have = 0;
    uint64_t hint = (uint64_t)1 << 20;
    if (s->fsize >= 0) {
        uint64_t fs = (uint64_t)s->fsize;
        hint = s->gzip ? (fs > (UINT64_MAX >> 11) ? UINT64_MAX : fs * 1032 + 65536)
                       : (fs > s->pos ? fs - s->pos : 1);
    }
    size_t cap = hint < want ? (size_t)hint : want;
    if (cap == 0) cap = 1;
    unsigned char *buf = lam_malloc(cap);
    if (!buf) return LAM_ERR_NOMEM;
    size_t n = 0;
    for (;;) {
        size_t got;
        lam_status st = lam_gzsrc_read(s, buf + n, cap - n, &got);
        n += got;
        if (st != LAM_OK) {
            lam_free(buf);
            return st;
        }
        if (n < cap || cap == want) break;
        size_t nc = cap > want / 2 ? want : cap * 2;
        unsigned char *b2 = lam_realloc(buf, n, nc);
        if (!b2) {
            lam_free(buf);
            return LAM_ERR_NOMEM;
        }
        buf = b2;
        cap = nc;
    }
    *have = n;
    *out = buf;
    return LAM_OK;
}

void lam_gzsrc_probe(lam_gzsrc *s) { s->gzip = !gzdirect(s->gz); }
