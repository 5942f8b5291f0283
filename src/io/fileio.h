/* Internal: reading a whole byte range of an open file, shared by the
 * readers of src/io (safetensors, .npy, .npz) that read by offset. */
#ifndef LAMINA_IO_FILEIO_H
#define LAMINA_IO_FILEIO_H

#include <stddef.h>
#include <stdint.h>

#include "lamina/base.h"

/* Read exactly n bytes at offset off of fd into buf, in chunks of at most
 * 1 GiB, retrying on EINTR.  Errors: LAM_ERR_IO, the message naming `label`
 * and the byte offset: a read error (strerror), or the file ending early
 * ("file shrank while being read": its size was checked before). */
lam_status lam_pread_full_(int fd, uint64_t off, void *buf, size_t n, const char *label);

#endif
