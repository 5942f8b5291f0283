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
    const int H = s->H, j0 = s->j0, j1 = s->j1;
    for (int b = 0; b < s->B; b++) {
        const float *hp = s->h_prev + (int64_t)b * H, *cp = s->c_prev + (int64_t)b * H;
        float *h = s->h + (int64_t)b * H, *c = s->c + (int64_t)b * H;
        if (s->valid && !s->valid[b]) {
            for (int j = j0; j < j1; j++) h[j] = hp[j], c[j] = cp[j];
            continue;
        }
        float *gi = s->g + (int64_t)b * s->GW, *gf = gi + H, *gg = gi + 2 * H, *go = gi + 3 * H;
        SIMD
        for (int j = j0; j < j1; j++) {
            float i = rc_sigmoid(gi[j]), f = rc_sigmoid(gf[j]), g = rc_tanh(gg[j]), o = rc_sigmoid(go[j]);
            float cn = f * cp[j] + i * g;
            gi[j] = i, gf[j] = f, gg[j] = g, go[j] = o;
            c[j] = cn;
            h[j] = o * rc_tanh(cn);
        }
    }
}

TGT static void FN(lstm_bwd)(const lam_rnn_step *s)
{
    const int H = s->H, j0 = s->j0, j1 = s->j1;
    for (int b = 0; b < s->B; b++) {
        float *gi = s->g + (int64_t)b * s->GW, *gf = gi + H, *gg = gi + 2 * H, *go = gi + 3 * H;
        if (s->valid && !s->valid[b]) {
            for (int j = j0; j < j1; j++) gi[j] = gf[j] = gg[j] = go[j] = 0.0f;
            continue;
        }
        const float *cp = s->c_prev + (int64_t)b * H, *c = s->c + (int64_t)b * H;
        const float *dh = s->dh + (int64_t)b * H;
        float *dc = s->dc + (int64_t)b * H;
        SIMD
        for (int j = j0; j < j1; j++) {
            float i = gi[j], f = gf[j], g = gg[j], o = go[j];
            float tc = rc_tanh(c[j]), d = dh[j];
            float dcv = dc[j] + d * o * (1.0f - tc * tc);
            dc[j] = dcv * f;
            gi[j] = dcv * g * i * (1.0f - i);
            gf[j] = dcv * cp[j] * f * (1.0f - f);
            gg[j] = dcv * i * (1.0f - g * g);
            go[j] = d * tc * o * (1.0f - o);
        }
    }
}

TGT static void FN(gru_fwd)(const lam_rnn_step *s)
{
    const int H = s->H, j0 = s->j0, j1 = s->j1;
    for (int b = 0; b < s->B; b++) {
        const float *hp = s->h_prev + (int64_t)b * H;
        float *h = s->h + (int64_t)b * H;
        if (s->valid && !s->valid[b]) {
            for (int j = j0; j < j1; j++) h[j] = hp[j];
            continue;
        }
        float *gr = s->g + (int64_t)b * s->GW, *gz = gr + H, *gn = gr + 2 * H;
        const float *rr = s->r + (int64_t)b * s->GW, *rz = rr + H, *rn = rr + 2 * H;
        SIMD
        for (int j = j0; j < j1; j++) {
            float r = rc_sigmoid(gr[j] + rr[j]), z = rc_sigmoid(gz[j] + rz[j]);
            float n = rc_tanh(gn[j] + r * rn[j]);
            gr[j] = r, gz[j] = z, gn[j] = n;
            h[j] = (1.0f - z) * n + z * hp[j];
        }
    }
}

TGT static void FN(gru_bwd)(const lam_rnn_step *s)
{
    const int H = s->H, j0 = s->j0, j1 = s->j1;
    for (int b = 0; b < s->B; b++) {
        const float *hp = s->h_prev + (int64_t)b * H, *dh = s->dh + (int64_t)b * H;
        float *dhd = s->dhd + (int64_t)b * H;
        float *gr = s->g + (int64_t)b * s->GW, *gz = gr + H, *gn = gr + 2 * H;
        float *rr = s->r + (int64_t)b * s->GW, *rz = rr + H, *rn = rr + 2 * H;
        if (s->valid && !s->valid[b]) {
            for (int j = j0; j < j1; j++) {
                gr[j] = gz[j] = gn[j] = rr[j] = rz[j] = rn[j] = 0.0f;
                dhd[j] = dh[j];
            }
            continue;
        }
        SIMD
        for (int j = j0; j < j1; j++) {
            float r = gr[j], z = gz[j], n = gn[j], d = dh[j];
            float dn = d * (1.0f - z) * (1.0f - n * n);
            float dz = d * (hp[j] - n) * z * (1.0f - z);
            float dr = dn * rn[j] * r * (1.0f - r);
            dhd[j] = d * z;
            gr[j] = dr, gz[j] = dz, gn[j] = dn;
            rr[j] = dr, rz[j] = dz, rn[j] = dn * r;
        }
    }
}

TGT static void FN(rnn_fwd)(const lam_rnn_step *s)
{
    const int H = s->H, j0 = s->j0, j1 = s->j1;
    bool relu = s->cell == LAM_RNN_RELU;
    for (int b = 0; b < s->B; b++) {
        const float *hp = s->h_prev + (int64_t)b * H;
        float *h = s->h + (int64_t)b * H;
        if (s->valid && !s->valid[b]) {
            for (int j = j0; j < j1; j++) h[j] = hp[j];
            continue;
        }
        float *g = s->g + (int64_t)b * s->GW;
        if (relu) {
            SIMD
            for (int j = j0; j < j1; j++) h[j] = g[j] = g[j] > 0.0f ? g[j] : 0.0f;
        } else {
            SIMD
            for (int j = j0; j < j1; j++) h[j] = g[j] = rc_tanh(g[j]);
        }
    }
}

TGT static void FN(rnn_bwd)(const lam_rnn_step *s)
{
    const int H = s->H, j0 = s->j0, j1 = s->j1;
    bool relu = s->cell == LAM_RNN_RELU;
    for (int b = 0; b < s->B; b++) {
        float *g = s->g + (int64_t)b * s->GW;
        const float *dh = s->dh + (int64_t)b * H;
        if (s->valid && !s->valid[b]) {
            for (int j = j0; j < j1; j++) g[j] = 0.0f;
            continue;
        }
        if (relu) {
            SIMD
            for (int j = j0; j < j1; j++) g[j] = g[j] > 0.0f ? dh[j] : 0.0f;
        } else {
            SIMD
            for (int j = j0; j < j1; j++) g[j] = dh[j] * (1.0f - g[j] * g[j]);
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
