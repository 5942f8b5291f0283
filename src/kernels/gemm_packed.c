/* The pre-packed B operand (gemm.h): op(B), permuted, packed once into
 * LAM_SGEMM_PACK_NR-column panels for every K block, then multiplied by
 * any number of A operands, each call on one thread for a column range.
 * The per-element arithmetic is lam_sgemm's (same K blocks, same kernels),
 * so results equal lam_sgemm on the unpacked operand bit for bit, for any
 * column split.  Lamina's kernels in every build (BLAS=openblas included).
 * Allocates nothing.
 *
 * Layout, K blocks of kcs = kc_step(K) rows (the last one kc <= kcs):
 *   block starting at row pc:  packed + pc * Np, Np = round_up(N, 32)
 *   panel p of that block:     + p * kc * 32, rows [kc][32], zero-padded
 * so the whole operand is K * Np floats.  Kernel sets with 16-column
 * panels read each 32-column panel as two sub-panels (row stride 32). */
#include <string.h>

#include "kernels/gemm.h"
#include "kernels/gemm_kernels.h"
#include "lamina/base.h"

enum { PNR = LAM_SGEMM_PACK_NR };

static inline int ceil_div(int a, int b) { return (a + b - 1) / b; }
static inline int round_up(int a, int b) { return ceil_div(a, b) * b; }
static inline size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

/* Rows of one packed A block: equal blocks of at most the set's mc, in
 * whole micro-panels (as the driver's mc_step). */
static int rows_per_block(const lam_sgemm_kset *ks, int M)
{
    return round_up(ceil_div(M, ceil_div(M, ks->mc)), ks->mr);
}

size_t lam_sgemm_packed_b_floats(int N, int K)
{
    if (N <= 0 || K <= 0) return 0;
    return (size_t)K * (size_t)round_up(N, PNR);
}

size_t lam_sgemm_packed_ws_floats(int M, int K)
{
    if (M <= 0 || K <= 0) return 0;
    int count;
    const lam_sgemm_kset *const *sets = lam_sgemm_ksets(&count);
    size_t kc = (size_t)(K < LAM_SGEMM_KC_MAX ? K : LAM_SGEMM_KC_MAX), best = 0;
    for (int s = 0; s < count; s++) {
        const lam_sgemm_kset *ks = sets[s];
        int rows = round_up(M, ks->mr) < ks->mc ? round_up(M, ks->mr) : ks->mc;
        size_t need = round16((size_t)rows * kc);
        if (need > best) best = need;
    }
    return best;
}

const char *lam_sgemm_packed_kernel_name(void) { return lam_sgemm_kset_pick()->name; }

/* Source column of packed column j, -1 for zero. */
static inline int src_col(int j, int N, const int *nperm)
{
    return j >= N ? -1 : nperm ? nperm[j] : j;
}

void lam_sgemm_pack_b(bool trans_b, int N, int K, const float *B, int ldb, const int *kperm,
                      const int *nperm, float *packed)
{
    LAM_ASSERT(N >= 0 && K >= 0);
    if (N == 0 || K == 0) return;
    LAM_ASSERT(B != NULL && packed != NULL);
    int Np = round_up(N, PNR), kcs = lam_sgemm_kc_step(K);
    for (int pc = 0; pc < K; pc += kcs) {
        int kc = K - pc < kcs ? K - pc : kcs;
        float *blk = packed + (size_t)pc * Np;
        if (!trans_b) {
            /* op(B) row k is row kperm[k] of B: for a run of 8 panels, read
             * it once (it stays in L1) and write its columns into each */
            enum { RUN = 8 * PNR };
            for (int r0 = 0; r0 < Np; r0 += RUN) {
                int r1 = Np - r0 < RUN ? Np : r0 + RUN, src[RUN], srcc[RUN];
                bool plain = !nperm && r1 <= N; /* consecutive columns */
                for (int j = r0; j < r1; j++) {
                    src[j - r0] = src_col(j, N, nperm);
                    srcc[j - r0] = src[j - r0] < 0 ? 0 : src[j - r0];
                }
                for (int k = 0; k < kc; k++) {
                    int sk = kperm ? kperm[pc + k] : pc + k;
                    const float *row = B + (ptrdiff_t)(sk < 0 ? 0 : sk) * ldb;
                    for (int j0 = r0; j0 < r1; j0 += PNR) {
                        float *d = blk + (size_t)(j0 / PNR) * kc * PNR + (size_t)k * PNR;
                        const int *s = src + (j0 - r0), *sc = srcc + (j0 - r0);
                        if (sk < 0) {
                            memset(d, 0, PNR * sizeof *d);
                        } else if (plain) {
                            memcpy(d, row + j0, PNR * sizeof *d);
                        } else {
                            for (int jj = 0; jj < PNR; jj++) {
                                float v = row[sc[jj]]; /* branch-free select */
                                d[jj] = s[jj] < 0 ? 0.0f : v;
                            }
                        }
                    }
                }
            }
            continue;
        }
        /* op(B) column n is row nperm[n] of B */
        for (int j0 = 0; j0 < Np; j0 += PNR) {
            float *d = blk + (size_t)(j0 / PNR) * kc * PNR;
            for (int jj = 0; jj < PNR; jj++) {
                int sn = src_col(j0 + jj, N, nperm);
                const float *row = B + (ptrdiff_t)(sn < 0 ? 0 : sn) * ldb;
                if (sn < 0) {
                    for (int k = 0; k < kc; k++) d[k * PNR + jj] = 0.0f;
                } else if (!kperm) { /* contiguous reads along the row */
                    for (int k = 0; k < kc; k++) d[k * PNR + jj] = row[pc + k];
                } else {
                    for (int k = 0; k < kc; k++) {
                        int sk = kperm[pc + k];
                        float v = row[sk < 0 ? 0 : sk];
                        d[k * PNR + jj] = sk < 0 ? 0.0f : v;
                    }
                }
            }
        }
    }
}

void lam_sgemm_packed(bool trans_a, int M, int N, int K, float alpha, const float *A, int lda,
                      const float *packed, float beta, float *C, int ldc, float *ws, int n0,
                      int n1)
{
    LAM_ASSERT(M >= 0 && N >= 0 && K >= 0);
    LAM_ASSERT(0 <= n0 && n0 <= n1 && n1 <= N);
    LAM_ASSERT(n0 % PNR == 0 && (n1 % PNR == 0 || n1 == N));
    if (M == 0 || n1 == n0) return;
    LAM_ASSERT(C != NULL && ldc >= N);
    if (K == 0 || alpha == 0.0f) { /* as lam_sgemm: A and B are not read */
        lam_sgemm_scale_c(M, n1 - n0, beta, C + n0, ldc);
        return;
    }
    LAM_ASSERT(A != NULL && packed != NULL && ws != NULL);
    LAM_ASSERT(lda >= (trans_a ? M : K));

    const lam_sgemm_kset *ks = lam_sgemm_kset_pick();
    const int MR = ks->mr, NR = ks->nr;
    LAM_ASSERT(PNR % NR == 0); /* a set's panels tile the packed ones */
    int Np = round_up(N, PNR), kcs = lam_sgemm_kc_step(K), mcs = rows_per_block(ks, M);
    for (int pc = 0; pc < K; pc += kcs) {
        int kc = K - pc < kcs ? K - pc : kcs;
        float bk = pc == 0 ? beta : 1.0f; /* later K blocks add on */
        const float *blk = packed + (size_t)pc * Np;
        for (int ic = 0; ic < M; ic += mcs) {
            int mc = M - ic < mcs ? M - ic : mcs;
            lam_sgemm_pack_a(ks, trans_a, mc, kc, A, lda, ic, pc, ws);
            /* each B micro-panel is read from L2 once and stays in L1 for
             * the mc rows */
            for (int j = n0; j < n1; j += NR) {
                int n = n1 - j < NR ? n1 - j : NR;
                const float *b = blk + (size_t)(j / PNR) * kc * PNR + j % PNR;
                float *c = C + (ptrdiff_t)ic * ldc + j;
                for (int ir = 0; ir < mc; ir += MR)
                    ks->tile(mc - ir < MR ? mc - ir : MR, n, kc, ws + (ptrdiff_t)ir * kc, b, PNR,
                             c + (ptrdiff_t)ir * ldc, ldc, alpha, bk);
            }
        }
    }
}
