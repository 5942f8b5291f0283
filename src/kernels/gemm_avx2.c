/* SGEMM AVX2/FMA kernels: the 6 x 16 micro-kernel, smaller kernels for edge
 * tiles, the epilogue, packing with in-register transposes, and the unpacked
 * kernels for vector shapes (M == 1 or N == 1).  All share one per-element
 * recipe (an FMA chain over k in order, then alpha/beta), so which kernel
 * computes an element never changes its bits.  Compiled with per-function
 * target attributes so the library's default build stays baseline x86-64;
 * gemm.c only calls in here after checking the CPU.  On other architectures
 * this file compiles to nothing. */
#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <math.h>

#include "kernels/gemm_kernels.h"

#define TGT __attribute__((target("avx2,fma")))

/* The register tile: 6 rows x 16 columns (two ymm per row). */
enum { MR = 6, NR = 16 };

/* One k step: two 8-wide loads of the B row, six broadcasts of A, twelve
 * FMAs into independent accumulators (12 chains cover the 4-cycle FMA
 * latency on both pipes).  Each C element has exactly one accumulator and
 * sees k in order, so its value does not depend on where the tile lies. */
#define STEP(off)                                                     \
    do {                                                              \
        __m256 b0 = _mm256_loadu_ps(pb + ldb * (off));                \
        __m256 b1 = _mm256_loadu_ps(pb + ldb * (off) + 8);            \
        __m256 a = _mm256_broadcast_ss(pa + 6 * (off) + 0);           \
        c00 = _mm256_fmadd_ps(a, b0, c00);                            \
        c01 = _mm256_fmadd_ps(a, b1, c01);                            \
        a = _mm256_broadcast_ss(pa + 6 * (off) + 1);                  \
        c10 = _mm256_fmadd_ps(a, b0, c10);                            \
        c11 = _mm256_fmadd_ps(a, b1, c11);                            \
        a = _mm256_broadcast_ss(pa + 6 * (off) + 2);                  \
        c20 = _mm256_fmadd_ps(a, b0, c20);                            \
        c21 = _mm256_fmadd_ps(a, b1, c21);                            \
        a = _mm256_broadcast_ss(pa + 6 * (off) + 3);                  \
        c30 = _mm256_fmadd_ps(a, b0, c30);                            \
        c31 = _mm256_fmadd_ps(a, b1, c31);                            \
        a = _mm256_broadcast_ss(pa + 6 * (off) + 4);                  \
        c40 = _mm256_fmadd_ps(a, b0, c40);                            \
        c41 = _mm256_fmadd_ps(a, b1, c41);                            \
        a = _mm256_broadcast_ss(pa + 6 * (off) + 5);                  \
        c50 = _mm256_fmadd_ps(a, b0, c50);                            \
        c51 = _mm256_fmadd_ps(a, b1, c51);                            \
    } while (0)

/* The epilogue of one row; the same two roundings as edge_out(). */
#define ROW_OUT(i, x0, x1)                                                        \
    do {                                                                          \
        float *cr = c + (i) * ldc;                                                \
        __m256 t0 = _mm256_mul_ps(va, x0), t1 = _mm256_mul_ps(va, x1);            \
        if (beta == 0.0f) {                                                       \
            _mm256_storeu_ps(cr, t0);                                             \
            _mm256_storeu_ps(cr + 8, t1);                                         \
        } else {                                                                  \
            _mm256_storeu_ps(cr, _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr), t0));   \
            _mm256_storeu_ps(cr + 8, _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr + 8), t1)); \
        }                                                                         \
    } while (0)

/* Full 6 x 16 tile, B rows ldb apart (16 for a packed panel). */
static inline __attribute__((always_inline)) TGT void
ukr_body(int kc, const float *pa, const float *pb, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
         float alpha, float beta)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;

    /* Touch the C tile early so its lines arrive while the k loop runs. */
    for (int i = 0; i < 6; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 15), _MM_HINT_T0);
    }

    int k = 0;
    for (; k + 4 <= kc; k += 4) {
        /* A streams from L2: fetch a few steps ahead (384 B = 16 k). */
        _mm_prefetch((const char *)(pa + 96), _MM_HINT_T0);
        STEP(0);
        STEP(1);
        STEP(2);
        STEP(3);
        pa += 24;
        pb += 4 * ldb;
    }
    for (; k < kc; k++) {
        STEP(0);
        pa += 6;
        pb += ldb;
    }

    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    ROW_OUT(0, c00, c01);
    ROW_OUT(1, c10, c11);
    ROW_OUT(2, c20, c21);
    ROW_OUT(3, c30, c31);
    ROW_OUT(4, c40, c41);
    ROW_OUT(5, c50, c51);
}

/* The packed-panel case with the stride a constant, and any other stride. */
static TGT void ukr_packed(int kc, const float *pa, const float *pb, float *c, ptrdiff_t ldc,
                           float alpha, float beta)
{
    ukr_body(kc, pa, pb, NR, c, ldc, alpha, beta);
}

static TGT void ukr_strided(int kc, const float *pa, const float *pb, ptrdiff_t ldb, float *c,
                            ptrdiff_t ldc, float alpha, float beta)
{
    ukr_body(kc, pa, pb, ldb, c, ldc, alpha, beta);
}

/* Edge tiles: only `mr` rows and 8 or 16 columns of raw sums into `tile`
 * (row stride NR), so a 2-row or 4-column remainder does not pay for a full
 * 6 x 16 tile.  Per element the arithmetic is the full kernel's (one FMA
 * chain over k in order), so results do not depend on which kernel ran. */
#define DEF_EDGE_KERNEL(R, V)                                                          \
    static TGT void edge_##R##x##V(int kc, const float *pa, const float *pb, ptrdiff_t ldb, \
                                   float *tile)                                        \
    {                                                                                  \
        __m256 acc[R][V];                                                              \
        _Pragma("GCC unroll 6") for (int i = 0; i < R; i++)                            \
            _Pragma("GCC unroll 2") for (int v = 0; v < V; v++)                        \
                acc[i][v] = _mm256_setzero_ps();                                       \
        for (int k = 0; k < kc; k++, pa += 6, pb += ldb) {                             \
            __m256 b[V];                                                               \
            _Pragma("GCC unroll 2") for (int v = 0; v < V; v++)                        \
                b[v] = _mm256_loadu_ps(pb + 8 * v);                                    \
            _Pragma("GCC unroll 6") for (int i = 0; i < R; i++) {                      \
                __m256 a = _mm256_broadcast_ss(pa + i);                                \
                _Pragma("GCC unroll 2") for (int v = 0; v < V; v++)                    \
                    acc[i][v] = _mm256_fmadd_ps(a, b[v], acc[i][v]);                   \
            }                                                                          \
        }                                                                              \
        _Pragma("GCC unroll 6") for (int i = 0; i < R; i++)                            \
            _Pragma("GCC unroll 2") for (int v = 0; v < V; v++)                        \
                _mm256_storeu_ps(tile + 16 * i + 8 * v, acc[i][v]);                    \
    }

DEF_EDGE_KERNEL(1, 1)
DEF_EDGE_KERNEL(2, 1)
DEF_EDGE_KERNEL(3, 1)
DEF_EDGE_KERNEL(4, 1)
DEF_EDGE_KERNEL(5, 1)
DEF_EDGE_KERNEL(6, 1)
DEF_EDGE_KERNEL(1, 2)
DEF_EDGE_KERNEL(2, 2)
DEF_EDGE_KERNEL(3, 2)
DEF_EDGE_KERNEL(4, 2)
DEF_EDGE_KERNEL(5, 2)
DEF_EDGE_KERNEL(6, 2)

typedef void (*edge_kernel)(int kc, const float *pa, const float *pb, ptrdiff_t ldb, float *tile);
static const edge_kernel edge_kernels[2][6] = {
    {edge_1x1, edge_2x1, edge_3x1, edge_4x1, edge_5x1, edge_6x1},
    {edge_1x2, edge_2x2, edge_3x2, edge_4x2, edge_5x2, edge_6x2},
};

/* Scalar, but the same operations as ROW_OUT: one rounded multiply by alpha,
 * then a fused multiply-add with beta*c (fmaf is exactly rounded, whether
 * inlined as vfmadd or called from libm). */
static TGT void edge_out(int m, int n, const float *tile, float *c, ptrdiff_t ldc, float alpha,
                         float beta)
{
    for (int i = 0; i < m; i++) {
        const float *t = tile + i * NR;
        float *cr = c + i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < n; j++) cr[j] = alpha * t[j];
        else
            for (int j = 0; j < n; j++) cr[j] = fmaf(beta, cr[j], alpha * t[j]);
    }
}

/* Any m x n block (m <= 6, n <= 16): the full kernel writes C directly;
 * smaller blocks compute raw sums of the top-left m rows x 8 or 16 columns
 * into a local tile, then apply the epilogue to the valid part.  B rows are
 * read 8 or 16 columns wide, so a partial panel must be packed (padded). */
static TGT void tile_avx2(int m, int n, int kc, const float *pa, const float *pb, ptrdiff_t ldb,
                          float *c, ptrdiff_t ldc, float alpha, float beta)
{
    if (m == MR && n == NR) {
        if (ldb == NR) ukr_packed(kc, pa, pb, c, ldc, alpha, beta);
        else ukr_strided(kc, pa, pb, ldb, c, ldc, alpha, beta);
        return;
    }
    _Alignas(32) float tile[MR * NR];
    if (m == MR && n > 8) ukr_strided(kc, pa, pb, ldb, tile, NR, 1.0f, 0.0f);
    else edge_kernels[n > 8][m - 1](kc, pa, pb, ldb, tile);
    edge_out(m, n, tile, c, ldc, alpha, beta);
}

/* A is row-major: 8 k at a time, load 8 floats of each of the 6 rows and
 * transpose 6x8 into eight 6-float groups (a 4-float and a 2-float store
 * each, so nothing is written past the panel). */
static TGT void pack_a_rows(int kc, const float *a, ptrdiff_t lda, float *dst)
{
    const float *r0 = a, *r1 = a + lda, *r2 = a + 2 * lda, *r3 = a + 3 * lda, *r4 = a + 4 * lda,
                *r5 = a + 5 * lda;
    int k = 0;
    for (; k + 8 <= kc; k += 8, dst += 48) {
        __m256 x0 = _mm256_loadu_ps(r0 + k), x1 = _mm256_loadu_ps(r1 + k);
        __m256 x2 = _mm256_loadu_ps(r2 + k), x3 = _mm256_loadu_ps(r3 + k);
        __m256 x4 = _mm256_loadu_ps(r4 + k), x5 = _mm256_loadu_ps(r5 + k);
        /* t01l = r0[0] r1[0] r0[1] r1[1] | r0[4] r1[4] r0[5] r1[5], etc. */
        __m256 t01l = _mm256_unpacklo_ps(x0, x1), t01h = _mm256_unpackhi_ps(x0, x1);
        __m256 t23l = _mm256_unpacklo_ps(x2, x3), t23h = _mm256_unpackhi_ps(x2, x3);
        __m256 t45l = _mm256_unpacklo_ps(x4, x5), t45h = _mm256_unpackhi_ps(x4, x5);
        /* rows 0-3 of k = 0|4, 1|5, 2|6, 3|7 (low|high lane) */
        __m256 q04 = _mm256_shuffle_ps(t01l, t23l, 0x44), q15 = _mm256_shuffle_ps(t01l, t23l, 0xEE);
        __m256 q26 = _mm256_shuffle_ps(t01h, t23h, 0x44), q37 = _mm256_shuffle_ps(t01h, t23h, 0xEE);
        __m128 p0 = _mm256_castps256_ps128(t45l), p4 = _mm256_extractf128_ps(t45l, 1);
        __m128 p2 = _mm256_castps256_ps128(t45h), p6 = _mm256_extractf128_ps(t45h, 1);
        _mm_storeu_ps(dst + 0, _mm256_castps256_ps128(q04));
        _mm_storel_pi((__m64 *)(dst + 4), p0);
        _mm_storeu_ps(dst + 6, _mm256_castps256_ps128(q15));
        _mm_storeh_pi((__m64 *)(dst + 10), p0);
        _mm_storeu_ps(dst + 12, _mm256_castps256_ps128(q26));
        _mm_storel_pi((__m64 *)(dst + 16), p2);
        _mm_storeu_ps(dst + 18, _mm256_castps256_ps128(q37));
        _mm_storeh_pi((__m64 *)(dst + 22), p2);
        _mm_storeu_ps(dst + 24, _mm256_extractf128_ps(q04, 1));
        _mm_storel_pi((__m64 *)(dst + 28), p4);
        _mm_storeu_ps(dst + 30, _mm256_extractf128_ps(q15, 1));
        _mm_storeh_pi((__m64 *)(dst + 34), p4);
        _mm_storeu_ps(dst + 36, _mm256_extractf128_ps(q26, 1));
        _mm_storel_pi((__m64 *)(dst + 40), p6);
        _mm_storeu_ps(dst + 42, _mm256_extractf128_ps(q37, 1));
        _mm_storeh_pi((__m64 *)(dst + 46), p6);
    }
    for (; k < kc; k++, dst += 6) {
        dst[0] = r0[k], dst[1] = r1[k], dst[2] = r2[k];
        dst[3] = r3[k], dst[4] = r4[k], dst[5] = r5[k];
    }
}

/* B is row-major [K][ldb]: each k row of the panel is nr <= 16 contiguous
 * floats, zero-padded to 16 (masked loads never touch memory past nr). */
static TGT void pack_b_cols(int kc, int nr, const float *b, ptrdiff_t ldb, float *dst)
{
    if (nr == 16) {
        for (int k = 0; k < kc; k++, b += ldb, dst += 16) {
            _mm256_storeu_ps(dst, _mm256_loadu_ps(b));
            _mm256_storeu_ps(dst + 8, _mm256_loadu_ps(b + 8));
        }
        return;
    }
    __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr), idx);
    __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr - 8), idx);
    for (int k = 0; k < kc; k++, b += ldb, dst += 16) {
        _mm256_storeu_ps(dst, _mm256_maskload_ps(b, m0));
        _mm256_storeu_ps(dst + 8, _mm256_maskload_ps(b + 8, m1));
    }
}

/* B^T is row-major [N][K]: 8 k at a time, two 8x8 transposes (panel columns
 * 0-7 and 8-15) give eight 16-float rows of the packed panel. */
static TGT void pack_bt_rows(int kc, const float *b, ptrdiff_t ldb, float *dst)
{
    int k = 0;
    for (; k + 8 <= kc; k += 8, dst += 128) {
        for (int h = 0; h < 2; h++) {
            __m256 x[8];
            for (int j = 0; j < 8; j++) x[j] = _mm256_loadu_ps(b + (8 * h + j) * ldb + k);
            LAM_TRANSPOSE8(x);
            for (int kk = 0; kk < 8; kk++) _mm256_storeu_ps(dst + 16 * kk + 8 * h, x[kk]);
        }
    }
    for (; k < kc; k++, dst += 16)
        for (int j = 0; j < 16; j++) dst[j] = b[j * ldb + k];
}

/* ---- vector shapes: M == 1 or N == 1 -------------------------------------
 * c[j*ldo] = alpha * sum_k x[k*incx] * y[k*ldy + j] (+ beta * c), j < n:
 * row-vector times a row-major matrix (and, transposed, a row-major A^T times
 * a vector).  Packing would cost as much as the product here.  Vectorised
 * over j with one FMA chain per output in k order, K cut into the same
 * kcs-blocks and the same epilogue as the tile kernels, so these outputs are
 * bit-identical to the corresponding row (column) of a larger product. */
#define DEF_AXPY(NV)                                                                  \
    static TGT void axpy_##NV(int kc, const float *x, ptrdiff_t incx, const float *y,  \
                              ptrdiff_t ldy, int last, float *raw)                     \
    {                                                                                 \
        __m256i last_mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(last),               \
                                               _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); \
        __m256 acc[NV];                                                               \
        _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++)                          \
            acc[v] = _mm256_setzero_ps();                                             \
        for (int k = 0; k < kc; k++, x += incx, y += ldy) {                           \
            __m256 xv = _mm256_broadcast_ss(x);                                       \
            _Pragma("GCC unroll 8") for (int v = 0; v < NV - 1; v++)                  \
                acc[v] = _mm256_fmadd_ps(xv, _mm256_loadu_ps(y + 8 * v), acc[v]);     \
            acc[NV - 1] = _mm256_fmadd_ps(xv, _mm256_maskload_ps(y + 8 * (NV - 1), last_mask), \
                                          acc[NV - 1]);                               \
        }                                                                             \
        _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++)                          \
            _mm256_storeu_ps(raw + 8 * v, acc[v]);                                    \
    }

DEF_AXPY(1)
DEF_AXPY(2)
DEF_AXPY(3)
DEF_AXPY(4)
DEF_AXPY(5)
DEF_AXPY(6)
DEF_AXPY(7)
DEF_AXPY(8)

/* last: valid columns (1..8) of the last vector, which is loaded masked */
typedef void (*axpy_kernel)(int kc, const float *x, ptrdiff_t incx, const float *y, ptrdiff_t ldy,
                            int last, float *raw);
static const axpy_kernel axpy_kernels[8] = {axpy_1, axpy_2, axpy_3, axpy_4,
                                            axpy_5, axpy_6, axpy_7, axpy_8};

TGT void lam_sgemm_gemv_avx2(int n, int K, int kcs, const float *x, ptrdiff_t incx, const float *y,
                             ptrdiff_t ldy, float *c, ptrdiff_t ldo, float alpha, float beta)
{
    _Alignas(32) float raw[64];
    /* 64 columns (8 accumulators) per pass cover the FMA latency; each pass
     * walks down all of K, so y is read once. */
    for (int j = 0; j < n; j += 64) {
        int w = n - j < 64 ? n - j : 64, nv = (w + 7) / 8;
        for (int pc = 0; pc < K; pc += kcs) {
            int kc = K - pc < kcs ? K - pc : kcs;
            float b = pc == 0 ? beta : 1.0f;
            axpy_kernels[nv - 1](kc, x + pc * incx, incx, y + pc * ldy + j, ldy, w - 8 * (nv - 1),
                                 raw);
            float *cj = c + j * ldo;
            /* the epilogue of ROW_OUT / edge_out(), element by element */
            if (b == 0.0f)
                for (int i = 0; i < w; i++) cj[i * ldo] = alpha * raw[i];
            else
                for (int i = 0; i < w; i++) cj[i * ldo] = fmaf(b, cj[i * ldo], alpha * raw[i]);
        }
    }
}

/* The other vector shapes: c[r*ldo] = alpha * sum_k y[r*ldy + k] *
 * x[k*incx] (+ beta * c), r < n, i.e. dot products of the rows of y with x
 * (N == 1 with a row-major A, or M == 1 with a row-major B^T).  To keep the
 * one-FMA-chain-per-output order the lanes hold 8 different rows: 8 x 8
 * blocks are transposed in registers, and up to 4 such groups run side by
 * side so that their chains overlap.  Rows past n re-read the last row and are dropped. */
/* acc += rows q[0..7] at k..k+3 times x[k..k+3] (xk = &x[k]), k in order.
 * The loads put rows 0-3 in the low lane and rows 4-7 in the high one, so a
 * 4 x 4 in-lane transpose yields one vector (lane = row) per k. */
static inline __attribute__((always_inline)) TGT __m256
dot_step4(const float *const *q, int k, const float *xk, ptrdiff_t incx, __m256 acc)
{
    __m256 l[4];
    for (int i = 0; i < 4; i++)
        l[i] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(q[i] + k)),
                                    _mm_loadu_ps(q[i + 4] + k), 1);
    __m256 t0 = _mm256_unpacklo_ps(l[0], l[1]), t1 = _mm256_unpackhi_ps(l[0], l[1]);
    __m256 t2 = _mm256_unpacklo_ps(l[2], l[3]), t3 = _mm256_unpackhi_ps(l[2], l[3]);
    acc = _mm256_fmadd_ps(_mm256_shuffle_ps(t0, t2, 0x44), _mm256_broadcast_ss(xk), acc);
    acc = _mm256_fmadd_ps(_mm256_shuffle_ps(t0, t2, 0xEE), _mm256_broadcast_ss(xk + incx), acc);
    acc = _mm256_fmadd_ps(_mm256_shuffle_ps(t1, t3, 0x44), _mm256_broadcast_ss(xk + 2 * incx), acc);
    acc = _mm256_fmadd_ps(_mm256_shuffle_ps(t1, t3, 0xEE), _mm256_broadcast_ss(xk + 3 * incx), acc);
    return acc;
}

#define DEF_DOT(NG)                                                                   \
    static TGT void dot_##NG(int kc, const float *x, ptrdiff_t incx,                   \
                             const float *const *row, int k0, float *raw)             \
    {                                                                                 \
        __m256 acc[NG];                                                               \
        _Pragma("GCC unroll 4") for (int g = 0; g < NG; g++)                          \
            acc[g] = _mm256_setzero_ps();                                             \
        int k = k0;                                                                   \
        for (; k + 8 <= k0 + kc; k += 8) {                                            \
            const float *xk = x + k * incx;                                           \
            _Pragma("GCC unroll 4") for (int g = 0; g < NG; g++) {                    \
                acc[g] = dot_step4(row + 8 * g, k, xk, incx, acc[g]);                 \
                acc[g] = dot_step4(row + 8 * g, k + 4, xk + 4 * incx, incx, acc[g]);  \
            }                                                                         \
        }                                                                             \
        for (; k < k0 + kc; k++) {                                                    \
            __m256 xb = _mm256_broadcast_ss(x + k * incx);                            \
            _Pragma("GCC unroll 4") for (int g = 0; g < NG; g++) {                    \
                const float *const *q = row + 8 * g;                                  \
                __m256 v = _mm256_setr_ps(q[0][k], q[1][k], q[2][k], q[3][k], q[4][k], \
                                          q[5][k], q[6][k], q[7][k]);                 \
                acc[g] = _mm256_fmadd_ps(v, xb, acc[g]);                              \
            }                                                                         \
        }                                                                             \
        _Pragma("GCC unroll 4") for (int g = 0; g < NG; g++)                          \
            _mm256_storeu_ps(raw + 8 * g, acc[g]);                                    \
    }

DEF_DOT(1)
DEF_DOT(2)
DEF_DOT(3)
DEF_DOT(4)

typedef void (*dot_kernel)(int kc, const float *x, ptrdiff_t incx, const float *const *row, int k0,
                           float *raw);
static const dot_kernel dot_kernels[4] = {dot_1, dot_2, dot_3, dot_4};

TGT void lam_sgemm_gemv_t_avx2(int n, int K, int kcs, const float *x, ptrdiff_t incx,
                               const float *y, ptrdiff_t ldy, float *c, ptrdiff_t ldo, float alpha,
                               float beta)
{
    _Alignas(32) float raw[32];
    for (int r0 = 0; r0 < n; r0 += 32) {
        int w = n - r0 < 32 ? n - r0 : 32, ng = (w + 7) / 8;
        const float *row[32];
        for (int i = 0; i < 32; i++) row[i] = y + (r0 + i < n ? r0 + i : n - 1) * ldy;
        for (int pc = 0; pc < K; pc += kcs) {
            int kc = K - pc < kcs ? K - pc : kcs;
            dot_kernels[ng - 1](kc, x, incx, row, pc, raw);
            float b = pc == 0 ? beta : 1.0f, *cr = c + r0 * ldo;
            if (b == 0.0f)
                for (int i = 0; i < w; i++) cr[i * ldo] = alpha * raw[i];
            else
                for (int i = 0; i < w; i++) cr[i * ldo] = fmaf(b, cr[i * ldo], alpha * raw[i]);
        }
    }
}

const lam_sgemm_kset lam_sgemm_kset_avx2 = {
    .name = "avx2-fma",
    .mr = MR,
    .nr = NR,
    /* Blocking for Zen 3 (32 KiB L1d, 512 KiB L2 per core, shared L3): a
     * KC x NR packed B micro-panel (16 KiB) stays in L1 while the A block
     * (MC x KC = 144 KiB) streams from L2; the KC x NC B block (2 MiB)
     * lives in L3 and is shared by the threads. */
    .mc = 144,
    .nc = 2048,
    .b_masked = false,
    .tile = tile_avx2,
    .pack_a_rows = pack_a_rows,
    .pack_bt_rows = pack_bt_rows,
    .pack_b_cols = pack_b_cols,
    .gemv = lam_sgemm_gemv_avx2,
    .gemv_t = lam_sgemm_gemv_t_avx2,
};

#else
/* ISO C forbids an empty translation unit. */
typedef int lam_gemm_avx2_unused_;
#endif
