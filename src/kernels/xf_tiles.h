/* The register tiles of the attention products, written once and compiled
 * for AVX-512 and AVX2 by xf.c, which defines TGT, the vector type VT of VW
 * floats, a lane mask type MT with MASK(w) (the first w lanes, w clamped to
 * 0..VW), masked LD / ST that touch no memory outside the mask, FMA, SET1,
 * ZERO, MUL, and the suffix SFX.  A tile is LAM_XF_R rows x 2 vectors in
 * 2 LAM_XF_R registers.  Every output is the fma chain of the portable
 * loops in xf_impl.h (zero start, one fma per term in index order, the
 * scale applied after), so the tiles give their bits exactly. */

#define TCAT_(a, b) a##b
#define TCAT(a, b) TCAT_(a, b)
#define TFN(name) TCAT(name, SFX)

TGT static void TFN(scores_tile)(int R, int n, int D, float scale, const float *A, long lda, const float *BT, long ldb,
                                 float *S, long lds)
{
    const float *ar[LAM_XF_R];
    for (int r = 0; r < LAM_XF_R; r++) ar[r] = A + (r < R ? r : R - 1) * lda;
    const VT vs = SET1(scale);
    for (int j0 = 0; j0 < n; j0 += 2 * VW) {
        int w = n - j0;
        MT m0 = MASK(w), m1 = MASK(w - VW);
        VT c[LAM_XF_R][2];
#pragma GCC unroll 8
        for (int r = 0; r < LAM_XF_R; r++) c[r][0] = c[r][1] = ZERO();
        for (int d = 0; d < D; d++) {
            const float *bt = BT + d * ldb + j0;
            VT b0 = LD(m0, bt), b1 = LD(m1, bt + VW);
#pragma GCC unroll 8
            for (int r = 0; r < LAM_XF_R; r++) {
                VT a = SET1(ar[r][d]);
                c[r][0] = FMA(a, b0, c[r][0]);
                c[r][1] = FMA(a, b1, c[r][1]);
            }
        }
#pragma GCC unroll 8
        for (int r = 0; r < LAM_XF_R; r++)
            if (r < R) {
                ST(S + r * lds + j0, m0, MUL(c[r][0], vs));
                ST(S + r * lds + j0 + VW, m1, MUL(c[r][1], vs));
            }
    }
}

TGT static void TFN(pv_tile)(int R, int n, int D, const float *P, long ldp, const float *V, long ldv, float *O, long ldo,
                             bool accumulate)
{
    const float *pr[LAM_XF_R];
    for (int r = 0; r < LAM_XF_R; r++) pr[r] = P + (r < R ? r : R - 1) * ldp;
    for (int d0 = 0; d0 < D; d0 += 2 * VW) {
        int w = D - d0;
        MT m0 = MASK(w), m1 = MASK(w - VW);
        VT c[LAM_XF_R][2];
#pragma GCC unroll 8
        for (int r = 0; r < LAM_XF_R; r++) {
            if (accumulate && r < R) {
                c[r][0] = LD(m0, O + r * ldo + d0);
                c[r][1] = LD(m1, O + r * ldo + d0 + VW);
            } else {
                c[r][0] = c[r][1] = ZERO();
            }
        }
        for (int j = 0; j < n; j++) {
            const float *v = V + j * ldv + d0;
            VT v0 = LD(m0, v), v1 = LD(m1, v + VW);
#pragma GCC unroll 8
            for (int r = 0; r < LAM_XF_R; r++) {
                VT p = SET1(pr[r][j]);
                c[r][0] = FMA(p, v0, c[r][0]);
                c[r][1] = FMA(p, v1, c[r][1]);
            }
        }
#pragma GCC unroll 8
        for (int r = 0; r < LAM_XF_R; r++)
            if (r < R) {
                ST(O + r * ldo + d0, m0, c[r][0]);
                ST(O + r * ldo + d0 + VW, m1, c[r][1]);
            }
    }
}

TGT static void TFN(pta_tile)(int R, int n, int D, const float *P, long ldp, const float *A, long lda, float *G,
                              long ldg)
{
    for (int j0 = 0; j0 < n; j0 += 8) {
        int nj = n - j0 < 8 ? n - j0 : 8;
        for (int d0 = 0; d0 < D; d0 += 2 * VW) {
            int w = D - d0;
            MT m0 = MASK(w), m1 = MASK(w - VW);
            VT c[8][2];
#pragma GCC unroll 8
            for (int k = 0; k < 8; k++) {
                if (k < nj) {
                    c[k][0] = LD(m0, G + (j0 + k) * ldg + d0);
                    c[k][1] = LD(m1, G + (j0 + k) * ldg + d0 + VW);
                } else {
                    c[k][0] = c[k][1] = ZERO();
                }
            }
            for (int r = 0; r < R; r++) {
                const float *a = A + r * lda + d0, *p = P + r * ldp + j0;
                VT a0 = LD(m0, a), a1 = LD(m1, a + VW);
#pragma GCC unroll 8
                for (int k = 0; k < 8; k++) {
                    VT pk = SET1(p[k < nj ? k : nj - 1]);
                    c[k][0] = FMA(pk, a0, c[k][0]);
                    c[k][1] = FMA(pk, a1, c[k][1]);
                }
            }
#pragma GCC unroll 8
            for (int k = 0; k < 8; k++)
                if (k < nj) {
                    ST(G + (j0 + k) * ldg + d0, m0, c[k][0]);
                    ST(G + (j0 + k) * ldg + d0 + VW, m1, c[k][1]);
                }
        }
    }
}

#undef TFN
#undef TCAT
#undef TCAT_
