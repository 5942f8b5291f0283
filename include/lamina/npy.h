/* Lamina I/O: NumPy's .npy arrays and .npz archives, read and written, and
 * data sets made from them.
 *
 * .npy (NumPy's format versions 1.0, 2.0 and 3.0): the magic "\x93NUMPY",
 * the version (two bytes), the header length (u16 little-endian for 1.0, u32
 * for 2.0 and 3.0), the header -- a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
 * spaces and ended by '\n' (ASCII; UTF-8 in 3.0) -- then the data, nothing
 * after it.  .npz: a ZIP archive (stored or deflated members, Zip64 records
 * and extra fields) whose members are .npy files named NAME.npy, as np.savez
 * and np.savez_compressed write them.
 *
 * The readers are strict and safe on hostile input: every rule of the
 * header or the ZIP structure is checked before anything sized by it is
 * allocated, a lying size fails fast with little memory used, and every
 * violation is a clean error whose message gives the source, the byte
 * offset, what was found and a hint.  The writers are atomic (temporary file
 * in the same directory, fsync, rename, fsync of the directory) and write
 * what numpy.load reads.
 *
 * Element types are NumPy's simple numeric ones (below).  NumPy's object,
 * string, unicode, void, structured, complex, datetime and timedelta types
 * are LAM_ERR_UNSUPPORTED, named in the message. */
#ifndef LAMINA_NPY_H
#define LAMINA_NPY_H

#include "lamina/data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- arrays ------------------------------------------------------------- */

/* NumPy element types (the descr without its byte order: "b1", "i4", ...). */
typedef enum lam_npy_dtype {
    LAM_NPY_BOOL = 0, /* b1: one byte, 0 = false, anything else true */
    LAM_NPY_I1,
    LAM_NPY_U1,
    LAM_NPY_I2,
    LAM_NPY_U2,
    LAM_NPY_I4,
    LAM_NPY_U4,
    LAM_NPY_I8,
    LAM_NPY_U8,
    LAM_NPY_F2,       /* IEEE half */
    LAM_NPY_F4,
    LAM_NPY_F8,
    LAM_NPY_DTYPE_COUNT_
} lam_npy_dtype;

/* NumPy's name of a type without byte order ("b1", "i1", ..., "f8"), or "?"
 * for a value outside the enum; its size in bytes (0 outside the enum). */
const char *lam_npy_dtype_name(lam_npy_dtype t);
size_t lam_npy_dtype_size(lam_npy_dtype t);

/* Most dimensions an array may have (NumPy allows 32 or 64; more than this
 * is LAM_ERR_UNSUPPORTED). */
#define LAM_NPY_MAX_DIMS 8

/* Largest .npy header (the dict and its padding) the reader accepts: NumPy
 * writes a few hundred bytes for the types above. */
#define LAM_NPY_MAX_HEADER ((uint32_t)1 << 20)

/* An array in memory: numel elements of `dtype` in host byte order and C
 * (row-major) order, whatever the file's byte order and layout.  Owned by
 * the struct; release with lam_npy_free. */
typedef struct lam_npy {
    lam_npy_dtype dtype;
    int ndim;                       /* 0 (a scalar) .. LAM_NPY_MAX_DIMS */
    int64_t dims[LAM_NPY_MAX_DIMS]; /* each >= 0 (0 is valid: an empty array); unused 0 */
    int64_t numel;                  /* product of dims (1 for a scalar) */
    size_t nbytes;                  /* numel * lam_npy_dtype_size(dtype) */
    void *data;                     /* nbytes bytes, 64-byte aligned, never NULL */
    bool fortran_order;             /* the file stored the data in Fortran order (it was
                                       transposed on reading: data is C order) */
} lam_npy;

/* Read a .npy file.  Every rule is checked, in this order, before the data
 * is allocated: the magic, the version (1.0, 2.0, 3.0), the header length
 * (within the file, at most LAM_NPY_MAX_HEADER), valid UTF-8 (3.0), the
 * header syntax (a dict literal with exactly the keys 'descr',
 * 'fortran_order' and 'shape', any order, each once, single or double
 * quotes, a trailing comma allowed, ended by spaces and '\n'), the descr (a
 * byte order '<', '>', '|' or '=' -- '=' and none mean the host's, as in
 * NumPy -- and a type above), fortran_order True or False, the shape (a
 * tuple of non-negative integers: "()" is a scalar, "(3,)" a vector, "(3)"
 * is an error; Python 2's "3L" is accepted), at most LAM_NPY_MAX_DIMS, the
 * byte count without overflow, and the data exactly that many bytes (fewer:
 * truncated; more: trailing garbage).  Data stored big-endian is swapped,
 * data stored in Fortran order is transposed into C order.
 * Ownership: the caller owns *out (lam_npy_free); NULL on error.
 * Errors: LAM_ERR_ARG (NULL argument), LAM_ERR_IO (open/read failed, not a
 * regular file), LAM_ERR_FORMAT (a broken rule; the message: path, byte
 * offset, what was found, a hint), LAM_ERR_UNSUPPORTED (a valid NumPy type
 * or rank Lamina does not read, named), LAM_ERR_NOMEM. */
lam_status lam_npy_read(const char *path, lam_npy **out);

/* The same from `size` bytes in memory (the caller keeps `bytes`); `label`
 * names the source in messages (NULL: "<memory>"). */
lam_status lam_npy_read_mem(const void *bytes, size_t size, const char *label, lam_npy **out);

/* Release an array; NULL is a no-op. */
void lam_npy_free(lam_npy *a);

/* Write `data` (numel(dims) elements of dtype in host byte order, C order;
 * may be NULL only when that is 0) as a version 1.0 .npy file, header as
 * np.save writes it (so the bytes equal np.save's for the same array), the
 * descr in the host's byte order ('<' here), atomically: a temporary file
 * "<path>.tmp.XXXXXX" in the same directory, fsynced and renamed over path,
 * then the directory fsynced; on failure an existing file is untouched.  All
 * allocations happen before the temporary file exists.  The caller keeps
 * everything passed in.
 * Errors: LAM_ERR_ARG (NULL/empty path, bad dtype, ndim outside
 * 0..LAM_NPY_MAX_DIMS, a negative dimension, a size that overflows, NULL
 * data), LAM_ERR_NOMEM, LAM_ERR_IO (message with the path and strerror). */
lam_status lam_npy_write(const char *path, lam_npy_dtype dtype, int ndim, const int64_t *dims,
                         const void *data);

/* Convert every element to float into dst[numel] (bool: 0 or 1; integers
 * rounded to nearest as C does).  Floating values must be finite and, for
 * f8, within float range.
 * Errors: LAM_ERR_ARG (NULL argument), LAM_ERR_FORMAT naming the first bad
 * element by flat index and by index tuple, and its value; dst is then
 * partly written. */
lam_status lam_npy_to_f32(const lam_npy *a, float *dst);

/* ---- .npz archives -------------------------------------------------------- */

/* An open, validated .npz archive.  A file-backed archive keeps its file
 * open until lam_npz_close (members are read on demand); one opened from
 * memory holds a copy of the bytes. */
typedef struct lam_npz lam_npz;

/* Open `path` and validate the whole ZIP structure before returning: the
 * end-of-central-directory record (ending the file exactly: no bytes after
 * it or its comment), the Zip64 end record and locator when present, one
 * disk, the central directory (inside the file, ending where the end records
 * begin, exactly the declared number of entries and bytes), each entry
 * (method stored or deflate -- others and encryption are
 * LAM_ERR_UNSUPPORTED --, extra fields well formed, Zip64 sizes and offsets
 * where the 32-bit fields say 0xFFFFFFFF, a stored member's two sizes equal,
 * a deflated member's declared size at most 1032 times its compressed size
 * (deflate's largest ratio) plus 1032, a name that is valid UTF-8 without
 * NUL, ends in ".npy" and is not used twice), each local header (signature,
 * flags, method, name, CRC and sizes the same as in the central directory,
 * or zero with a data descriptor that then agrees), and the members lying
 * one after the other from offset 0 to the central directory without
 * overlapping or leaving gaps.  Member contents are checked when read.
 * Ownership: the caller owns *out (lam_npz_close); NULL on error.
 * Errors: LAM_ERR_ARG, LAM_ERR_IO, LAM_ERR_FORMAT (the message: path, byte
 * offset, the member, what was found, a hint), LAM_ERR_UNSUPPORTED,
 * LAM_ERR_NOMEM. */
lam_status lam_npz_open(const char *path, lam_npz **out);

/* The same from `size` bytes in memory (copied; the caller keeps `bytes`);
 * `label` names the source in messages (NULL: "<memory>"). */
lam_status lam_npz_open_mem(const void *bytes, size_t size, const char *label, lam_npz **out);

/* Number of arrays; name of array i (0 <= i < count, in archive order)
 * without ".npy", as np.load's `files` lists it, or NULL if out of range.
 * Valid until lam_npz_close. */
size_t lam_npz_count(const lam_npz *z);
const char *lam_npz_name(const lam_npz *z, size_t i);

/* Index of the array called `name` (without ".npy"), or -1. */
int64_t lam_npz_find(const lam_npz *z, const char *name);

/* Read array `name` (without ".npy"): the member's bytes are read (stored)
 * or inflated (deflate, through zlib; the stream must end exactly at the
 * declared compressed size and give exactly the declared size), their
 * CRC-32 checked, then read as a .npy file (lam_npy_read's rules; messages
 * label it "PATH[NAME.npy]" with byte offsets inside the member).
 * Ownership: the caller owns *out (lam_npy_free); NULL on error.
 * Errors: LAM_ERR_ARG (NULL argument), LAM_ERR_FORMAT (no such array -- the
 * message lists the archive's --, corrupt deflate data, a size or CRC
 * mismatch, a malformed .npy), LAM_ERR_UNSUPPORTED, LAM_ERR_IO,
 * LAM_ERR_NOMEM. */
lam_status lam_npz_read(const lam_npz *z, const char *name, lam_npy **out);

/* Close the archive and free everything it owns; NULL is a no-op. */
void lam_npz_close(lam_npz *z);

/* One array to write into an archive. */
typedef struct lam_npz_entry {
    const char *name;     /* without ".npy": valid UTF-8, unique (may be empty, as in NumPy) */
    lam_npy_dtype dtype;
    int ndim;             /* 0 .. LAM_NPY_MAX_DIMS */
    const int64_t *dims;  /* ndim dimensions, each >= 0 (may be NULL when ndim is 0) */
    const void *data;     /* as lam_npy_write's */
} lam_npz_entry;

/* Write the arrays, in the order given, as an .npz archive that numpy.load
 * reads: members NAME.npy (each exactly what lam_npy_write writes), stored,
 * or deflated when `compress` is true (as np.savez_compressed: zlib level 6),
 * a Zip64 extra field in every local header as np.savez writes, and the
 * Zip64 end records when the archive needs them; dates 1980-01-01.  Atomic
 * as lam_npy_write; every allocation (zlib's included) happens before the
 * temporary file exists.
 * Errors: LAM_ERR_ARG (NULL/empty path, n > 0 with NULL entries, a bad
 * entry: its name, type, shape or data; a duplicate name), LAM_ERR_NOMEM,
 * LAM_ERR_IO. */
lam_status lam_npz_write(const char *path, const lam_npz_entry *entries, size_t n, bool compress);

/* ---- data sets ------------------------------------------------------------ */

/* Options of the data-set conversions below. */
typedef struct lam_npy_data_opts {
    lam_task task;          /* CLASSIFICATION: y holds class labels; REGRESSION: targets */
    int32_t nclasses;       /* classification: 0 infers max label + 1; > 0 bounds the labels */
    int32_t max_classes;    /* an inferred class count above this is an error (a
                               regression array read as labels); 10000 */
    const char *x_name;     /* the sources' names in messages: "x", "y" */
    const char *y_name;
} lam_npy_data_opts;

lam_npy_data_opts lam_npy_data_opts_defaults(void);

/* Make a data set of N samples from x, of shape [N, ...] (any numeric type,
 * converted to float and kept as stored: no scaling; sample_shape the rest
 * of the shape, [1] for x of shape [N]), and y: class labels of shape [N]
 * (integers, bool, or floats holding integral values; each >= 0, below
 * opts->nclasses when given, else max label + 1 classes, at most
 * max_classes), or regression targets of shape [N] (one target) or [N, k].
 * Ownership: the caller keeps x and y and owns *out (lam_dataset_free);
 * NULL on error.
 * Errors: LAM_ERR_ARG (NULL argument, bad options), LAM_ERR_FORMAT (x a
 * scalar, N or a sample of 0 values, more than LAM_DATASET_MAX_ROWS
 * samples, y's shape (N differing from x's, or the wrong rank), a label that
 * is negative, fractional or out of range, a NaN, infinity or value beyond
 * float range -- each naming the array and the element), LAM_ERR_SHAPE (a
 * sample of more than LAM_MAX_DIMS dimensions), LAM_ERR_NOMEM. */
lam_status lam_dataset_from_npy(const lam_npy *x, const lam_npy *y, const lam_npy_data_opts *opts,
                                lam_dataset **out);

/* The same from two .npy files (lam_npy_read; names in messages: the
 * paths). */
lam_status lam_dataset_from_npy_files(const char *x_path, const char *y_path,
                                      const lam_npy_data_opts *opts, lam_dataset **out);

/* Data sets from an .npz archive holding arrays x and y (training part), or
 * Keras's names x_train and y_train (mnist.npz), and optionally x_test and
 * y_test (the test part; both or neither).  *test is NULL when the archive
 * has no test part (pass test = NULL to ignore it).  A classification test
 * part's labels must be below the training part's class count.
 * Ownership: the caller owns the data sets; both NULL on error.
 * Errors: LAM_ERR_FORMAT (no x/y or x_train/y_train pair, an x_test without
 * y_test or the reverse, and lam_dataset_from_npy's), the errors of
 * lam_npz_open and lam_npz_read. */
lam_status lam_dataset_from_npz(const char *path, const lam_npy_data_opts *opts, lam_dataset **train,
                                lam_dataset **test);

#ifdef __cplusplus
}
#endif
#endif
