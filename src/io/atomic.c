/* The atomic file write shared by the writers of src/io: temporary file in
 * the same directory (mkstemp), fsync, rename, directory fsync.  See
 * atomic.h. */
#include "io/atomic.h"
#include "lamina/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

lam_status lam_atomic_begin(lam_atomic_file *f, const char *path)
{
    size_t plen = strlen(path);
    f->path = path;
    f->fd = -1;
    f->created = false;
    f->pos = 0;
    f->tmp = lam_malloc(plen + 16);
    f->dir = lam_malloc(plen + 2);
    if (!f->tmp || !f->dir) return LAM_ERR_NOMEM;
    /* the directory, for the final fsync */
    memcpy(f->dir, path, plen + 1);
    char *slash = strrchr(f->dir, '/');
    if (!slash) strcpy(f->dir, ".");
    else if (slash == f->dir) f->dir[1] = 0;
    else *slash = 0;
    snprintf(f->tmp, plen + 16, "%s.tmp.XXXXXX", path);
    return LAM_OK;
}

/* The process umask without changing it (umask(2) cannot be read without
 * setting it, which would race with other threads): Linux reports it in
 * /proc/self/status; otherwise assume 022. */
static mode_t current_umask(void)
{
    mode_t m = 022;
    FILE *fp = fopen("/proc/self/status", "re");
    if (!fp) return m;
    char line[256];
    while (fgets(line, sizeof line, fp)) {
        unsigned v;
        if (sscanf(line, "Umask: %o", &v) == 1) {
            m = (mode_t)(v & 0777);
            break;
        }
    }
    fclose(fp);
    return m;
}

lam_status lam_atomic_create(lam_atomic_file *f)
{
    f->fd = mkstemp(f->tmp);
    if (f->fd < 0)
        return lam_fail(LAM_ERR_IO, "%s: cannot create temporary file: %s", f->path, strerror(errno));
    f->created = true;
    struct stat sb;
    mode_t mode = stat(f->path, &sb) == 0 ? (sb.st_mode & 07777) : (0666 & ~current_umask());
    if (fchmod(f->fd, mode) != 0)
        return lam_fail(LAM_ERR_IO, "%s: cannot set mode: %s", f->tmp, strerror(errno));
    return LAM_OK;
}

lam_status lam_atomic_write(lam_atomic_file *f, const void *p, size_t n)
{
    const unsigned char *c = p;
    while (n) {
        size_t chunk = n > ((size_t)1 << 30) ? (size_t)1 << 30 : n;
        ssize_t w = write(f->fd, c, chunk);
        if (w < 0) {
            if (errno == EINTR) continue;
            return lam_fail(LAM_ERR_IO, "%s: write failed: %s", f->tmp, strerror(errno));
        }
        if (w == 0) return lam_fail(LAM_ERR_IO, "%s: write made no progress", f->tmp);
        c += w;
        n -= (size_t)w;
        f->pos += (uint64_t)w;
    }
    return LAM_OK;
}

lam_status lam_atomic_pwrite(lam_atomic_file *f, uint64_t off, const void *p, size_t n)
{
    LAM_ASSERT(off <= f->pos && n <= f->pos - off);
    const unsigned char *c = p;
    while (n) {
        ssize_t w = pwrite(f->fd, c, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return lam_fail(LAM_ERR_IO, "%s: write failed: %s", f->tmp, strerror(errno));
        }
        if (w == 0) return lam_fail(LAM_ERR_IO, "%s: write made no progress", f->tmp);
        c += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return LAM_OK;
}

lam_status lam_atomic_commit(lam_atomic_file *f)
{
    if (fsync(f->fd) != 0) return lam_fail(LAM_ERR_IO, "%s: fsync failed: %s", f->tmp, strerror(errno));
    int rc = close(f->fd);
    f->fd = -1;
    if (rc != 0) return lam_fail(LAM_ERR_IO, "%s: close failed: %s", f->tmp, strerror(errno));
    if (rename(f->tmp, f->path) != 0)
        return lam_fail(LAM_ERR_IO, "%s: cannot rename temporary file into place: %s", f->path,
                        strerror(errno));
    f->created = false;
    /* make the rename durable; filesystems that cannot sync directories say EINVAL */
    lam_status st = LAM_OK;
    int dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd) != 0 && errno != EINVAL && errno != ENOTSUP)
            st = lam_fail(LAM_ERR_IO, "%s: written, but fsync of directory %s failed: %s", f->path,
                          f->dir, strerror(errno));
        close(dfd);
    }
    return st;
}

void lam_atomic_end(lam_atomic_file *f)
{
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
    if (f->created) unlink(f->tmp);
    f->created = false;
    lam_free(f->tmp);
    lam_free(f->dir);
    f->tmp = f->dir = NULL;
}

lam_status lam_write_file_atomic(const char *path, const void *data, size_t len)
{
    if (!path || !*path || (!data && len)) return lam_fail(LAM_ERR_ARG, "lam_write_file_atomic: NULL argument");
    lam_atomic_file f = LAM_ATOMIC_FILE_INIT;
    lam_status s = lam_atomic_begin(&f, path);
    if (s == LAM_OK) s = lam_atomic_create(&f);
    if (s == LAM_OK) s = lam_atomic_write(&f, data, len);
    if (s == LAM_OK) s = lam_atomic_commit(&f);
    lam_atomic_end(&f);
    return s;
}
