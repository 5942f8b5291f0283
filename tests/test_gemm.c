/* Tests for lam_sgemm (src/kernels/gemm*.c): every transpose combination on
 * odd sizes against a naive double-precision reference, padded leading
 * dimensions, alpha/beta variants (beta = 0 must ignore NaNs in C), K = 0 and
 * empty M/N, bitwise thread-count invariance on problems that do get split,
 * bitwise block invariance (a row or column block computed alone, including
 * the M == 1 / N == 1 / small-M paths, equals the same block of the whole
 * product), the AVX-512, AVX2 and portable kernels against each other bit for
 * bit, and the pre-packed B operand (permutations with zero rows/columns,
 * every column split) against lam_sgemm on the unpacked operand. */
#include <stdbool.h>
#include <stdint.h>

#include "kernels/gemm.h"
#include "lamina/base.h"
#include "test.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* One problem: op(A)[M,K] * op(B)[K,N] with leading dimensions padded by
 * `pad`, filled from a seeded RNG. */
typedef struct prob {
    bool ta, tb;
    int M, N, K, lda, ldb, ldc;
    float *A, *B, *C0; /* C0: initial C (also read when beta != 0) */
} prob;

static float *fill(lam_rng *r, size_t n)
{
    float *p = lam_malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = 2.0f * lam_rng_uniform(r) - 1.0f;
    return p;
}

static prob prob_new(bool ta, bool tb, int M, int N, int K, int pad, uint64_t seed)
{
    lam_rng r;
    lam_rng_seed(&r, seed);
    prob p = {ta, tb, M, N, K, 0, 0, 0, NULL, NULL, NULL};
    p.lda = (ta ? M : K) + pad;
    p.ldb = (tb ? K : N) + pad;
    p.ldc = N + pad;
    p.A = fill(&r, (size_t)(ta ? K : M) * p.lda);
    p.B = fill(&r, (size_t)(tb ? N : K) * p.ldb);
    p.C0 = fill(&r, (size_t)M * p.ldc);
    return p;
}

static void prob_free(prob *p) { lam_free(p->A), lam_free(p->B), lam_free(p->C0); }

static double a_at(const prob *p, int i, int k)
{
    return p->ta ? p->A[(size_t)k * p->lda + i] : p->A[(size_t)i * p->lda + k];
}
static double b_at(const prob *p, int k, int j)
{
    return p->tb ? p->B[(size_t)j * p->ldb + k] : p->B[(size_t)k * p->ldb + j];
}

/* Runs lam_sgemm on a copy of C0 (or on NaNs where beta == 0) into a fresh
 * buffer the caller frees. */
static float *run(const prob *p, float alpha, float beta, int threads)
{
    size_t nc = (size_t)p->M * p->ldc;
    float *C = lam_malloc((nc ? nc : 1) * sizeof *C);
    for (size_t i = 0; i < nc; i++) C[i] = beta == 0.0f ? NAN : p->C0[i];
    size_t wsn = lam_sgemm_ws_floats(p->M, p->N, p->K, threads);
    float *ws = wsn ? lam_malloc(wsn * sizeof *ws) : NULL;
    lam_sgemm(p->ta, p->tb, p->M, p->N, p->K, alpha, p->A, p->lda, p->B, p->ldb, beta, C,
              p->ldc, ws, threads);
    lam_free(ws);
    return C;
}

/* Max error against the double reference, relative to sum |a||b| per element
 * (the natural scale of float rounding in a dot product); padding columns of
 * C must be left untouched. */
static bool check(const prob *p, const float *C, float alpha, float beta, const char *what)
{
    double worst = 0;
    bool pad_ok = true, finite = true;
    for (int i = 0; i < p->M; i++) {
        for (int j = 0; j < p->N; j++) {
            double s = 0, mag = 0;
            for (int k = 0; k < p->K; k++) {
                double t = a_at(p, i, k) * b_at(p, k, j);
                s += t;
                mag += fabs(t);
            }
            double c0 = beta == 0.0f ? 0.0 : p->C0[(size_t)i * p->ldc + j];
            double ref = alpha * s + beta * c0;
            double scale = fabs(alpha) * mag + fabs(beta * c0) + 1e-30;
            double got = C[(size_t)i * p->ldc + j];
            if (!isfinite(got)) finite = false;
            double e = fabs(got - ref) / scale;
            if (e > worst) worst = e;
        }
        for (int j = p->N; j < p->ldc; j++) {
            float want = beta == 0.0f ? NAN : p->C0[(size_t)i * p->ldc + j];
            float got = C[(size_t)i * p->ldc + j];
            if (!(isnan(want) ? isnan(got) : got == want)) pad_ok = false;
        }
    }
    /* float rounding: ~K * 2^-24 worst case, far less in practice */
    double tol = 8e-7 * (p->K + 4);
    bool ok = finite && pad_ok && worst <= tol;
    CHECK_MSG(ok, "%s ta=%d tb=%d M=%d N=%d K=%d pad=%d alpha=%g beta=%g: err %.3g (tol %.3g)%s%s",
              what, p->ta, p->tb, p->M, p->N, p->K, p->ldc - p->N, alpha, beta, worst, tol,
              finite ? "" : " non-finite", pad_ok ? "" : " padding touched");
    return ok;
}

static const int SIZES[] = {1, 2, 3, 5, 7, 13, 17, 31, 33, 65, 100};

static void test_transposes_odd_sizes(void)
{
    int ns = (int)(sizeof SIZES / sizeof SIZES[0]);
    uint64_t seed = 1;
    for (int t = 0; t < 4; t++)
        for (int a = 0; a < ns; a++)
            for (int b = 0; b < ns; b += 2) {
                /* vary which dimension is which, keep the count modest */
                int M = SIZES[a], N = SIZES[(a + b) % ns], K = SIZES[(b + 3 * a) % ns];
                prob p = prob_new(t & 1, t & 2, M, N, K, (a + b) % 3 == 0 ? 0 : 3, seed++);
                float *C = run(&p, 1.0f, 0.0f, 1);
                check(&p, C, 1.0f, 0.0f, "odd");
                lam_free(C);
                prob_free(&p);
            }
}

/* Sizes that cross every blocking boundary: K > KC (two K blocks, so the
 * beta = 1 accumulation path), M > MC, N not a multiple of NR. */
static void test_larger(void)
{
    static const int dims[][3] = {{129, 257, 300}, {257, 129, 65}, {65, 33, 513}, {150, 2100, 17}};
    uint64_t seed = 100;
    for (int t = 0; t < 4; t++)
        for (int d = 0; d < 4; d++) {
            prob p = prob_new(t & 1, t & 2, dims[d][0], dims[d][1], dims[d][2], 5, seed++);
            float *C = run(&p, 0.75f, -0.5f, 2);
            check(&p, C, 0.75f, -0.5f, "larger");
            lam_free(C);
            prob_free(&p);
        }
}

static void test_alpha_beta(void)
{
    static const float ab[][2] = {{1, 0}, {1, 1}, {-2, 0.5f}, {0.3f, -1}, {0, 2}, {0, 0}, {2, 0}};
    uint64_t seed = 200;
    for (int v = 0; v < 7; v++)
        for (int t = 0; t < 4; t++) {
            prob p = prob_new(t & 1, t & 2, 37, 45, 29, 2, seed++);
            float *C = run(&p, ab[v][0], ab[v][1], 1);
            check(&p, C, ab[v][0], ab[v][1], "alpha/beta");
            lam_free(C);
            prob_free(&p);
        }
}

/* K = 0: C = beta*C (zeros for beta = 0, even over NaNs); M or N = 0: no-op. */
static void test_degenerate(void)
{
    for (int v = 0; v < 3; v++) {
        float beta = v == 0 ? 0.0f : v == 1 ? 1.0f : -3.0f;
        prob p = prob_new(v == 2, false, 7, 19, 0, 1, 300 + v);
        CHECK(lam_sgemm_ws_floats(7, 19, 0, 2) == 0);
        float *C = run(&p, 1.5f, beta, 2);
        check(&p, C, 1.5f, beta, "K=0");
        lam_free(C);
        prob_free(&p);
    }
    float c = 42.0f;
    lam_sgemm(false, false, 0, 5, 3, 1.0f, NULL, 3, NULL, 5, 0.0f, NULL, 5, NULL, 1);
    lam_sgemm(false, false, 5, 0, 3, 1.0f, NULL, 3, NULL, 0, 0.0f, &c, 0, NULL, 1);
    CHECK(c == 42.0f);
    CHECK(lam_sgemm_ws_floats(0, 5, 3, 1) == 0);
    /* sizes past every cache block need no more workspace, however large
     * (shape inference asks before it has checked them against int) */
    size_t capped = lam_sgemm_ws_floats(1 << 20, 1 << 20, 1 << 20, 2);
    CHECK(lam_sgemm_ws_floats(INT64_MAX, INT64_MAX, INT64_MAX, 2) == capped);
    CHECK(lam_sgemm_ws_floats(2147483647, 2147483647, 2147483647, 2) == capped);
    CHECK(lam_sgemm_ws_floats(INT64_MIN, 5, 3, 2) == 0);
}

static bool same_bits(const float *x, const float *y, size_t n)
{
    return memcmp(x, y, n * sizeof *x) == 0;
}

/* Results must not depend on the thread count: sizes large enough to be
 * split (by rows, by columns, and over several K blocks). */
static void test_thread_invariance(void)
{
    /* a property of Lamina's kernels: OpenBLAS splits work differently for
     * different thread counts (this failed in BLAS=openblas builds before) */
    if (!strcmp(lam_sgemm_kernel_name(), "openblas")) return;
    /* All well above gemm.c's PAR_MIN_WORK (128^3 ~ 2.1M multiply-adds), so
     * they do run on 2 threads; the last three take the small-M path and the
     * two vector paths. */
    static const int dims[][3] = {{257, 129, 300}, {13, 2000, 100}, {300, 40, 257},
                                  {160, 160, 160}, {4, 2000, 300},  {1, 9000, 300},
                                  {9000, 1, 300}};
    uint64_t seed = 400;
    for (int t = 0; t < 4; t++)
        for (int d = 0; d < 7; d++) {
            prob p = prob_new(t & 1, t & 2, dims[d][0], dims[d][1], dims[d][2], 1, seed++);
            size_t n = (size_t)p.M * p.ldc;
            float *c1 = run(&p, 1.25f, 0.5f, 1);
            float *c2 = run(&p, 1.25f, 0.5f, 2);
            CHECK_MSG(same_bits(c1, c2, n), "ta=%d tb=%d M=%d N=%d K=%d", p.ta, p.tb, p.M, p.N,
                      p.K);
            if (d < 2) { /* an odd team (2 cores here: oversubscribed, so only twice) */
                float *c3 = run(&p, 1.25f, 0.5f, 3);
                CHECK_MSG(same_bits(c1, c3, n), "3 threads ta=%d tb=%d M=%d N=%d K=%d", p.ta,
                          p.tb, p.M, p.N, p.K);
                lam_free(c3);
            }
            if (d < 4) { /* the slow portable kernel widens any window for a packing race */
                lam_sgemm_force_generic(true);
                float *g1 = run(&p, 1.25f, 0.5f, 1);
                float *g2 = run(&p, 1.25f, 0.5f, 2);
                lam_sgemm_force_generic(false);
                CHECK_MSG(same_bits(g1, g2, n), "generic ta=%d tb=%d M=%d N=%d K=%d", p.ta, p.tb,
                          p.M, p.N, p.K);
                lam_free(g1), lam_free(g2);
            }
            lam_free(c1), lam_free(c2);
            prob_free(&p);
        }
}

/* Rows [i0, i0+m) x columns [j0, j0+n) of the product computed on their own
 * (sub-matrices of A, B, C); returns the whole C buffer. */
static float *run_sub(const prob *p, int i0, int m, int j0, int n, float alpha, float beta)
{
    size_t nc = (size_t)p->M * p->ldc;
    float *C = lam_malloc(nc * sizeof *C);
    for (size_t i = 0; i < nc; i++) C[i] = beta == 0.0f ? NAN : p->C0[i];
    const float *A = p->A + (p->ta ? (size_t)i0 : (size_t)i0 * p->lda);
    const float *B = p->B + (p->tb ? (size_t)j0 * p->ldb : (size_t)j0);
    size_t wsn = lam_sgemm_ws_floats(m, n, p->K, 1);
    float *ws = wsn ? lam_malloc(wsn * sizeof *ws) : NULL;
    lam_sgemm(p->ta, p->tb, m, n, p->K, alpha, A, p->lda, B, p->ldb, beta,
              C + (size_t)i0 * p->ldc + j0, p->ldc, ws, 1);
    lam_free(ws);
    return C;
}

/* Each element's arithmetic depends on K only, never on M, N or where tile
 * edges fall: any block of rows/columns computed alone (down to a single
 * row, column or element, which take the vector paths) is bit-identical to
 * the same block of the whole product.  This is what makes a model's output
 * for a sample independent of the batch it is in. */
static void test_block_invariance(void)
{
    /* a property of Lamina's kernels; OpenBLAS sums in other orders */
    if (!strcmp(lam_sgemm_kernel_name(), "openblas")) return;
    static const int blocks[][4] = {/* i0, m, j0, n */
                                    {0, 1, 0, 45},  {11, 1, 0, 45}, {36, 1, 0, 45}, {5, 4, 0, 45},
                                    {20, 6, 0, 45}, {3, 13, 0, 45}, {0, 37, 0, 1},  {0, 37, 44, 1},
                                    {0, 37, 7, 1},  {0, 37, 16, 17}, {9, 1, 30, 1}, {2, 5, 3, 9}};
    static const int Ks[] = {300, 37, 8};
    uint64_t seed = 600;
    for (int t = 0; t < 4; t++)
        for (int kk = 0; kk < 3; kk++)
            for (int v = 0; v < 2; v++) {
                float alpha = 0.75f, beta = v ? 0.5f : 0.0f;
                prob p = prob_new(t & 1, t & 2, 37, 45, Ks[kk], 3, seed++);
                float *full = run(&p, alpha, beta, 1);
                check(&p, full, alpha, beta, "block full");
                for (int b = 0; b < (int)(sizeof blocks / sizeof blocks[0]); b++) {
                    int i0 = blocks[b][0], m = blocks[b][1], j0 = blocks[b][2], n = blocks[b][3];
                    float *sub = run_sub(&p, i0, m, j0, n, alpha, beta);
                    bool same = true;
                    for (int i = i0; i < i0 + m; i++)
                        same = same && same_bits(full + (size_t)i * p.ldc + j0,
                                                 sub + (size_t)i * p.ldc + j0, (size_t)n);
                    CHECK_MSG(same, "ta=%d tb=%d K=%d beta=%g rows %d+%d cols %d+%d", p.ta, p.tb,
                              p.K, beta, i0, m, j0, n);
                    lam_free(sub);
                }
                lam_free(full);
                prob_free(&p);
            }
}

/* ---- the kernel sets against each other ---------------------------------- */

/* Kernel modes the tests can force: the default choice (AVX-512 where the CPU
 * has it), AVX2 (where it has AVX2/FMA) and the portable kernel. */
enum { MODE_DEFAULT, MODE_AVX2, MODE_GENERIC, NMODES };

static void set_mode(int mode)
{
    lam_sgemm_force_avx2(mode == MODE_AVX2);
    lam_sgemm_force_generic(mode == MODE_GENERIC);
}

/* The distinct kernels this machine can run, one mode each: modes[0..n-1]. */
static int kernel_modes(int *modes)
{
    const char *seen[NMODES];
    int n = 0;
    for (int m = 0; m < NMODES; m++) {
        set_mode(m);
        const char *name = lam_sgemm_packed_kernel_name();
        bool dup = false;
        for (int i = 0; i < n; i++) dup = dup || !strcmp(seen[i], name);
        if (!dup) seen[n] = name, modes[n++] = m;
    }
    set_mode(MODE_DEFAULT);
    return n;
}

static void test_kernel_names(void)
{
    const char *name = lam_sgemm_kernel_name();
    printf("# packed kernel: %s\n", lam_sgemm_packed_kernel_name());
    lam_sgemm_force_generic(true);
    CHECK(!strcmp(lam_sgemm_packed_kernel_name(), "generic"));
    lam_sgemm_force_avx2(true); /* generic wins */
    CHECK(!strcmp(lam_sgemm_packed_kernel_name(), "generic"));
    lam_sgemm_force_generic(false);
    const char *a2 = lam_sgemm_packed_kernel_name();
    CHECK(!strcmp(a2, "avx2-fma") || !strcmp(a2, "generic"));
    lam_sgemm_force_avx2(false);
    CHECK(!strcmp(lam_sgemm_kernel_name(), name));
    if (strcmp(name, "openblas") != 0) CHECK(!strcmp(name, lam_sgemm_packed_kernel_name()));
}

/* Same bits from every kernel and thread count: a sweep over shapes around
 * every tile edge (M, N around multiples of 6, 8, 16, 32; K across one and
 * several K blocks), the vector shapes, every transpose pair, padded leading
 * dimensions and alpha/beta variants (beta = 0 over NaNs), plus shapes past
 * the cache blocks (M > 480 rows, N > 2048 columns).  Each result is also
 * checked against the double reference. */
static void test_kernels_bitwise(void)
{
    if (!strcmp(lam_sgemm_kernel_name(), "openblas")) return;
    static const int Ms[] = {1, 2, 3, 5, 6, 7, 8, 9, 12, 13, 16, 17, 24, 31, 32, 33, 48, 64, 100};
    static const int Ns[] = {1, 2, 5, 8, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 100, 129};
    static const int Ks[] = {1, 3, 8, 17, 64, 255, 256, 257, 300, 520};
    static const float ab[][2] = {{1, 0}, {1, 1}, {-0.5f, 0.3f}, {0.75f, -1}, {1.1f, 0}, {1, -0.7f}};
    enum { NM = sizeof Ms / sizeof Ms[0], NN = sizeof Ns / sizeof Ns[0], NK = sizeof Ks / sizeof Ks[0] };
    static const int big[][3] = {{490, 40, 260}, {20, 2100, 40}, {97, 2081, 9}, {500, 70, 33}};
    int modes[NMODES], nmodes = kernel_modes(modes);
    uint64_t seed = 900;
    int cases = 0, mismatches = 0;
    for (int t = 0; t < 4; t++)
        for (int i = 0; i < 64 + 4; i++) {
            int M, N, K;
            if (i < 64) {
                M = Ms[(i * 7 + t) % NM], N = Ns[(i * 5 + 3 * t) % NN], K = Ks[(i * 3 + t) % NK];
            } else {
                M = big[i - 64][0], N = big[i - 64][1], K = big[i - 64][2];
            }
            float alpha = ab[(i + t) % 6][0], beta = ab[(i + t) % 6][1];
            prob p = prob_new(t & 1, t & 2, M, N, K, i % 3 == 0 ? 0 : 1 + i % 4, seed++);
            size_t n = (size_t)p.M * p.ldc;
            float *ref = NULL;
            for (int mi = 0; mi < nmodes; mi++)
                for (int threads = 1; threads <= 2; threads++) {
                    set_mode(modes[mi]);
                    float *c = run(&p, alpha, beta, threads);
                    set_mode(MODE_DEFAULT);
                    if (!ref) {
                        ref = c;
                        check(&p, ref, alpha, beta, "kernels");
                        continue;
                    }
                    if (!same_bits(ref, c, n)) {
                        mismatches++;
                        set_mode(modes[mi]);
                        CHECK_MSG(0, "%s, %d threads != first: ta=%d tb=%d M=%d N=%d K=%d a=%g b=%g",
                                  lam_sgemm_kernel_name(), threads, p.ta, p.tb, M, N, K, alpha,
                                  beta);
                        set_mode(MODE_DEFAULT);
                    }
                    lam_free(c);
                }
            lam_free(ref);
            prob_free(&p);
            cases++;
        }
    printf("# %d shapes x %d kernels x 2 thread counts, %d mismatches\n", cases, nmodes,
           mismatches);
}

/* ---- the pre-packed B operand --------------------------------------------- */

/* kperm / nperm for a packed [K, N] operand taken from an op(B) of
 * src_k x src_n: 0 none, 1 shuffled with zero (-1) entries, 2 LSTM-style
 * interleave of 4 gates of src_n/4 columns, padded with -1. */
static int *make_perm(int kind, int n, int src, uint64_t seed)
{
    if (kind == 0) return NULL;
    int *p = lam_malloc((size_t)n * sizeof *p);
    lam_rng r;
    lam_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        if (kind == 1) {
            p[i] = lam_rng_uniform(&r) < 0.2 ? -1 : (int)(lam_rng_uniform(&r) * src) % src;
        } else { /* column i = gate (i % 4) of unit (i / 4) */
            int h = src / 4, unit = i / 4, gate = i % 4;
            p[i] = unit < h ? gate * h + unit : -1;
        }
    }
    return p;
}

typedef struct packed_case {
    bool ta, tb;
    int M, N, K;
    int kkind, nkind; /* permutation kinds (make_perm) */
} packed_case;

/* The packed product against lam_sgemm on the explicit permuted operand, for
 * every kernel, one call and every column split, and from an OpenMP team
 * with one range per thread. */
static void packed_case_run(const packed_case *pc, uint64_t seed)
{
    bool own = strcmp(lam_sgemm_kernel_name(), "openblas") != 0;
    int M = pc->M, N = pc->N, K = pc->K;
    /* op(B) is src_k x src_n; the packed operand K x N picks from it */
    int src_k = pc->kkind ? K / 2 + 3 : K, src_n = pc->nkind == 2 ? 4 * (N / 5 + 1) : pc->nkind ? N + 7 : N;
    int *kperm = make_perm(pc->kkind, K, src_k, seed * 3 + 1);
    int *nperm = make_perm(pc->nkind, N, src_n, seed * 3 + 2);
    lam_rng r;
    lam_rng_seed(&r, seed);
    int ldb = (pc->tb ? src_k : src_n) + 3;
    size_t nb = (size_t)(pc->tb ? src_n : src_k) * ldb;
    float *B = fill(&r, nb);
    /* the explicit operand Bp [K][N], ld N + 2, as a prob for lam_sgemm */
    prob p = prob_new(pc->ta, false, M, N, K, 2, seed + 7);
    for (int k = 0; k < K; k++)
        for (int j = 0; j < N; j++) {
            int sk = kperm ? kperm[k] : k, sn = nperm ? nperm[j] : j;
            float v = 0.0f;
            if (sk >= 0 && sn >= 0) v = pc->tb ? B[(size_t)sn * ldb + sk] : B[(size_t)sk * ldb + sn];
            p.B[(size_t)k * p.ldb + j] = v;
        }
    size_t pf = lam_sgemm_packed_b_floats(N, K), wsf = lam_sgemm_packed_ws_floats(M, K);
    float *P = lam_malloc((pf ? pf : 1) * sizeof *P);
    float *ws = lam_malloc((2 * wsf + 16) * sizeof *ws); /* two threads' worth */
    lam_sgemm_pack_b(pc->tb, N, K, B, ldb, kperm, nperm, P);

    static const float ab[][2] = {{1, 0}, {0.7f, 1}, {-1.5f, 0.3f}};
    int modes[NMODES], nmodes = kernel_modes(modes);
    size_t nc = (size_t)M * p.ldc;
    for (int v = 0; v < 3; v++) {
        float alpha = ab[v][0], beta = ab[v][1];
        float *ref = run(&p, alpha, beta, 1); /* lam_sgemm on Bp */
        if (!own) check(&p, ref, alpha, beta, "packed ref");
        float *C = lam_malloc(nc * sizeof *C);
        for (int mi = 0; mi < nmodes; mi++) {
            set_mode(modes[mi]);
            /* one call over all columns */
            for (size_t i = 0; i < nc; i++) C[i] = beta == 0.0f ? NAN : p.C0[i];
            lam_sgemm_packed(pc->ta, M, N, K, alpha, p.A, p.lda, P, beta, C, p.ldc, ws, 0, N);
            check(&p, C, alpha, beta, "packed");
            if (own)
                CHECK_MSG(same_bits(ref, C, nc), "%s packed != lam_sgemm: ta=%d tb=%d M=%d N=%d K=%d perms %d/%d a=%g b=%g",
                          lam_sgemm_packed_kernel_name(), pc->ta, pc->tb, M, N, K, pc->kkind,
                          pc->nkind, alpha, beta);
            float *one = lam_malloc(nc * sizeof *one);
            memcpy(one, C, nc * sizeof *one);
            /* every range [n0, n1) between panel boundaries, alone: its
             * columns equal the one call, the others are untouched */
            int nbnd = (N + LAM_SGEMM_PACK_NR - 1) / LAM_SGEMM_PACK_NR + 1, bnd[9], nb = 0;
            if (nbnd <= 9) { /* all panel boundaries, else the ones near the ends */
                for (int i = 0; i < nbnd; i++) bnd[nb++] = i;
            } else {
                int pick[9] = {0, 1, 2, 3, nbnd / 2, nbnd - 4, nbnd - 3, nbnd - 2, nbnd - 1};
                for (int i = 0; i < 9; i++) bnd[nb++] = pick[i];
            }
            bool split_ok = true;
            for (int i0 = 0; i0 < nb && (mi == 0 || v == 0); i0++)
                for (int i1 = i0 + 1; i1 < nb; i1++) {
                    int n0 = bnd[i0] * LAM_SGEMM_PACK_NR;
                    int n1 = bnd[i1] * LAM_SGEMM_PACK_NR < N ? bnd[i1] * LAM_SGEMM_PACK_NR : N;
                    for (size_t i = 0; i < nc; i++) C[i] = beta == 0.0f ? NAN : p.C0[i];
                    lam_sgemm_packed(pc->ta, M, N, K, alpha, p.A, p.lda, P, beta, C, p.ldc, ws, n0,
                                     n1);
                    for (int row = 0; row < M; row++)
                        for (int j = 0; j < p.ldc; j++) {
                            size_t at = (size_t)row * p.ldc + j;
                            float want = j >= n0 && j < n1 ? one[at] : beta == 0.0f ? NAN : p.C0[at];
                            bool same = isnan(want) ? isnan(C[at]) : memcmp(&want, &C[at], sizeof want) == 0;
                            split_ok = split_ok && same;
                        }
                }
            CHECK_MSG(split_ok, "%s split ta=%d M=%d N=%d K=%d", lam_sgemm_packed_kernel_name(),
                      pc->ta, M, N, K);
#ifdef _OPENMP
            /* the intended use: a caller's team, one column range per thread */
            for (size_t i = 0; i < nc; i++) C[i] = beta == 0.0f ? NAN : p.C0[i];
            int panels = (N + LAM_SGEMM_PACK_NR - 1) / LAM_SGEMM_PACK_NR;
#pragma omp parallel num_threads(2)
            {
                int t = omp_get_thread_num(), nt = omp_get_num_threads();
                int p0 = panels * t / nt, p1 = panels * (t + 1) / nt;
                int n0 = p0 * LAM_SGEMM_PACK_NR, n1 = p1 * LAM_SGEMM_PACK_NR < N ? p1 * LAM_SGEMM_PACK_NR : N;
                if (n1 > n0)
                    lam_sgemm_packed(pc->ta, M, N, K, alpha, p.A, p.lda, P, beta, C, p.ldc,
                                     ws + (size_t)t * (wsf + 16), n0, n1);
            }
            CHECK_MSG(same_bits(one, C, nc), "team of 2: ta=%d M=%d N=%d K=%d", pc->ta, M, N, K);
#endif
            lam_free(one);
        }
        set_mode(MODE_DEFAULT);
        lam_free(C);
        lam_free(ref);
    }
    lam_free(P), lam_free(ws), lam_free(B), lam_free(kperm), lam_free(nperm);
    prob_free(&p);
}

static void test_packed(void)
{
    static const packed_case cases[] = {
        {false, false, 32, 1024, 256, 0, 0}, /* the LSTM recurrence */
        {false, true, 32, 1024, 256, 0, 2},  /* W_hh stored [4H][H], gates interleaved */
        {false, false, 1, 100, 37, 1, 1},    {true, false, 5, 31, 300, 1, 0},
        {false, true, 37, 130, 600, 0, 1},   {true, true, 9, 64, 1, 1, 2},
        {false, false, 490, 70, 260, 1, 1},  {true, false, 200, 33, 513, 0, 2},
        {false, true, 13, 1, 20, 1, 0},      {true, true, 8, 96, 256, 1, 1},
    };
    uint64_t seed = 1300;
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) packed_case_run(&cases[i], seed++);
}

/* K = 0 and alpha = 0: C = beta * C on the range only (NaNs overwritten for
 * beta = 0); M = 0 or an empty range: nothing happens. */
static void test_packed_degenerate(void)
{
    CHECK(lam_sgemm_packed_b_floats(40, 0) == 0);
    CHECK(lam_sgemm_packed_b_floats(40, 3) == 3 * 64);
    CHECK(lam_sgemm_packed_ws_floats(0, 5) == 0);
    float C[3 * 40], A[3 * 5] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    float P[5 * 64], ws[1024];
    for (int i = 0; i < 5 * 64; i++) P[i] = 1.0f;
    for (int v = 0; v < 3; v++) {
        for (int i = 0; i < 3 * 40; i++) C[i] = v == 0 ? NAN : (float)i;
        float beta = v == 0 ? 0.0f : v == 1 ? 1.0f : -2.0f;
        if (v < 2) lam_sgemm_packed(false, 3, 40, 0, 1.0f, NULL, 1, NULL, beta, C, 40, NULL, 32, 40);
        else lam_sgemm_packed(false, 3, 40, 5, 0.0f, A, 5, P, beta, C, 40, ws, 32, 40);
        bool ok = true;
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 40; j++) {
                float c = C[i * 40 + j], c0 = v == 0 ? NAN : (float)(i * 40 + j);
                float want = j < 32 ? c0 : beta == 0.0f ? 0.0f : beta * c0;
                ok = ok && (isnan(want) ? isnan(c) : c == want);
            }
        CHECK_MSG(ok, "beta=%g", beta);
    }
    lam_sgemm_packed(false, 0, 40, 5, 1.0f, A, 5, P, 0.0f, C, 40, ws, 0, 40);
    lam_sgemm_packed(false, 3, 40, 5, 1.0f, A, 5, P, 0.0f, C, 40, ws, 32, 32);
}

/* Workspace bound: holds for any thread count asked for, and stays modest
 * for huge problems because it depends on the blocking caps only. */
static void test_workspace(void)
{
    size_t big = lam_sgemm_ws_floats(100000, 100000, 100000, 2) * sizeof(float);
    CHECK_MSG(big < 8u << 20, "%zu bytes", big);
    if (strcmp(lam_sgemm_kernel_name(), "openblas") != 0) /* OpenBLAS needs none */
        CHECK(lam_sgemm_ws_floats(32, 100, 64, 1) > 0);
    CHECK(lam_sgemm_ws_floats(32, 100, 64, 4) >= lam_sgemm_ws_floats(32, 100, 64, 1));
}

/* The workspace bound covers every smaller call: callers size it once for
 * their largest shapes.  The block steps are not monotonic (N = 2049 packs
 * 1040-column panels, N = 2000 one of 2000), so check a sweep against the
 * canaries around the workspace. */
static void test_workspace_bound_monotonic(void)
{
    for (int n = 1900; n <= 2200; n += 37)
        for (int k = 200; k <= 600; k += 97) {
            size_t big = lam_sgemm_ws_floats(8, 2200, 600, 2);
            CHECK(lam_sgemm_ws_floats(8, n, k, 2) <= big);
        }
    int M = 8, K = 300, Nmax = 2100;
    size_t wsf = lam_sgemm_ws_floats(M, Nmax, K, 2);
    float *A = calloc((size_t)M * K, sizeof(float)), *B = calloc((size_t)K * Nmax, sizeof(float));
    float *C = calloc((size_t)M * Nmax, sizeof(float));
    float *buf = NULL;
    if (posix_memalign((void **)&buf, 64, (wsf + 64) * sizeof(float)) != 0) buf = NULL;
    if (!A || !B || !C || !buf) {
        CHECK(0);
        free(A);
        free(B);
        free(C);
        free(buf);
        return;
    }
    for (size_t i = 0; i < 64; i++) buf[wsf + i] = 12345.0f; /* canaries after the workspace */
    for (int n = 1000; n <= Nmax; n += 101) /* smaller calls in the same workspace */
        lam_sgemm(false, false, M, n, K, 1.0f, A, K, B, Nmax, 0.0f, C, Nmax, buf, 2);
    int intact = 1;
    for (size_t i = 0; i < 64; i++) intact &= buf[wsf + i] == 12345.0f;
    CHECK_MSG(intact, "a smaller GEMM wrote past the workspace planned for the largest");
    free(A);
    free(B);
    free(C);
    free(buf);
}

int main(void)
{
    RUN(test_workspace_bound_monotonic);
    printf("# sgemm kernel: %s\n", lam_sgemm_kernel_name());
    RUN(test_transposes_odd_sizes);
    RUN(test_larger);
    RUN(test_alpha_beta);
    RUN(test_degenerate);
    RUN(test_thread_invariance);
    RUN(test_block_invariance);
    RUN(test_kernel_names);
    RUN(test_kernels_bitwise);
    RUN(test_packed);
    RUN(test_packed_degenerate);
    RUN(test_workspace);
    TEST_MAIN_END;
}
