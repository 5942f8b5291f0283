/* Winograd F(2x2, 3x3) and F(4x4, 3x3) transforms (see winograd.h).
 *
 * Eight tiles go through a transform together, one per lane of an 8-float
 * GCC vector: a gather copies each lane's tile into an [a][a] block of
 * vectors, the 1-D transform runs down the columns and then along the rows
 * with the matrices written out as sums (multiplying by a zero entry is not
 * free in IEEE arithmetic, so the sparse matrices are spelled out), and a
 * scatter writes the lanes back.  Every kernel exists twice: compiled for
 * AVX2 (one ymm register per vector) and for baseline x86-64 (two xmm), and
 * lam_wino_* picks one per call.  Both do the same operations in the same
 * order without FMA contraction (-std=c11 turns it off), so they give the
 * same bits. */
#include "kernels/winograd.h"

#include <stdatomic.h>
#include <string.h>

#pragma GCC diagnostic ignored "-Wpsabi"

typedef float v8 __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));
/* the same, for loads and stores at any float address */
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));
#define LANES 8
#define INLINE static inline __attribute__((always_inline))

INLINE v8 splat(float x) { return (v8){x, x, x, x, x, x, x, x}; }

/* ---- 1-D transforms: out[k*os] from in[k*is], vectors --------------------- */

/* B^T (input), a = 4 and 6 */
INLINE void bt4(const v8 *d, int is, v8 *o, int os)
{
    v8 d0 = d[0], d1 = d[is], d2 = d[2 * is], d3 = d[3 * is];
    o[0] = d0 - d2;
    o[os] = d1 + d2;
    o[2 * os] = d2 - d1;
    o[3 * os] = d1 - d3;
}
INLINE void bt6(const v8 *d, int is, v8 *o, int os)
{
    v8 d0 = d[0], d1 = d[is], d2 = d[2 * is], d3 = d[3 * is], d4 = d[4 * is], d5 = d[5 * is];
    v8 f4 = splat(4.0f), f5 = splat(5.0f), f2 = splat(2.0f);
    v8 p = d4 - f4 * d2, q = d3 - f4 * d1; /* rows 1, 2 */
    v8 r = d4 - d2, s = f2 * (d3 - d1);   /* rows 3, 4 */
    o[0] = (f4 * d0 - f5 * d2) + d4;
    o[os] = p + q;
    o[2 * os] = p - q;
    o[3 * os] = r + s;
    o[4 * os] = r - s;
    o[5 * os] = (f4 * d1 - f5 * d3) + d5;
}
/* B (input gradient): the transpose of the above */
INLINE void b4(const v8 *v, int is, v8 *o, int os)
{
    v8 v0 = v[0], v1 = v[is], v2 = v[2 * is], v3 = v[3 * is];
    o[0] = v0;
    o[os] = (v1 - v2) + v3;
    o[2 * os] = (v1 + v2) - v0;
    o[3 * os] = -v3;
}
INLINE void b6(const v8 *v, int is, v8 *o, int os)
{
    v8 v0 = v[0], v1 = v[is], v2 = v[2 * is], v3 = v[3 * is], v4 = v[4 * is], v5 = v[5 * is];
    v8 f4 = splat(4.0f), f5 = splat(5.0f), f2 = splat(2.0f);
    v8 s12 = v1 + v2, d12 = v1 - v2, s34 = v3 + v4, d34 = v3 - v4;
    o[0] = f4 * v0;
    o[os] = (f4 * (v2 - v1) + f2 * (v4 - v3)) + f4 * v5;
    o[2 * os] = -((f5 * v0 + f4 * s12) + s34);
    o[3 * os] = (d12 + f2 * d34) - f5 * v5;
    o[4 * os] = (v0 + s12) + s34;
    o[5 * os] = v5;
}
/* G (weights): 3 -> a */
INLINE void g4(const v8 *g, int is, v8 *o, int os)
{
    v8 g0 = g[0], g1 = g[is], g2 = g[2 * is], h = splat(0.5f);
    v8 t = g0 + g2;
    o[0] = g0;
    o[os] = h * (t + g1);
    o[2 * os] = h * (t - g1);
    o[3 * os] = g2;
}
INLINE void g6(const v8 *g, int is, v8 *o, int os)
{
    v8 g0 = g[0], g1 = g[is], g2 = g[2 * is];
    v8 t = g0 + g2, u = splat(1.0f / 24.0f) * g0 + splat(1.0f / 6.0f) * g2, w = splat(1.0f / 12.0f) * g1;
    o[0] = splat(0.25f) * g0;
    o[os] = splat(-1.0f / 6.0f) * (t + g1);
    o[2 * os] = splat(-1.0f / 6.0f) * (t - g1);
    o[3 * os] = u + w;
    o[4 * os] = u - w;
    o[5 * os] = g2;
}
/* G^T (weight gradient): a -> 3 */
INLINE void gt4(const v8 *u, int is, v8 *o, int os)
{
    v8 u0 = u[0], u1 = u[is], u2 = u[2 * is], u3 = u[3 * is], h = splat(0.5f);
    o[0] = u0 + h * (u1 + u2);
    o[os] = h * (u1 - u2);
    o[2 * os] = h * (u1 + u2) + u3;
}
INLINE void gt6(const v8 *u, int is, v8 *o, int os)
{
    v8 u0 = u[0], u1 = u[is], u2 = u[2 * is], u3 = u[3 * is], u4 = u[4 * is], u5 = u[5 * is];
    v8 s12 = u1 + u2, s34 = u3 + u4;
    v8 c6 = splat(1.0f / 6.0f);
    o[0] = (splat(0.25f) * u0 - c6 * s12) + splat(1.0f / 24.0f) * s34;
    o[os] = c6 * (u2 - u1) + splat(1.0f / 12.0f) * (u3 - u4);
    o[2 * os] = (c6 * (s34 - s12)) + u5;
}
/* A^T (output): a -> m */
INLINE void at4(const v8 *m, int is, v8 *o, int os)
{
    v8 m0 = m[0], m1 = m[is], m2 = m[2 * is], m3 = m[3 * is];
    o[0] = (m0 + m1) + m2;
    o[os] = (m1 - m2) - m3;
}
INLINE void at6(const v8 *m, int is, v8 *o, int os)
{
    v8 m0 = m[0], m1 = m[is], m2 = m[2 * is], m3 = m[3 * is], m4 = m[4 * is], m5 = m[5 * is];
    v8 s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4;
    o[0] = (m0 + s12) + s34;
    o[os] = d12 + splat(2.0f) * d34;
    o[2 * os] = s12 + splat(4.0f) * s34;
    o[3 * os] = (d12 + splat(8.0f) * d34) + m5;
}
/* A (output gradient): m -> a */
INLINE void a4(const v8 *y, int is, v8 *o, int os)
{
    v8 y0 = y[0], y1 = y[is];
    o[0] = y0;
    o[os] = y0 + y1;
    o[2 * os] = y0 - y1;
    o[3 * os] = -y1;
}
INLINE void a6(const v8 *y, int is, v8 *o, int os)
{
    v8 y0 = y[0], y1 = y[is], y2 = y[2 * is], y3 = y[3 * is];
    v8 e = y0 + y2, f = y1 + y3, e4 = y0 + splat(4.0f) * y2, f8 = splat(2.0f) * y1 + splat(8.0f) * y3;
    o[0] = y0;
    o[os] = e + f;
    o[2 * os] = e - f;
    o[3 * os] = e4 + f8;
    o[4 * os] = e4 - f8;
    o[5 * os] = y3;
}

typedef void (*tf1)(const v8 *, int, v8 *, int);

/* out[no][no] = T in[ni][ni] T^T: T down each column, then along each row.
 * Constant tf and sizes after inlining. */
INLINE void tf2d(tf1 tf, int ni, int no, const v8 *in, v8 *out)
{
    v8 tmp[36];
    for (int j = 0; j < ni; j++) tf(in + j, ni, tmp + j, ni);     /* tmp [no][ni] */
    for (int i = 0; i < no; i++) tf(tmp + i * ni, 1, out + i * no, 1);
}

/* ---- lanes -------------------------------------------------------------- */

/* The first n lanes from / to p (vectors travel by pointer: passing a
 * 32-byte vector by value differs between the two builds' ABIs).  Whole
 * vectors move as one load or store: a memcpy here became two 16-byte
 * moves, and a 32-byte load of what two 16-byte stores just wrote stalls
 * (no store forwarding), which made the kernels several times slower. */
INLINE void load_n(v8 *v, const float *p, int n)
{
    if (n == LANES) {
        *v = *(const v8u *)p;
        return;
    }
    *v = splat(0.0f);
    for (int l = 0; l < n; l++) (*v)[l] = p[l];
}
INLINE void store_n(float *p, const v8 *v, int n)
{
    if (n == LANES) *(v8u *)p = *v;
    else
        for (int l = 0; l < n; l++) p[l] = (*v)[l];
}

/* Where a tile's window lies: its image plane (b * channels + ch) and the
 * top-left corner (y0, x0), which is negative in the padding. */
typedef struct tile_at {
    long plane;
    int y0, x0;
} tile_at;

/* Tiles p = 0, 1, 2, ... in order (b, ty, tx), stepped without divisions
 * (three integer divisions per tile cost more than its transform). */
typedef struct tile_walk {
    const lam_wino *w;
    long b;
    int ty, tx, ch, channels, oy, ox;
} tile_walk;

INLINE tile_walk walk_start(const lam_wino *w, int ch, int channels, int oy, int ox)
{
    return (tile_walk){w, 0, 0, 0, ch, channels, oy, ox};
}

/* the next n tiles into at[] */
INLINE void walk_next(tile_walk *t, tile_at *at, int n)
{
    for (int l = 0; l < n; l++) {
        at[l] = (tile_at){t->b * t->channels + t->ch, t->ty * t->w->m - t->oy, t->tx * t->w->m - t->ox};
        if (++t->tx == t->w->tw) {
            t->tx = 0;
            if (++t->ty == t->w->th) t->ty = 0, t->b++;
        }
    }
}

/* blk[i*span + j][l] = plane(y0 + i, x0 + j) of lane l's tile, zero outside
 * the H x W plane. */
typedef void (*gather_fn)(const float *base, long plane_sz, int H, int W, const tile_at *at, int n, int span,
                          v8 *blk);
typedef void (*scatter_fn)(float *base, long plane_sz, int H, int W, const tile_at *at, int n, int span,
                           const v8 *blk, bool add);

static void gather(const float *base, long plane_sz, int H, int W, const tile_at *at, int n, int span, v8 *blk)
{
    for (int e = 0; e < span * span; e++) blk[e] = splat(0.0f);
    for (int l = 0; l < n; l++) {
        const float *pl = base + at[l].plane * plane_sz;
        int y0 = at[l].y0, x0 = at[l].x0;
        if (y0 >= 0 && x0 >= 0 && y0 + span <= H && x0 + span <= W) {
            for (int i = 0; i < span; i++)
                for (int j = 0; j < span; j++) blk[i * span + j][l] = pl[(long)(y0 + i) * W + x0 + j];
        } else {
            for (int i = 0; i < span; i++) {
                int y = y0 + i;
                if (y < 0 || y >= H) continue;
                for (int j = 0; j < span; j++) {
                    int x = x0 + j;
                    if (x >= 0 && x < W) blk[i * span + j][l] = pl[(long)y * W + x];
                }
            }
        }
    }
}

/* plane(y0 + i, x0 + j) (+)= blk[i*span + j][l], clipped to H x W.  The
 * windows of neighbouring tiles overlap, so the order of the additions is
 * part of the result: even lanes first, then odd lanes (lanes two apart
 * never overlap side by side, which lets the AVX2 version add whole rows
 * without waiting on the previous lane's stores). */
static void scatter(float *base, long plane_sz, int H, int W, const tile_at *at, int n, int span, const v8 *blk,
                    bool add)
{
    for (int k = 0; k < n; k++) {
        int l = 2 * k < n ? 2 * k : 2 * (k - (n + 1) / 2) + 1; /* 0, 2, 4, ..., 1, 3, ... */
        float *pl = base + at[l].plane * plane_sz;
        int y0 = at[l].y0, x0 = at[l].x0;
        for (int i = 0; i < span; i++) {
            int y = y0 + i;
            if (y < 0 || y >= H) continue;
            for (int j = 0; j < span; j++) {
                int x = x0 + j;
                if (x < 0 || x >= W) continue;
                float *d = pl + (long)y * W + x;
                *d = add ? *d + blk[i * span + j][l] : blk[i * span + j][l];
            }
        }
    }
}

/* The a*a rows [xi][.][p] a kernel reads or writes lie K*P or C*P floats
 * apart: too many streams for the hardware prefetcher, and each is touched
 * for 32 bytes per group of tiles.  Fetch the line AHEAD floats on in each
 * row once per cache line (every other group). */
#define AHEAD 64
INLINE void prefetch_rows(const float *row, long stride, long p, long P, int rows, bool write)
{
    if (p % 16 != 0 || p + AHEAD >= P) return;
    for (int e = 0; e < rows; e++) {
        if (write) __builtin_prefetch(row + e * stride + p + AHEAD, 1);
        else __builtin_prefetch(row + e * stride + p + AHEAD, 0);
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TGT __attribute__((target("avx2")))

/* 8 x 8 transpose: r[l] (row l) -> r[j] (column j) */
TGT static inline __attribute__((always_inline)) void transpose8(__m256 r[8])
{
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20), r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20), r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31), r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31), r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* Where lane l reads or writes a row of its window: an 8-float load at
 * column xs (inside the row), a permutation bringing column x0 + j to
 * position j, and the positions j < span whose column is inside [0, W). */
typedef struct row_map {
    int xs;
    __m256i idx, keep;
} row_map;

TGT static inline __attribute__((always_inline)) row_map map_row(int x0, int W, int span)
{
    row_map r;
    r.xs = x0 < 0 ? 0 : x0 + 8 > W ? W - 8 : x0;
    __m256i j = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), x = _mm256_add_epi32(j, _mm256_set1_epi32(x0));
    r.idx = _mm256_sub_epi32(x, _mm256_set1_epi32(r.xs));
    __m256i in = _mm256_and_si256(_mm256_cmpgt_epi32(x, _mm256_set1_epi32(-1)), _mm256_cmpgt_epi32(_mm256_set1_epi32(W), x));
    r.keep = _mm256_and_si256(in, _mm256_cmpgt_epi32(_mm256_set1_epi32(span), j));
    return r;
}

/* gather() for 4 x 4 windows (the output gradient of F(4x4)): each row of
 * a lane's window is one 4-float load where it lies inside the plane (the
 * scalar path otherwise), lanes l and l + 4 share a vector, and a 4 x 4
 * transpose in each half gives the window's columns. */
TGT static inline __attribute__((always_inline)) void gather4_avx2(const float *base, long plane_sz, int H, int W,
                                                                   const tile_at *at, int n, v8 *blk)
{
    if (W < 4) {
        gather(base, plane_sz, H, W, at, n, 4, blk);
        return;
    }
    __m128 r[4][LANES]; /* r[i][l]: row i of lane l's window */
    for (int l = 0; l < LANES; l++) {
        if (l >= n) {
            for (int i = 0; i < 4; i++) r[i][l] = _mm_setzero_ps();
            continue;
        }
        int y0 = at[l].y0, x0 = at[l].x0;
        /* a 4-float load inside the row, moved into place and masked where
         * the window runs past the plane's edge */
        int xs = x0 < 0 ? 0 : x0 + 4 > W ? W - 4 : x0;
        __m128i j = _mm_setr_epi32(0, 1, 2, 3), x = _mm_add_epi32(j, _mm_set1_epi32(x0));
        __m128i idx = _mm_sub_epi32(x, _mm_set1_epi32(xs));
        __m128 keep = _mm_castsi128_ps(_mm_and_si128(_mm_cmpgt_epi32(x, _mm_set1_epi32(-1)),
                                                     _mm_cmpgt_epi32(_mm_set1_epi32(W), x)));
        const float *src = base + at[l].plane * plane_sz + xs;
        for (int i = 0; i < 4; i++) {
            int y = y0 + i;
            r[i][l] = y < 0 || y >= H ? _mm_setzero_ps()
                                      : _mm_and_ps(_mm_permutevar_ps(_mm_loadu_ps(src + (long)y * W), idx), keep);
        }
    }
    for (int i = 0; i < 4; i++) {
        __m256 v0 = _mm256_set_m128(r[i][4], r[i][0]), v1 = _mm256_set_m128(r[i][5], r[i][1]);
        __m256 v2 = _mm256_set_m128(r[i][6], r[i][2]), v3 = _mm256_set_m128(r[i][7], r[i][3]);
        __m256 t0 = _mm256_unpacklo_ps(v0, v1), t1 = _mm256_unpackhi_ps(v0, v1);
        __m256 t2 = _mm256_unpacklo_ps(v2, v3), t3 = _mm256_unpackhi_ps(v2, v3);
        _mm256_storeu_ps((float *)&blk[i * 4 + 0], _mm256_shuffle_ps(t0, t2, 0x44));
        _mm256_storeu_ps((float *)&blk[i * 4 + 1], _mm256_shuffle_ps(t0, t2, 0xEE));
        _mm256_storeu_ps((float *)&blk[i * 4 + 2], _mm256_shuffle_ps(t1, t3, 0x44));
        _mm256_storeu_ps((float *)&blk[i * 4 + 3], _mm256_shuffle_ps(t1, t3, 0xEE));
    }
}

/* gather() through one 8-float load per lane and row, a permutation and a
 * mask, then an 8 x 8 transpose per row of the window.  Planes narrower
 * than 8 take the scalar path. */
TGT static inline __attribute__((always_inline)) void gather_avx2(const float *base, long plane_sz, int H, int W, const tile_at *at, int n, int span,
                            v8 *blk)
{
    if (span == 4) {
        gather4_avx2(base, plane_sz, H, W, at, n, blk);
        return;
    }
    if (W < 8) {
        gather(base, plane_sz, H, W, at, n, span, blk);
        return;
    }
    row_map map[LANES];
    for (int l = 0; l < n; l++) map[l] = map_row(at[l].x0, W, span);
    for (int i = 0; i < span; i++) {
        __m256 r[8];
        for (int l = 0; l < LANES; l++) {
            int y = l < n ? at[l].y0 + i : -1;
            if (y < 0 || y >= H) {
                r[l] = _mm256_setzero_ps();
                continue;
            }
            __m256 v = _mm256_loadu_ps(base + at[l].plane * plane_sz + (long)y * W + map[l].xs);
            v = _mm256_permutevar8x32_ps(v, map[l].idx);
            r[l] = _mm256_and_ps(v, _mm256_castsi256_ps(map[l].keep));
        }
        transpose8(r);
        for (int j = 0; j < span; j++) _mm256_storeu_ps((float *)&blk[i * span + j], r[j]);
    }
}

/* scatter() with accumulation for 6 x 6 windows (the input gradient of
 * F(4x4)): rows transposed back per lane, then each lane's row added with
 * one 8-float load, blend and store where the row lies inside the plane
 * (elements outside the window keep their bits), element by element at the
 * edges; lanes in scatter()'s order. */
TGT static inline __attribute__((always_inline)) void scatter_add6_avx2(float *base, long plane_sz, int H, int W, const tile_at *at, int n,
                                  const v8 *blk)
{
    __m256 rows[6][8];
    for (int i = 0; i < 6; i++) {
        for (int j = 0; j < 6; j++) rows[i][j] = _mm256_loadu_ps((const float *)&blk[i * 6 + j]);
        rows[i][6] = rows[i][7] = _mm256_setzero_ps();
        transpose8(rows[i]); /* rows[i][l] = row i of lane l's window */
    }
    for (int k = 0; k < n; k++) {
        int l = 2 * k < n ? 2 * k : 2 * (k - (n + 1) / 2) + 1;
        float *pl = base + at[l].plane * plane_sz;
        int y0 = at[l].y0, x0 = at[l].x0;
        bool whole = x0 >= 0 && x0 + 8 <= W;
        for (int i = 0; i < 6; i++) {
            int y = y0 + i;
            if (y < 0 || y >= H) continue;
            float *d = pl + (long)y * W + x0;
            if (whole) {
                __m256 old = _mm256_loadu_ps(d);
                _mm256_storeu_ps(d, _mm256_blend_ps(old, _mm256_add_ps(old, rows[i][l]), 0x3f));
            } else {
                float t[8];
                _mm256_storeu_ps(t, rows[i][l]);
                for (int j = 0; j < 6; j++)
                    if (x0 + j >= 0 && x0 + j < W) d[j] = d[j] + t[j];
            }
        }
    }
}

/* scatter() for 4 x 4 output tiles without accumulation: each row of the
 * eight tiles is transposed in registers into one 4-float row per lane and
 * stored whole; partial rows (the right edge) and tiles below the plane
 * go through the scalar path. */
TGT static inline __attribute__((always_inline)) void scatter_avx2(float *base, long plane_sz, int H, int W, const tile_at *at, int n, int span,
                             const v8 *blk, bool add)
{
    if (span == 6 && add) {
        scatter_add6_avx2(base, plane_sz, H, W, at, n, blk);
        return;
    }
    if (span != 4 || add) {
        scatter(base, plane_sz, H, W, at, n, span, blk, add);
        return;
    }
    /* rows[i][l & 3]: row i of lanes l (low half) and l + 4 (high half) */
    __m256 rows[4][4];
    for (int i = 0; i < 4; i++) {
        __m256 o0 = _mm256_loadu_ps((const float *)&blk[i * 4 + 0]), o1 = _mm256_loadu_ps((const float *)&blk[i * 4 + 1]);
        __m256 o2 = _mm256_loadu_ps((const float *)&blk[i * 4 + 2]), o3 = _mm256_loadu_ps((const float *)&blk[i * 4 + 3]);
        __m256 t0 = _mm256_unpacklo_ps(o0, o1), t1 = _mm256_unpackhi_ps(o0, o1);
        __m256 t2 = _mm256_unpacklo_ps(o2, o3), t3 = _mm256_unpackhi_ps(o2, o3);
        rows[i][0] = _mm256_shuffle_ps(t0, t2, 0x44), rows[i][1] = _mm256_shuffle_ps(t0, t2, 0xEE);
        rows[i][2] = _mm256_shuffle_ps(t1, t3, 0x44), rows[i][3] = _mm256_shuffle_ps(t1, t3, 0xEE);
    }
    for (int l = 0; l < n; l++) {
        int y0 = at[l].y0, x0 = at[l].x0;
        float *d = base + at[l].plane * plane_sz + (long)y0 * W + x0;
        __m128 r[4];
        for (int i = 0; i < 4; i++)
            r[i] = l < 4 ? _mm256_castps256_ps128(rows[i][l]) : _mm256_extractf128_ps(rows[i][l - 4], 1);
        if (y0 >= 0 && y0 + 4 <= H && x0 >= 0 && x0 + 4 <= W) { /* the whole tile inside */
            for (int i = 0; i < 4; i++) _mm_storeu_ps(d + (long)i * W, r[i]);
            continue;
        }
        for (int i = 0; i < 4; i++) {
            if (y0 + i < 0 || y0 + i >= H) continue;
            float t[4];
            _mm_storeu_ps(t, r[i]);
            for (int j = 0; j < 4; j++)
                if (x0 + j >= 0 && x0 + j < W) d[(long)i * W + j] = t[j];
        }
    }
}
#endif

/* ---- the six kernels, for one tile size --------------------------------- */

INLINE void weights_k(const lam_wino *w, const float *wt, float *U, long q0, long q1, tf1 tf, int a)
{
    long stride = w->su;
    for (long q = q0; q < q1; q += LANES) {
        int n = q1 - q < LANES ? (int)(q1 - q) : LANES;
        v8 g[9], u[36];
        for (int e = 0; e < 9; e++) {
            g[e] = splat(0.0f);
            for (int l = 0; l < n; l++) g[e][l] = wt[(q + l) * 9 + e];
        }
        tf2d(tf, 3, a, g, u);
        for (int x = 0; x < a * a; x++) store_n(U + x * stride + q, &u[x], n);
    }
}

INLINE void weights_grad_k(const lam_wino *w, const float *dU, float *dwt, long q0, long q1, tf1 tf, int a)
{
    long stride = w->su;
    for (long q = q0; q < q1; q += LANES) {
        int n = q1 - q < LANES ? (int)(q1 - q) : LANES;
        v8 u[36], g[9];
        for (int x = 0; x < a * a; x++) load_n(&u[x], dU + x * stride + q, n);
        tf2d(tf, a, 3, u, g);
        for (int l = 0; l < n; l++)
            for (int e = 0; e < 9; e++) dwt[(q + l) * 9 + e] += g[e][l];
    }
}

INLINE void input_k(const lam_wino *w, const float *x, float *V, int c, tf1 tf, int a, gather_fn gather)
{
    long stride = w->sv, hw = (long)w->H * w->W;
    float *row = V + (long)c * w->P;
    tile_walk walk = walk_start(w, c, w->C, w->ph, w->pw);
    for (long p = 0; p < w->P; p += LANES) {
        int n = w->P - p < LANES ? (int)(w->P - p) : LANES;
        tile_at at[LANES];
        walk_next(&walk, at, n);
        v8 d[36], v[36];
        prefetch_rows(row, stride, p, w->P, a * a, true);
        gather(x, hw, w->H, w->W, at, n, a, d);
        tf2d(tf, a, a, d, v);
        for (int e = 0; e < a * a; e++) store_n(row + e * stride + p, &v[e], n);
    }
}

INLINE void input_grad_k(const lam_wino *w, const float *dV, float *dx, int c, tf1 tf, int a, scatter_fn scatter)
{
    long stride = w->sv, hw = (long)w->H * w->W;
    const float *row = dV + (long)c * w->P;
    tile_walk walk = walk_start(w, c, w->C, w->ph, w->pw);
    for (long p = 0; p < w->P; p += LANES) {
        int n = w->P - p < LANES ? (int)(w->P - p) : LANES;
        tile_at at[LANES];
        walk_next(&walk, at, n);
        v8 v[36], d[36];
        prefetch_rows(row, stride, p, w->P, a * a, false);
        for (int e = 0; e < a * a; e++) load_n(&v[e], row + e * stride + p, n);
        tf2d(tf, a, a, v, d);
        scatter(dx, hw, w->H, w->W, at, n, a, d, true);
    }
}

INLINE void output_k(const lam_wino *w, const float *M, float bias, bool relu, float *y, int k, tf1 tf, int a,
                     int m, scatter_fn scatter)
{
    long stride = w->sm, hw = (long)w->OH * w->OW;
    const float *row = M + (long)k * w->P;
    v8 bv = splat(bias);
    tile_walk walk = walk_start(w, k, w->K, 0, 0);
    for (long p = 0; p < w->P; p += LANES) {
        int n = w->P - p < LANES ? (int)(w->P - p) : LANES;
        tile_at at[LANES];
        walk_next(&walk, at, n);
        v8 s[36], o[16];
        prefetch_rows(row, stride, p, w->P, a * a, false);
        for (int e = 0; e < a * a; e++) load_n(&s[e], row + e * stride + p, n);
        tf2d(tf, a, m, s, o);
        for (int e = 0; e < m * m; e++) o[e] += bv;
        if (relu)
            for (int e = 0; e < m * m; e++) o[e] = (v8)((v8i)o[e] & (o[e] > splat(0.0f)));
        scatter(y, hw, w->OH, w->OW, at, n, m, o, false);
    }
}

INLINE void output_grad_k(const lam_wino *w, const float *dy, float *dM, int k, tf1 tf, int a, int m,
                          gather_fn gather)
{
    long stride = w->sm, hw = (long)w->OH * w->OW;
    float *row = dM + (long)k * w->P;
    tile_walk walk = walk_start(w, k, w->K, 0, 0);
    for (long p = 0; p < w->P; p += LANES) {
        int n = w->P - p < LANES ? (int)(w->P - p) : LANES;
        tile_at at[LANES];
        walk_next(&walk, at, n);
        v8 o[16], s[36];
        prefetch_rows(row, stride, p, w->P, a * a, true);
        gather(dy, hw, w->OH, w->OW, at, n, m, o);
        tf2d(tf, m, a, o, s);
        for (int e = 0; e < a * a; e++) store_n(row + e * stride + p, &s[e], n);
    }
}

/* Each kernel for both tile sizes, in two builds: AVX2 and baseline. */
#define KERNELS(SUF, ATTR, GATHER, SCATTER)                                                                            \
    ATTR static void weights_##SUF(const lam_wino *w, const float *wt, float *U, long q0, long q1)      \
    {                                                                                                 \
        if (w->m == 4) weights_k(w, wt, U, q0, q1, g6, 6);                                           \
        else weights_k(w, wt, U, q0, q1, g4, 4);                                                      \
    }                                                                                                 \
    ATTR static void weights_grad_##SUF(const lam_wino *w, const float *dU, float *dwt, long q0, long q1) \
    {                                                                                                 \
        if (w->m == 4) weights_grad_k(w, dU, dwt, q0, q1, gt6, 6);                                    \
        else weights_grad_k(w, dU, dwt, q0, q1, gt4, 4);                                              \
    }                                                                                                 \
    ATTR static void input_##SUF(const lam_wino *w, const float *x, float *V, int c)                  \
    {                                                                                                 \
        if (w->m == 4) input_k(w, x, V, c, bt6, 6, GATHER);                                           \
        else input_k(w, x, V, c, bt4, 4, GATHER);                                                     \
    }                                                                                                 \
    ATTR static void input_grad_##SUF(const lam_wino *w, const float *dV, float *dx, int c)           \
    {                                                                                                 \
        if (w->m == 4) input_grad_k(w, dV, dx, c, b6, 6, SCATTER);                                    \
        else input_grad_k(w, dV, dx, c, b4, 4, SCATTER);                                              \
    }                                                                                                 \
    ATTR static void output_##SUF(const lam_wino *w, const float *M, float bias, bool relu, float *y, int k) \
    {                                                                                                 \
        if (w->m == 4) output_k(w, M, bias, relu, y, k, at6, 6, 4, SCATTER);                          \
        else output_k(w, M, bias, relu, y, k, at4, 4, 2, SCATTER);                                    \
    }                                                                                                 \
    ATTR static void output_grad_##SUF(const lam_wino *w, const float *dy, float *dM, int k)          \
    {                                                                                                 \
        if (w->m == 4) output_grad_k(w, dy, dM, k, a6, 6, 4, GATHER);                                 \
        else output_grad_k(w, dy, dM, k, a4, 4, 2, GATHER);                                           \
    }

KERNELS(base, , gather, scatter)
#if defined(__x86_64__) || defined(__i386__)
#define HAVE_AVX2_BUILD 1
KERNELS(avx2, TGT, gather_avx2, scatter_avx2)
static atomic_bool force_base_; /* test hook only */
void lam_wino_force_base(bool on) { atomic_store_explicit(&force_base_, on, memory_order_relaxed); }
#define PICK(name)                                                                         \
    (!atomic_load_explicit(&force_base_, memory_order_relaxed) && __builtin_cpu_supports("avx2") \
         ? name##_avx2                                                                     \
         : name##_base)
#else
void lam_wino_force_base(bool on) { (void)on; }
#define PICK(name) name##_base
#endif

bool lam_wino_setup(lam_wino *w, int m, long B, int C, int K, int H, int W, int ph, int pw)
{
    memset(w, 0, sizeof *w);
    if ((m != 2 && m != 4) || B < 1 || C < 1 || K < 1 || ph < 0 || pw < 0) return false;
    int OH = H + 2 * ph - 2, OW = W + 2 * pw - 2;
    if (OH < 1 || OW < 1) return false;
    *w = (lam_wino){.m = m, .a = m + 2, .C = C, .K = K, .H = H, .W = W, .ph = ph, .pw = pw, .OH = OH, .OW = OW,
                    .th = (OH + m - 1) / m, .tw = (OW + m - 1) / m, .B = B};
    w->T = (long)w->th * w->tw;
    w->P = B * w->T;
    w->su = ((long)K * C + 15) / 16 * 16 + 16;
    w->sv = ((long)C * w->P + 15) / 16 * 16 + 16;
    w->sm = ((long)K * w->P + 15) / 16 * 16 + 16;
    return true;
}

void lam_wino_weights(const lam_wino *w, const float *wt, float *U, long q0, long q1)
{
    PICK(weights)(w, wt, U, q0, q1);
}
void lam_wino_weights_grad(const lam_wino *w, const float *dU, float *dwt, long q0, long q1)
{
    PICK(weights_grad)(w, dU, dwt, q0, q1);
}
void lam_wino_input(const lam_wino *w, const float *x, float *V, int c) { PICK(input)(w, x, V, c); }
void lam_wino_input_grad(const lam_wino *w, const float *dV, float *dx, int c) { PICK(input_grad)(w, dV, dx, c); }
void lam_wino_output(const lam_wino *w, const float *M, float bias, bool relu, float *y, int k)
{
    PICK(output)(w, M, bias, relu, y, k);
}
void lam_wino_output_grad(const lam_wino *w, const float *dy, float *dM, int k) { PICK(output_grad)(w, dy, dM, k); }
