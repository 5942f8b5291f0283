/* Internal: the steps of an atomic file write shared by the writers of
 * src/io (safetensors, .npy, .npz): the bytes go to a temporary file
 * "<path>.tmp.XXXXXX" in the same directory (mkstemp), which is fsynced,
 * closed and renamed over `path`; then the directory is fsynced.  On any
 * failure the temporary file is removed and an existing file at `path` is
 * left untouched.  The new file keeps the mode of the file it replaces, or
 * gets 0666 & ~umask.
 *
 * Usage: a struct initialised with LAM_ATOMIC_FILE_INIT, lam_atomic_begin
 * (the only step that allocates: call it with the
 * writer's other allocations, before anything exists on disk), then
 * lam_atomic_create, any number of lam_atomic_write / lam_atomic_pwrite,
 * then lam_atomic_commit; lam_atomic_end always, last (it removes the
 * temporary file unless the commit renamed it, and frees the names).  Every
 * error message names the path (or the temporary file) and strerror. */
#ifndef LAMINA_IO_ATOMIC_H
#define LAMINA_IO_ATOMIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lamina/base.h"

typedef struct lam_atomic_file {
    const char *path; /* the final name (borrowed) */
    char *tmp;        /* "<path>.tmp.XXXXXX", then mkstemp's name */
    char *dir;        /* the directory of path, for the final fsync */
    int fd;           /* the temporary file, -1 when not open */
    bool created;     /* the temporary file exists and is ours to remove */
    uint64_t pos;     /* bytes written so far by lam_atomic_write */
} lam_atomic_file;

#define LAM_ATOMIC_FILE_INIT {NULL, NULL, NULL, -1, false, 0}

/* Allocate the names for writing `path` (non-empty).  Nothing is created.
 * Errors: LAM_ERR_NOMEM.  Call lam_atomic_end afterwards in every case. */
lam_status lam_atomic_begin(lam_atomic_file *f, const char *path);

/* Create the temporary file and give it its final mode.
 * Errors: LAM_ERR_IO ("<path>: cannot create temporary file: ..."). */
lam_status lam_atomic_create(lam_atomic_file *f);

/* Append n bytes.  Errors: LAM_ERR_IO ("<tmp>: write failed: ..."). */
lam_status lam_atomic_write(lam_atomic_file *f, const void *p, size_t n);

/* Overwrite n bytes at offset off (< pos: bytes written before, such as a
 * header whose sizes are known only after the data).  Errors: LAM_ERR_IO. */
lam_status lam_atomic_pwrite(lam_atomic_file *f, uint64_t off, const void *p, size_t n);

/* fsync, close, rename into place, fsync the directory.  If only the last
 * step fails the new file is already in place and LAM_ERR_IO says so. */
lam_status lam_atomic_commit(lam_atomic_file *f);

/* Close and remove the temporary file if it is still there; free the names.
 * Safe after any step, and on a struct set to LAM_ATOMIC_FILE_INIT. */
void lam_atomic_end(lam_atomic_file *f);

#endif
