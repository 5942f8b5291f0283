/* CSV tokenizer: buffered reading through zlib (gzip or plain, decided by
 * zlib from the content), and the record state machine — RFC 4180 quoting,
 * CRLF/LF/CR line ends, blank-line skipping, trimming of spaces around
 * fields, and a byte limit per record so that binary input cannot make us
 * grow buffers without bound.  Positions are tracked as line:column. */
#include "csv_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define CHUNK 65536

lam_status csv_src_open(csv_src *s, const char *path)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    s->line = s->col = 1;
    s->first_fill = true;
    s->buf = lam_malloc(CHUNK);
    if (!s->buf) return LAM_ERR_NOMEM;
    errno = 0;
    s->gz = gzopen(path, "rb");
    if (!s->gz) {
        int e = errno;
        lam_free(s->buf);
        s->buf = NULL;
        if (e == 0) return lam_fail(LAM_ERR_NOMEM, "%s: cannot open: out of memory in zlib", path);
        return lam_fail(LAM_ERR_IO, "%s: cannot open: %s; hint: check the path (relative paths "
                                    "start from the current directory)", path, strerror(e));
    }
    gzbuffer(s->gz, CHUNK);
    return LAM_OK;
}

void csv_src_close(csv_src *s)
{
    if (s->gz) gzclose(s->gz);
    s->gz = NULL;
    lam_free(s->buf);
    s->buf = NULL;
}

bool csv_src_is_gzip(csv_src *s) { return s->gz && !s->first_fill && !gzdirect(s->gz); }

/* Read the next chunk; false at end of file or on error (s->err set). */
static bool refill(csv_src *s)
{
    if (s->eof || s->err) return false;
    errno = 0;
    int n = gzread(s->gz, s->buf, CHUNK);
    int read_errno = errno;
    if (n <= 0) {
        s->eof = true;
        /* a truncated gzip stream ends with a short read, then 0 with the
         * error state Z_BUF_ERROR: check the state, not only n < 0 */
        int errnum = Z_OK;
        const char *msg = gzerror(s->gz, &errnum);
        if (n < 0 || (errnum != Z_OK && errnum != Z_STREAM_END)) {
            if (errnum == Z_ERRNO)
                s->err = lam_fail(LAM_ERR_IO, "%s: read error near line %lld: %s", s->path,
                                  (long long)s->line, strerror(read_errno));
            else if (errnum == Z_MEM_ERROR)
                s->err = lam_fail(LAM_ERR_NOMEM, "%s: out of memory in zlib", s->path);
            else
                s->err = lam_fail(LAM_ERR_FORMAT,
                                  "%s:%lld: corrupt or truncated gzip data (zlib: %s); hint: "
                                  "check the file with gzip -t",
                                  s->path, (long long)s->line, msg ? msg : "?");
        }
        return false;
    }
    s->len = (size_t)n;
    s->pos = 0;
    if (s->first_fill) {
        s->first_fill = false;
        if (s->len >= 3 && s->buf[0] == 0xEF && s->buf[1] == 0xBB && s->buf[2] == 0xBF) {
            s->pos = 3; /* UTF-8 byte-order mark */
            /* nothing after it in this chunk: the callers read buf[pos]
             * whenever refill succeeds, so get the next chunk (or the end) */
            if (s->pos == s->len) return refill(s);
        }
    }
    return true;
}

static inline int src_getc(csv_src *s)
{
    if (s->pos == s->len && !refill(s)) {
        s->cl = s->line;
        s->cc = s->col;
        return -1;
    }
    s->cl = s->line;
    s->cc = s->col++;
    return s->buf[s->pos++];
}

static inline int src_peek(csv_src *s)
{
    if (s->pos == s->len && !refill(s)) return -1;
    return s->buf[s->pos];
}

static inline void newline(csv_src *s)
{
    s->line++;
    s->col = 1;
}

void csv_rec_free(csv_rec *r)
{
    lam_free(r->text);
    lam_free(r->f);
    memset(r, 0, sizeof *r);
}

static inline lam_status put(csv_rec *r, int c)
{
    if (r->used == r->cap) {
        lam_status st = lam_grow((void **)&r->text, &r->cap, r->used + 1, 1, 64, "CSV buffer");
        if (st != LAM_OK) return st;
    }
    r->text[r->used++] = (char)c;
    return LAM_OK;
}

char *csv_show(const char *s, size_t len, char *out, size_t n)
{
    size_t k = 0, lim = 40;
    for (size_t i = 0; i < len && i < lim && k + 8 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') k += (size_t)snprintf(out + k, n - k, "\\%c", c);
        else if (c < 32 || c >= 127) k += (size_t)snprintf(out + k, n - k, "\\x%02x", c);
        else out[k++] = (char)c;
    }
    if (len > lim && k + 4 < n) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    if (n) out[k < n ? k : n - 1] = 0;
    return out;
}

static bool is_blank(int c, char delim) { return (c == ' ' || c == '\t') && c != delim; }

lam_status csv_next(csv_src *s, csv_rec *r, char delim, size_t max_line, int max_fields,
                    bool *got)
{
    *got = false;
    lam_status st;
    size_t bytes;
    int c;
/* read one byte of the record, enforcing the record byte limit */
#define NEXT()                                                                              \
    do {                                                                                    \
        c = src_getc(s);                                                                    \
        if (c >= 0 && ++bytes > max_line)                                                   \
            return lam_fail(LAM_ERR_FORMAT,                                                 \
                            "%s:%lld: record longer than %zu bytes (no line end found); "   \
                            "hint: is this a text CSV file? raise max_line for very wide "  \
                            "rows",                                                         \
                            s->path, (long long)r->line, max_line);                         \
    } while (0)
#define PUT(ch)                                         \
    do {                                                \
        if ((st = put(r, (ch))) != LAM_OK) return st;   \
    } while (0)

    for (;;) { /* until a non-blank record */
        r->nf = 0;
        r->used = 0;
        r->too_many = false;
        r->line = s->line;
        bytes = 0;
        bool quoted_any = false;
        NEXT();
        if (c < 0) return s->err;
        for (;;) { /* fields */
            if (max_fields > 0 && r->nf >= max_fields) { /* c starts one field too many */
                r->too_many = true;
                r->end_line = s->cl;
                r->end_col = s->cc;
                *got = true;
                return LAM_OK;
            }
            if ((size_t)r->nf == r->fcap &&
                (st = lam_grow((void **)&r->f, &r->fcap, r->fcap + 1, sizeof *r->f, 64, "CSV buffer")) != LAM_OK)
                return st;
            if (r->nf == INT32_MAX)
                return lam_fail(LAM_ERR_FORMAT, "%s:%lld: too many fields", s->path,
                                (long long)r->line);
            csv_field *f = &r->f[r->nf++];
            f->off = r->used;
            f->line = s->cl;
            f->col = s->cc;
            while (is_blank(c, delim)) NEXT();
            if (c == '"') {
                int64_t ql = s->cl, qc = s->cc;
                quoted_any = true;
                for (;;) {
                    NEXT();
                    if (c < 0) {
                        if (s->err) return s->err;
                        return lam_fail(LAM_ERR_FORMAT,
                                        "%s:%lld:%lld: quoted field opened here is never "
                                        "closed (end of file reached); hint: a field that "
                                        "starts with \" must end with \"",
                                        s->path, (long long)ql, (long long)qc);
                    }
                    if (c == '"') {
                        if (src_peek(s) != '"') break;
                        NEXT();
                    } else if (c == '\r') {
                        if (src_peek(s) == '\n') {
                            PUT(c);
                            NEXT();
                        }
                        newline(s);
                    } else if (c == '\n') {
                        newline(s);
                    }
                    PUT(c);
                }
                NEXT();
                while (is_blank(c, delim)) NEXT();
                if (c >= 0 && c != delim && c != '\n' && c != '\r') {
                    char shown[64];
                    char ch = (char)c;
                    return lam_fail(LAM_ERR_FORMAT,
                                    "%s:%lld:%lld: unexpected \"%s\" after the closing quote "
                                    "of a field; hint: a quote inside a quoted field is "
                                    "written as two quotes (\"\")",
                                    s->path, (long long)s->cl, (long long)s->cc,
                                    csv_show(&ch, 1, shown, sizeof shown));
                }
                f->len = r->used - f->off;
            } else {
                while (c >= 0 && c != delim && c != '\n' && c != '\r') {
                    PUT(c);
                    NEXT();
                }
                size_t e = r->used;
                while (e > f->off && is_blank((unsigned char)r->text[e - 1], delim)) e--;
                r->used = e;
                f->len = e - f->off;
            }
            PUT(0);
            if (c == delim) {
                NEXT();
                continue;
            }
            /* end of record: c is CR, LF or end of file */
            r->end_line = s->cl;
            r->end_col = s->cc;
            if (c == '\r' && src_peek(s) == '\n') NEXT();
            if (c >= 0) newline(s);
            break;
        }
        if (s->err) return s->err;
        if (r->nf == 1 && r->f[0].len == 0 && !quoted_any) continue; /* blank line */
        *got = true;
        return LAM_OK;
    }
#undef NEXT
#undef PUT
}
