/* SGEMM driver: GotoBLAS/BLIS-style cache blocking, packing of A and B into
 * the caller's workspace, OpenMP partitioning over independent blocks of C,
 * the unpacked paths for vector and small-M shapes, the portable kernels,
 * and the run-time choice of a kernel set (gemm_kernels.h): AVX-512
 * (gemm_avx512.c), AVX2/FMA (gemm_avx2.c) or the portable one below.  With
 * -DLAM_USE_OPENBLAS lam_sgemm forwards to cblas_sgemm instead (the kernels
 * stay, for lam_sgemm_packed in gemm_packed.c).  Allocates nothing. */
#include "kernels/gemm.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "kernels/gemm_kernels.h"
#include "lamina/base.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#ifdef LAM_USE_OPENBLAS
#include <cblas.h>
#endif

/* Test hooks only (see gemm.h); the library itself never writes them. */
static atomic_bool force_generic_, force_avx2_;

void lam_sgemm_force_generic(bool on)
{
    atomic_store_explicit(&force_generic_, on, memory_order_relaxed);
}

void lam_sgemm_force_avx2(bool on)
{
    atomic_store_explicit(&force_avx2_, on, memory_order_relaxed);
}

/* Below this many multiply-adds a parallel region costs more than it
 * saves.  bench_gemm alone on an idle machine breaks even near 64^3, but
 * inside training steps the other thread must first pull the operands
 * into its cache and, when the machine is shared, may not be scheduled
 * at once: a 32x100x100 product ran slower on 2 threads than on 1 in the
 * digits MLP.  128^3 keeps small layers on one thread. */
#define PAR_MIN_WORK (128.0 * 128 * 128)

static int resolve_threads(int nthreads)
{
    int nt = nthreads <= 0 ? lam_get_threads() : nthreads;
    return nt < 1 ? 1 : nt;
}

/* C = beta*C: what is left of the product when K == 0 or alpha == 0 (A and B
 * are then not read, as in BLAS).  beta == 0 overwrites NaNs too. */
void lam_sgemm_scale_c(int M, int N, float beta, float *C, int ldc)
{
    if (beta == 1.0f) return;
    for (int i = 0; i < M; i++) {
        float *c = C + (ptrdiff_t)i * ldc;
        if (beta == 0.0f) memset(c, 0, (size_t)N * sizeof *c);
        else
            for (int j = 0; j < N; j++) c[j] *= beta;
    }
}

/* ---- block sizes (functions of the sizes only, never of the threads) ---- */

static inline int ceil_div(int a, int b) { return (a + b - 1) / b; }
static inline int round_up(int a, int b) { return ceil_div(a, b) * b; }
static inline size_t round16(size_t n) { return (n + 15) & ~(size_t)15; } /* 64-byte multiples */

/* K is cut into equal blocks of at most KC_MAX: this fixes the order of the
 * additions into each C element, and it depends on K alone, which is what
 * makes the result independent of the thread count and of the kernel. */
int lam_sgemm_kc_step(int K) { return ceil_div(K, ceil_div(K, LAM_SGEMM_KC_MAX)); }

/* ---- the portable kernel set --------------------------------------------- */

enum { GMR = 6, GNR = 16 };

/* fmaf, not a*b + c: one rounding per step as in the vector kernels (ISO C
 * mode does not contract a*b + c, and baseline x86-64 has no FMA; libm's
 * fmaf uses the instruction where the CPU has it and is exact everywhere). */
static void tile_generic(int m, int n, int kc, const float *pa, const float *pb, ptrdiff_t ldb,
                         float *c, ptrdiff_t ldc, float alpha, float beta)
{
    float acc[GMR * GNR] = {0};
    for (int k = 0; k < kc; k++, pa += GMR, pb += ldb)
        for (int i = 0; i < m; i++) {
            float a = pa[i];
            for (int j = 0; j < n; j++) acc[i * GNR + j] = fmaf(a, pb[j], acc[i * GNR + j]);
        }
    for (int i = 0; i < m; i++) {
        const float *t = acc + i * GNR;
        float *cr = c + i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < n; j++) cr[j] = alpha * t[j];
        else
            for (int j = 0; j < n; j++) cr[j] = fmaf(beta, cr[j], alpha * t[j]);
    }
}

static void pack_a_rows_generic(int kc, const float *a, ptrdiff_t lda, float *dst)
{
    for (int k = 0; k < kc; k++, dst += GMR)
        for (int i = 0; i < GMR; i++) dst[i] = a[i * lda + k];
}

static void pack_bt_rows_generic(int kc, const float *b, ptrdiff_t ldb, float *dst)
{
    for (int j = 0; j < GNR; j++) {
        const float *s = b + j * ldb;
        for (int k = 0; k < kc; k++) dst[k * GNR + j] = s[k];
    }
}

static void pack_b_cols_generic(int kc, int nr, const float *b, ptrdiff_t ldb, float *dst)
{
    for (int k = 0; k < kc; k++, b += ldb, dst += GNR) {
        int j = 0; /* split loops: a per-element select is several times slower */
        for (; j < nr; j++) dst[j] = b[j];
        for (; j < GNR; j++) dst[j] = 0.0f;
    }
}

const lam_sgemm_kset lam_sgemm_kset_generic = {
    .name = "generic",
    .mr = GMR,
    .nr = GNR,
    .mc = 144,
    .nc = 2048,
    .b_masked = true, /* tile_generic reads n columns only */
    .tile = tile_generic,
    .pack_a_rows = pack_a_rows_generic,
    .pack_bt_rows = pack_bt_rows_generic,
    .pack_b_cols = pack_b_cols_generic,
    .gemv = NULL,
    .gemv_t = NULL,
};

/* ---- the kernel choice --------------------------------------------------- */

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define LAM_SGEMM_X86 1
#endif

const lam_sgemm_kset *lam_sgemm_kset_pick(void)
{
#ifdef LAM_SGEMM_X86
    if (!atomic_load_explicit(&force_generic_, memory_order_relaxed) &&
        __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        if (!atomic_load_explicit(&force_avx2_, memory_order_relaxed) &&
            __builtin_cpu_supports("avx512f"))
            return &lam_sgemm_kset_avx512;
        return &lam_sgemm_kset_avx2;
    }
#endif
    return &lam_sgemm_kset_generic;
}

const lam_sgemm_kset *const *lam_sgemm_ksets(int *count)
{
    static const lam_sgemm_kset *const sets[] = {
        &lam_sgemm_kset_generic,
#ifdef LAM_SGEMM_X86
        &lam_sgemm_kset_avx2,
        &lam_sgemm_kset_avx512,
#endif
    };
    *count = (int)(sizeof sets / sizeof sets[0]);
    return sets;
}

/* ---- packing of A -------------------------------------------------------- */

/* mr contiguous floats; sizes known at compile time for the kernel sets'
 * tiles, so the copies inline (a libc memcpy call per 8 floats cost a
 * quarter of an A^T product). */
static inline void copy_run(float *d, const float *s, int mr)
{
    if (mr == 8) memcpy(d, s, 8 * sizeof *s);
    else if (mr == 6) memcpy(d, s, 6 * sizeof *s);
    else
        for (int i = 0; i < mr; i++) d[i] = s[i];
}

void lam_sgemm_pack_a(const lam_sgemm_kset *ks, bool ta, int mc, int kc, const float *A, int lda,
                      int i0, int k0, float *dst)
{
    const int MR = ks->mr;
    if (ta) {
        /* A is [K][lda]: each k is a contiguous run of rows.  Copy whole runs
         * of up to 8 micro-panels per k so that every line of A is read once
         * (one panel at a time would read each line of a long A^T row once
         * per panel, and rows 4 KiB apart evict each other from L1). */
        for (int ip0 = 0; ip0 < mc; ip0 += 8 * MR) {
            int ip1 = mc - ip0 < 8 * MR ? mc : ip0 + 8 * MR;
            const float *a = A + (ptrdiff_t)k0 * lda + i0;
            for (int k = 0; k < kc; k++, a += lda) {
#ifdef __GNUC__
                /* rows lda apart defeat the hardware prefetchers: fetch
                 * the run of row k + 16 now */
                if (k + 16 < kc)
                    for (int ip = ip0; ip < ip1; ip += 16)
                        __builtin_prefetch(a + 16 * (ptrdiff_t)lda + ip);
#endif
                for (int ip = ip0; ip < ip1; ip += MR) {
                    float *d = dst + (ptrdiff_t)ip * kc + k * MR;
                    int mr = ip1 - ip < MR ? ip1 - ip : MR, i = 0;
                    if (mr == MR) copy_run(d, a + ip, MR), i = MR;
                    for (; i < mr; i++) d[i] = a[ip + i];
                    for (; i < MR; i++) d[i] = 0.0f;
                }
            }
        }
        return;
    }
    for (int ip = 0; ip < mc; ip += MR, dst += (ptrdiff_t)MR * kc) { /* A is [M][lda] */
        int mr = mc - ip < MR ? mc - ip : MR;
        const float *a = A + (ptrdiff_t)(i0 + ip) * lda + k0;
        if (mr == MR) {
            ks->pack_a_rows(kc, a, lda, dst);
        } else {
            for (int k = 0; k < kc; k++) {
                int i = 0;
                for (; i < mr; i++) dst[k * MR + i] = a[(ptrdiff_t)i * lda + k];
                for (; i < MR; i++) dst[k * MR + i] = 0.0f;
            }
        }
    }
}

#ifdef LAM_USE_OPENBLAS

size_t lam_sgemm_ws_floats(int64_t M, int64_t N, int64_t K, int nthreads)
{
    (void)M, (void)N, (void)K, (void)nthreads;
    return 0;
}

void lam_sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
               int lda, const float *B, int ldb, float beta, float *C, int ldc, float *ws,
               int nthreads)
{
    (void)ws;
    LAM_ASSERT(M >= 0 && N >= 0 && K >= 0);
    if (M == 0 || N == 0) return;
    LAM_ASSERT(C != NULL);
    /* cblas rejects lda < 1 (and prints), which is legal here when K == 0. */
    if (K == 0 || alpha == 0.0f) {
        lam_sgemm_scale_c(M, N, beta, C, ldc);
        return;
    }
    LAM_ASSERT(A != NULL && B != NULL);
    int nt = resolve_threads(nthreads);
    /* OpenBLAS's thread count is process-wide; only touch it on change. */
    if (openblas_get_num_threads() != nt) openblas_set_num_threads(nt);
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

const char *lam_sgemm_kernel_name(void) { return "openblas"; }

#else /* our own kernels */

/* The cache blocks of a kernel set for these sizes: equal blocks of at most
 * the set's caps, rounded up to whole micro-panels. */
static int nc_step(const lam_sgemm_kset *ks, int N)
{
    return round_up(ceil_div(N, ceil_div(N, ks->nc)), ks->nr);
}
static int mc_step(const lam_sgemm_kset *ks, int rows)
{
    return round_up(ceil_div(rows, ceil_div(rows, ks->mc)), ks->mr);
}

static size_t b_buf_floats(const lam_sgemm_kset *ks, int N, int K)
{
    return round16((size_t)lam_sgemm_kc_step(K) * nc_step(ks, N));
}
static size_t a_buf_floats(const lam_sgemm_kset *ks, int M, int K)
{
    int mc = round_up(M, ks->mr) < ks->mc ? round_up(M, ks->mr) : ks->mc;
    return round16((size_t)mc * lam_sgemm_kc_step(K));
}

/* A bound, not the exact need: the block steps are not monotonic in the
 * sizes (N = 2049 packs panels of 1040 columns, N = 2000 of 2000), and callers
 * size the workspace once for the largest sizes they will run, then run
 * smaller ones (the last batch of an epoch).  kc_step(K) <= min(K, KC_MAX),
 * nc_step(N) <= min(round_up(N, nr), nc), likewise for the A block, so this
 * is monotonic in M, N, K and covers every smaller call.  The maximum over
 * the kernel sets, so that it holds whichever one runs. */
/* min(round_up(n, r), cap) for any n > 0, without overflow */
static size_t block_cap(int64_t n, int r, int cap)
{
    if (n >= cap) return (size_t)cap; /* below cap, n is a small int */
    int up = round_up((int)n, r);
    return (size_t)(up < cap ? up : cap);
}

size_t lam_sgemm_ws_floats(int64_t M, int64_t N, int64_t K, int nthreads)
{
    if (M <= 0 || N <= 0 || K <= 0) return 0;
    int count;
    const lam_sgemm_kset *const *sets = lam_sgemm_ksets(&count);
    size_t best = 0, kc = (size_t)(K < LAM_SGEMM_KC_MAX ? K : LAM_SGEMM_KC_MAX);
    for (int s = 0; s < count; s++) {
        const lam_sgemm_kset *ks = sets[s];
        size_t nc = block_cap(N, ks->nr, ks->nc), mc = block_cap(M, ks->mr, ks->mc);
        size_t need = round16(kc * nc) + (size_t)resolve_threads(nthreads) * round16(mc * kc);
        if (need > best) best = need;
    }
    return best;
}

const char *lam_sgemm_kernel_name(void) { return lam_sgemm_kset_pick()->name; }

/* One call's arguments and the kernel set chosen for this CPU. */
typedef struct gemm_ctx {
    bool ta, tb;
    int M, N, K;
    float alpha, beta;
    const float *A, *B;
    int lda, ldb, ldc;
    float *C, *ws;
    size_t a_floats; /* per-thread A buffer, after the shared B buffer */
    size_t b_floats;
    const lam_sgemm_kset *ks;
} gemm_ctx;

/* ---- packing of B -------------------------------------------------------- */

/* Micro-panels [p0, p1) (nr columns each, relative to column j0) of rows
 * [k0, k0+kc) of op(B) into [kc][nr] layout, the last one zero-padded.
 * Panel p starts at dst + p*pstride: the stride is fixed for the whole call
 * (not kc, which shrinks in the last K block) so that a thread packing its
 * panels for the next K block never overwrites another thread's panels of
 * the current one. */
static void pack_b(const gemm_ctx *g, int p0, int p1, int nc, int kc, int k0, int j0,
                   float *dst, ptrdiff_t pstride)
{
    const int NR = g->ks->nr;
    for (int p = p0; p < p1; p++) {
        float *d = dst + p * pstride;
        int j = j0 + p * NR, nr = nc - p * NR < NR ? nc - p * NR : NR;
        ptrdiff_t ldb = g->ldb;
        if (!g->tb) { /* B is [K][ldb]: nr contiguous floats per k */
            g->ks->pack_b_cols(kc, nr, g->B + k0 * ldb + j, ldb, d);
        } else { /* B is [N][ldb]: column jj of the panel is row j+jj of B */
            const float *s = g->B + j * ldb + k0;
            if (nr == NR) {
                g->ks->pack_bt_rows(kc, s, ldb, d);
            } else {
                for (int jj = 0; jj < nr; jj++)
                    for (int k = 0; k < kc; k++) d[k * NR + jj] = s[(ptrdiff_t)jj * ldb + k];
                for (int k = 0; k < kc; k++)
                    for (int jj = nr; jj < NR; jj++) d[k * NR + jj] = 0.0f;
            }
        }
    }
}

/* ---- the blocked loops -------------------------------------------------- */

/* One packed A block (mc rows) times B panels [np0, np1) of one packed B
 * block.  jr outer / ir inner: the B micro-panel stays in L1 while A streams
 * from L2.  Edge tiles go through the same tile kernel (sized to the edge),
 * which gives every element of C the same arithmetic wherever the tile
 * boundaries fall. */
static void macro_kernel(const gemm_ctx *g, int kc, int mc, int nc, int np0, int np1,
                         const float *pa, const float *pb, ptrdiff_t pstride, float *C,
                         float beta)
{
    const lam_sgemm_kset *ks = g->ks;
    const int MR = ks->mr, NR = ks->nr;
    ptrdiff_t ldc = g->ldc;
    for (int jp = np0; jp < np1; jp++) {
        int nr = nc - jp * NR < NR ? nc - jp * NR : NR;
        const float *b = pb + jp * pstride;
        for (int ir = 0; ir < mc; ir += MR) {
            int mr = mc - ir < MR ? mc - ir : MR;
            ks->tile(mr, nr, kc, pa + (ptrdiff_t)ir * kc, b, NR, C + ir * ldc + jp * NR, ldc,
                     g->alpha, beta);
        }
    }
}

static void part(int n, int parts, int i, int *lo, int *hi)
{
    *lo = (int)((long long)n * i / parts);
    *hi = (int)((long long)n * (i + 1) / parts);
}

/* Split T threads into a tm x tn grid over (mr-row panels, nr-column panels).
 * A pure column split (tm = 1) needs no synchronisation at all: each thread
 * packs its own B panels (and all of A, which is cheap next to its share of
 * the product), and it stays fast when another process takes a core, where
 * a barrier can stall for a whole scheduler time slice.  So it is used
 * unless some grid gives the busiest thread >= 10% fewer register tiles
 * (e.g. tall-skinny C); row splits share the packed B block. */
static void thread_grid(const lam_sgemm_kset *ks, int M, int N, int T, int *tm, int *tn)
{
    int mp = ceil_div(M, ks->mr), np = ceil_div(nc_step(ks, N), ks->nr);
    long long best = (long long)mp * ceil_div(np, T); /* tm = 1 */
    *tm = 1, *tn = T;
    for (int a = 2; a <= T; a++) {
        if (T % a) continue;
        long long cost = (long long)ceil_div(mp, a) * ceil_div(np, T / a);
        if (cost * 10 < best * 9) best = cost, *tm = a, *tn = T / a;
    }
}

static void barrier(int T)
{
    if (T > 1) {
#pragma omp barrier
    }
}

/* The work of thread `tid` of `T`.  Every thread walks the same jc/pc loops
 * (so barriers match).  With tm > 1 the threads pack the shared B block
 * together, then each packs and multiplies its own rows of A.  With tm == 1
 * each thread owns whole B panels, packs only those, and needs no barrier. */
static void gemm_thread(const gemm_ctx *g, int tid, int T)
{
    const lam_sgemm_kset *ks = g->ks;
    const int MR = ks->mr, NR = ks->nr;
    int tm, tn;
    thread_grid(ks, g->M, g->N, T, &tm, &tn);
    int im = tid % tm, in = tid / tm;
    float *pb = g->ws;
    float *pa = g->ws + g->b_floats + (size_t)tid * g->a_floats;

    int mp0, mp1;
    part(ceil_div(g->M, MR), tm, im, &mp0, &mp1);
    int r0 = mp0 * MR, r1 = mp1 * MR < g->M ? mp1 * MR : g->M;
    int mcs = r1 > r0 ? mc_step(ks, r1 - r0) : MR;
    int kcs = lam_sgemm_kc_step(g->K), ncs = nc_step(ks, g->N);
    ptrdiff_t pstride = (ptrdiff_t)kcs * NR;

    for (int jc = 0; jc < g->N; jc += ncs) {
        int nc = g->N - jc < ncs ? g->N - jc : ncs;
        int np = ceil_div(nc, NR), np0, np1;
        part(np, tn, in, &np0, &np1);
        for (int pc = 0; pc < g->K; pc += kcs) {
            int kc = g->K - pc < kcs ? g->K - pc : kcs;
            /* Later K blocks add onto what the first one wrote. */
            float beta = pc == 0 ? g->beta : 1.0f;
            if (tm == 1 && r1 - r0 <= mcs) {
                /* One A block: each B panel is used by it alone, so pack one
                 * panel at a time (into this thread's first slot) and use it
                 * at once, from L1, instead of packing the whole block out
                 * to L3 and reading it back. */
                if (np1 <= np0) continue;
                lam_sgemm_pack_a(ks, g->ta, r1 - r0, kc, g->A, g->lda, r0, pc, pa);
                for (int jp = np0; jp < np1; jp++) {
                    float *slot = pb + (ptrdiff_t)(np0 - jp) * pstride; /* panel jp at np0 */
                    pack_b(g, jp, jp + 1, nc, kc, pc, jc, slot, pstride);
                    macro_kernel(g, kc, r1 - r0, nc, jp, jp + 1, pa, slot, pstride,
                                 g->C + (ptrdiff_t)r0 * g->ldc + jc, beta);
                }
                continue;
            }
            if (tm > 1) {
                int q0, q1;
                part(np, T, tid, &q0, &q1);
                pack_b(g, q0, q1, nc, kc, pc, jc, pb, pstride);
                barrier(T);
            } else {
                pack_b(g, np0, np1, nc, kc, pc, jc, pb, pstride);
            }
            if (np1 > np0)
                for (int ic = r0; ic < r1; ic += mcs) {
                    int mc = r1 - ic < mcs ? r1 - ic : mcs;
                    lam_sgemm_pack_a(ks, g->ta, mc, kc, g->A, g->lda, ic, pc, pa);
                    macro_kernel(g, kc, mc, nc, np0, np1, pa, pb, pstride,
                                 g->C + (ptrdiff_t)ic * g->ldc + jc, beta);
                }
            /* The next pc/jc step repacks the shared B block (after the last
             * one, the end of the parallel region is the barrier). */
            if (tm > 1 && (pc + kc < g->K || jc + nc < g->N)) barrier(T);
        }
    }
}

/* M <= mr with B [K][N]: a single row panel, so each B element is used once
 * and packing B would only double the traffic.  B is read in place; a last
 * partial panel is packed (padded) unless the kernel masks its loads.
 * Threads split the column panels. */
static void small_m_thread(const gemm_ctx *g, int tid, int T)
{
    const lam_sgemm_kset *ks = g->ks;
    const int NR = ks->nr;
    float *pb = g->ws, *pa = g->ws + g->b_floats + (size_t)tid * g->a_floats;
    int kcs = lam_sgemm_kc_step(g->K), p0, p1;
    part(ceil_div(g->N, NR), T, tid, &p0, &p1);
    if (p1 <= p0) return;
    ptrdiff_t ldb = g->ldb;
    for (int pc = 0; pc < g->K; pc += kcs) {
        int kc = g->K - pc < kcs ? g->K - pc : kcs;
        float beta = pc == 0 ? g->beta : 1.0f;
        lam_sgemm_pack_a(ks, g->ta, g->M, kc, g->A, g->lda, 0, pc, pa);
        for (int p = p0; p < p1; p++) {
            int j = p * NR, nr = g->N - j < NR ? g->N - j : NR;
            const float *b = g->B + pc * ldb + j;
            if (nr == NR || ks->b_masked) {
                ks->tile(g->M, nr, kc, pa, b, ldb, g->C + j, g->ldc, g->alpha, beta);
            } else { /* only the thread with the last panel gets here */
                ks->pack_b_cols(kc, nr, b, ldb, pb);
                ks->tile(g->M, nr, kc, pa, pb, NR, g->C + j, g->ldc, g->alpha, beta);
            }
        }
    }
}

/* Threads worth using: one below PAR_MIN_WORK multiply-adds, then at most
 * one per PAR_MIN_WORK/2 and never more than there are register tiles. */
static int pick_threads(const lam_sgemm_kset *ks, int M, int N, int K, int nt)
{
    double work = (double)M * N * K;
    if (nt <= 1 || work < PAR_MIN_WORK) return 1;
    double cap = work / (PAR_MIN_WORK / 2);
    if (cap < nt) nt = (int)cap;
    long long tiles = (long long)ceil_div(M, ks->mr) * ceil_div(N, ks->nr);
    if (tiles < nt) nt = (int)tiles;
    return nt < 1 ? 1 : nt;
}

/* Vector shapes, without packing (packing would cost as much as the
 * product).  Four cases, two kernels:
 *   M == 1, B [K][N]:    c_j = sum_k a_k B[k][j]     axpy form, y = B
 *   N == 1, A^T [K][M]:  c_i = sum_k A^T[k][i] b_k   axpy form, y = A^T
 *   M == 1, B^T [N][K]:  c_j = sum_k B^T[j][k] a_k   dot form,  y = B^T
 *   N == 1, A [M][K]:    c_i = sum_k A[i][k] b_k     dot form,  y = A
 * Both kernels keep the tile kernels' per-element arithmetic. */
typedef struct gemv_args {
    bool dot;
    int n;
    const float *x, *y;
    ptrdiff_t incx, ldy, ldo;
} gemv_args;

static gemv_args gemv_setup(const gemm_ctx *g)
{
    bool row = g->M == 1; /* else N == 1 */
    gemv_args v;
    v.dot = row ? g->tb : !g->ta;
    v.n = row ? g->N : g->M;
    v.x = row ? g->A : g->B;
    v.y = row ? g->B : g->A;
    /* x: the row of A (M == 1) or the column of B (N == 1) */
    v.incx = row ? (g->ta ? g->lda : 1) : (g->tb ? 1 : g->ldb);
    v.ldy = row ? g->ldb : g->lda;
    v.ldo = row ? 1 : g->ldc;
    return v;
}

/* Outputs [64*lo, 64*hi) of a vector shape. */
static void gemv_range(const gemm_ctx *g, const gemv_args *v, int lo, int hi)
{
    int j0 = lo * 64, j1 = hi * 64 < v->n ? hi * 64 : v->n;
    if (j1 <= j0) return;
    float *c = g->C + j0 * v->ldo;
    int kcs = lam_sgemm_kc_step(g->K);
    if (v->dot)
        g->ks->gemv_t(j1 - j0, g->K, kcs, v->x, v->incx, v->y + j0 * v->ldy, v->ldy, c, v->ldo,
                      g->alpha, g->beta);
    else
        g->ks->gemv(j1 - j0, g->K, kcs, v->x, v->incx, v->y + j0, v->ldy, c, v->ldo, g->alpha,
                    g->beta);
}

/* Threads take disjoint groups of 64 outputs. */
static void gemv_run(const gemm_ctx *g, int nt)
{
    gemv_args v = gemv_setup(g);
    int groups = ceil_div(v.n, 64);
    if (groups < nt) nt = groups;
    if (nt <= 1 || (double)v.n * g->K < PAR_MIN_WORK) {
        gemv_range(g, &v, 0, groups);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
    {
        int lo, hi;
        part(groups, omp_get_num_threads(), omp_get_thread_num(), &lo, &hi);
        gemv_range(g, &v, lo, hi);
    }
#else
    gemv_range(g, &v, 0, groups);
#endif
}

void lam_sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
               int lda, const float *B, int ldb, float beta, float *C, int ldc, float *ws,
               int nthreads)
{
    LAM_ASSERT(M >= 0 && N >= 0 && K >= 0);
    if (M == 0 || N == 0) return;
    LAM_ASSERT(C != NULL && ldc >= N);
    if (K == 0 || alpha == 0.0f) {
        lam_sgemm_scale_c(M, N, beta, C, ldc);
        return;
    }
    LAM_ASSERT(A != NULL && B != NULL && ws != NULL);
    LAM_ASSERT(lda >= (trans_a ? M : K) && ldb >= (trans_b ? K : N));

    const lam_sgemm_kset *ks = lam_sgemm_kset_pick();
    gemm_ctx g = {
        .ta = trans_a, .tb = trans_b, .M = M, .N = N, .K = K, .alpha = alpha, .beta = beta,
        .A = A, .B = B, .lda = lda, .ldb = ldb, .ldc = ldc, .C = C, .ws = ws,
        .a_floats = a_buf_floats(ks, M, K), .b_floats = b_buf_floats(ks, N, K), .ks = ks,
    };
    if ((M == 1 || N == 1) && ks->gemv) {
        gemv_run(&g, resolve_threads(nthreads));
        return;
    }

    void (*work)(const gemm_ctx *, int, int) =
        M <= ks->mr && !trans_b ? small_m_thread : gemm_thread;
    int nt = pick_threads(ks, M, N, K, resolve_threads(nthreads));
    if (nt == 1) {
        work(&g, 0, 1);
        return;
    }
#ifdef _OPENMP
    /* The team may come out smaller than asked (nesting, limits): the
     * partition is recomputed from the actual size, which is <= nt, so the
     * per-thread buffers still fit the workspace. */
#pragma omp parallel num_threads(nt)
    work(&g, omp_get_thread_num(), omp_get_num_threads());
#else
    work(&g, 0, 1);
#endif
}

#endif /* LAM_USE_OPENBLAS */

/* ---- batches of independent products ------------------------------------ */

size_t lam_sgemm_batch_ws_floats(int M, int N, int K, int nthreads)
{
    return (size_t)resolve_threads(nthreads) * lam_sgemm_ws_floats(M, N, K, 1);
}

void lam_sgemm_batch(int count, bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
                     int lda, ptrdiff_t stride_a, const float *B, int ldb, ptrdiff_t stride_b, float beta, float *C,
                     int ldc, ptrdiff_t stride_c, float *ws, int nthreads)
{
    lam_sgemm_batch_then(count, trans_a, trans_b, M, N, K, alpha, A, lda, stride_a, B, ldb, stride_b, beta, C, ldc,
                         stride_c, ws, nthreads, NULL, NULL);
}

void lam_sgemm_batch_then(int count, bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
                          int lda, ptrdiff_t stride_a, const float *B, int ldb, ptrdiff_t stride_b, float beta,
                          float *C, int ldc, ptrdiff_t stride_c, float *ws, int nthreads,
                          void (*then)(void *ctx, int i), void *ctx)
{
    int nt = resolve_threads(nthreads);
    if (count < nt) nt = count;
    if ((double)count * M * N * K < PAR_MIN_WORK) nt = 1;
    size_t per = lam_sgemm_ws_floats(M, N, K, 1);
#ifdef _OPENMP
#pragma omp parallel num_threads(nt) if (nt > 1)
#endif
    {
#ifdef _OPENMP
        int t = omp_get_thread_num(), n = omp_get_num_threads();
#else
        int t = 0, n = 1;
#endif
        /* contiguous chunks: thread t takes products [count*t/n, count*(t+1)/n) */
        int lo = (int)((long)count * t / n), hi = (int)((long)count * (t + 1) / n);
        for (int i = lo; i < hi; i++) {
            lam_sgemm(trans_a, trans_b, M, N, K, alpha, A + i * stride_a, lda, B + i * stride_b, ldb, beta,
                      C + i * stride_c, ldc, ws + (size_t)t * per, 1);
            if (then) then(ctx, i);
        }
    }
}
