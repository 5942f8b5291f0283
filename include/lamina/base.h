/* Lamina base layer: status codes, error messages, allocator hooks with byte
 * accounting and test-only fault injection, a bump arena, seeded RNG objects
 * and the thread-count setting.  Depends on libc only. */
#ifndef LAMINA_BASE_H
#define LAMINA_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes ------------------------------------------------------- */

typedef enum lam_status {
    LAM_OK = 0,
    LAM_ERR_NOMEM,       /* an allocation failed */
    LAM_ERR_ARG,         /* a bad argument: NULL, out of range, unknown name */
    LAM_ERR_SHAPE,       /* shapes do not fit together */
    LAM_ERR_IO,          /* open/read/write/rename failed */
    LAM_ERR_FORMAT,      /* a file's contents are malformed */
    LAM_ERR_STATE,       /* call made in the wrong state (e.g. run before compile) */
    LAM_ERR_UNSUPPORTED, /* valid request this build cannot do */
    LAM_ERR_NUMERIC,     /* a NaN or an infinity where finite numbers are needed */
    LAM_ERR_COUNT_
} lam_status;

/* The library's version, "MAJOR.MINOR.PATCH" (LAMINA_VERSION of the build):
 * for programs and bindings that load liblamina.so at run time. */
const char *lam_version(void);

/* Short constant name of a status, e.g. "LAM_ERR_FORMAT"; never NULL. */
const char *lam_status_str(lam_status s);

/* The message of the most recent error raised on this thread: what went wrong,
 * where (file:line or byte offset) and a hint.  Empty when none.  The buffer is
 * thread-local (like errno): the one piece of mutable per-thread state. */
const char *lam_last_error(void);

/* Record an error message (printf-style) for this thread and return `s`, so
 * that callers can write `return lam_fail(LAM_ERR_ARG, "...", ...)`. */
lam_status lam_fail(lam_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Clear this thread's error message. */
void lam_clear_error(void);

/* Always-on assertion for internal invariants (never for user input). */
void lam_assert_fail_(const char *expr, const char *file, int line);
#define LAM_ASSERT(e) ((e) ? (void)0 : lam_assert_fail_(#e, __FILE__, __LINE__))

/* ---- logging ------------------------------------------------------------ */

typedef enum lam_log_level { LAM_LOG_DEBUG, LAM_LOG_INFO, LAM_LOG_WARN, LAM_LOG_ERROR } lam_log_level;
typedef void (*lam_log_fn)(lam_log_level level, const char *msg, void *user);
/* Install a log callback (NULL: messages are dropped, the default: the library
 * never prints on its own).  Not thread-safe against concurrent logging. */
void lam_set_log(lam_log_fn fn, void *user);
void lam_log(lam_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- allocation --------------------------------------------------------- */

/* Allocator hooks.  All library memory goes through lam_malloc/lam_free, which
 * count calls and bytes.  Set hooks before any other call. */
typedef struct lam_allocator {
    void *(*alloc)(size_t size, size_t align, void *user); /* NULL on failure */
    void (*free)(void *ptr, void *user);
    void *user;
} lam_allocator;
void lam_set_allocator(const lam_allocator *a); /* NULL restores the default */

typedef struct lam_alloc_stats {
    uint64_t n_alloc;     /* successful allocations so far */
    uint64_t n_free;
    uint64_t bytes_live;  /* bytes currently allocated */
    uint64_t bytes_peak;  /* high-water mark of bytes_live */
} lam_alloc_stats;
void lam_alloc_get_stats(lam_alloc_stats *out);

/* Test-only fault injection: the n-th allocation from now (1 = the next one)
 * fails; 0 disables.  Used by the tests to prove every error path is clean. */
void lam_alloc_fail_after(uint64_t n);

/* 64-byte-aligned allocation; returns NULL and records LAM_ERR_NOMEM. */
void *lam_malloc(size_t size);
void *lam_calloc(size_t n, size_t size); /* zeroed, overflow-checked */
void *lam_realloc(void *p, size_t old_size, size_t new_size);
void lam_free(void *p);
char *lam_strdup(const char *s);

/* Grow *p, an array of *cap elements of elem bytes, to hold at least need
 * elements (capacities double from `first`), keeping its contents; *p and
 * *cap change only on success.  Errors: LAM_ERR_NOMEM, also when the size
 * would overflow (the message names `what`). */
lam_status lam_grow(void **p, size_t *cap, size_t need, size_t elem, size_t first, const char *what);

/* Overflow-checked size arithmetic: false on overflow. */
bool lam_mul_size(size_t a, size_t b, size_t *out);
bool lam_add_size(size_t a, size_t b, size_t *out);

/* ---- arena -------------------------------------------------------------- */

/* A bump allocator in chained blocks; everything is freed at once. */
typedef struct lam_arena lam_arena;
lam_arena *lam_arena_new(size_t block_size);
void *lam_arena_alloc(lam_arena *a, size_t size); /* 16-byte aligned, zeroed */
char *lam_arena_strdup(lam_arena *a, const char *s);
void lam_arena_free(lam_arena *a);

/* ---- random numbers ----------------------------------------------------- */

/* xoshiro256** seeded through splitmix64.  The state is plain data so that it
 * can be saved in checkpoints and restored bit for bit. */
typedef struct lam_rng { uint64_t s[4]; } lam_rng;
void lam_rng_seed(lam_rng *r, uint64_t seed);
uint64_t lam_rng_u64(lam_rng *r);
uint32_t lam_rng_below(lam_rng *r, uint32_t n);  /* uniform in [0, n), unbiased */
float lam_rng_uniform(lam_rng *r);               /* [0, 1) with 24 random bits */
double lam_rng_uniform_d(lam_rng *r);            /* [0, 1) with 53 random bits */
float lam_rng_normal(lam_rng *r);                /* N(0,1), Box-Muller */
void lam_rng_shuffle_u32(lam_rng *r, uint32_t *a, size_t n); /* Fisher-Yates */

/* ---- threads ------------------------------------------------------------ */

/* Threads used by kernels (OpenMP); n <= 0 means all cores.  Results are
 * bitwise identical for every thread count. */
void lam_set_threads(int n);
int lam_get_threads(void);

#ifdef __cplusplus
}
#endif
#endif
