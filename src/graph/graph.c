/* Graph building: leaves, the op builders (one generic node constructor that
 * runs the op's shape inference), parameters and layers, and the sticky first
 * error.  Nodes are created in topological order: an op's inputs exist before
 * it, so the node array is already a valid schedule. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "graph/graph_internal.h"

lam_status lam_graph_fail(lam_graph *g, lam_status s, const char *fmt, ...)
{
    if (g->status == LAM_OK) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(g->err, sizeof g->err, fmt, ap);
        va_end(ap);
        g->status = s;
    }
    return lam_fail(g->status, "%s", g->err);
}

lam_graph *lam_graph_new(uint64_t seed)
{
    lam_graph *g = lam_calloc(1, sizeof *g);
    if (!g) return NULL;
    g->arena = lam_arena_new(0);
    if (!g->arena) {
        lam_free(g);
        return NULL;
    }
    g->seed = seed;
    lam_rng_seed(&g->rng, seed ^ 0x5eed0d40u);
    g->cur_layer = -1;
    g->open_seg = -1;
    g->max_batch = 1;
    g->cur_batch = 1;
    return g;
}

void lam_graph_free(lam_graph *g)
{
    if (!g) return;
    lam_free(g->nodes);
    lam_free(g->name_slots);
    lam_free(g->params);
    lam_free(g->layers);
    lam_free(g->segs);
    lam_free(g->param_data);
    lam_free(g->grad_data);
    lam_free(g->arena_buf);
    lam_free(g->scratch);
    lam_arena_free(g->arena);
    lam_free(g);
}

lam_status lam_graph_status(const lam_graph *g) { return g->status; }
const char *lam_graph_error(const lam_graph *g) { return g->err; }
lam_rng *lam_graph_rng(lam_graph *g) { return &g->rng; }

/* Grow an array of `elem`-byte items to hold one more; false on failure. */
static bool grow(lam_graph *g, void **arr, int n, int *cap, size_t elem)
{
    if (n < *cap) return true;
    int nc = *cap ? *cap * 2 : 16;
    void *p = lam_realloc(*arr, (size_t)*cap * elem, (size_t)nc * elem);
    if (!p) {
        lam_graph_fail(g, LAM_ERR_NOMEM, "out of memory building the graph");
        return false;
    }
    *arr = p;
    *cap = nc;
    return true;
}

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void name_slot_put(int *slots, int cap, const char *name, int id)
{
    uint32_t i = name_hash(name) & (uint32_t)(cap - 1);
    while (slots[i]) i = (i + 1) & (uint32_t)(cap - 1);
    slots[i] = id + 1;
}

/* Index node `id` under its current name; the table is rebuilt from the
 * current names (dropping stale slots) when it would be half full. */
static bool name_index_add(lam_graph *g, int id)
{
    if (2 * (g->name_used + 1) > g->name_cap) {
        int cap = 64;
        while (cap < 4 * (g->n_nodes + 1)) cap *= 2;
        int *slots = lam_calloc((size_t)cap, sizeof *slots);
        if (!slots) {
            lam_graph_fail(g, LAM_ERR_NOMEM, "out of memory building the graph");
            return false;
        }
        for (int k = 0; k < g->n_nodes; k++)
            if (k != id) name_slot_put(slots, cap, g->nodes[k]->name, k);
        lam_free(g->name_slots);
        g->name_slots = slots;
        g->name_cap = cap;
        g->name_used = g->n_nodes - (id < g->n_nodes);
    }
    name_slot_put(g->name_slots, g->name_cap, g->nodes[id]->name, id);
    g->name_used++;
    return true;
}

lam_status lam_graph_check_numel_(lam_graph *g, const lam_node *n, const lam_shape *shape)
{
    if (lam_shape_numel_within(shape, LAM_MAX_NUMEL)) return LAM_OK;
    char s[160];
    return lam_graph_fail(g, LAM_ERR_SHAPE,
                          "%s %s: shape %s holds more than 2^31 - 4096 elements, the most one tensor may hold "
                          "(LAM_MAX_NUMEL); hint: a smaller batch, input or layer",
                          n && n->op == LAM_OP_PARAM ? "parameter" : "node", n ? n->name : "?",
                          lam_shape_str(shape, s, sizeof s));
}

static lam_node *new_node(lam_graph *g, lam_op op, const char *name)
{
    if (!grow(g, (void **)&g->nodes, g->n_nodes, &g->cap_nodes, sizeof *g->nodes)) return NULL;
    lam_node *n = lam_arena_alloc(g->arena, sizeof *n);
    char auto_name[48];
    if (!name) {
        snprintf(auto_name, sizeof auto_name, "%s_%d", lam_op_name(op), g->n_nodes);
        name = auto_name;
    } else if (lam_graph_node(g, name)) {
        lam_graph_fail(g, LAM_ERR_ARG, "a node named '%s' exists already", name);
        return NULL;
    }
    if (n) n->name = lam_arena_strdup(g->arena, name);
    if (!n || !n->name) {
        lam_graph_fail(g, LAM_ERR_NOMEM, "out of memory building the graph");
        return NULL;
    }
    n->id = g->n_nodes;
    n->op = op;
    n->param = -1;
    n->dtype = LAM_DTYPE_F32;
    n->val_off = n->grad_off = n->saved_off = n->rval_off = n->rsaved_off = SIZE_MAX;
    n->seg = g->open_seg;
    n->inner_seg = -1;
    g->nodes[g->n_nodes] = n;
    if (!name_index_add(g, g->n_nodes)) return NULL;
    g->n_nodes++;
    g->compiled = false;
    return n;
}

/* The generic op constructor: checks inputs, runs shape inference. */
static lam_node *op_node(lam_graph *g, lam_op op, const lam_op_params *p, int n_in, lam_node **in)
{
    if (!g) return NULL;
    if (g->status != LAM_OK) return NULL;
    const lam_op_def *def = lam_op_defs[op];
    for (int k = 0; k < n_in; k++) {
        if (!in[k]) {
            lam_graph_fail(g, LAM_ERR_ARG, "%s: input %d is NULL", def->name, k);
            return NULL;
        }
        if (in[k]->id >= g->n_nodes || g->nodes[in[k]->id] != in[k]) {
            lam_graph_fail(g, LAM_ERR_ARG, "%s: input %d belongs to another graph", def->name, k);
            return NULL;
        }
        unsigned mask = def->int_inputs ? def->int_inputs(p ? p : &(lam_op_params){0}, n_in) : def->int_in;
        bool want_int = mask >> k & 1;
        if ((in[k]->dtype == LAM_DTYPE_I32) != want_int) {
            lam_graph_fail(g, LAM_ERR_ARG, "%s: input %d (%s) holds %s, expected %s%s", def->name, k, in[k]->name,
                           in[k]->dtype == LAM_DTYPE_I32 ? "integers" : "floats",
                           want_int ? "integers (token ids, labels or lengths)" : "floats",
                           want_int ? "" : "; hint: token ids become vectors through an embedding layer");
            return NULL;
        }
    }
    lam_node *n = new_node(g, op, NULL);
    if (!n) return NULL;
    if (p) n->p = *p;
    n->n_in = n_in;
    for (int k = 0; k < n_in; k++) {
        n->in[k] = in[k];
        in[k]->n_consumers++;
    }
    char err[400] = "";
    lam_status s = def->infer(n, err, sizeof err);
    if (s != LAM_OK) {
        lam_graph_fail(g, s, "%s", err);
        return NULL;
    }
    return lam_graph_check_numel_(g, n, &n->shape) == LAM_OK ? n : NULL;
}

lam_node *lam_input(lam_graph *g, const char *name, lam_shape sample)
{
    if (!g || g->status != LAM_OK) return NULL;
    if (sample.ndim + 1 > LAM_MAX_DIMS) {
        lam_graph_fail(g, LAM_ERR_SHAPE, "input %s: too many dimensions", name ? name : "");
        return NULL;
    }
    for (int i = 0; i < sample.ndim; i++)
        if (sample.d[i] <= 0) {
            lam_graph_fail(g, LAM_ERR_SHAPE, "input %s: dimension %d is %lld, must be positive",
                           name ? name : "", i, (long long)sample.d[i]);
            return NULL;
        }
    lam_node *n = new_node(g, LAM_OP_INPUT, name);
    if (!n) return NULL;
    n->shape.ndim = sample.ndim + 1;
    n->shape.d[0] = g->cur_batch;
    for (int i = 0; i < sample.ndim; i++) n->shape.d[i + 1] = sample.d[i];
    n->has_batch = true;
    return lam_graph_check_numel_(g, n, &n->shape) == LAM_OK ? n : NULL;
}

lam_node *lam_input_ids(lam_graph *g, const char *name, lam_shape sample)
{
    lam_node *n = lam_input(g, name, sample);
    if (n) n->dtype = LAM_DTYPE_I32;
    return n;
}

lam_node *lam_input_labels(lam_graph *g, const char *name) { return lam_input_ids(g, name, (lam_shape){0, {0}}); }

lam_node *lam_node_output(lam_graph *g, lam_node *n, int k)
{
    if (!g || g->status != LAM_OK) return NULL;
    if (!n) {
        lam_graph_fail(g, LAM_ERR_ARG, "output: the node is NULL");
        return NULL;
    }
    if (k < 0 || k >= n->n_aux) {
        lam_graph_fail(g, LAM_ERR_ARG, "output %d of node %s: %s has %d extra outputs", k, n->name,
                       lam_op_name(n->op), n->n_aux);
        return NULL;
    }
    if (n->aux_node[k]) return n->aux_node[k];
    lam_op_params p = {.output = {k}};
    lam_node *o = op_node(g, LAM_OP_OUTPUT, &p, 1, (lam_node *[]){n});
    if (o) n->aux_node[k] = o;
    return o;
}

static lam_node *new_param(lam_graph *g, const char *name, lam_shape shape, lam_init init, bool buffer);

lam_node *lam_param(lam_graph *g, const char *name, lam_shape shape, lam_init init)
{
    return new_param(g, name, shape, init, false);
}

lam_node *lam_buffer(lam_graph *g, const char *name, lam_shape shape, lam_init init)
{
    return new_param(g, name, shape, init, true);
}

static lam_node *new_param(lam_graph *g, const char *name, lam_shape shape, lam_init init, bool buffer)
{
    if (!g || g->status != LAM_OK) return NULL;
    if (!name || !*name) {
        lam_graph_fail(g, LAM_ERR_ARG, "parameters need a name");
        return NULL;
    }
    if ((unsigned)init.kind >= LAM_INIT_COUNT_ || !(init.a >= 0.0f) || init.fan_in < 0) {
        lam_graph_fail(g, LAM_ERR_ARG, "parameter %s: unknown initialiser %d or negative scale / fan-in", name,
                       (int)init.kind);
        return NULL;
    }
    for (int i = 0; i < shape.ndim; i++)
        if (shape.d[i] <= 0) {
            lam_graph_fail(g, LAM_ERR_SHAPE, "parameter %s: dimension %d is %lld, must be positive", name, i,
                           (long long)shape.d[i]);
            return NULL;
        }
    if (!lam_shape_numel_within(&shape, LAM_MAX_NUMEL)) {
        char s[160];
        lam_graph_fail(g, LAM_ERR_SHAPE,
                       "parameter %s: shape %s holds more than 2^31 - 4096 elements, the most one tensor may hold "
                       "(LAM_MAX_NUMEL)", name, lam_shape_str(&shape, s, sizeof s));
        return NULL;
    }
    if (!grow(g, (void **)&g->params, g->n_params, &g->cap_params, sizeof *g->params)) return NULL;
    lam_node *n = new_node(g, LAM_OP_PARAM, name);
    if (!n) return NULL;
    n->shape = shape;
    lam_param_info *pi = &g->params[g->n_params];
    memset(pi, 0, sizeof *pi);
    pi->name = n->name;
    pi->shape = shape;
    pi->numel = (size_t)lam_shape_numel(&shape);
    pi->offset = g->param_total;
    pi->init = init;
    pi->layer = g->cur_layer;
    pi->trainable = !buffer;
    pi->buffer = buffer;
    pi->zero_row = -1;
    g->param_total += (pi->numel + 15) & ~(size_t)15; /* keep each parameter 64-byte aligned */
    n->param = g->n_params++;
    return n;
}

lam_status lam_param_zero_row(lam_graph *g, lam_node *param, int64_t row)
{
    if (!g || !param || param->param < 0)
        return g ? lam_graph_fail(g, LAM_ERR_ARG, "lam_param_zero_row: not a parameter") : LAM_ERR_ARG;
    lam_param_info *p = &g->params[param->param];
    if (row < 0 || p->shape.ndim < 1 || row >= p->shape.d[0])
        return lam_graph_fail(g, LAM_ERR_ARG, "parameter %s: row %lld to zero is outside its first dimension", p->name,
                              (long long)row);
    p->zero_row = row;
    return LAM_OK;
}

/* ---- op builders -------------------------------------------------------- */

lam_node *lam_matmul(lam_graph *g, lam_node *a, lam_node *b, bool trans_a, bool trans_b)
{
    lam_op_params p = {.matmul = {trans_a, trans_b}};
    return op_node(g, LAM_OP_MATMUL, &p, 2, (lam_node *[]){a, b});
}

lam_node *lam_dense_op(lam_graph *g, lam_node *x, lam_node *w, lam_node *b, lam_act act)
{
    if (g && (unsigned)act >= LAM_ACT_COUNT_) {
        lam_graph_fail(g, LAM_ERR_ARG, "dense: unknown activation %d", (int)act);
        return NULL;
    }
    lam_op_params p = {.dense = {act}};
    return op_node(g, LAM_OP_DENSE, &p, b ? 3 : 2, (lam_node *[]){x, w, b});
}

#define BIN(fn, OP) \
    lam_node *fn(lam_graph *g, lam_node *a, lam_node *b) { return op_node(g, OP, NULL, 2, (lam_node *[]){a, b}); }
BIN(lam_add, LAM_OP_ADD)
BIN(lam_mul, LAM_OP_MUL)
BIN(lam_bias_add, LAM_OP_BIAS_ADD)
BIN(lam_mse_loss, LAM_OP_MSE_LOSS)
BIN(lam_softmax_ce_loss, LAM_OP_SOFTMAX_CE)
BIN(lam_bce_logits_loss, LAM_OP_BCE_LOGITS)
#undef BIN

#define UN(fn, OP) \
    lam_node *fn(lam_graph *g, lam_node *x) { return op_node(g, OP, NULL, 1, (lam_node *[]){x}); }
UN(lam_relu, LAM_OP_RELU)
UN(lam_sigmoid, LAM_OP_SIGMOID)
UN(lam_tanh, LAM_OP_TANH)
UN(lam_gelu, LAM_OP_GELU)
UN(lam_gelu_tanh, LAM_OP_GELU_TANH)
UN(lam_silu, LAM_OP_SILU)
UN(lam_swiglu, LAM_OP_SWIGLU)
UN(lam_softmax, LAM_OP_SOFTMAX)
UN(lam_sum, LAM_OP_SUM)
#undef UN

lam_node *lam_activation(lam_graph *g, lam_node *x, lam_act act)
{
    switch (act) {
    case LAM_ACT_NONE: return x;
    case LAM_ACT_RELU: return lam_relu(g, x);
    case LAM_ACT_SIGMOID: return lam_sigmoid(g, x);
    case LAM_ACT_TANH: return lam_tanh(g, x);
    case LAM_ACT_GELU: return lam_gelu(g, x);
    case LAM_ACT_GELU_TANH: return lam_gelu_tanh(g, x);
    case LAM_ACT_SILU: return lam_silu(g, x);
    default:
        if (g) lam_graph_fail(g, LAM_ERR_ARG, "unknown activation %d", (int)act);
        return NULL;
    }
}

lam_node *lam_dropout(lam_graph *g, lam_node *x, float p)
{
    if (g && !(p >= 0.0f && p < 1.0f)) {
        lam_graph_fail(g, LAM_ERR_ARG, "dropout: rate %g must be in [0, 1)", (double)p);
        return NULL;
    }
    lam_op_params prm = {.dropout = {p, false}};
    return op_node(g, LAM_OP_DROPOUT, &prm, 1, (lam_node *[]){x});
}

lam_node *lam_dropout2d(lam_graph *g, lam_node *x, float p)
{
    if (g && !(p >= 0.0f && p < 1.0f)) {
        lam_graph_fail(g, LAM_ERR_ARG, "dropout2d: rate %g must be in [0, 1)", (double)p);
        return NULL;
    }
    if (g && x && lam_node_shape(x).ndim < 3) {
        lam_graph_fail(g, LAM_ERR_SHAPE, "dropout2d: input needs channels and spatial dimensions [B, C, ...]");
        return NULL;
    }
    lam_op_params prm = {.dropout = {p, true}};
    return op_node(g, LAM_OP_DROPOUT, &prm, 1, (lam_node *[]){x});
}

lam_conv2d_args lam_conv2d_args_defaults(void)
{
    return (lam_conv2d_args){1, 1, 0, 0, 1, 1, LAM_ACT_NONE, LAM_CONV_AUTO};
}

lam_node *lam_conv2d_op(lam_graph *g, lam_node *x, lam_node *w, lam_node *b, const lam_conv2d_args *a)
{
    lam_conv2d_args d = a ? *a : lam_conv2d_args_defaults();
    if (g && ((unsigned)d.act >= LAM_ACT_COUNT_)) {
        lam_graph_fail(g, LAM_ERR_ARG, "conv2d: unknown activation %d", (int)d.act);
        return NULL;
    }
    if (g && ((unsigned)d.algo >= LAM_CONV_ALGO_COUNT_)) {
        lam_graph_fail(g, LAM_ERR_ARG, "conv2d: unknown algorithm %d", (int)d.algo);
        return NULL;
    }
    lam_op_params p = {.conv2d = {0, 0, d.stride_h, d.stride_w, d.pad_h, d.pad_w, d.dil_h, d.dil_w, d.act, d.algo}};
    return op_node(g, LAM_OP_CONV2D, &p, b ? 3 : 2, (lam_node *[]){x, w, b});
}

lam_pool2d_args lam_pool2d_args_square(int k, int stride) { return (lam_pool2d_args){k, k, stride, stride, 0, 0}; }

static lam_node *pool(lam_graph *g, lam_op op, lam_node *x, const lam_pool2d_args *a)
{
    if (g && !a) {
        lam_graph_fail(g, LAM_ERR_ARG, "%s: no window given", lam_op_name(op));
        return NULL;
    }
    lam_op_params p = {.maxpool2d = {a->kh, a->kw, a->stride_h, a->stride_w, a->pad_h, a->pad_w}};
    return op_node(g, op, &p, 1, (lam_node *[]){x});
}
lam_node *lam_maxpool2d(lam_graph *g, lam_node *x, const lam_pool2d_args *a) { return pool(g, LAM_OP_MAXPOOL2D, x, a); }
lam_node *lam_avgpool2d(lam_graph *g, lam_node *x, const lam_pool2d_args *a) { return pool(g, LAM_OP_AVGPOOL2D, x, a); }
lam_node *lam_global_avgpool(lam_graph *g, lam_node *x) { return op_node(g, LAM_OP_GLOBAL_AVGPOOL, NULL, 1, (lam_node *[]){x}); }

lam_node *lam_batchnorm_op(lam_graph *g, lam_node *x, lam_node *gamma, lam_node *beta, lam_node *running_mean,
                           lam_node *running_var, float eps, float momentum)
{
    if (g && !(eps > 0.0f && momentum >= 0.0f && momentum <= 1.0f)) {
        lam_graph_fail(g, LAM_ERR_ARG, "batchnorm: eps %g must be > 0 and momentum %g in [0, 1]", (double)eps,
                       (double)momentum);
        return NULL;
    }
    lam_op_params p = {.batchnorm = {eps, momentum}};
    return op_node(g, LAM_OP_BATCHNORM, &p, 5, (lam_node *[]){x, gamma, beta, running_mean, running_var});
}

lam_node *lam_embedding_op(lam_graph *g, lam_node *ids, lam_node *w, int padding_idx)
{
    if (g && padding_idx < -1) {
        lam_graph_fail(g, LAM_ERR_ARG, "embedding: padding_idx %d must be >= 0 or -1 (none)", padding_idx);
        return NULL;
    }
    lam_op_params p = {.embedding = {padding_idx}};
    return op_node(g, LAM_OP_EMBEDDING, &p, 2, (lam_node *[]){ids, w});
}

static const char *const rnn_cell_names[LAM_RNN_CELL_COUNT_] = {"rnn_tanh", "rnn_relu", "lstm", "gru"};
const char *lam_rnn_cell_name(lam_rnn_cell c) { return (unsigned)c < LAM_RNN_CELL_COUNT_ ? rnn_cell_names[c] : "?"; }
int lam_rnn_cell_gates(lam_rnn_cell c) { return c == LAM_RNN_LSTM ? 4 : c == LAM_RNN_GRU ? 3 : 1; }

lam_node *lam_rnn_op(lam_graph *g, lam_node *x, lam_node *const *w_ih, lam_node *const *w_hh, lam_node *const *b_ih,
                     lam_node *const *b_hh, lam_node *h0, lam_node *c0, lam_node *lengths, const lam_rnn_args *a)
{
    if (!g || g->status != LAM_OK) return NULL;
    if (!a || (unsigned)a->cell >= LAM_RNN_CELL_COUNT_ || !w_ih || !w_hh) {
        lam_graph_fail(g, LAM_ERR_ARG, "rnn: missing arguments or unknown cell");
        return NULL;
    }
    if (c0 && a->cell != LAM_RNN_LSTM) {
        lam_graph_fail(g, LAM_ERR_ARG, "%s: only an LSTM has a cell state (c0)", lam_rnn_cell_name(a->cell));
        return NULL;
    }
    int D = a->bidirectional ? 2 : 1;
    bool bias = b_ih && b_hh;
    if ((b_ih != NULL) != (b_hh != NULL)) {
        lam_graph_fail(g, LAM_ERR_ARG, "%s: give both bias arrays or neither", lam_rnn_cell_name(a->cell));
        return NULL;
    }
    lam_node *in[LAM_MAX_INPUTS];
    int n = 0;
    in[n++] = x;
    for (int d = 0; d < D; d++) {
        in[n++] = w_ih[d];
        in[n++] = w_hh[d];
        if (bias) in[n++] = b_ih[d], in[n++] = b_hh[d];
    }
    if (h0) in[n++] = h0;
    if (c0) in[n++] = c0;
    if (lengths) in[n++] = lengths;
    lam_op_params p = {.rnn = {a->cell, a->bidirectional, a->last_only, bias, h0 != NULL, c0 != NULL, lengths != NULL}};
    return op_node(g, LAM_OP_RNN, &p, n, in);
}

lam_node *lam_reshape(lam_graph *g, lam_node *x, lam_shape sample)
{
    lam_op_params p = {.reshape = {sample}};
    return op_node(g, LAM_OP_RESHAPE, &p, 1, (lam_node *[]){x});
}

lam_node *lam_flatten(lam_graph *g, lam_node *x)
{
    if (!g || !x) return op_node(g, LAM_OP_RESHAPE, NULL, 1, (lam_node *[]){x});
    lam_shape s = lam_node_shape(x);
    int64_t per = 1;
    for (int i = 1; i < s.ndim; i++) per *= s.d[i];
    return lam_reshape(g, x, lam_shape1(per));
}

/* attention and sequence pooling: the optional inputs go last (see
 * lam_attention_params), the op's int_inputs hook finds the lengths */
lam_node *lam_attention_op(lam_graph *g, lam_node *q, lam_node *kv, lam_node *lengths, lam_attn_score score,
                           lam_node *w, lam_node *wq, lam_node *wk, lam_node *v, float scale)
{
    if (!g || g->status != LAM_OK) return NULL;
    if ((unsigned)score >= LAM_ATTN_SCORE_COUNT_) {
        lam_graph_fail(g, LAM_ERR_ARG, "attention: unknown score %d", (int)score);
        return NULL;
    }
    const char *sn = lam_attn_score_name(score);
    bool gen = score == LAM_ATTN_GENERAL, add = score == LAM_ATTN_ADDITIVE;
    if ((w != NULL) != gen || (wq != NULL) != add || (wk != NULL) != add || (v != NULL) != add) {
        lam_graph_fail(g, LAM_ERR_ARG, "attention (%s): %s", sn,
                       gen ? "needs w and no wq, wk, v" : add ? "needs wq, wk and v and no w" : "takes no weights (w, wq, wk, v must be NULL)");
        return NULL;
    }
    if (!isfinite(scale)) {
        lam_graph_fail(g, LAM_ERR_ARG, "attention (%s): scale %g must be finite", sn, (double)scale);
        return NULL;
    }
    lam_node *in[LAM_MAX_INPUTS] = {q, kv};
    int n = 2;
    if (gen) in[n++] = w;
    if (add) in[n++] = wq, in[n++] = wk, in[n++] = v;
    if (lengths) in[n++] = lengths;
    lam_op_params p = {.attention = {score, scale, lengths != NULL}};
    return op_node(g, LAM_OP_ATTENTION, &p, n, in);
}

lam_node *lam_seq_pool(lam_graph *g, lam_node *x, lam_node *lengths, lam_seq_pool_mode mode)
{
    if (!g || g->status != LAM_OK) return NULL;
    if ((unsigned)mode >= LAM_SEQ_POOL_MODE_COUNT_) {
        lam_graph_fail(g, LAM_ERR_ARG, "seq_pool: unknown mode %d", (int)mode);
        return NULL;
    }
    lam_op_params p = {.seq_pool = {mode, lengths != NULL}};
    return op_node(g, LAM_OP_SEQ_POOL, &p, lengths ? 2 : 1, (lam_node *[]){x, lengths});
}

lam_node *lam_layernorm_op(lam_graph *g, lam_node *x, lam_node *w, lam_node *b, float eps)
{
    if (g && !(eps > 0.0f && isfinite(eps))) {
        lam_graph_fail(g, LAM_ERR_ARG, "layernorm: eps %g must be > 0", (double)eps);
        return NULL;
    }
    lam_op_params p = {.layernorm = {eps}};
    return op_node(g, LAM_OP_LAYERNORM, &p, b ? 3 : 2, (lam_node *[]){x, w, b});
}

lam_node *lam_rmsnorm_op(lam_graph *g, lam_node *x, lam_node *w, float eps)
{
    if (g && !(eps > 0.0f && isfinite(eps))) {
        lam_graph_fail(g, LAM_ERR_ARG, "rmsnorm: eps %g must be > 0", (double)eps);
        return NULL;
    }
    lam_op_params p = {.rmsnorm = {eps}};
    return op_node(g, LAM_OP_RMSNORM, &p, 2, (lam_node *[]){x, w});
}

/* lam_mha_args checked and turned into op parameters (false: recorded error) */
static bool mha_params(lam_graph *g, const lam_mha_args *a, bool lengths, bool cached, lam_op_params *p)
{
    int nkv = a ? (a->kv_heads ? a->kv_heads : a->heads) : 0;
    if (!a || a->heads < 1 || a->head_size < 1 || nkv < 1 || a->heads % nkv || !isfinite(a->scale) ||
        !(a->dropout >= 0.0f && a->dropout < 1.0f)) {
        lam_graph_fail(g, LAM_ERR_ARG, "mha: heads %d, kv_heads %d, head_size %d, scale %g, dropout %g: need heads >= 1, "
                                       "kv_heads dividing heads, head_size >= 1, a finite scale and dropout in [0, 1)",
                       a ? a->heads : 0, nkv, a ? a->head_size : 0, a ? (double)a->scale : 0.0,
                       a ? (double)a->dropout : 0.0);
        return false;
    }
    float scale = a->scale != 0.0f ? a->scale : 1.0f / sqrtf((float)a->head_size);
    p->mha = (lam_mha_params){a->heads, nkv, a->head_size, a->causal, scale, lengths, cached, cached ? 0.0f : a->dropout};
    return true;
}

lam_node *lam_mha_op(lam_graph *g, lam_node *qkv, lam_node *lengths, const lam_mha_args *a)
{
    if (!g || g->status != LAM_OK) return NULL;
    lam_op_params p;
    if (!mha_params(g, a, lengths != NULL, false, &p)) return NULL;
    return op_node(g, LAM_OP_MHA, &p, lengths ? 2 : 1, (lam_node *[]){qkv, lengths});
}

lam_node *lam_mha_op_cached(lam_graph *g, lam_node *qkv, lam_node *kcache, lam_node *vcache, lam_node *pos,
                            const lam_mha_args *a)
{
    if (!g || g->status != LAM_OK) return NULL;
    lam_op_params p;
    if (!mha_params(g, a, false, true, &p)) return NULL;
    return op_node(g, LAM_OP_MHA, &p, 4, (lam_node *[]){qkv, kcache, vcache, pos});
}

lam_node *lam_pos_embed_op(lam_graph *g, lam_node *x, lam_node *table)
{
    return op_node(g, LAM_OP_POS_EMBED, NULL, 2, (lam_node *[]){x, table});
}

lam_node *lam_pos_embed_op_at(lam_graph *g, lam_node *x, lam_node *table, lam_node *start)
{
    return op_node(g, LAM_OP_POS_EMBED, NULL, 3, (lam_node *[]){x, table, start});
}

lam_node *lam_rope_op(lam_graph *g, lam_node *qkv, lam_node *start, const lam_rope_args *a)
{
    if (!g || g->status != LAM_OK) return NULL;
    int nkv = a ? (a->kv_heads ? a->kv_heads : a->heads) : 0;
    float theta = a && a->theta != 0.0f ? a->theta : 10000.0f;
    if (!a || a->heads < 1 || nkv < 1 || a->head_size < 2 || a->head_size % 2 || a->head_size / 2 > ROPE_MAX_HALF ||
        !(theta > 1.0f) || !isfinite(theta)) {
        lam_graph_fail(g, LAM_ERR_ARG, "rope: heads %d, kv_heads %d, head_size %d, theta %g: need heads, kv_heads >= 1, "
                                       "an even head_size of at most %d and theta > 1",
                       a ? a->heads : 0, nkv, a ? a->head_size : 0, (double)theta, 2 * ROPE_MAX_HALF);
        return NULL;
    }
    lam_op_params p = {.rope = {a->heads, nkv, a->head_size, theta}};
    return op_node(g, LAM_OP_ROPE, &p, start ? 2 : 1, (lam_node *[]){qkv, start});
}

/* ---- inspection and naming ------------------------------------------------ */

lam_shape lam_node_shape(const lam_node *n) { return n->shape; }
int lam_node_id(const lam_node *n) { return n->id; }
lam_shape lam_node_sample_shape(const lam_node *n)
{
    lam_shape s = n->shape;
    if (n->has_batch && s.ndim > 0) {
        memmove(s.d, s.d + 1, (size_t)(s.ndim - 1) * sizeof s.d[0]);
        s.d[--s.ndim] = 0;
    }
    return s;
}
const char *lam_node_name(const lam_node *n) { return n->name; }
const char *lam_node_op_name(const lam_node *n) { return lam_op_name(n->op); }
lam_node *lam_node_input(const lam_node *n, int k) { return k >= 0 && k < n->n_in ? n->in[k] : NULL; }
float *lam_node_data(const lam_node *n) { return n->val; }
int32_t *lam_node_labels(const lam_node *n) { return (int32_t *)n->val; }
int32_t *lam_node_ids(const lam_node *n) { return (int32_t *)n->val; }
lam_dtype lam_node_dtype(const lam_node *n) { return n->dtype; }
float *lam_node_grad(const lam_node *n) { return n->grad; }
int lam_graph_node_count(const lam_graph *g) { return g->n_nodes; }
lam_node *lam_graph_node_at(const lam_graph *g, int i) { return i >= 0 && i < g->n_nodes ? g->nodes[i] : NULL; }

lam_node *lam_graph_node(const lam_graph *g, const char *name)
{
    if (!g || !name || !g->name_cap) return NULL;
    uint32_t mask = (uint32_t)g->name_cap - 1;
    for (uint32_t i = name_hash(name) & mask; g->name_slots[i]; i = (i + 1) & mask) {
        int id = g->name_slots[i] - 1;
        if (id < g->n_nodes && strcmp(g->nodes[id]->name, name) == 0) return g->nodes[id];
    }
    return NULL;
}

lam_status lam_node_set_name(lam_graph *g, lam_node *n, const char *name)
{
    if (!n || !name || !*name) return lam_fail(LAM_ERR_ARG, "lam_node_set_name: empty name");
    lam_node *other = lam_graph_node(g, name);
    if (other == n) return LAM_OK;
    if (other) return lam_graph_fail(g, LAM_ERR_ARG, "a node named '%s' exists already", name);
    const char *copy = lam_arena_strdup(g->arena, name);
    if (!copy) return lam_graph_fail(g, LAM_ERR_NOMEM, "out of memory naming a node");
    const char *old = n->name;
    n->name = copy;
    if (!name_index_add(g, n->id)) {
        n->name = old;
        return g->status;
    }
    if (n->param >= 0) g->params[n->param].name = copy;
    return LAM_OK;
}

void lam_graph_mark_output(lam_graph *g, lam_node *n)
{
    if (!n) return;
    n->keep = true;
    g->compiled = false;
}

size_t lam_graph_param_count(const lam_graph *g) { return (size_t)g->n_params; }
const lam_param_info *lam_graph_param_at(const lam_graph *g, size_t i)
{
    return i < (size_t)g->n_params ? &g->params[i] : NULL;
}
const lam_param_info *lam_graph_param_find(const lam_graph *g, const char *name)
{
    const lam_node *n = lam_graph_node(g, name); /* a parameter's name is its node's */
    return n && n->param >= 0 ? &g->params[n->param] : NULL;
}
size_t lam_graph_param_total(const lam_graph *g) { return g->param_total; }
float *lam_graph_params(lam_graph *g) { return g->param_data; }
float *lam_graph_grads(lam_graph *g) { return g->grad_data; }

lam_status lam_graph_set_trainable(lam_graph *g, const char *param_name, bool trainable)
{
    lam_param_info *pi = (lam_param_info *)lam_graph_param_find(g, param_name);
    if (!pi) return lam_fail(LAM_ERR_ARG, "no parameter named '%s'", param_name);
    if (pi->buffer && trainable) return lam_fail(LAM_ERR_ARG, "'%s' is a buffer and cannot be trained", param_name);
    pi->trainable = trainable;
    return LAM_OK;
}

int lam_graph_begin_recompute(lam_graph *g)
{
    if (!g || g->status != LAM_OK) return -1;
    if (g->open_seg >= 0) {
        lam_graph_fail(g, LAM_ERR_STATE, "recompute: a segment is open already (segments do not nest)");
        return -1;
    }
    if (!grow(g, (void **)&g->segs, g->n_segs, &g->cap_segs, sizeof *g->segs)) return -1;
    g->segs[g->n_segs] = (struct lam_segment){.first = g->n_nodes, .last = -1};
    g->open_seg = g->n_segs++;
    return g->open_seg;
}

lam_status lam_graph_end_recompute(lam_graph *g)
{
    if (!g) return LAM_ERR_ARG;
    if (g->status != LAM_OK) return g->status;
    if (g->open_seg < 0) return lam_graph_fail(g, LAM_ERR_STATE, "recompute: no segment is open");
    struct lam_segment *sg = &g->segs[g->open_seg];
    g->open_seg = -1;
    sg->last = g->n_nodes - 1;
    for (int i = sg->first; i <= sg->last; i++) {
        lam_op op = g->nodes[i]->op;
        if (op == LAM_OP_BATCHNORM)
            return lam_graph_fail(g, LAM_ERR_ARG, "recompute: node %s updates running statistics in its forward pass, "
                                                  "so it cannot be computed twice", g->nodes[i]->name);
    }
    return LAM_OK;
}

int lam_graph_begin_layer(lam_graph *g, const char *name)
{
    if (!g || g->status != LAM_OK) return -1;
    if (!grow(g, (void **)&g->layers, g->n_layers, &g->cap_layers, sizeof *g->layers)) return -1;
    const char *copy = lam_arena_strdup(g->arena, name ? name : "");
    if (!copy) {
        lam_graph_fail(g, LAM_ERR_NOMEM, "out of memory");
        return -1;
    }
    g->layers[g->n_layers] = copy;
    g->cur_layer = g->n_layers++;
    return g->cur_layer;
}
int lam_graph_layer_count(const lam_graph *g) { return g->n_layers; }
const char *lam_graph_layer_name(const lam_graph *g, int layer)
{
    return layer >= 0 && layer < g->n_layers ? g->layers[layer] : NULL;
}
void lam_graph_set_layer_trainable(lam_graph *g, int layer, bool trainable)
{
    for (int i = 0; i < g->n_params; i++)
        if (g->params[i].layer == layer && !g->params[i].buffer) g->params[i].trainable = trainable;
}

static const char *const init_names[LAM_INIT_COUNT_] = {
    "zeros", "ones", "uniform", "normal", "torch_default", "xavier_uniform", "he_normal", "sinusoidal"};
const char *lam_init_name(lam_init_kind k) { return (unsigned)k < LAM_INIT_COUNT_ ? init_names[k] : "?"; }
bool lam_init_from_name(const char *name, lam_init_kind *out)
{
    for (int i = 0; i < LAM_INIT_COUNT_; i++)
        if (strcmp(name, init_names[i]) == 0) {
            *out = (lam_init_kind)i;
            return true;
        }
    return false;
}
