/* bench_gemm: GFLOP/s of lam_sgemm on square C = A*B (row-major, no
 * transposes) for n = 64..2048, and on the five products of an LSTM training
 * step (batch 32, 64 steps, hidden 256: 32x1024x256, 32x256x1024, 2048x1024x256
 * with B transposed, 1024x256x2048 with A transposed, 2048x256x1024), at 1
 * and 2 threads, next to OpenBLAS's cblas_sgemm loaded at run time with
 * dlopen, so the default build needs no OpenBLAS.  Methodology as
 * ../shared/peers/sgemm.py: 2 warm-up calls, then 7 timings of r
 * back-to-back calls (r so one timing lasts >= ~50 ms); the median is
 * reported.  Prints a table, then one JSON line.
 * Then the products with B pre-packed (lam_sgemm_pack_b once, untimed, then
 * lam_sgemm_packed: one call on 1 thread, one column range per thread of
 * our own OpenMP team on more), next to lam_sgemm on the same shapes: the
 * LSTM recurrence multiplies the same W_hh at every time step.
 *   usage: bench_gemm [-t THREADS] [-n N1,N2,...] [-s MxNxK[tt],...] [-p MxNxK[tn],...]
 * -n replaces the square sizes, -s the other shapes ("nt": B transposed,
 * "tn": A transposed), -p the pre-packed ones (B's transpose is packed
 * away, so only A's counts); an empty list drops that group. */
#include <dlfcn.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/gemm.h"
#include "lamina/base.h"

enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 }; /* cblas.h values */
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

/* Cores' worth of CPU time other processes used: /proc/stat's busy time
 * minus our own CPU time, per second of wall time since `load_mark`
 * (0 on a quiet machine; -1 where /proc/stat is unreadable). */
typedef struct load_mark {
    double wall, busy, own;
} load_mark;

static double proc_busy_s(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return -1;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 8) return -1;
    /* user nice system [idle iowait] irq softirq steal */
    return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

static load_mark load_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    load_mark m = {now(), proc_busy_s(), (double)t.tv_sec + 1e-9 * (double)t.tv_nsec};
    return m;
}

static double others_cores(load_mark a)
{
    load_mark b = load_now();
    if (a.busy < 0 || b.busy < 0 || b.wall <= a.wall) return -1;
    double o = ((b.busy - a.busy) - (b.own - a.own)) / (b.wall - a.wall);
    return o < 0 ? 0 : o;
}

static void pause_s(double s)
{
    struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&t, NULL);
}

/* One product: op(A)[M,K] * op(B)[K,N], tight leading dimensions. */
typedef struct shape {
    int M, N, K;
    bool ta, tb;
} shape;

typedef struct run {
    int lib; /* 0 lamina, 1 openblas, 2 lamina with B pre-packed */
    shape s;
    int threads;
    const float *A, *B; /* lib 2: B is the packed operand */
    float *C, *ws;      /* lib 2: ws has `threads` slices of ws_stride floats */
    const openblas *ob;
    size_t ws_stride;
} run;

/* Columns of thread t of nt in a packed product: whole 32-column panels. */
static void packed_range(const run *r, int t, int nt)
{
    int N = r->s.N, panels = (N + LAM_SGEMM_PACK_NR - 1) / LAM_SGEMM_PACK_NR;
    int n0 = panels * t / nt * LAM_SGEMM_PACK_NR, n1 = panels * (t + 1) / nt * LAM_SGEMM_PACK_NR;
    if (n1 > N) n1 = N;
    if (n1 > n0)
        lam_sgemm_packed(r->s.ta, r->s.M, N, r->s.K, 1.0f, r->A, r->s.ta ? r->s.M : r->s.K, r->B,
                         0.0f, r->C, N, r->ws + (size_t)t * r->ws_stride, n0, n1);
}

static void call(const run *r)
{
    shape s = r->s;
    int lda = s.ta ? s.M : s.K, ldb = s.tb ? s.K : s.N;
    if (r->lib == 2) {
        if (r->threads <= 1) {
            packed_range(r, 0, 1);
            return;
        }
#ifdef _OPENMP
#pragma omp parallel num_threads(r->threads)
        packed_range(r, omp_get_thread_num(), omp_get_num_threads());
#else
        packed_range(r, 0, 1);
#endif
        return;
    }
    if (r->lib == 0)
        lam_sgemm(s.ta, s.tb, s.M, s.N, s.K, 1.0f, r->A, lda, r->B, ldb, 0.0f, r->C, s.N, r->ws,
                  r->threads);
    else
        r->ob->sgemm(CBLAS_ROW_MAJOR, s.ta ? CBLAS_TRANS : CBLAS_NO_TRANS,
                     s.tb ? CBLAS_TRANS : CBLAS_NO_TRANS, s.M, s.N, s.K, 1.0f, r->A, lda, r->B,
                     ldb, 0.0f, r->C, s.N);
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
    return 2.0 * r->s.M * (double)r->s.N * r->s.K / ts[3] / 1e9;
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

/* "MxNxK" with an optional "nn", "nt", "tn" or "tt" suffix, comma-separated. */
static int parse_shapes(const char *s, shape *out, int cap)
{
    int k = 0;
    while (*s && k < cap) {
        char *end;
        long d[3];
        for (int i = 0; i < 3; i++) {
            d[i] = strtol(s, &end, 10);
            if (end == s || d[i] <= 0 || d[i] > 8192) return -1;
            s = end;
            if (i < 2) {
                if (*s != 'x') return -1;
                s++;
            }
        }
        shape sh = {(int)d[0], (int)d[1], (int)d[2], false, false};
        if ((s[0] == 'n' || s[0] == 't') && (s[1] == 'n' || s[1] == 't')) {
            sh.ta = s[0] == 't', sh.tb = s[1] == 't';
            s += 2;
        }
        out[k++] = sh;
        if (*s == ',') s++;
        else if (*s) return -1;
    }
    return k;
}

int main(int argc, char **argv)
{
    int sizes[16] = {64, 128, 256, 512, 1024, 2048}, nsizes = 6;
    shape shapes[48] = {{32, 1024, 256, false, false},
                        {32, 256, 1024, false, false},
                        {2048, 1024, 256, false, true},
                        {1024, 256, 2048, true, false},
                        {2048, 256, 1024, false, false}};
    int nshapes = 5;
    shape pshapes[16] = {{32, 1024, 256, false, false}, {32, 256, 1024, false, false}};
    int npshapes = 2;
    int threads[4] = {1, 2}, nthreads = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-t") && i + 1 < argc) {
            threads[0] = atoi(argv[++i]);
            nthreads = 1;
        } else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            nsizes = parse_list(argv[++i], sizes, 16);
            if (nsizes < 0) {
                fprintf(stderr, "bench_gemm: bad size list\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "-s") && i + 1 < argc) {
            nshapes = parse_shapes(argv[++i], shapes, 32);
            if (nshapes < 0) {
                fprintf(stderr, "bench_gemm: bad shape list\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "-p") && i + 1 < argc) {
            npshapes = parse_shapes(argv[++i], pshapes, 16);
            if (npshapes < 0) {
                fprintf(stderr, "bench_gemm: bad shape list\n");
                return 2;
            }
        } else {
            fprintf(stderr, "usage: bench_gemm [-t THREADS] [-n N1,N2,...] [-s MxNxK[tt],...] "
                            "[-p MxNxK[tn],...]\n");
            return 2;
        }
    }

    /* the square sizes first, then the other shapes */
    shape all[64];
    int nall = 0;
    for (int i = 0; i < nsizes; i++) all[nall++] = (shape){sizes[i], sizes[i], sizes[i], false, false};
    for (int i = 0; i < nshapes; i++) all[nall++] = shapes[i];

    openblas ob = load_openblas();
    printf("# sgemm C = op(A)*op(B), row-major; lamina kernel: %s\n", lam_sgemm_kernel_name());
    if (ob.lib)
        printf("# openblas: %s\n", ob.corename ? ob.corename() : "loaded");
    else
        printf("# openblas: libopenblas.so.0 not found, its column is skipped\n");
    printf("# others: cores busy with other processes meanwhile (> 0.3: re-run)\n");
    printf("%16s %7s %14s %14s %7s %7s\n", "MxNxK op", "threads", "lamina GF/s", "openblas GF/s",
           "ratio", "others");

    char json[8192];
    size_t jl = (size_t)snprintf(json, sizeof json,
                                 "{\"bench\": \"sgemm\", \"kernel\": \"%s\", \"results\": [",
                                 lam_sgemm_kernel_name());
    lam_rng rng;
    lam_rng_seed(&rng, 0);
    int first = 1;
    for (int si = 0; si < nall; si++) {
        shape sh = all[si];
        size_t na = (size_t)sh.M * sh.K, nb = (size_t)sh.K * sh.N, nc = (size_t)sh.M * sh.N;
        float *A = lam_malloc(na * sizeof *A), *B = lam_malloc(nb * sizeof *B);
        float *C = lam_malloc(nc * sizeof *C), *C2 = lam_malloc(nc * sizeof *C2);
        if (!A || !B || !C || !C2) {
            fprintf(stderr, "bench_gemm: out of memory at %dx%dx%d\n", sh.M, sh.N, sh.K);
            return 1;
        }
        for (size_t i = 0; i < na; i++) A[i] = lam_rng_normal(&rng);
        for (size_t i = 0; i < nb; i++) B[i] = lam_rng_normal(&rng);
        char label[48];
        snprintf(label, sizeof label, "%dx%dx%d %c%c", sh.M, sh.N, sh.K, sh.ta ? 't' : 'n',
                 sh.tb ? 't' : 'n');
        for (int ti = 0; ti < nthreads; ti++) {
            int t = threads[ti];
            float *ws = lam_malloc(lam_sgemm_ws_floats(sh.M, sh.N, sh.K, t) * sizeof(float) + 64);
            run r = {0, sh, t, A, B, C, ws, &ob, 0};
            load_mark lm = load_now();
            double g_lam = gflops(&r), g_ob = NAN, maxdiff = NAN;
            if (ob.lib) {
                /* Let our OpenMP workers stop spinning before timing OpenBLAS,
                 * and OpenBLAS's before the next lamina run (2 cores only). */
                pause_s(0.05);
                ob.set_threads(t);
                run o = {1, sh, t, A, B, C2, NULL, &ob, 0};
                g_ob = gflops(&o);
                pause_s(0.3);
                maxdiff = 0;
                for (size_t i = 0; i < nc; i++) {
                    double d = fabs((double)C[i] - C2[i]) / (1.0 + fabs((double)C2[i]));
                    if (d > maxdiff) maxdiff = d;
                }
            }
            double oth = others_cores(lm);
            printf("%16s %7d %14.1f %14.1f %7.2f %7.2f", label, t, g_lam, g_ob, g_lam / g_ob, oth);
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
                                       "%s{\"M\": %d, \"N\": %d, \"K\": %d, \"ta\": %d, "
                                       "\"tb\": %d, \"threads\": %d, \"lamina\": %.1f, "
                                       "\"openblas\": %s, \"ratio\": %s, \"others\": %.2f}",
                                       first ? "" : ", ", sh.M, sh.N, sh.K, sh.ta, sh.tb, t,
                                       g_lam, obs, ratio, oth);
            first = 0;
            lam_free(ws);
        }
        lam_free(A), lam_free(B), lam_free(C), lam_free(C2);
    }
    if (jl < sizeof json) jl += (size_t)snprintf(json + jl, sizeof json - jl, "], \"packed\": [");

    if (npshapes > 0)
        printf("# B pre-packed (lam_sgemm_packed, one column range per thread) vs lam_sgemm\n"
               "%16s %7s %14s %14s %7s %10s %7s\n",
               "MxNxK op", "threads", "packed GF/s", "lam_sgemm GF/s", "ratio", "pack_b us",
               "others");
    first = 1;
    for (int si = 0; si < npshapes; si++) {
        shape sh = pshapes[si];
        sh.tb = false;
        size_t na = (size_t)sh.M * sh.K, nb = (size_t)sh.K * sh.N, nc = (size_t)sh.M * sh.N;
        size_t npk = lam_sgemm_packed_b_floats(sh.N, sh.K);
        float *A = lam_malloc(na * sizeof *A), *B = lam_malloc(nb * sizeof *B);
        float *C = lam_malloc(nc * sizeof *C), *C2 = lam_malloc(nc * sizeof *C2);
        float *P = lam_malloc(npk * sizeof *P + 64);
        if (!A || !B || !C || !C2 || !P) {
            fprintf(stderr, "bench_gemm: out of memory at %dx%dx%d\n", sh.M, sh.N, sh.K);
            return 1;
        }
        for (size_t i = 0; i < na; i++) A[i] = lam_rng_normal(&rng);
        for (size_t i = 0; i < nb; i++) B[i] = lam_rng_normal(&rng);
        double t0 = now();
        lam_sgemm_pack_b(false, sh.N, sh.K, B, sh.N, NULL, NULL, P);
        double pack_us = (now() - t0) * 1e6;
        t0 = now();
        lam_sgemm_pack_b(false, sh.N, sh.K, B, sh.N, NULL, NULL, P); /* warm */
        pack_us = (now() - t0) * 1e6 < pack_us ? (now() - t0) * 1e6 : pack_us;
        char label[48];
        snprintf(label, sizeof label, "%dx%dx%d %cn", sh.M, sh.N, sh.K, sh.ta ? 't' : 'n');
        for (int ti = 0; ti < nthreads; ti++) {
            int t = threads[ti];
            size_t wstride = (lam_sgemm_packed_ws_floats(sh.M, sh.K) + 15) & ~(size_t)15;
            size_t wsn = lam_sgemm_ws_floats(sh.M, sh.N, sh.K, t);
            if (wstride * (size_t)t > wsn) wsn = wstride * (size_t)t;
            float *ws = lam_malloc(wsn * sizeof(float) + 64);
            run pr = {2, sh, t, A, P, C, ws, &ob, wstride};
            load_mark lm = load_now();
            double g_p = gflops(&pr);
            pause_s(0.05);
            run r = {0, sh, t, A, B, C2, ws, &ob, 0};
            double g_l = gflops(&r);
            pause_s(0.05);
            double oth = others_cores(lm);
            bool same = memcmp(C, C2, nc * sizeof *C) == 0;
            printf("%16s %7d %14.1f %14.1f %7.2f %10.1f %7.2f%s\n", label, t, g_p, g_l, g_p / g_l,
                   pack_us, oth, same ? "" : "   (RESULTS DIFFER)");
            fflush(stdout);
            if (jl < sizeof json)
                jl += (size_t)snprintf(json + jl, sizeof json - jl,
                                       "%s{\"M\": %d, \"N\": %d, \"K\": %d, \"ta\": %d, "
                                       "\"threads\": %d, \"packed\": %.1f, \"lamina\": %.1f, "
                                       "\"pack_b_us\": %.1f, \"same_bits\": %s, "
                                       "\"others\": %.2f}",
                                       first ? "" : ", ", sh.M, sh.N, sh.K, sh.ta, t, g_p, g_l,
                                       pack_us, same ? "true" : "false", oth);
            first = 0;
            lam_free(ws);
        }
        lam_free(A), lam_free(B), lam_free(C), lam_free(C2), lam_free(P);
    }
    if (jl < sizeof json) snprintf(json + jl, sizeof json - jl, "]}");
    printf("%s\n", json);
    if (ob.lib) dlclose(ob.lib);
    return 0;
}
