/* Attention layers: attention of a query sequence over a value sequence
 * (Luong dot / general, Bahdanau additive), attention pooling with a learned
 * query (HAN), and the parameter-free sequence pooling layer.  Parameters
 * are registered under one graph layer named after the layer. */
#include <math.h>
#include <stdio.h>

#include "lamina/nn.h"

lam_attention_opts lam_attention_opts_defaults(lam_attn_score score)
{
    return (lam_attention_opts){.score = score, .units = 64, .scaled = false};
}

/* The attention op over kv with the score's parameters NAME.*, named
 * node_name.  Dq and D are the query's and the values' last dimensions. */
static lam_node *attend(lam_graph *g, lam_node *q, lam_node *kv, lam_node *lengths, const char *name,
                        const char *node_name, const lam_attention_opts *o, int64_t Dq, int64_t D)
{
    char pn[256];
    lam_node *w = NULL, *wq = NULL, *wk = NULL, *v = NULL;
    const lam_init torch = {LAM_INIT_TORCH_DEFAULT, 0, 0};
    if (o->score == LAM_ATTN_GENERAL) {
        snprintf(pn, sizeof pn, "%s.weight", name);
        w = lam_param(g, pn, lam_shape2(Dq, D), torch);
    } else if (o->score == LAM_ATTN_ADDITIVE) {
        snprintf(pn, sizeof pn, "%s.query_proj", name);
        wq = lam_param(g, pn, lam_shape2(o->units, Dq), torch);
        snprintf(pn, sizeof pn, "%s.key_proj", name);
        wk = lam_param(g, pn, lam_shape2(o->units, D), torch);
        snprintf(pn, sizeof pn, "%s.v", name);
        v = lam_param(g, pn, lam_shape1(o->units), torch); /* fan-in A, as a Linear(A, 1) */
    }
    if (lam_graph_status(g) != LAM_OK) return NULL;
    float scale = o->scaled ? (float)(1.0 / sqrt((double)D)) : 1.0f;
    lam_node *y = lam_attention_op(g, q, kv, lengths, o->score, w, wq, wk, v, scale);
    if (y && lam_node_set_name(g, y, node_name) != LAM_OK) return NULL;
    return y;
}

/* Checks shared by the layers; false after recording the error. */
static bool check_args(lam_graph *g, const char *layer, lam_node *a, lam_node *b, const char *name,
                       const lam_attention_opts *o)
{
    if (!a || !b || !name || !*name) {
        lam_graph_fail(g, LAM_ERR_ARG, "%s: NULL input or empty name", layer);
        return false;
    }
    if (lam_graph_status(g) != LAM_OK) return false;
    if ((unsigned)o->score >= LAM_ATTN_SCORE_COUNT_) {
        lam_graph_fail(g, LAM_ERR_ARG, "%s %s: unknown score %d", layer, name, (int)o->score);
        return false;
    }
    if (o->score == LAM_ATTN_ADDITIVE && o->units <= 0) {
        lam_graph_fail(g, LAM_ERR_ARG, "%s %s: units = %d, must be positive for the additive score", layer, name,
                       o->units);
        return false;
    }
    lam_shape s = lam_node_shape(b);
    if (s.ndim != 3) {
        char buf[64];
        lam_graph_fail(g, LAM_ERR_SHAPE, "%s %s: values %s: expected [B, T, D]", layer, name,
                       lam_shape_str(&s, buf, sizeof buf));
        return false;
    }
    return true;
}

lam_node *lam_nn_attention(lam_graph *g, lam_node *query, lam_node *values, lam_node *lengths, const char *name,
                           const lam_attention_opts *opts)
{
    if (!g) return NULL;
    lam_attention_opts o = opts ? *opts : lam_attention_opts_defaults(LAM_ATTN_ADDITIVE);
    if (!check_args(g, "attention", query, values, name, &o)) return NULL;
    lam_shape qs = lam_node_shape(query), vs = lam_node_shape(values);
    if (qs.ndim != 2 && qs.ndim != 3) {
        char buf[64];
        lam_graph_fail(g, LAM_ERR_SHAPE, "attention %s: query %s: expected [B, Tq, Dq] or [Tq, Dq]", name,
                       lam_shape_str(&qs, buf, sizeof buf));
        return NULL;
    }
    if (o.score != LAM_ATTN_DOT) lam_graph_begin_layer(g, name);
    return attend(g, query, values, lengths, name, name, &o, qs.d[qs.ndim - 1], vs.d[2]);
}

lam_node *lam_nn_attention_pool(lam_graph *g, lam_node *seq, lam_node *lengths, const char *name,
                                const lam_attention_opts *opts)
{
    if (!g) return NULL;
    lam_attention_opts o = opts ? *opts : lam_attention_opts_defaults(LAM_ATTN_ADDITIVE);
    if (!check_args(g, "attention_pool", seq, seq, name, &o)) return NULL;
    int64_t D = lam_node_shape(seq).d[2], Dq = o.score == LAM_ATTN_ADDITIVE ? o.units : D;
    char pn[256], an[256];
    lam_graph_begin_layer(g, name);
    snprintf(pn, sizeof pn, "%s.query", name);
    lam_node *q = lam_param(g, pn, lam_shape2(1, Dq), (lam_init){LAM_INIT_NORMAL, 0.1f, 0});
    snprintf(an, sizeof an, "%s.attention", name);
    lam_node *ctx = q ? attend(g, q, seq, lengths, name, an, &o, Dq, D) : NULL;
    lam_node *y = lam_reshape(g, ctx, lam_shape1(D));
    if (y && lam_node_set_name(g, y, name) != LAM_OK) return NULL;
    return y;
}

lam_node *lam_nn_seq_pool(lam_graph *g, lam_node *x, lam_node *lengths, const char *name, lam_seq_pool_mode mode)
{
    if (!g) return NULL;
    if (!name || !*name) {
        lam_graph_fail(g, LAM_ERR_ARG, "seq_pool: empty name");
        return NULL;
    }
    lam_node *y = lam_seq_pool(g, x, lengths, mode);
    if (y && lam_node_set_name(g, y, name) != LAM_OK) return NULL;
    return y;
}
