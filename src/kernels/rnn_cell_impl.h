/* The recurrent cell kernels, written once and compiled three times by
 * rnn_cell.c (AVX-512, AVX2 and portable builds): it defines TGT (the
 * target attribute), SIMD (the loop pragma) and SFX (the name suffix) and
 * includes this file.  See rnn_cell.h for the layout and the contract.
 * Every operation is an IEEE operation or fmaf, never contracted by the
 * compiler (ISO C mode), so all three builds give the same bits. */

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SFX)

TGT static void FN(lstm_fwd)(const lam_rnn_step *s)
{
    const int UB = LAM_RNN_UB;
    for (int b = 0; b < s->B; b++) {
        const float *hp = s->h_prev + (int64_t)b * s->H, *cp = s->c_prev + (int64_t)b * s->H;
        float *h = s->h + (int64_t)b * s->H, *c = s->c + (int64_t)b * s->H;
        if (s->valid && !s->valid[b]) {
            for (int j = s->j0; j < s->j1; j++) h[j] = hp[j], c[j] = cp[j];
            continue;
        }
        for (int j = s->j0; j < s->j1; j += UB) {
            float *gb = s->g + (int64_t)b * s->GW + (int64_t)(j / UB) * 4 * UB;
            int nl = s->j1 - j < UB ? s->j1 - j : UB;
            SIMD
            for (int l = 0; l < nl; l++) {
                float i = rc_sigmoid(gb[l]), f = rc_sigmoid(gb[UB + l]);
                float gg = rc_tanh(gb[2 * UB + l]), o = rc_sigmoid(gb[3 * UB + l]);
                float cn = f * cp[j + l] + i * gg;
                gb[l] = i, gb[UB + l] = f, gb[2 * UB + l] = gg, gb[3 * UB + l] = o;
                c[j + l] = cn;
                h[j + l] = o * rc_tanh(cn);
            }
        }
    }
}

TGT static void FN(lstm_bwd)(const lam_rnn_step *s)
{
    const int UB = LAM_RNN_UB;
    for (int b = 0; b < s->B; b++) {
        bool ok = !s->valid || s->valid[b];
        const float *cp = s->c_prev + (int64_t)b * s->H, *c = s->c + (int64_t)b * s->H;
        const float *dh = s->dh + (int64_t)b * s->H;
        float *dc = s->dc + (int64_t)b * s->H;
        for (int j = s->j0; j < s->j1; j += UB) {
            float *gb = s->g + (int64_t)b * s->GW + (int64_t)(j / UB) * 4 * UB;
            int nl = s->j1 - j < UB ? s->j1 - j : UB;
            if (!ok) {
                for (int l = 0; l < 4 * UB; l++) gb[l] = 0.0f;
                continue;
            }
            SIMD
            for (int l = 0; l < nl; l++) {
                float i = gb[l], f = gb[UB + l], gg = gb[2 * UB + l], o = gb[3 * UB + l];
                float tc = rc_tanh(c[j + l]), d = dh[j + l];
                float dcv = dc[j + l] + d * o * (1.0f - tc * tc);
                dc[j + l] = dcv * f;
                gb[l] = dcv * gg * i * (1.0f - i);
                gb[UB + l] = dcv * cp[j + l] * f * (1.0f - f);
                gb[2 * UB + l] = dcv * i * (1.0f - gg * gg);
                gb[3 * UB + l] = d * tc * o * (1.0f - o);
            }
        }
    }
}

TGT static void FN(gru_fwd)(const lam_rnn_step *s)
{
    const int UB = LAM_RNN_UB;
    for (int b = 0; b < s->B; b++) {
        const float *hp = s->h_prev + (int64_t)b * s->H;
        float *h = s->h + (int64_t)b * s->H;
        if (s->valid && !s->valid[b]) {
            for (int j = s->j0; j < s->j1; j++) h[j] = hp[j];
            continue;
        }
        for (int j = s->j0; j < s->j1; j += UB) {
            int64_t off = (int64_t)b * s->GW + (int64_t)(j / UB) * 3 * UB;
            float *gb = s->g + off;
            const float *rb = s->r + off;
            int nl = s->j1 - j < UB ? s->j1 - j : UB;
            SIMD
            for (int l = 0; l < nl; l++) {
                float r = rc_sigmoid(gb[l] + rb[l]), z = rc_sigmoid(gb[UB + l] + rb[UB + l]);
                float n = rc_tanh(gb[2 * UB + l] + r * rb[2 * UB + l]);
                gb[l] = r, gb[UB + l] = z, gb[2 * UB + l] = n;
                h[j + l] = (1.0f - z) * n + z * hp[j + l];
            }
        }
    }
}

TGT static void FN(gru_bwd)(const lam_rnn_step *s)
{
    const int UB = LAM_RNN_UB;
    for (int b = 0; b < s->B; b++) {
        bool ok = !s->valid || s->valid[b];
        const float *hp = s->h_prev + (int64_t)b * s->H, *dh = s->dh + (int64_t)b * s->H;
        float *dhd = s->dhd + (int64_t)b * s->H;
        for (int j = s->j0; j < s->j1; j += UB) {
            int64_t off = (int64_t)b * s->GW + (int64_t)(j / UB) * 3 * UB;
            float *gb = s->g + off, *rb = s->r + off;
            int nl = s->j1 - j < UB ? s->j1 - j : UB;
            if (!ok) {
                for (int l = 0; l < 3 * UB; l++) gb[l] = rb[l] = 0.0f;
                for (int l = 0; l < nl; l++) dhd[j + l] = dh[j + l];
                continue;
            }
            SIMD
            for (int l = 0; l < nl; l++) {
                float r = gb[l], z = gb[UB + l], n = gb[2 * UB + l], d = dh[j + l];
                float dn = d * (1.0f - z) * (1.0f - n * n);
                float dz = d * (hp[j + l] - n) * z * (1.0f - z);
                float dr = dn * rb[2 * UB + l] * r * (1.0f - r);
                dhd[j + l] = d * z;
                gb[l] = dr, gb[UB + l] = dz, gb[2 * UB + l] = dn;
                rb[l] = dr, rb[UB + l] = dz, rb[2 * UB + l] = dn * r;
            }
        }
    }
}

TGT static void FN(rnn_fwd)(const lam_rnn_step *s)
{
    const int UB = LAM_RNN_UB;
    bool relu = s->cell == LAM_RNN_RELU;
    for (int b = 0; b < s->B; b++) {
        const float *hp = s->h_prev + (int64_t)b * s->H;
        float *h = s->h + (int64_t)b * s->H;
        if (s->valid && !s->valid[b]) {
            for (int j = s->j0; j < s->j1; j++) h[j] = hp[j];
            continue;
        }
        float *gb = s->g + (int64_t)b * s->GW;
        int j1 = s->j1;
        (void)UB;
        if (relu) {
            SIMD
            for (int j = s->j0; j < j1; j++) h[j] = gb[j] = gb[j] > 0.0f ? gb[j] : 0.0f;
        } else {
            SIMD
            for (int j = s->j0; j < j1; j++) h[j] = gb[j] = rc_tanh(gb[j]);
        }
    }
}

TGT static void FN(rnn_bwd)(const lam_rnn_step *s)
{
    bool relu = s->cell == LAM_RNN_RELU;
    for (int b = 0; b < s->B; b++) {
        float *gb = s->g + (int64_t)b * s->GW;
        const float *dh = s->dh + (int64_t)b * s->H;
        int j1 = s->j1;
        if (s->valid && !s->valid[b]) {
            for (int j = s->j0; j < j1; j++) gb[j] = 0.0f;
            continue;
        }
        if (relu) {
            SIMD
            for (int j = s->j0; j < j1; j++) gb[j] = gb[j] > 0.0f ? dh[j] : 0.0f;
        } else {
            SIMD
            for (int j = s->j0; j < j1; j++) gb[j] = dh[j] * (1.0f - gb[j] * gb[j]);
        }
    }
}

TGT static void FN(sigmoid_n)(const float *x, float *y, long n)
{
    SIMD
    for (long i = 0; i < n; i++) y[i] = rc_sigmoid(x[i]);
}

TGT static void FN(tanh_n)(const float *x, float *y, long n)
{
    SIMD
    for (long i = 0; i < n; i++) y[i] = rc_tanh(x[i]);
}

TGT static void FN(step_fwd)(const lam_rnn_step *s)
{
    switch (s->cell) {
    case LAM_RNN_LSTM: FN(lstm_fwd)(s); break;
    case LAM_RNN_GRU: FN(gru_fwd)(s); break;
    default: FN(rnn_fwd)(s); break;
    }
}

TGT static void FN(step_bwd)(const lam_rnn_step *s)
{
    switch (s->cell) {
    case LAM_RNN_LSTM: FN(lstm_bwd)(s); break;
    case LAM_RNN_GRU: FN(gru_bwd)(s); break;
    default: FN(rnn_bwd)(s); break;
    }
}

#undef FN
#undef CAT
#undef CAT_
