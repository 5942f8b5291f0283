/* Internal: what the .npz code (npz.c, npz_write.c) shares with the .npy
 * reader and writer (npy.c). */
#ifndef LAMINA_IO_NPY_INTERNAL_H
#define LAMINA_IO_NPY_INTERNAL_H

#include "lamina/npy.h"

/* Read a .npy image of `size` bytes held in `buf` (a lam_malloc'd block of
 * at least max(size, 1) bytes), which this takes over in every case: on
 * success it becomes the array's data (the data moved to its start), on
 * error it is freed.  `label` names the source in messages.  Errors: as
 * lam_npy_read_mem. */
/* A format error: "<label>: byte offset N: <message>" with status s
 * (the .npy and .npz readers' messages). */
lam_status lam_npy_err_(lam_status s, const char *label, uint64_t off, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

lam_status lam_npy_from_buffer_(unsigned char *buf, size_t size, const char *label, lam_npy **out);

/* Check an array to write (`who` prefixes messages, e.g. "npy write") and
 * build the .npy header np.save would write for it (magic, version 1.0,
 * length, dict, padding to 64 bytes, '\n') into a new lam_malloc'd *hdr of
 * *hlen bytes; *nbytes receives the data size.  The caller frees *hdr.
 * Errors: LAM_ERR_ARG (bad dtype, ndim, dims, NULL data with bytes to
 * write, a size that overflows), LAM_ERR_NOMEM. */
lam_status lam_npy_header_(const char *who, lam_npy_dtype dtype, int ndim, const int64_t *dims,
                           const void *data, char **hdr, size_t *hlen, uint64_t *nbytes);

/* zlib allocation hooks through lam_malloc / lam_free (so that zlib's
 * memory is counted, bounded and fault-injected like the rest). */
void *lam_zalloc_(void *opaque, unsigned items, unsigned size);
void lam_zfree_(void *opaque, void *p);

#endif
