/* Transformer layers: normalisation, learned position embeddings and the
 * pre-LN block (attention and MLP, each with a residual connection), built
 * from the fused ops (lam_mha_op, lam_layernorm_op, lam_dense_op). */
#include <stdio.h>

#include "lamina/nn.h"

lam_node *lam_nn_norm(lam_graph *g, lam_node *x, const char *name, lam_norm_kind kind, float eps, bool bias)
{
    if (!g || lam_graph_status(g) != LAM_OK) return NULL;
    if (!x || !name || (unsigned)kind >= LAM_NORM_KIND_COUNT_) {
        lam_graph_fail(g, LAM_ERR_ARG, "norm: NULL input or name, or unknown kind");
        return NULL;
    }
    lam_shape xs = lam_node_shape(x);
    int64_t C = xs.d[xs.ndim - 1];
    char pn[256];
    lam_graph_begin_layer(g, name);
    snprintf(pn, sizeof pn, "%s.weight", name);
    lam_node *w = lam_param(g, pn, lam_shape1(C), (lam_init){LAM_INIT_ONES, 0, 0});
    lam_node *b = NULL;
    if (kind == LAM_NORM_LAYER && bias) {
        snprintf(pn, sizeof pn, "%s.bias", name);
        b = lam_param(g, pn, lam_shape1(C), (lam_init){LAM_INIT_ZEROS, 0, 0});
    }
    lam_node *y = kind == LAM_NORM_RMS ? lam_rmsnorm_op(g, x, w, eps) : lam_layernorm_op(g, x, w, b, eps);
    if (y && lam_node_set_name(g, y, name) != LAM_OK) return NULL;
    return y;
}

lam_transformer_opts lam_transformer_opts_defaults(int heads)
{
    return (lam_transformer_opts){.heads = heads, .mlp_act = LAM_ACT_GELU, .norm = LAM_NORM_LAYER, .norm_eps = 1e-5f,
                                  .causal = true, .bias = true, .init = LAM_INIT_NORMAL, .init_a = 0.02f,
                                  .rope_theta = 10000.0f};
}

static lam_node *linear(lam_graph *g, lam_node *x, const char *block, const char *part, int units, lam_act act,
                        const lam_transformer_opts *o)
{
    char nm[256];
    snprintf(nm, sizeof nm, "%s.%s", block, part);
    lam_dense_opts d = lam_dense_opts_defaults(units, act);
    d.bias = o->bias;
    d.init = o->init;
    d.init_a = o->init_a;
    return lam_nn_dense(g, x, nm, &d);
}

static lam_node *named(lam_graph *g, lam_node *n, const char *block, const char *part)
{
    char nm[256];
    snprintf(nm, sizeof nm, "%s.%s", block, part);
    if (n && lam_node_set_name(g, n, nm) != LAM_OK) return NULL;
    return n;
}

/* The block; kc/vc/pos non-NULL: a decoding step over a key/value cache */
static lam_node *block(lam_graph *g, lam_node *x, lam_node *lengths, const char *name, const lam_transformer_opts *o,
                       lam_node *kc, lam_node *vc, lam_node *pos)
{
    if (!g || lam_graph_status(g) != LAM_OK) return NULL;
    if (!x || !name || !o) {
        lam_graph_fail(g, LAM_ERR_ARG, "transformer block: NULL input, name or options");
        return NULL;
    }
    lam_shape xs = lam_node_shape(x);
    int nkv = o->kv_heads ? o->kv_heads : o->heads;
    if (xs.ndim != 3 || o->heads < 1 || xs.d[2] % o->heads || nkv < 1 || o->heads % nkv || o->mlp_hidden < 0 ||
        !(o->dropout >= 0.0f && o->dropout < 1.0f) || !(o->attn_dropout >= 0.0f && o->attn_dropout < 1.0f)) {
        char sb[64];
        lam_graph_fail(g, LAM_ERR_ARG,
                       "transformer block %s: input %s, heads %d, kv_heads %d: needs [B, T, C] with the heads dividing "
                       "C and the kv heads dividing the heads, mlp_hidden >= 0, dropout in [0, 1)",
                       name, lam_shape_str(&xs, sb, sizeof sb), o->heads, nkv);
        return NULL;
    }
    int C = (int)xs.d[2], hs = C / o->heads;
    int hidden = o->mlp_hidden ? o->mlp_hidden : o->swiglu ? (8 * C / 3 + 7) / 8 * 8 : 4 * C;
    char nm[256];
    bool seg = o->recompute && !kc; /* a decoding step is inference: nothing to recompute */
    if (seg && lam_graph_begin_recompute(g) < 0) return NULL;
    snprintf(nm, sizeof nm, "%s.ln1", name);
    lam_node *h = lam_nn_norm(g, x, nm, o->norm, o->norm_eps, o->bias);
    lam_node *qkv = linear(g, h, name, "qkv", (o->heads + 2 * nkv) * hs, LAM_ACT_NONE, o);
    if (o->rope) {
        lam_rope_args ra = {o->heads, nkv, hs, o->rope_theta};
        qkv = named(g, lam_rope_op(g, qkv, pos, &ra), name, "rope");
    }
    lam_mha_args ma = {o->heads, nkv, hs, o->causal, 0.0f, o->attn_dropout};
    lam_node *a = named(g, kc ? lam_mha_op_cached(g, qkv, kc, vc, pos, &ma) : lam_mha_op(g, qkv, lengths, &ma), name,
                        "attn");
    lam_node *y = linear(g, a, name, "proj", C, LAM_ACT_NONE, o);
    if (o->dropout > 0) y = named(g, lam_dropout(g, y, o->dropout), name, "proj.dropout");
    x = named(g, lam_add(g, x, y), name, "res1");
    snprintf(nm, sizeof nm, "%s.ln2", name);
    h = lam_nn_norm(g, x, nm, o->norm, o->norm_eps, o->bias);
    if (o->swiglu) h = named(g, lam_swiglu(g, linear(g, h, name, "fc1", 2 * hidden, LAM_ACT_NONE, o)), name, "swiglu");
    else h = linear(g, h, name, "fc1", hidden, o->mlp_act, o);
    y = linear(g, h, name, "fc2", C, LAM_ACT_NONE, o);
    if (o->dropout > 0) y = named(g, lam_dropout(g, y, o->dropout), name, "fc2.dropout");
    lam_node *out = lam_add(g, x, y);
    if (out && lam_node_set_name(g, out, name) != LAM_OK) return NULL;
    if (seg && lam_graph_end_recompute(g) != LAM_OK) return NULL;
    return out;
}

lam_node *lam_nn_transformer_block(lam_graph *g, lam_node *x, lam_node *lengths, const char *name,
                                   const lam_transformer_opts *o)
{
    return block(g, x, lengths, name, o, NULL, NULL, NULL);
}

lam_node *lam_nn_transformer_block_step(lam_graph *g, lam_node *x, const char *name, const lam_transformer_opts *o,
                                        lam_node *kcache, lam_node *vcache, lam_node *pos)
{
    if (!g || lam_graph_status(g) != LAM_OK) return NULL;
    if (!kcache || !vcache || !pos) {
        lam_graph_fail(g, LAM_ERR_ARG, "transformer block %s: a decoding step needs both caches and the positions",
                       name ? name : "");
        return NULL;
    }
    return block(g, x, NULL, name, o, kcache, vcache, pos);
}

lam_node *lam_nn_pos_embedding(lam_graph *g, lam_node *x, const char *name, int context, float init_std)
{
    return lam_nn_pos_embedding_at(g, x, name, context, init_std, NULL);
}

lam_node *lam_nn_pos_embedding_at(lam_graph *g, lam_node *x, const char *name, int context, float init_std,
                                  lam_node *start)
{
    if (!g || lam_graph_status(g) != LAM_OK) return NULL;
    if (!x || !name || context < 1) {
        lam_graph_fail(g, LAM_ERR_ARG, "position embedding: NULL input or name, or context %d < 1", context);
        return NULL;
    }
    lam_shape xs = lam_node_shape(x);
    char pn[256];
    lam_graph_begin_layer(g, name);
    snprintf(pn, sizeof pn, "%s.weight", name);
    lam_shape ts = lam_shape2(context, xs.d[xs.ndim - 1]);
    lam_node *t = init_std < 0 ? lam_buffer(g, pn, ts, (lam_init){LAM_INIT_SINUSOIDAL, 0, 0})
                               : lam_param(g, pn, ts, (lam_init){LAM_INIT_NORMAL, init_std, 0});
    lam_node *y = start ? lam_pos_embed_op_at(g, x, t, start) : lam_pos_embed_op(g, x, t);
    if (y && lam_node_set_name(g, y, name) != LAM_OK) return NULL;
    return y;
}
