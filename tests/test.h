/* Minimal test harness: each test binary defines test functions, runs them with
 * RUN(), and ends with TEST_MAIN_END, which prints "ok NAME" / "FAIL NAME" per
 * test and a summary, and exits non-zero on any failure.  tests/run.sh adds the
 * counts of all binaries into the final "N passed, N failed" line. */
#ifndef LAMINA_TEST_H
#define LAMINA_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* seconds on a monotonic clock */
static inline double t_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

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
