/* Shared helpers of the libFuzzer harnesses (fuzz/fuzz_*.c): a per-process
 * scratch file for readers that take a path, an allocator hook that bounds
 * the library's live memory, and invariant checks that abort (so libFuzzer
 * records the input) when a reader breaks one of its documented promises.
 *
 * Every harness is built with -fsanitize=fuzzer,address,undefined and run
 * with -rss_limit_mb=512 -timeout=1 (see fuzz/run.sh).  A harness frees
 * everything it gets from the library: LeakSanitizer runs after each input
 * that grows the corpus and at exit. */
#ifndef LAMINA_FUZZ_COMMON_H
#define LAMINA_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lamina/lamina.h"

/* ---- invariants ---------------------------------------------------------- */

#define FZ_CHECK(cond, ...)                                                          \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "\nfuzz invariant failed at %s:%d: %s\n  ", __FILE__,    \
                    __LINE__, #cond);                                                \
            fprintf(stderr, __VA_ARGS__);                                            \
            fprintf(stderr, "\n  last error: %s\n", lam_last_error());               \
            abort();                                                                 \
        }                                                                            \
    } while (0)

/* A failing reader must give a real error code and a message. */
static inline void fz_check_failure(lam_status s, const char *what)
{
    FZ_CHECK(s > LAM_OK && s < LAM_ERR_COUNT_, "%s returned status %d", what, (int)s);
    FZ_CHECK(lam_last_error()[0] != 0, "%s failed with %s but left no message", what,
             lam_status_str(s));
}

/* A cheap way to make the compiler keep reads of every byte (ASan then sees
 * any read past the end of a buffer the reader handed out). */
static volatile uint64_t fz_sink;
static inline void fz_touch(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 0;
    for (size_t i = 0; i < n; i++) h = h * 31 + b[i];
    fz_sink += h;
}

/* ---- memory bound ---------------------------------------------------------- */

/* Readers whose memory is bounded by their input (IDX, CIFAR, CSV, text,
 * safetensors) get FZ_MEM_TRAP: an allocation that would take the library's
 * live bytes over the cap aborts, as a finding.  Model builders (model file,
 * checkpoint) may legitimately be asked for a big model: FZ_MEM_REFUSE makes
 * such an allocation fail (LAM_ERR_NOMEM, a clean error the harness accepts)
 * instead of exhausting the 512 MiB the fuzzer allows. */
enum { FZ_MEM_TRAP, FZ_MEM_REFUSE };
static size_t fz_mem_cap = (size_t)256 << 20;
static int fz_mem_mode = FZ_MEM_TRAP;

static inline void *fz_alloc(size_t size, size_t align, void *user)
{
    (void)user;
    lam_alloc_stats s;
    lam_alloc_get_stats(&s);
    if (size > fz_mem_cap || s.bytes_live > fz_mem_cap - size) {
        if (fz_mem_mode == FZ_MEM_TRAP) {
            fprintf(stderr, "\nfuzz invariant failed: an allocation of %zu bytes with %llu live "
                            "exceeds the %zu-byte cap of an input-bounded reader\n",
                    size, (unsigned long long)s.bytes_live, fz_mem_cap);
            abort();
        }
        return NULL;
    }
    void *p = NULL;
    if (posix_memalign(&p, align, size) != 0) return NULL;
    return p;
}

static inline void fz_free(void *p, void *user)
{
    (void)user;
    free(p);
}

static inline void fz_init_memory(int mode, size_t cap)
{
    static lam_allocator a = {fz_alloc, fz_free, NULL};
    fz_mem_mode = mode;
    fz_mem_cap = cap;
    lam_set_allocator(&a);
    lam_set_threads(1);
}

/* Everything the library allocated for one input must be freed by the end
 * of it (LeakSanitizer would see the blocks too; this names the harness). */
static inline uint64_t fz_live(void)
{
    lam_alloc_stats s;
    lam_alloc_get_stats(&s);
    return s.bytes_live;
}

/* The check at the end of an input: nothing the library allocated since
 * `live` (fz_live() at the start of the input) is left. */
#define FZ_CHECK_NO_LEAK(live) \
    FZ_CHECK(fz_live() == (live), "%llu bytes leaked", (unsigned long long)(fz_live() - (live)))

/* Defines the harness's LLVMFuzzerInitialize: fz_init_memory(mode, cap). */
#define FZ_INITIALIZE(mode, cap)                          \
    int LLVMFuzzerInitialize(int *argc, char ***argv)     \
    {                                                     \
        (void)argc, (void)argv;                           \
        fz_init_memory((mode), (cap));                    \
        return 0;                                         \
    }

/* ---- scratch files ----------------------------------------------------------- */

/* Directory for the per-process scratch files: $LAMINA_FUZZ_TMP, else
 * /dev/shm (memory), else /tmp. */
static inline const char *fz_tmpdir(void)
{
    const char *d = getenv("LAMINA_FUZZ_TMP");
    struct stat sb;
    if (d && *d) return d;
    if (stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) && access("/dev/shm", W_OK) == 0)
        return "/dev/shm";
    return "/tmp";
}

/* Scratch files written by this process, removed at exit. */
static char fz_paths[8][256];
static int fz_npaths;

static inline void fz_cleanup(void)
{
    for (int i = 0; i < fz_npaths; i++) unlink(fz_paths[i]);
}

/* Path of this process's scratch file `tag` (stable for the process). */
static inline const char *fz_path(const char *tag)
{
    char p[256];
    snprintf(p, sizeof p, "%s/lamina-fuzz-%ld-%s", fz_tmpdir(), (long)getpid(), tag);
    for (int i = 0; i < fz_npaths; i++)
        if (!strcmp(fz_paths[i], p)) return fz_paths[i];
    FZ_CHECK(fz_npaths < 8, "too many scratch files");
    if (!fz_npaths) atexit(fz_cleanup);
    memcpy(fz_paths[fz_npaths], p, sizeof p);
    return fz_paths[fz_npaths++];
}

/* Write the bytes to the file at path (a finding if that fails). */
static inline void fz_write_file(const char *p, const void *data, size_t size)
{
    FILE *f = fopen(p, "wb");
    FZ_CHECK(f != NULL, "cannot create the scratch file %s", p);
    if (size) FZ_CHECK(fwrite(data, 1, size, f) == size, "cannot write %s", p);
    FZ_CHECK(fclose(f) == 0, "cannot close %s", p);
}

/* Write the bytes to scratch file `tag` and return its path. */
static inline const char *fz_write(const char *tag, const void *data, size_t size)
{
    const char *p = fz_path(tag);
    fz_write_file(p, data, size);
    return p;
}

#endif
