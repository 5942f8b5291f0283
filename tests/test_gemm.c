/* Tests for lam_sgemm (src/kernels/gemm.c): every transpose combination on
 * odd sizes against a naive double-precision reference, padded leading
 * dimensions, alpha/beta variants (beta = 0 must ignore NaNs in C), K = 0 and
 * empty M/N, bitwise thread-count invariance on problems that do get split,
 * bitwise block invariance (a row or column block computed alone, including
 * the M == 1 / N == 1 / small-M paths, equals the same block of the whole
 * product), and the generic kernel against the AVX2 one. */
#include <stdbool.h>
#include <stdint.h>

#include "kernels/gemm.h"
#include "lamina/base.h"
#include "test.h"

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
}

static bool same_bits(const float *x, const float *y, size_t n)
{
    return memcmp(x, y, n * sizeof *x) == 0;
}

/* Results must not depend on the thread count: sizes large enough to be
 * split (by rows, by columns, and over several K blocks). */
static void test_thread_invariance(void)
{
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

/* The portable kernel agrees with the dispatched one (AVX2 on x86 machines
 * that have it: FMA vs separate multiply/add, so within rounding only), and
 * both are accurate. */
static void test_generic_vs_avx2(void)
{
    const char *name = lam_sgemm_kernel_name();
    if (!strcmp(name, "openblas")) return;
    lam_sgemm_force_generic(true);
    CHECK(!strcmp(lam_sgemm_kernel_name(), "generic"));
    lam_sgemm_force_generic(false);
    CHECK(!strcmp(lam_sgemm_kernel_name(), name));

    static const int dims[][3] = {{1, 1, 1}, {7, 33, 13}, {65, 100, 257}, {129, 31, 64}};
    uint64_t seed = 500;
    for (int t = 0; t < 4; t++)
        for (int d = 0; d < 4; d++) {
            prob p = prob_new(t & 1, t & 2, dims[d][0], dims[d][1], dims[d][2], 2, seed++);
            float *cd = run(&p, 1.0f, 0.5f, 2);
            lam_sgemm_force_generic(true);
            float *cg = run(&p, 1.0f, 0.5f, 2);
            lam_sgemm_force_generic(false);
            check(&p, cd, 1.0f, 0.5f, name);
            check(&p, cg, 1.0f, 0.5f, "generic");
            double worst = 0;
            for (int i = 0; i < p.M; i++)
                for (int j = 0; j < p.N; j++) {
                    double a = cd[(size_t)i * p.ldc + j], b = cg[(size_t)i * p.ldc + j];
                    double e = fabs(a - b) / (1.0 + fabs(b));
                    if (e > worst) worst = e;
                }
            CHECK_MSG(worst <= 1e-6 * (p.K + 4), "M=%d N=%d K=%d diff %.3g", p.M, p.N, p.K, worst);
            lam_free(cd), lam_free(cg);
            prob_free(&p);
        }
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
    RUN(test_generic_vs_avx2);
    RUN(test_workspace);
    TEST_MAIN_END;
}
