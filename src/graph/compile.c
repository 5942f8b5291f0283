/* Graph compile: shape inference at the planned batch size, parameter storage
 * and initialisation, and the memory plan.
 *
 * The plan: the schedule is forward steps 0..N-1 then backward steps N..2N-1
 * (node i's backward is step 2N-1-i).  Every activation, gradient and saved
 * tensor gets a lifetime interval of steps; buffers whose intervals do not
 * overlap share memory.  Placement is greedy, largest first, at the lowest
 * 64-byte-aligned offset that fits beside the already placed buffers it
 * overlaps in time.  One scratch buffer serves every op's temporaries. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "graph/graph_internal.h"

#define ALIGN64(x) (((x) + 63) & ~(size_t)63)

int lam_ops_plan_threads(void)
{
#ifdef _OPENMP
    /* the number of cores does not change: asked once, not on every op
     * inference (a system call each time in libgomp) */
    static _Atomic int procs;
    int a = procs, b = omp_get_max_threads();
    if (a == 0) procs = a = omp_get_num_procs();
    return a > b ? a : b;
#else
    return 1;
#endif
}

lam_compile_opts lam_compile_opts_defaults(void) { return (lam_compile_opts){.max_batch = 32, .training = true}; }

lam_status lam_graph_reinfer(lam_graph *g, int batch)
{
    for (int i = 0; i < g->n_nodes; i++) {
        lam_node *n = g->nodes[i];
        if (n->op == LAM_OP_PARAM) continue;
        if (n->op == LAM_OP_INPUT) {
            n->shape.d[0] = batch;
        } else {
            char err[400] = "";
            lam_status s = lam_op_defs[n->op]->infer(n, err, sizeof err);
            if (s != LAM_OK) return lam_graph_fail(g, s, "%s (node %s, batch %d)", err, n->name, batch);
        }
        lam_status s = lam_graph_check_numel_(g, n, &n->shape);
        if (s != LAM_OK) return s;
    }
    g->cur_batch = batch;
    return LAM_OK;
}

/* ---- parameter initialisation ------------------------------------------- */
static void init_param(const lam_param_info *p, float *v, lam_rng *r)
{
    int64_t fan_in = p->init.fan_in, fan_out = 1;
    if (!fan_in) {
        int64_t rf = 1;
        for (int i = 2; i < p->shape.ndim; i++) rf *= p->shape.d[i];
        fan_in = p->shape.ndim >= 2 ? p->shape.d[1] * rf : (p->shape.ndim == 1 ? p->shape.d[0] : 1);
        fan_out = p->shape.ndim >= 2 ? p->shape.d[0] * rf : 1;
    }
    size_t n = p->numel;
    float a = p->init.a;
    switch (p->init.kind) {
    case LAM_INIT_ZEROS: memset(v, 0, n * sizeof *v); break;
    case LAM_INIT_ONES:
        for (size_t i = 0; i < n; i++) v[i] = 1.0f;
        break;
    case LAM_INIT_UNIFORM:
    case LAM_INIT_TORCH_DEFAULT:
    case LAM_INIT_XAVIER_UNIFORM:
        if (p->init.kind == LAM_INIT_TORCH_DEFAULT) a = 1.0f / sqrtf((float)fan_in);
        if (p->init.kind == LAM_INIT_XAVIER_UNIFORM) a = sqrtf(6.0f / (float)(fan_in + fan_out));
        for (size_t i = 0; i < n; i++) v[i] = (2.0f * lam_rng_uniform(r) - 1.0f) * a;
        break;
    case LAM_INIT_NORMAL:
    case LAM_INIT_HE_NORMAL:
        if (p->init.kind == LAM_INIT_HE_NORMAL) a = sqrtf(2.0f / (float)fan_in);
        for (size_t i = 0; i < n; i++) v[i] = lam_rng_normal(r) * a;
        break;
    case LAM_INIT_SINUSOIDAL: { /* rows = positions, in double, rounded once */
        int64_t C = p->shape.ndim >= 2 ? p->shape.d[p->shape.ndim - 1] : 1, T = (int64_t)n / (C ? C : 1);
        for (int64_t t = 0; t < T; t++)
            for (int64_t j = 0; j < C; j++) {
                double w = pow(10000.0, -(double)(j / 2 * 2) / (double)C), ang = (double)t * w;
                v[t * C + j] = (float)(j % 2 ? cos(ang) : sin(ang));
            }
        break;
    }
    default: LAM_ASSERT(0);
    }
    if (p->zero_row >= 0) {
        size_t row = n / (size_t)p->shape.d[0];
        memset(v + (size_t)p->zero_row * row, 0, row * sizeof *v);
    }
}

static lam_status alloc_params(lam_graph *g)
{
    if (g->param_alloc < g->param_total || !g->param_data) {
        size_t total = g->param_total ? g->param_total : 16;
        float *pv = lam_calloc(total, sizeof(float));
        float *gv = lam_calloc(total, sizeof(float));
        if (!pv || !gv) {
            lam_free(pv);
            lam_free(gv);
            return lam_graph_fail(g, LAM_ERR_NOMEM, "out of memory allocating %zu parameters", total);
        }
        if (g->param_data) memcpy(pv, g->param_data, g->param_alloc * sizeof(float));
        lam_free(g->param_data);
        lam_free(g->grad_data);
        g->param_data = pv;
        g->grad_data = gv;
        g->param_alloc = total;
    }
    /* initialise parameters registered since the last compile, in order, from
     * an RNG stream that depends only on the seed and the parameter index */
    for (int i = (int)g->param_inited; i < g->n_params; i++) {
        lam_rng r;
        lam_rng_seed(&r, g->seed * 0x9E3779B97F4A7C15ULL + (uint64_t)i + 1);
        init_param(&g->params[i], g->param_data + g->params[i].offset, &r);
    }
    g->param_inited = (size_t)g->n_params;
    for (int i = 0; i < g->n_nodes; i++) {
        lam_node *n = g->nodes[i];
        if (n->param < 0) continue;
        n->val = g->param_data + g->params[n->param].offset;
        n->grad = g->grad_data + g->params[n->param].offset;
    }
    return LAM_OK;
}

/* ---- memory plan ---------------------------------------------------------- */
typedef struct buf {
    size_t size, off;
    int start, end;       /* inclusive step interval */
    size_t *out_off;      /* where to store the placed offset */
} buf;

static int by_size_desc(const void *a, const void *b)
{
    const buf *x = a, *y = b;
    return x->size < y->size ? 1 : x->size > y->size ? -1 : x->start - y->start;
}

/* `placed` is scratch for nb pointers: the buffers placed so far, by offset.
 * Each buffer goes at the lowest offset among 0 and the ends of the placed
 * buffers it overlaps in time at which it overlaps none of them in memory: a
 * sweep over those buffers by offset finds it (every candidate below the
 * sweep's is covered by one of them) and stops at the first gap that fits. */
static size_t place(buf *bs, int nb, bool no_reuse, buf **placed)
{
    size_t total = 0;
    if (no_reuse) {
        for (int i = 0; i < nb; i++) {
            *bs[i].out_off = bs[i].off = total;
            total += bs[i].size;
        }
        return total;
    }
    qsort(bs, (size_t)nb, sizeof *bs, by_size_desc);
    for (int i = 0; i < nb; i++) {
        buf *b = &bs[i];
        size_t off = 0;
        for (int k = 0; k < i; k++) {
            const buf *p = placed[k];
            if (p->end < b->start || p->start > b->end) continue;
            if (p->off >= off + b->size) break;
            if (p->off + p->size > off) off = p->off + p->size;
        }
        b->off = off;
        *b->out_off = off;
        if (off + b->size > total) total = off + b->size;
        int lo = 0, hi = i; /* insert after the placed buffers at offsets <= off */
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (placed[mid]->off <= off) lo = mid + 1;
            else hi = mid;
        }
        memmove(placed + lo + 1, placed + lo, (size_t)(i - lo) * sizeof *placed);
        placed[lo] = b;
    }
    return total;
}

/* A max pool that is the only reader of a convolution with a fused ReLU
 * passes back a gradient that is zero except at its windows' winners, whose
 * values are the convolution's outputs: masking it there (pooled value > 0)
 * is the ReLU's mask, so the pool applies it and the convolution skips the
 * pass over its output-sized gradient that the mask would take (see
 * lam_node.pool_masks_relu).  Applying the mask twice changes nothing, so an
 * op that ignores the flag stays correct. */
static void mark_relu_pool(lam_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) {
        lam_node *n = g->nodes[i];
        n->pool_masks_relu = n->dout_relu_masked = false;
    }
    if (g->no_relu_pool) return;
    for (int i = 0; i < g->n_nodes; i++) {
        lam_node *p = g->nodes[i], *x = p->op == LAM_OP_MAXPOOL2D ? p->in[0] : NULL;
        if (!x || x->op != LAM_OP_CONV2D || x->p.conv2d.act != LAM_ACT_RELU || x->n_consumers != 1 || x->keep) continue;
        if (p->shape.ndim != 4 || p->shape.d[2] * p->shape.d[3] > LAM_RELU_POOL_MAX_PLANE) continue;
        p->pool_masks_relu = x->dout_relu_masked = true;
    }
}

lam_status lam_graph_compile(lam_graph *g, const lam_compile_opts *opts)
{
    if (!g) return lam_fail(LAM_ERR_ARG, "lam_graph_compile: graph is NULL");
    lam_compile_opts o = opts ? *opts : lam_compile_opts_defaults();
    if (g->status != LAM_OK) return lam_fail(g->status, "%s", g->err);
    if (o.max_batch < 1) return lam_fail(LAM_ERR_ARG, "compile: max_batch %d must be >= 1", o.max_batch);
    if (g->n_nodes == 0) return lam_fail(LAM_ERR_STATE, "compile: the graph is empty");
    if (g->open_seg >= 0) return lam_fail(LAM_ERR_STATE, "compile: a recomputation segment is still open (end it first)");
    g->plan_threads = lam_ops_plan_threads();
    lam_status s = lam_graph_reinfer(g, o.max_batch);
    if (s != LAM_OK) return s;
    if ((s = alloc_params(g)) != LAM_OK) return s;
    mark_relu_pool(g);

    int N = g->n_nodes;
    buf *bs = lam_calloc((size_t)N * 5, sizeof *bs);
    if (!bs) return lam_graph_fail(g, LAM_ERR_NOMEM, "out of memory planning the graph");
    /* last forward consumer of each node */
    int *last_use = lam_calloc((size_t)N, sizeof *last_use);
    int *first_consumer_bwd = lam_calloc((size_t)N, sizeof *first_consumer_bwd);
    buf **placed = lam_calloc((size_t)N * 5, sizeof *placed);
    if (!last_use || !first_consumer_bwd || !placed) {
        lam_free(bs);
        lam_free(last_use);
        lam_free(first_consumer_bwd);
        lam_free(placed);
        return lam_graph_fail(g, LAM_ERR_NOMEM, "out of memory planning the graph");
    }
    for (int i = 0; i < N; i++) last_use[i] = i, first_consumer_bwd[i] = 2 * N - 1 - i;
    for (int i = 0; i < N; i++) {
        lam_node *n = g->nodes[i];
        for (int k = 0; k < n->n_in; k++) {
            int j = n->in[k]->id;
            if (i > last_use[j]) last_use[j] = i;
            /* the latest consumer's backward runs first and starts the gradient */
            if (2 * N - 1 - i < first_consumer_bwd[j]) first_consumer_bwd[j] = 2 * N - 1 - i;
        }
    }
    /* activation recomputation: which nodes are inner to a segment */
    bool recompute = o.training && !o.no_recompute && g->n_segs > 0;
    for (int i = 0; i < N; i++) g->nodes[i]->inner_seg = -1;
    if (recompute) {
        for (int i = 0; i < N; i++) {
            lam_node *n = g->nodes[i];
            if (n->seg < 0 || i == g->segs[n->seg].last || n->op == LAM_OP_INPUT || n->op == LAM_OP_PARAM) continue;
            n->inner_seg = n->seg;
        }
        const char *bad = NULL;
        for (int i = 0; i < N && !bad; i++) {
            lam_node *n = g->nodes[i];
            if (n->inner_seg >= 0 && (n->keep || n->n_consumers == 0 || n->op == LAM_OP_OUTPUT || n->n_aux))
                bad = n->name;
            for (int k = 0; k < n->n_in && !bad; k++) {
                const lam_node *in = n->in[k];
                if (in->inner_seg >= 0 && n->seg != in->inner_seg) bad = in->name;
            }
        }
        if (bad) {
            lam_free(bs);
            lam_free(last_use);
            lam_free(first_consumer_bwd);
            for (int i = 0; i < N; i++) g->nodes[i]->inner_seg = -1;
            return lam_graph_fail(g, LAM_ERR_ARG, "compile: node %s of a recomputation segment is read outside it "
                                                  "(or is an output): only a segment's last node may be",
                                  bad);
        }
    }
    /* with recomputation, a first pass plans without it: the memory it saves */
    size_t total = 0, naive = 0, scratch = 0, plain_total = 0;
    int end_step = o.training ? 2 * N - 1 : N - 1;
    for (int pass = recompute ? 0 : 1; pass < 2; pass++) {
    int nb = 0;
    naive = scratch = 0;
    for (int i = 0; i < N; i++) {
        lam_node *n = g->nodes[i];
        n->val_off = n->grad_off = n->saved_off = n->rval_off = n->rsaved_off = SIZE_MAX;
        if (n->scratch_bytes > scratch) scratch = n->scratch_bytes;
        if (n->op == LAM_OP_PARAM) continue;
        size_t bytes = ALIGN64((size_t)lam_node_numel(n) * lam_dtype_size(n->dtype));
        int bwd = 2 * N - 1 - i;
        bool out = n->keep || n->n_consumers == 0;
        int inner = pass ? n->inner_seg : -1;
        int val_end = out ? end_step : (o.training && inner < 0 ? bwd : last_use[i]);
        /* an inner node of a recomputed segment: written again at its
         * segment output's backward step, read until its own backward */
        int rstart = inner >= 0 ? 2 * N - 1 - g->segs[inner].last : -1;
        if (rstart >= 0) {
            bs[nb++] = (buf){bytes, 0, rstart, bwd, &n->rval_off};
            naive += bytes;
        }
        /* inputs are filled before the forward pass, whatever their place in
         * the schedule (labels are usually created last), and keep their
         * contents from one step to the next, like any caller-owned tensor */
        int val_start = i;
        if (n->op == LAM_OP_INPUT) val_start = 0, val_end = end_step;
        /* an extra output is written by its producer's forward, and its
         * gradient is read by the producer's backward */
        int grad_end = bwd;
        if (n->op == LAM_OP_OUTPUT) val_start = n->in[0]->id, grad_end = 2 * N - 1 - n->in[0]->id;
        bs[nb++] = (buf){bytes, 0, val_start, val_end, &n->val_off};
        naive += bytes;
        if (o.training && n->op != LAM_OP_INPUT && lam_op_defs[n->op]->backward) {
            int start = n->n_consumers ? first_consumer_bwd[i] : bwd;
            bs[nb++] = (buf){bytes, 0, start, grad_end, &n->grad_off};
            naive += bytes;
        }
        if (n->saved_bytes) {
            size_t sb = ALIGN64(n->saved_bytes);
            bs[nb++] = (buf){sb, 0, i, o.training && rstart < 0 ? bwd : i, &n->saved_off};
            naive += sb;
            if (rstart >= 0) {
                bs[nb++] = (buf){sb, 0, rstart, bwd, &n->rsaved_off};
                naive += sb;
            }
        }
    }
    total = place(bs, nb, o.no_reuse, placed);
    if (!pass) plain_total = total;
    }
    lam_free(bs);
    lam_free(placed);
    lam_free(last_use);
    lam_free(first_consumer_bwd);

    lam_free(g->arena_buf);
    lam_free(g->scratch);
    g->arena_buf = lam_malloc(total ? total : 64);
    g->scratch = lam_malloc(scratch ? scratch : 64);
    if (!g->arena_buf || !g->scratch) {
        lam_free(g->arena_buf);
        lam_free(g->scratch);
        g->arena_buf = g->scratch = NULL;
        return lam_graph_fail(g, LAM_ERR_NOMEM, "out of memory allocating %zu bytes of activations", total);
    }
    memset(g->arena_buf, 0, total ? total : 64);
    for (int i = 0; i < N; i++) {
        lam_node *n = g->nodes[i];
        if (n->op == LAM_OP_PARAM) continue;
        char *base = g->arena_buf;
        n->val = n->val_off != SIZE_MAX ? (float *)(base + n->val_off) : NULL;
        n->grad = n->grad_off != SIZE_MAX ? (float *)(base + n->grad_off) : NULL;
        n->saved = n->saved_off != SIZE_MAX ? base + n->saved_off : NULL;
        n->fval = n->val;
        n->fsaved = n->saved;
        n->rval = n->rval_off != SIZE_MAX ? (float *)(base + n->rval_off) : NULL;
        n->rsaved = n->rsaved_off != SIZE_MAX ? base + n->rsaved_off : NULL;
    }
    g->recompute_plan = recompute;
    g->arena_bytes = total;
    g->arena_plain = recompute ? plain_total : total;
    g->arena_naive = naive;
    g->scratch_bytes = scratch;
    g->max_batch = o.max_batch;
    g->training_plan = o.training;
    g->compiled = true;
    g->fwd_done = false;
    return LAM_OK;
}

lam_mem_plan lam_graph_mem_plan(const lam_graph *g)
{
    lam_mem_plan m = {0};
    if (!g->compiled) return m;
    m.arena_bytes = g->arena_bytes;
    m.arena_no_recompute_bytes = g->arena_plain;
    m.arena_naive_bytes = g->arena_naive;
    m.scratch_bytes = g->scratch_bytes;
    m.param_bytes = 2 * g->param_alloc * sizeof(float);
    return m;
}

double lam_graph_flops_per_sample(const lam_graph *g)
{
    double f = 0.0;
    for (int i = 0; i < g->n_nodes; i++) {
        const lam_node *n = g->nodes[i];
        if (lam_op_defs[n->op]->flops) f += lam_op_defs[n->op]->flops(n);
    }
    return f / (g->cur_batch ? g->cur_batch : 1);
}
