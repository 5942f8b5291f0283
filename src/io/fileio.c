/* Reading whole byte ranges of files by offset (see fileio.h). */
#include "io/fileio.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

lam_status lam_pread_full_(int fd, uint64_t off, void *buf, size_t n, const char *label)
{
    unsigned char *p = buf;
    while (n) {
        size_t chunk = n > ((size_t)1 << 30) ? (size_t)1 << 30 : n;
        ssize_t r = pread(fd, p, chunk, (off_t)off);
        if (r < 0) {
            if (errno == EINTR) continue;
            return lam_fail(LAM_ERR_IO, "%s: read failed at byte offset %" PRIu64 ": %s", label, off,
                            strerror(errno));
        }
        if (r == 0)
            return lam_fail(LAM_ERR_IO, "%s: file shrank while being read (byte offset %" PRIu64 ")", label,
                            off);
        p += r;
        off += (uint64_t)r;
        n -= (size_t)r;
    }
    return LAM_OK;
}
