/* Lamina I/O: the safetensors container used for checkpoints.
 *
 * File layout (Hugging Face safetensors): an 8-byte little-endian u64 N, then N
 * bytes of UTF-8 JSON, then the data buffer.  The JSON object maps each tensor
 * name to {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]} (byte
 * offsets relative to the start of the data buffer) and the optional key
 * "__metadata__" to an object of string -> string.
 *
 * The reader is strict and safe on hostile input: every rule of the header is
 * checked before anything proportional to the sizes the header declares is
 * allocated, and every violation is a clean LAM_ERR_FORMAT whose message names
 * the rule, the tensor and the file offset.  The writer is atomic (temporary
 * file, fsync, rename, fsync of the directory). */
#ifndef LAMINA_IO_H
#define LAMINA_IO_H

#include "lamina/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest JSON header accepted by the reader and produced by the writer
 * (100 MiB, the same order as the reference implementation's cap). */
#define LAM_ST_MAX_HEADER ((uint64_t)100 << 20)

/* Largest shape dimension and data offset (2^53, exactly representable in a
 * double, so every JSON reader agrees on the value). */
#define LAM_ST_MAX_INT ((uint64_t)1 << 53)

/* ---- writing ------------------------------------------------------------ */

/* One tensor to write.  `data` holds numel(shape) * lam_dtype_size(dtype)
 * bytes, little-endian, row-major; it may be NULL only when that is 0. */
typedef struct lam_st_entry {
    const char *name;   /* unique, non-empty, valid UTF-8, not "__metadata__" */
    lam_dtype dtype;
    lam_shape shape;    /* ndim 0 (a scalar) .. LAM_MAX_DIMS; dims 0 .. 2^53 */
    const void *data;
} lam_st_entry;

/* One "__metadata__" pair: both valid UTF-8 (any characters, escaped as
 * needed); keys unique.  Also used by the reader to return the pairs. */
typedef struct lam_st_meta {
    const char *key;
    const char *value;
} lam_st_meta;

/* Write `n` tensors and `nmeta` metadata pairs to `path`, atomically: the
 * bytes go to a temporary file "<path>.tmp.XXXXXX" in the same directory
 * (mkstemp), which is fsynced, closed and renamed over `path`; then the
 * directory is fsynced.  On any failure the temporary file is removed and an
 * existing file at `path` is left untouched.  The new file keeps the mode of
 * the file it replaces, or gets 0666 & ~umask.
 *
 * Output is a deterministic function of the entry and metadata *sets*: header
 * keys are written "__metadata__" first (omitted when nmeta is 0), then the
 * tensors in byte-wise name order; metadata in key order.  The data buffer is
 * laid out contiguously without gaps in order of decreasing element size, then
 * name (as the reference writer does), and the header is padded with spaces
 * to a multiple of 8 bytes, so every tensor is naturally aligned in the file.
 * The caller keeps ownership of everything passed in.
 *
 * Errors: LAM_ERR_ARG (NULL pointers, bad dtype or shape, duplicate, empty or
 * reserved names, duplicate metadata keys, invalid UTF-8, header over
 * LAM_ST_MAX_HEADER); LAM_ERR_NOMEM; LAM_ERR_IO (message has the path and
 * strerror).  If only the final directory fsync fails the new file is already
 * in place and LAM_ERR_IO says so. */
lam_status lam_safetensors_write(const char *path, const lam_st_entry *entries, size_t n,
                                 const lam_st_meta *meta, size_t nmeta);

/* Write len bytes to path atomically, as lam_safetensors_write does
 * (temporary file in the same directory, fsync, rename, directory fsync):
 * readers see the old file or the new one, whole.
 * Errors: LAM_ERR_ARG (NULL path, or NULL data with len > 0), LAM_ERR_NOMEM,
 * LAM_ERR_IO (the message has the path and strerror). */
lam_status lam_write_file_atomic(const char *path, const void *data, size_t len);

/* ---- reading ------------------------------------------------------------ */

/* An open safetensors file.  All of it lives in memory owned by the object. */
typedef struct lam_safetensors lam_safetensors;

/* A tensor of an open file; valid until lam_safetensors_close. */
typedef struct lam_st_tensor {
    const char *name;
    lam_dtype dtype;
    lam_shape shape;
    const void *data;     /* nbytes bytes, 64-byte aligned, never NULL */
    size_t nbytes;        /* numel(shape) * lam_dtype_size(dtype) */
    uint64_t file_offset; /* where the bytes were in the file (for messages) */
} lam_st_tensor;

/* Open and fully validate `path`, then read it into memory: the header is
 * read (after checking its length against the file size and the cap),
 * parsed and checked rule by rule; only then is one lam_malloc'd buffer of
 * the size of the data buffer (plus up to 64 bytes of alignment padding per
 * tensor) allocated and the tensors read into it, each at a 64-byte aligned
 * address.  The file is not mapped and may change afterwards.
 * *out receives the object (free with lam_safetensors_close); NULL on error.
 *
 * Errors: LAM_ERR_ARG (NULL arguments); LAM_ERR_IO (cannot open or read, not a
 * regular file; message with path and strerror); LAM_ERR_FORMAT (any broken
 * rule: file shorter than 8 bytes, header length beyond the file or over
 * LAM_ST_MAX_HEADER, header not starting with '{', malformed JSON (strict:
 * escapes, surrogates, UTF-8, depth, trailing data), duplicate keys at any
 * level, a NUL in a name, entry not an object, missing or unknown fields,
 * unknown dtype, rank > LAM_MAX_DIMS, dims or offsets that are not integers in
 * [0, 2^53], begin > end, shape x dtype size overflowing or differing from
 * end - begin, an offset beyond the data buffer, byte ranges that overlap,
 * leave gaps or do not reach the end of the data buffer, metadata not an
 * object of strings); LAM_ERR_UNSUPPORTED (a valid safetensors dtype Lamina
 * has no type for, e.g. F64); LAM_ERR_NOMEM. */
lam_status lam_safetensors_open(const char *path, lam_safetensors **out);

/* The same from `size` bytes in memory (copied; the caller keeps `bytes`).
 * `label` names the source in messages (NULL: "<memory>"). */
lam_status lam_safetensors_open_mem(const void *bytes, size_t size, const char *label,
                                    lam_safetensors **out);

/* Number of tensors. */
size_t lam_safetensors_count(const lam_safetensors *st);

/* Tensor i in byte-wise name order (0 <= i < count), or NULL if out of range. */
const lam_st_tensor *lam_safetensors_at(const lam_safetensors *st, size_t i);

/* Tensor by name (binary search), or NULL if absent. */
const lam_st_tensor *lam_safetensors_find(const lam_safetensors *st, const char *name);

/* Tensor by name with the expected dtype and shape, for loading parameters:
 * LAM_OK and *out set; LAM_ERR_FORMAT if absent; LAM_ERR_SHAPE if the dtype
 * or shape differs (message: name, found and expected). */
lam_status lam_safetensors_get(const lam_safetensors *st, const char *name, lam_dtype dtype,
                               const lam_shape *shape, const lam_st_tensor **out);

/* Metadata value for `key`, or NULL if absent.  Valid until close. */
const char *lam_safetensors_meta(const lam_safetensors *st, const char *key);

/* Number of metadata pairs, and pair i in byte-wise key order (NULL if out
 * of range). */
size_t lam_safetensors_meta_count(const lam_safetensors *st);
const lam_st_meta *lam_safetensors_meta_at(const lam_safetensors *st, size_t i);

/* Free everything the object owns.  NULL is a no-op. */
void lam_safetensors_close(lam_safetensors *st);

#ifdef __cplusplus
}
#endif
#endif
