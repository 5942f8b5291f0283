/* The optimiser object: hyper-parameter defaults and checks, creation over
 * flat arrays described by spans, the per-kind update kernels (SGD, Adam,
 * AdamW, RMSprop, Adagrad, written term for term like torch.optim 1.13's
 * single-tensor code paths), group setters, step counters and named state
 * buffers for checkpoints.  Clipping lives in clip.c, schedules in
 * schedule.c. */
#include "lamina/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* Spans shorter than this are updated on the calling thread: an OpenMP
 * region costs more than the work below it. */
#define PAR_MIN ((size_t)32768)
#define PAR_CHUNK ((size_t)8192)
#define NSLOT 3

typedef struct span_ {
    size_t off, n;
    int group;
    size_t idx; /* index in the caller's array, for messages during creation */
} span_;

struct lam_optim {
    lam_optim_kind kind;
    size_t total;
    span_ *spans;
    size_t nspans;
    lam_param_group *groups;
    int ngroups;
    uint64_t step;    /* lam_optim_step calls */
    uint64_t *gstep;  /* per group: non-frozen steps */
    float *buf[NSLOT];      /* state buffers, `total` floats, NULL if absent */
    uint8_t *init[NSLOT];   /* per buffer: ngroups "initialised" flags */
};

/* ---- names -------------------------------------------------------------- */

static const char *const kind_names[LAM_OPTIM_COUNT_] = {"sgd", "adam", "adamw", "rmsprop",
                                                         "adagrad"};

/* State slot names per kind, in the order lam_optim_state_at reports them. */
static const char *const slot_names[LAM_OPTIM_COUNT_][NSLOT] = {
    [LAM_OPTIM_SGD] = {"momentum_buffer", NULL, NULL},
    [LAM_OPTIM_ADAM] = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
    [LAM_OPTIM_ADAMW] = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
    [LAM_OPTIM_RMSPROP] = {"square_avg", "momentum_buffer", "grad_avg"},
    [LAM_OPTIM_ADAGRAD] = {"sum", NULL, NULL},
};

const char *lam_optim_kind_name(lam_optim_kind kind)
{
    if ((unsigned)kind >= LAM_OPTIM_COUNT_) return "?";
    return kind_names[kind];
}

static bool name_eq_ci(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a, y = *b;
        if (x >= 'A' && x <= 'Z') x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = (char)(y - 'A' + 'a');
        if (x != y) return false;
    }
    return *a == *b;
}

bool lam_optim_kind_from_name(const char *name, lam_optim_kind *out)
{
    if (!name || !out) return false;
    for (int k = 0; k < LAM_OPTIM_COUNT_; k++)
        if (name_eq_ci(name, kind_names[k])) {
            *out = (lam_optim_kind)k;
            return true;
        }
    return false;
}

/* ---- hyper-parameters --------------------------------------------------- */

lam_param_group lam_param_group_defaults(lam_optim_kind kind)
{
    lam_param_group g;
    memset(&g, 0, sizeof g);
    g.lr = 1e-2;
    g.beta1 = 0.9;
    g.beta2 = 0.999;
    g.eps = 1e-8;
    g.alpha = 0.99;
    switch (kind) {
    case LAM_OPTIM_ADAM: g.lr = 1e-3; break;
    case LAM_OPTIM_ADAMW: g.lr = 1e-3; g.weight_decay = 1e-2; break;
    case LAM_OPTIM_ADAGRAD: g.eps = 1e-10; break;
    default: break;
    }
    return g;
}

/* !(x >= lo) also rejects NaN. */
#define NEED(cond, field, hint)                                                              \
    do {                                                                                     \
        if (!(cond))                                                                         \
            return lam_fail(LAM_ERR_ARG, "optim %s, group %d: %s = %g is invalid; hint: %s", \
                            lam_optim_kind_name(kind), index, #field, (double)g->field, hint); \
    } while (0)

lam_status lam_param_group_check(lam_optim_kind kind, const lam_param_group *g, int index)
{
    if ((unsigned)kind >= LAM_OPTIM_COUNT_)
        return lam_fail(LAM_ERR_ARG, "optim: unknown optimiser kind %d", (int)kind);
    if (!g) return lam_fail(LAM_ERR_ARG, "optim: group %d is NULL", index);
    NEED(g->lr >= 0 && isfinite(g->lr), lr, "the learning rate must be finite and >= 0");
    NEED(g->weight_decay >= 0 && isfinite(g->weight_decay), weight_decay,
         "weight decay must be finite and >= 0 (0 disables it)");
    NEED(g->l1 >= 0 && isfinite(g->l1), l1, "the L1 coefficient must be finite and >= 0");
    switch (kind) {
    case LAM_OPTIM_SGD:
        NEED(g->momentum >= 0 && isfinite(g->momentum), momentum,
             "momentum must be finite and >= 0 (0 disables it)");
        NEED(isfinite(g->dampening), dampening, "dampening must be finite");
        if (g->nesterov && (g->momentum <= 0 || g->dampening != 0))
            return lam_fail(LAM_ERR_ARG,
                            "optim sgd, group %d: nesterov needs momentum > 0 and dampening = 0 "
                            "(momentum = %g, dampening = %g); hint: set momentum, e.g. 0.9",
                            index, g->momentum, g->dampening);
        break;
    case LAM_OPTIM_ADAM:
    case LAM_OPTIM_ADAMW:
        NEED(g->eps > 0 && isfinite(g->eps), eps, "eps must be > 0, e.g. 1e-8");
        NEED(g->beta1 >= 0 && g->beta1 < 1, beta1, "betas must lie in [0, 1), e.g. 0.9");
        NEED(g->beta2 >= 0 && g->beta2 < 1, beta2, "betas must lie in [0, 1), e.g. 0.999");
        break;
    case LAM_OPTIM_RMSPROP:
        NEED(g->eps > 0 && isfinite(g->eps), eps, "eps must be > 0, e.g. 1e-8");
        NEED(g->momentum >= 0 && isfinite(g->momentum), momentum,
             "momentum must be finite and >= 0 (0 disables it)");
        NEED(g->alpha >= 0 && g->alpha <= 1, alpha, "alpha must lie in [0, 1], e.g. 0.99");
        break;
    case LAM_OPTIM_ADAGRAD:
        NEED(g->eps > 0 && isfinite(g->eps), eps, "eps must be > 0, e.g. 1e-10");
        NEED(g->lr_decay >= 0 && isfinite(g->lr_decay), lr_decay,
             "lr_decay must be finite and >= 0");
        NEED(g->initial_accumulator_value >= 0 && isfinite(g->initial_accumulator_value),
             initial_accumulator_value, "the initial accumulator must be finite and >= 0");
        break;
    default: break;
    }
    return LAM_OK;
}
#undef NEED

/* Does a group with these settings read/write state slot `s`? */
static bool slot_used(lam_optim_kind kind, const lam_param_group *g, int s)
{
    switch (kind) {
    case LAM_OPTIM_SGD: return s == 0 && g->momentum != 0;
    case LAM_OPTIM_ADAM:
    case LAM_OPTIM_ADAMW: return s < 2 || g->amsgrad;
    case LAM_OPTIM_RMSPROP: return s == 0 || (s == 1 && g->momentum > 0) || (s == 2 && g->centered);
    case LAM_OPTIM_ADAGRAD: return s == 0;
    default: return false;
    }
}

/* ---- creation ----------------------------------------------------------- */

static int span_cmp(const void *a, const void *b)
{
    const span_ *x = a, *y = b;
    if (x->off != y->off) return x->off < y->off ? -1 : 1;
    if (x->n != y->n) return x->n < y->n ? -1 : 1;
    return 0;
}

/* Allocate slot s (zeroed, flags clear). */
static lam_status slot_alloc(lam_optim *o, int s)
{
    float *b = lam_calloc(o->total ? o->total : 1, sizeof(float));
    uint8_t *f = b ? lam_calloc((size_t)o->ngroups, 1) : NULL;
    if (!b || !f) {
        lam_free(b);
        return LAM_ERR_NOMEM;
    }
    o->buf[s] = b;
    o->init[s] = f;
    return LAM_OK;
}

void lam_optim_free(lam_optim *o)
{
    if (!o) return;
    for (int s = 0; s < NSLOT; s++) {
        lam_free(o->buf[s]);
        lam_free(o->init[s]);
    }
    lam_free(o->spans);
    lam_free(o->groups);
    lam_free(o->gstep);
    lam_free(o);
}

static lam_status check_spans(size_t total, const lam_param_span *spans, size_t nspans,
                              int ngroups)
{
    for (size_t i = 0; i < nspans; i++) {
        const lam_param_span *sp = &spans[i];
        const char *nm = sp->name ? sp->name : "(unnamed)";
        size_t end;
        if (sp->group < 0 || sp->group >= ngroups)
            return lam_fail(LAM_ERR_ARG, "optim: span %zu (%s) has group %d, but there are %d groups",
                            i, nm, sp->group, ngroups);
        if (!lam_add_size(sp->offset, sp->numel, &end) || end > total)
            return lam_fail(LAM_ERR_ARG,
                            "optim: span %zu (%s) covers [%zu, %zu + %zu), outside the %zu "
                            "parameters",
                            i, nm, sp->offset, sp->offset, sp->numel, total);
    }
    return LAM_OK;
}

lam_status lam_optim_create(lam_optim_kind kind, size_t total, const lam_param_span *spans,
                            size_t nspans, const lam_param_group *groups, int ngroups,
                            lam_optim **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "optim: out is NULL");
    *out = NULL;
    if ((unsigned)kind >= LAM_OPTIM_COUNT_)
        return lam_fail(LAM_ERR_ARG, "optim: unknown optimiser kind %d", (int)kind);
    if (ngroups < 1 || !groups)
        return lam_fail(LAM_ERR_ARG, "optim: need at least one parameter group (got %d%s)",
                        ngroups, groups ? "" : ", groups NULL");
    if (nspans && !spans) return lam_fail(LAM_ERR_ARG, "optim: spans is NULL but nspans = %zu", nspans);
    for (int i = 0; i < ngroups; i++) {
        lam_status st = lam_param_group_check(kind, &groups[i], i);
        if (st) return st;
    }
    lam_status st = check_spans(total, spans, nspans, ngroups);
    if (st) return st;

    lam_optim *o = lam_calloc(1, sizeof *o);
    if (!o) return LAM_ERR_NOMEM;
    o->kind = kind;
    o->total = total;
    o->ngroups = ngroups;
    o->nspans = nspans;
    o->groups = lam_calloc((size_t)ngroups, sizeof *o->groups);
    o->gstep = o->groups ? lam_calloc((size_t)ngroups, sizeof *o->gstep) : NULL;
    o->spans = o->gstep ? lam_calloc(nspans ? nspans : 1, sizeof *o->spans) : NULL;
    if (!o->spans) {
        lam_optim_free(o);
        return LAM_ERR_NOMEM;
    }
    memcpy(o->groups, groups, (size_t)ngroups * sizeof *groups);
    for (size_t i = 0; i < nspans; i++)
        o->spans[i] = (span_){spans[i].offset, spans[i].numel, spans[i].group, i};
    /* Sorted by offset: overlaps show up as neighbours, and the update walks
     * memory forwards. */
    qsort(o->spans, nspans, sizeof *o->spans, span_cmp);
    const span_ *a = NULL; /* the previous non-empty span */
    for (size_t i = 0; i < nspans; i++) {
        const span_ *b = &o->spans[i];
        if (!b->n) continue;
        if (a && a->off + a->n > b->off) {
            size_t ia = a->idx, ib = b->idx;
            const char *na = spans[ia].name, *nb = spans[ib].name;
            lam_optim_free(o);
            return lam_fail(LAM_ERR_ARG,
                            "optim: spans %zu (%s) and %zu (%s) overlap; hint: each parameter "
                            "must belong to exactly one span",
                            ia, na ? na : "(unnamed)", ib, nb ? nb : "(unnamed)");
        }
        a = b;
    }
    for (int s = 0; s < NSLOT; s++) {
        bool need = false;
        for (int g = 0; g < ngroups; g++) need = need || slot_used(kind, &groups[g], s);
        if (need && slot_alloc(o, s) != LAM_OK) {
            lam_optim_free(o);
            return LAM_ERR_NOMEM;
        }
    }
    if (kind == LAM_OPTIM_ADAGRAD) /* torch: state_sum = full_like(p, initial_accumulator_value) */
        for (size_t i = 0; i < nspans; i++) {
            float v = (float)groups[o->spans[i].group].initial_accumulator_value;
            float *b = o->buf[0] + o->spans[i].off;
            for (size_t j = 0; j < o->spans[i].n; j++) b[j] = v;
        }
    *out = o;
    return LAM_OK;
}

lam_optim *lam_optim_new(lam_optim_kind kind, size_t total, const lam_param_span *spans,
                         size_t nspans, const lam_param_group *groups, int ngroups)
{
    lam_optim *o = NULL;
    lam_optim_create(kind, total, spans, nspans, groups, ngroups, &o);
    return o;
}

/* ---- update kernels ----------------------------------------------------- */

/* Per-span constants, rounded to float once like torch's Python scalars. */
typedef struct kcoef {
    lam_optim_kind kind;
    float neg_lr;   /* -lr (SGD, RMSprop), -lr/(1-beta1^t) (Adam), -clr (Adagrad) */
    float wd;       /* coupled L2 (0: none) */
    float decay;    /* AdamW: 1 - lr * wd */
    bool has_decay;
    float l1;
    float mom, damp1; /* momentum, 1 - dampening */
    bool nesterov, first, use_mom;
    float b1, omb1, b2, omb2, bc2_sqrt, eps;
    float alpha, oma;
    bool centered, amsgrad;
    float *s0, *s1, *s2;
} kcoef;

/* `omp simd` lets GCC vectorise these loops at -O2 (its default cost model
 * would not).  Elementwise code with no reassociation: vector and scalar
 * lanes give the same bits.  Loops that call sqrtf stay scalar anyway while
 * math-errno is on (the default). */
#ifdef _OPENMP
#define SIMD _Pragma("omp simd")
#else
#define SIMD
#endif

static inline float sgnf(float x) { return (float)((x > 0) - (x < 0)); }

/* The gradient as the update sees it: + coupled L2 + L1.  Unconditional:
 * adding 0 * w changes nothing for finite weights, and keeping the loops free
 * of branches lets them vectorise. */
static inline float eff_grad(float g, float p, float wd, float l1)
{
    return g + wd * p + l1 * sgnf(p);
}

/* The four SGD update forms, for a given effective-gradient expression EFF
 * (of g[i] and p[i]); instantiated with and without the L1/L2 terms so that
 * the common no-penalty case does no extra arithmetic. */
#define SGD_LOOPS(EFF)                                                                    \
    if (!k->use_mom) {                                                                    \
        SIMD for (size_t i = lo; i < hi; i++) p[i] = p[i] + nlr * (EFF);                  \
    } else if (k->first) { /* torch: buf = clone(d_p); Nesterov: d_p + m * buf */         \
        const float nm = k->nesterov ? mom : 0; /* d + 0 * d == d */                      \
        SIMD for (size_t i = lo; i < hi; i++) {                                           \
            float d = (EFF);                                                              \
            buf[i] = d;                                                                   \
            p[i] = p[i] + nlr * (d + nm * d);                                             \
        }                                                                                 \
    } else if (k->nesterov) { /* buf = buf*m + (1-damp)*d; d += m*buf */                  \
        SIMD for (size_t i = lo; i < hi; i++) {                                           \
            float d = (EFF);                                                              \
            float b = buf[i] * mom + damp1 * d;                                           \
            buf[i] = b;                                                                   \
            p[i] = p[i] + nlr * (d + mom * b);                                            \
        }                                                                                 \
    } else {                                                                              \
        SIMD for (size_t i = lo; i < hi; i++) {                                           \
            float d = (EFF);                                                              \
            float b = buf[i] * mom + damp1 * d;                                           \
            buf[i] = b;                                                                   \
            p[i] = p[i] + nlr * b;                                                        \
        }                                                                                 \
    }

static void sgd_range(const kcoef *k, float *restrict p, const float *restrict g,
                      float *restrict buf, size_t lo, size_t hi)
{
    const float wd = k->wd, l1 = k->l1, nlr = k->neg_lr, mom = k->mom, damp1 = k->damp1;
    /* g + 0*p + 0*sign(p) == g for finite p, so skipping the terms when both
     * are zero gives the same bits */
    if (wd == 0.0f && l1 == 0.0f) {
        SGD_LOOPS(g[i])
    } else {
        SGD_LOOPS(eff_grad(g[i], p[i], wd, l1))
    }
}
#undef SGD_LOOPS

/* Adam, compiled twice: baseline x86-64 and AVX2 (eight lanes instead of
 * four for its two divisions and a square root per element).  The same
 * operations in the same order either way (no FMA contraction: -std=c11),
 * so the same bits. */
#define ADAM_RANGE(NAME, ATTR)                                                                      \
    ATTR static void NAME(const kcoef *k, float *restrict p, const float *restrict g, float *restrict m, \
                          float *restrict v, float *restrict vmax, size_t lo, size_t hi)             \
    {                                                                                               \
        const float wd = k->wd, l1 = k->l1, nlr = k->neg_lr, b1 = k->b1, omb1 = k->omb1;            \
        const float b2 = k->b2, omb2 = k->omb2, bc2s = k->bc2_sqrt, eps = k->eps;                   \
        /* AdamW: param.mul_(1 - lr * wd) first (1: Adam, or no decay) */                           \
        const float decay = k->has_decay ? k->decay : 1.0f;                                          \
        const bool ams = k->amsgrad;                                                                 \
        for (size_t i = lo; i < hi; i++) {                                                           \
            float d = eff_grad(g[i], p[i], wd, l1);                                                  \
            float w = p[i] * decay;                                                                  \
            float mi = m[i] * b1 + omb1 * d;                                                         \
            float vi = v[i] * b2 + omb2 * d * d; /* addcmul: (value * t1) * t2 */                    \
            m[i] = mi;                                                                               \
            v[i] = vi;                                                                               \
            if (ams) {                                                                               \
                if (!(vmax[i] >= vi)) vmax[i] = vi;                                                  \
                vi = vmax[i];                                                                        \
            }                                                                                        \
            float denom = sqrtf(vi) / bc2s + eps;                                                    \
            p[i] = w + nlr * mi / denom; /* addcdiv: (value * t1) / t2 */                            \
        }                                                                                            \
    }
ADAM_RANGE(adam_range_base, )
#if defined(__x86_64__) || defined(__i386__)
ADAM_RANGE(adam_range_avx2, __attribute__((target("avx2"))))
static void adam_range(const kcoef *k, float *p, const float *g, float *m, float *v, float *vmax, size_t lo,
                       size_t hi)
{
    if (__builtin_cpu_supports("avx2")) adam_range_avx2(k, p, g, m, v, vmax, lo, hi);
    else adam_range_base(k, p, g, m, v, vmax, lo, hi);
}
#else
#define adam_range adam_range_base
#endif

static void rmsprop_range(const kcoef *k, float *restrict p, const float *restrict g,
                          float *restrict sq, float *restrict buf, float *restrict ga, size_t lo,
                          size_t hi)
{
    const float wd = k->wd, l1 = k->l1, nlr = k->neg_lr, alpha = k->alpha, oma = k->oma;
    const float eps = k->eps, mom = k->mom;
    for (size_t i = lo; i < hi; i++) {
        float d = eff_grad(g[i], p[i], wd, l1);
        float s = sq[i] * alpha + oma * d * d;
        sq[i] = s;
        float avg;
        if (k->centered) {
            float a = ga[i] * alpha + oma * d;
            ga[i] = a;
            float c = s - a * a;
            avg = sqrtf(c > 0 ? c : 0); /* torch would give NaN for a rounding-negative c */
        } else {
            avg = sqrtf(s);
        }
        avg = avg + eps;
        if (k->use_mom) {
            float b = buf[i] * mom + d / avg;
            buf[i] = b;
            p[i] = p[i] + nlr * b;
        } else {
            p[i] = p[i] + nlr * d / avg;
        }
    }
}

static void adagrad_range(const kcoef *k, float *restrict p, const float *restrict g,
                          float *restrict sum, size_t lo, size_t hi)
{
    const float wd = k->wd, l1 = k->l1, nlr = k->neg_lr, eps = k->eps;
    for (size_t i = lo; i < hi; i++) {
        float d = eff_grad(g[i], p[i], wd, l1);
        float s = sum[i] + d * d;
        sum[i] = s;
        float std = sqrtf(s) + eps;
        p[i] = p[i] + nlr * d / std;
    }
}

static void run_range(const kcoef *k, float *p, const float *g, size_t lo, size_t hi)
{
    switch (k->kind) {
    case LAM_OPTIM_SGD: sgd_range(k, p, g, k->s0, lo, hi); break;
    case LAM_OPTIM_ADAM:
    case LAM_OPTIM_ADAMW: adam_range(k, p, g, k->s0, k->s1, k->s2, lo, hi); break;
    case LAM_OPTIM_RMSPROP: rmsprop_range(k, p, g, k->s0, k->s1, k->s2, lo, hi); break;
    case LAM_OPTIM_ADAGRAD: adagrad_range(k, p, g, k->s0, lo, hi); break;
    default: break;
    }
}

/* Elementwise, so splitting into chunks gives the same bits on any thread count. */
static void run_span(const kcoef *k, float *p, const float *g, size_t off, size_t n)
{
#ifdef _OPENMP
    if (n >= PAR_MIN && omp_get_max_threads() > 1) {
        long nch = (long)((n + PAR_CHUNK - 1) / PAR_CHUNK);
#pragma omp parallel for schedule(static)
        for (long c = 0; c < nch; c++) {
            size_t lo = off + (size_t)c * PAR_CHUNK;
            size_t hi = lo + PAR_CHUNK < off + n ? lo + PAR_CHUNK : off + n;
            run_range(k, p, g, lo, hi);
        }
        return;
    }
#endif
    run_range(k, p, g, off, off + n);
}

/* Constants for group gi at this step (its counter already advanced). */
static void group_coef(const lam_optim *o, int gi, double lr_factor, kcoef *k)
{
    const lam_param_group *G = &o->groups[gi];
    double lr = G->lr * lr_factor;
    double t = (double)o->gstep[gi];
    memset(k, 0, sizeof *k);
    k->kind = o->kind;
    k->s0 = o->buf[0];
    k->s1 = o->buf[1];
    k->s2 = o->buf[2];
    k->neg_lr = (float)-lr;
    k->wd = (float)G->weight_decay;
    k->l1 = (float)G->l1;
    k->eps = (float)G->eps;
    switch (o->kind) {
    case LAM_OPTIM_SGD:
        k->use_mom = G->momentum != 0;
        k->mom = (float)G->momentum;
        k->damp1 = (float)(1 - G->dampening);
        k->nesterov = G->nesterov;
        k->first = k->use_mom && !o->init[0][gi];
        break;
    case LAM_OPTIM_ADAMW:
        k->wd = 0;
        k->has_decay = G->weight_decay != 0;
        k->decay = (float)(1 - lr * G->weight_decay);
        /* fall through */
    case LAM_OPTIM_ADAM: {
        double bc1 = 1 - pow(G->beta1, t), bc2 = 1 - pow(G->beta2, t);
        k->neg_lr = (float)-(lr / bc1);
        k->bc2_sqrt = (float)sqrt(bc2);
        k->b1 = (float)G->beta1;
        k->omb1 = (float)(1 - G->beta1);
        k->b2 = (float)G->beta2;
        k->omb2 = (float)(1 - G->beta2);
        k->amsgrad = G->amsgrad;
        break;
    }
    case LAM_OPTIM_RMSPROP:
        k->alpha = (float)G->alpha;
        k->oma = (float)(1 - G->alpha);
        k->centered = G->centered;
        k->use_mom = G->momentum > 0;
        k->mom = (float)G->momentum;
        break;
    case LAM_OPTIM_ADAGRAD:
        k->neg_lr = (float)-(lr / (1 + (t - 1) * G->lr_decay));
        break;
    default: break;
    }
}

lam_status lam_optim_step(lam_optim *o, float *params, const float *grads, float lr_factor)
{
    if (!o) return lam_fail(LAM_ERR_ARG, "optim step: optimiser is NULL");
    if (o->total && (!params || !grads))
        return lam_fail(LAM_ERR_ARG, "optim step: params or grads is NULL");
    if (!(lr_factor >= 0) || !isfinite(lr_factor))
        return lam_fail(LAM_ERR_ARG, "optim step: lr_factor = %g must be finite and >= 0",
                        (double)lr_factor);
    o->step++;
    for (int gi = 0; gi < o->ngroups; gi++)
        if (!o->groups[gi].frozen) o->gstep[gi]++;
    /* Spans are sorted by offset, so consecutive spans usually share a group:
     * compute the group's constants once per run of spans. */
    int cur = -1;
    kcoef k;
    for (size_t i = 0; i < o->nspans; i++) {
        const span_ *sp = &o->spans[i];
        if (o->groups[sp->group].frozen || sp->n == 0) continue;
        if (sp->group != cur) {
            group_coef(o, sp->group, (double)lr_factor, &k);
            cur = sp->group;
        }
        run_span(&k, params, grads, sp->off, sp->n);
    }
    for (int gi = 0; gi < o->ngroups; gi++) {
        if (o->groups[gi].frozen) continue;
        for (int s = 0; s < NSLOT; s++)
            if (o->init[s] && slot_used(o->kind, &o->groups[gi], s)) o->init[s][gi] = 1;
    }
    return LAM_OK;
}

/* ---- accessors ---------------------------------------------------------- */

lam_optim_kind lam_optim_get_kind(const lam_optim *o) { return o ? o->kind : LAM_OPTIM_COUNT_; }
size_t lam_optim_total(const lam_optim *o) { return o ? o->total : 0; }
int lam_optim_ngroups(const lam_optim *o) { return o ? o->ngroups : 0; }
size_t lam_optim_nspans(const lam_optim *o) { return o ? o->nspans : 0; }

lam_status lam_optim_span_at(const lam_optim *o, size_t i, lam_param_span *out)
{
    if (!o || !out || i >= o->nspans)
        return lam_fail(LAM_ERR_ARG, "optim: span index %zu out of range", i);
    *out = (lam_param_span){NULL, o->spans[i].off, o->spans[i].n, o->spans[i].group};
    return LAM_OK;
}

const lam_param_group *lam_optim_group(const lam_optim *o, int i)
{
    if (!o || i < 0 || i >= o->ngroups) return NULL;
    return &o->groups[i];
}

lam_status lam_optim_set_group(lam_optim *o, int i, const lam_param_group *g)
{
    if (!o || i < 0 || i >= o->ngroups)
        return lam_fail(LAM_ERR_ARG, "optim: group index %d out of range (%d groups)", i,
                        o ? o->ngroups : 0);
    lam_status st = lam_param_group_check(o->kind, g, i);
    if (st) return st;
    for (int s = 0; s < NSLOT; s++)
        if (!o->buf[s] && slot_used(o->kind, g, s)) {
            st = slot_alloc(o, s);
            if (st) return st;
        }
    o->groups[i] = *g;
    return LAM_OK;
}

size_t lam_optim_state_bytes(const lam_optim *o)
{
    size_t b = 0;
    for (int s = 0; s < NSLOT && o; s++)
        if (o->buf[s]) b += o->total * sizeof(float) + (size_t)o->ngroups;
    return b;
}

uint64_t lam_optim_get_step(const lam_optim *o) { return o ? o->step : 0; }

void lam_optim_set_step(lam_optim *o, uint64_t step)
{
    if (!o) return;
    o->step = step;
    for (int i = 0; i < o->ngroups; i++) o->gstep[i] = step;
}

uint64_t lam_optim_group_get_step(const lam_optim *o, int i)
{
    if (!o || i < 0 || i >= o->ngroups) return 0;
    return o->gstep[i];
}

lam_status lam_optim_group_set_step(lam_optim *o, int i, uint64_t step)
{
    if (!o || i < 0 || i >= o->ngroups)
        return lam_fail(LAM_ERR_ARG, "optim: group index %d out of range", i);
    o->gstep[i] = step;
    return LAM_OK;
}

/* ---- state -------------------------------------------------------------- */

int lam_optim_state_count(const lam_optim *o)
{
    int n = 0;
    for (int s = 0; s < NSLOT && o; s++) n += o->buf[s] != NULL;
    return n;
}

/* Slot of the i-th allocated buffer, or -1. */
static int nth_slot(const lam_optim *o, int i)
{
    for (int s = 0; s < NSLOT; s++)
        if (o->buf[s] && i-- == 0) return s;
    return -1;
}

lam_status lam_optim_state_at(lam_optim *o, int i, lam_optim_state *out)
{
    int s = (o && out && i >= 0) ? nth_slot(o, i) : -1;
    if (s < 0) return lam_fail(LAM_ERR_ARG, "optim: state index %d out of range", i);
    *out = (lam_optim_state){slot_names[o->kind][s], o->buf[s], o->total, o->init[s], o->ngroups};
    return LAM_OK;
}

/* Slot called `name` for this kind (allocated or not), or -1. */
static int slot_by_name(const lam_optim *o, const char *name)
{
    for (int s = 0; s < NSLOT && name; s++)
        if (slot_names[o->kind][s] && strcmp(slot_names[o->kind][s], name) == 0) return s;
    return -1;
}

int lam_optim_state_find(const lam_optim *o, const char *name)
{
    if (!o) return -1;
    int s = slot_by_name(o, name);
    if (s < 0 || !o->buf[s]) return -1;
    int i = 0;
    for (int t = 0; t < s; t++) i += o->buf[t] != NULL;
    return i;
}

lam_status lam_optim_state_set(lam_optim *o, const char *name, const float *data, size_t numel,
                               const uint8_t *initialised)
{
    if (!o || !data) return lam_fail(LAM_ERR_ARG, "optim state set: NULL argument");
    int s = slot_by_name(o, name);
    if (s < 0)
        return lam_fail(LAM_ERR_ARG, "optim state set: %s has no state buffer called \"%s\"",
                        lam_optim_kind_name(o->kind), name ? name : "(null)");
    if (numel != o->total)
        return lam_fail(LAM_ERR_ARG,
                        "optim state set: \"%s\" has %zu values, the optimiser has %zu parameters",
                        name, numel, o->total);
    if (!o->buf[s]) {
        lam_status st = slot_alloc(o, s);
        if (st) return st;
    }
    if (numel) memcpy(o->buf[s], data, numel * sizeof(float));
    for (int g = 0; g < o->ngroups; g++) o->init[s][g] = initialised ? (initialised[g] != 0) : 1;
    return LAM_OK;
}
