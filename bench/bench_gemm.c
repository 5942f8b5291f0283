/* bench_gemm: GFLOP/s of lam_sgemm on square C = A*B (row-major, no
 * transposes) for n = 64..2048 at 1 and 2 threads, next to OpenBLAS's
 * cblas_sgemm loaded at run time with dlopen, so the default build needs no
 * OpenBLAS.  Methodology as ../shared/peers/sgemm.py: 2 warm-up calls, then 7
 * timings of r back-to-back calls (r so one timing lasts >= ~50 ms); the
 * median is reported.  Prints a table, then one JSON line.
 *   usage: bench_gemm [-t THREADS] [-n N1,N2,...] */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/gemm.h"
#include "lamina/base.h"

enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111 }; /* cblas.h values */
typedef void (*cblas_sgemm_fn)(int order, int ta, int tb, int M, int N, int K, float alpha,
                               const float *A, int lda, const float *B, int ldb, float beta,
                               float *C, int ldc);
typedef void (*set_threads_fn)(int n);
typedef char *(*corename_fn)(void);

typedef struct openblas {
    void *lib;
    cblas_sgemm_fn sgemm;
    set_threads_fn set_threads;
    corename_fn corename;
} openblas;

static openblas load_openblas(void)
{
    openblas ob = {0};
    ob.lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!ob.lib) ob.lib = dlopen("libopenblas.so", RTLD_NOW | RTLD_LOCAL);
    if (!ob.lib) return ob;
    /* POSIX sanctions this object-to-function pointer conversion for dlsym. */
    *(void **)&ob.sgemm = dlsym(ob.lib, "cblas_sgemm");
    *(void **)&ob.set_threads = dlsym(ob.lib, "openblas_set_num_threads");
    *(void **)&ob.corename = dlsym(ob.lib, "openblas_get_corename");
    if (!ob.sgemm || !ob.set_threads) {
        dlclose(ob.lib);
        ob = (openblas){0};
    }
    return ob;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void pause_s(double s)
{
    struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&t, NULL);
}

typedef struct run {
    int lib; /* 0 lamina, 1 openblas */
    int n, threads;
    const float *A, *B;
    float *C, *ws;
    const openblas *ob;
} run;

static void call(const run *r)
{
    int n = r->n;
    if (r->lib == 0)
        lam_sgemm(false, false, n, n, n, 1.0f, r->A, n, r->B, n, 0.0f, r->C, n, r->ws, r->threads);
    else
        r->ob->sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_NO_TRANS, n, n, n, 1.0f, r->A, n,
                     r->B, n, 0.0f, r->C, n);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median GFLOP/s over 7 timings of `reps` calls each. */
static double gflops(const run *r)
{
    call(r);
    call(r);
    double t0 = now();
    call(r);
    double one = now() - t0;
    int reps = (int)(0.05 / (one > 1e-7 ? one : 1e-7));
    if (reps < 1) reps = 1;
    double ts[7];
    for (int i = 0; i < 7; i++) {
        t0 = now();
        for (int k = 0; k < reps; k++) call(r);
        ts[i] = (now() - t0) / reps;
    }
    qsort(ts, 7, sizeof ts[0], cmp_double);
    return 2.0 * r->n * (double)r->n * r->n / ts[3] / 1e9;
}

static int parse_list(const char *s, int *out, int cap)
{
    int k = 0;
    while (*s && k < cap) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v <= 0 || v > 8192) return -1;
        out[k++] = (int)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return -1;
    }
    return k;
}

int main(int argc, char **argv)
{
    int sizes[16] = {64, 128, 256, 512, 1024, 2048}, nsizes = 6;
    int threads[4] = {1, 2}, nthreads = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-t") && i + 1 < argc) {
            threads[0] = atoi(argv[++i]);
            nthreads = 1;
        } else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            nsizes = parse_list(argv[++i], sizes, 16);
            if (nsizes <= 0) {
                fprintf(stderr, "bench_gemm: bad size list\n");
                return 2;
            }
        } else {
            fprintf(stderr, "usage: bench_gemm [-t THREADS] [-n N1,N2,...]\n");
            return 2;
        }
    }

    openblas ob = load_openblas();
    printf("# sgemm C = A*B, row-major, square n; lamina kernel: %s\n", lam_sgemm_kernel_name());
    if (ob.lib)
        printf("# openblas: %s\n", ob.corename ? ob.corename() : "loaded");
    else
        printf("# openblas: libopenblas.so.0 not found, its column is skipped\n");
    printf("%6s %7s %14s %14s %7s\n", "n", "threads", "lamina GF/s", "openblas GF/s", "ratio");

    char json[4096];
    size_t jl = (size_t)snprintf(json, sizeof json,
                                 "{\"bench\": \"sgemm\", \"kernel\": \"%s\", \"results\": [",
                                 lam_sgemm_kernel_name());
    lam_rng rng;
    lam_rng_seed(&rng, 0);
    int first = 1;
    for (int si = 0; si < nsizes; si++) {
        int n = sizes[si];
        size_t nn = (size_t)n * n;
        float *A = lam_malloc(nn * sizeof *A), *B = lam_malloc(nn * sizeof *B);
        float *C = lam_malloc(nn * sizeof *C), *C2 = lam_malloc(nn * sizeof *C2);
        if (!A || !B || !C || !C2) {
            fprintf(stderr, "bench_gemm: out of memory at n=%d\n", n);
            return 1;
        }
        for (size_t i = 0; i < nn; i++) A[i] = lam_rng_normal(&rng), B[i] = lam_rng_normal(&rng);
        for (int ti = 0; ti < nthreads; ti++) {
            int t = threads[ti];
            float *ws = lam_malloc(lam_sgemm_ws_floats(n, n, n, t) * sizeof(float) + 64);
            run r = {0, n, t, A, B, C, ws, &ob};
            double g_lam = gflops(&r), g_ob = NAN, maxdiff = NAN;
            if (ob.lib) {
                /* Let our OpenMP workers stop spinning before timing OpenBLAS,
                 * and OpenBLAS's before the next lamina run (2 cores only). */
                pause_s(0.05);
                ob.set_threads(t);
                run o = {1, n, t, A, B, C2, NULL, &ob};
                g_ob = gflops(&o);
                pause_s(0.3);
                maxdiff = 0;
                for (size_t i = 0; i < nn; i++) {
                    double d = fabs((double)C[i] - C2[i]) / (1.0 + fabs((double)C2[i]));
                    if (d > maxdiff) maxdiff = d;
                }
            }
            printf("%6d %7d %14.1f %14.1f %7.2f", n, t, g_lam, g_ob, g_lam / g_ob);
            if (ob.lib) printf("   (max rel diff vs openblas %.1e)", maxdiff);
            printf("\n");
            fflush(stdout);
            char obs[32] = "null", ratio[32] = "null";
            if (ob.lib) {
                snprintf(obs, sizeof obs, "%.1f", g_ob);
                snprintf(ratio, sizeof ratio, "%.3f", g_lam / g_ob);
            }
            if (jl < sizeof json)
                jl += (size_t)snprintf(json + jl, sizeof json - jl,
                                       "%s{\"n\": %d, \"threads\": %d, \"lamina\": %.1f, "
                                       "\"openblas\": %s, \"ratio\": %s}",
                                       first ? "" : ", ", n, t, g_lam, obs, ratio);
            first = 0;
            lam_free(ws);
        }
        lam_free(A), lam_free(B), lam_free(C), lam_free(C2);
    }
    if (jl < sizeof json) snprintf(json + jl, sizeof json - jl, "]}");
    printf("%s\n", json);
    if (ob.lib) dlclose(ob.lib);
    return 0;
}
