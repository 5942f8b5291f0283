/* Parallel loops that cost nothing when small.  An OpenMP region, even with
 * an if(false) clause, goes through the runtime on every call; for the small
 * tensors of an MLP step that overhead exceeds the work.  LAM_PFOR runs the
 * loop serially below LAM_PAR_MIN iterations and as a static OpenMP loop
 * above it.  Iterations must be independent (results then do not depend on
 * the thread count). */
#ifndef LAMINA_KERNELS_PAR_H
#define LAMINA_KERNELS_PAR_H

#define LAM_PAR_MIN 32768

#define LAM_PFOR(n, i, ...)                                                   \
    do {                                                                      \
        long lam_n_ = (long)(n);                                              \
        if (lam_n_ > LAM_PAR_MIN) {                                           \
            _Pragma("omp parallel for schedule(static)") for (long i = 0; i < lam_n_; i++) { __VA_ARGS__; } \
        } else {                                                              \
            for (long i = 0; i < lam_n_; i++) { __VA_ARGS__; }                \
        }                                                                     \
    } while (0)

/* The same, choosing parallelism by `work` (total elements) while looping
 * over `n` outer iterations (rows, channels). */
#define LAM_PFOR_WORK(n, work, i, ...)                                        \
    do {                                                                      \
        long lam_n_ = (long)(n);                                              \
        if ((long)(work) > LAM_PAR_MIN && lam_n_ > 1) {                       \
            _Pragma("omp parallel for schedule(static)") for (long i = 0; i < lam_n_; i++) { __VA_ARGS__; } \
        } else {                                                              \
            for (long i = 0; i < lam_n_; i++) { __VA_ARGS__; }                \
        }                                                                     \
    } while (0)

#endif
