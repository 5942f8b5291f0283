/* Minimal test harness: each test binary defines test functions, runs them with
 * RUN(), and ends with TEST_MAIN_END, which prints "ok NAME" / "FAIL NAME" per
 * test and a summary, and exits non-zero on any failure.  tests/run.sh adds the
 * counts of all binaries into the final "N passed, N failed" line.  The t_*
 * helpers below are what the tests share: leak counts, files and the scratch
 * folder. */
#ifndef LAMINA_TEST_H
#define LAMINA_TEST_H

#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "lamina/base.h"

/* seconds on a monotonic clock */
static inline double t_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* bytes the library has allocated and not yet freed (leak checks) */
static inline uint64_t t_live_bytes(void)
{
    lam_alloc_stats s;
    lam_alloc_get_stats(&s);
    return s.bytes_live;
}

/* the library's last error message contains needle */
static inline bool t_err_has(const char *needle) { return strstr(lam_last_error(), needle) != NULL; }

/* ---- files ------------------------------------------------------------------------ */

/* The whole file, malloc'd and NUL-terminated (*size: its length, 0 on failure); NULL if unreadable. */
static inline void *t_slurp(const char *path, size_t *size)
{
    if (size) *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0, got;
    char *b = malloc(cap);
    while (b && (got = fread(b + len, 1, cap - 1 - len, f)) > 0) {
        len += got;
        if (len == cap - 1) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) free(b);
            b = nb;
        }
    }
    fclose(f);
    if (!b) return NULL;
    b[len] = 0;
    char *exact = realloc(b, len + 1); /* AddressSanitizer then sees the real end */
    if (size) *size = len;
    return exact ? exact : b;
}

/* t_slurp in exactly *size bytes, no NUL: ASan catches a reader that reads one byte past the end. */
static inline void *t_slurp_exact(const char *path, size_t *size)
{
    size_t n = 0;
    char *b = t_slurp(path, &n);
    if (size) *size = n;
    if (!b) return NULL;
    void *exact = realloc(b, n ? n : 1);
    return exact ? exact : b;
}

/* Write n bytes to path (replacing it); false if any step fails. */
static inline bool t_spit(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    bool ok = n == 0 || fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

/* Files of dir whose name contains needle (0 if dir cannot be read). */
static inline int t_count_files(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    int c = 0;
    if (!d) return 0;
    for (struct dirent *e; (e = readdir(d));) c += strstr(e->d_name, needle) != NULL;
    closedir(d);
    return c;
}

/* t_rm_tree without the message (its recursion) */
static inline bool t_rm_tree_(const char *dir)
{
    DIR *d = opendir(dir);
    char p[1024];
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= sizeof p) continue;
        if (unlink(p) != 0) t_rm_tree_(p);
    }
    if (d) closedir(d);
    return rmdir(dir) == 0;
}

/* Remove dir and everything below it (links are not followed); false, said on stderr, if it stays. */
static inline bool t_rm_tree(const char *dir)
{
    bool ok = t_rm_tree_(dir);
    if (!ok) fprintf(stderr, "could not remove %s\n", dir);
    return ok;
}

/* ---- the test's scratch folder ------------------------------------------------------ */

/* the scratch folder, made by t_mkdtemp */
static char t_tmpdir[64] __attribute__((unused));

/* Make t_tmpdir from template (a path ending in XXXXXX); false (reported) on failure. */
static inline bool t_mkdtemp(const char *template)
{
    snprintf(t_tmpdir, sizeof t_tmpdir, "%s", template);
    if (mkdtemp(t_tmpdir)) return true;
    perror("mkdtemp");
    return false;
}

/* t_tmpdir/name, in a ring of 32 static buffers: valid for the next 31 calls. */
static inline const char *t_tpath(const char *name)
{
    static char bufs[32][512];
    static int k;
    k = (k + 1) % 32;
    snprintf(bufs[k], sizeof bufs[k], "%s/%s", t_tmpdir, name);
    return bufs[k];
}

/* Write n bytes to t_tpath(name) (nothing is checked); returns that path. */
static inline const char *t_write_bytes(const char *name, const void *data, size_t n)
{
    const char *p = t_tpath(name);
    t_spit(p, data, n);
    return p;
}

/* t_write_bytes of a string, without its NUL. */
static inline const char *t_write_file(const char *name, const char *text)
{
    return t_write_bytes(name, text, strlen(text));
}

/* n bytes gzip-compressed to t_tpath(name) (nothing is checked); returns that path. */
static inline const char *t_write_gz(const char *name, const void *data, size_t n)
{
    const char *p = t_tpath(name);
    gzFile g = gzopen(p, "wb");
    if (g) {
        if (n) gzwrite(g, data, (unsigned)n);
        gzclose(g);
    }
    return p;
}

/* The lamina command ($LAMINA, else build/lamina); NULL, after "FAIL <test>_binary", if not executable. */
static inline const char *t_lamina_binary(const char *test)
{
    const char *p = getenv("LAMINA");
    if (!p || !*p) p = "build/lamina";
    if (access(p, X_OK) == 0) return p;
    fprintf(stderr, "%s: %s is not an executable (build it with make, or set LAMINA)\n", test, p);
    printf("FAIL %s_binary\n", test);
    return NULL;
}

/* ---- checks ------------------------------------------------------------------------- */

static int t_failed_checks_;
static int t_passed_, t_failed_;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            t_failed_checks_++;                                                       \
            fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                             \
    } while (0)

#define CHECK_MSG(cond, ...)                                                   \
    do {                                                                       \
        if (!(cond)) {                                                         \
            t_failed_checks_++;                                                \
            fprintf(stderr, "  %s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                      \
            fprintf(stderr, "\n");                                             \
        }                                                                      \
    } while (0)

/* |a-b| <= atol + rtol*|b| */
#define CHECK_NEAR(a, b, atol, rtol)                                                       \
    do {                                                                                   \
        double a_ = (double)(a), b_ = (double)(b);                                         \
        if (!(fabs(a_ - b_) <= (atol) + (rtol)*fabs(b_))) {                                \
            t_failed_checks_++;                                                            \
            fprintf(stderr, "  %s:%d: %s = %.9g, expected %s = %.9g\n", __FILE__, __LINE__, \
                    #a, a_, #b, b_);                                                       \
        }                                                                                  \
    } while (0)

#define CHECK_OK(expr)                                                                   \
    do {                                                                                 \
        lam_status s_ = (expr);                                                          \
        if (s_ != LAM_OK) {                                                              \
            t_failed_checks_++;                                                          \
            fprintf(stderr, "  %s:%d: %s returned %s: %s\n", __FILE__, __LINE__, #expr, \
                    lam_status_str(s_), lam_last_error());                              \
        }                                                                                \
    } while (0)

#define RUN(fn)                                                  \
    do {                                                         \
        int before_ = t_failed_checks_;                          \
        fn();                                                    \
        if (t_failed_checks_ == before_) {                       \
            t_passed_++;                                         \
            printf("ok %s\n", #fn);                              \
        } else {                                                 \
            t_failed_++;                                         \
            printf("FAIL %s\n", #fn);                            \
        }                                                        \
        fflush(stdout);                                          \
    } while (0)

#define TEST_MAIN_END                                              \
    printf("# %d passed, %d failed\n", t_passed_, t_failed_);      \
    return t_failed_ ? 1 : 0

#endif
