/* A file read through zlib, plain or gzip (told apart by zlib itself), for
 * the image readers (idx.c, cifar.c): opening with clear errors, reads that
 * report a read failure, a corrupt or truncated gzip stream and zlib running
 * out of memory as such, and an exact-length read whose buffer grows only
 * with the data that really arrives.  Internal to src/data. */
#ifndef LAMINA_DATA_GZSRC_H
#define LAMINA_DATA_GZSRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "lamina/base.h"

typedef struct lam_gzsrc {
    const char *path;
    gzFile gz;
    int64_t fsize; /* bytes on disk of a regular file, else -1 */
    uint64_t pos;  /* uncompressed bytes read so far */
    bool gzip;     /* known after the first read or lam_gzsrc_probe */
} lam_gzsrc;

/* Open path (a directory is an error whose hint is dir_hint). */
lam_status lam_gzsrc_open(lam_gzsrc *s, const char *path, const char *dir_hint);
void lam_gzsrc_close(lam_gzsrc *s);
/* Decide whether the file is gzip (reads its first bytes) and set s->gzip. */
void lam_gzsrc_probe(lam_gzsrc *s);
/* Read up to n bytes into buf; *got < n only at the end of the data.
 * Errors: LAM_ERR_IO (read failed), LAM_ERR_FORMAT (corrupt or truncated
 * gzip stream), LAM_ERR_NOMEM (zlib). */
lam_status lam_gzsrc_read(lam_gzsrc *s, void *buf, size_t n, size_t *got);
/* Read up to `want` bytes (the size a validated header declares) into a new
 * buffer; *have < want when the data ends early.  The buffer starts at a
 * size the file can really fill -- its exact size for a plain file, at most
 * 1032 times its size for gzip (deflate's largest ratio), 1 MiB when the
 * size is unknown -- and doubles, up to `want`, only as data arrives: a
 * header that lies costs no memory. */
lam_status lam_gzsrc_read_exact(lam_gzsrc *s, size_t want, unsigned char **out, size_t *have);

#endif
