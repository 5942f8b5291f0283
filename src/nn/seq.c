/* Sequence layers: the embedding, and stacks of recurrent layers
 * (torch.nn.RNN / LSTM / GRU) built from the one-layer recurrent op, with
 * torch's parameter names, shapes and initialisation. */
#include <math.h>
#include <stdio.h>

#include "lamina/nn.h"

lam_embedding_opts lam_embedding_opts_defaults(int vocab, int dim)
{
    return (lam_embedding_opts){.vocab = vocab, .dim = dim, .padding_idx = -1, .init_std = 1.0f};
}

lam_node *lam_nn_embedding(lam_graph *g, lam_node *ids, const char *name, const lam_embedding_opts *o)
{
    if (!g || lam_graph_status(g) != LAM_OK) return NULL;
    if (!ids || !o || !name) {
        lam_graph_fail(g, LAM_ERR_ARG, "embedding: NULL input, options or name");
        return NULL;
    }
    if (o->vocab <= 0 || o->dim <= 0 || o->padding_idx < -1 || o->padding_idx >= o->vocab) {
        lam_graph_fail(g, LAM_ERR_ARG, "embedding %s: vocab %d and dim %d must be positive, padding_idx %d in -1..vocab-1",
                       name, o->vocab, o->dim, o->padding_idx);
        return NULL;
    }
    char pn[256];
    lam_graph_begin_layer(g, name);
    snprintf(pn, sizeof pn, "%s.weight", name);
    lam_node *w = lam_param(g, pn, lam_shape2(o->vocab, o->dim), (lam_init){LAM_INIT_NORMAL, o->init_std, 0});
    if (w && o->padding_idx >= 0 && lam_param_zero_row(g, w, o->padding_idx) != LAM_OK) return NULL;
    lam_node *y = lam_embedding_op(g, ids, w, o->padding_idx);
    if (y && lam_node_set_name(g, y, name) != LAM_OK) return NULL;
    return y;
}

lam_rnn_opts lam_rnn_opts_defaults(lam_rnn_cell cell, int units)
{
    return (lam_rnn_opts){.cell = cell, .units = units, .layers = 1, .bias = true};
}

lam_node *lam_nn_rnn(lam_graph *g, lam_node *x, lam_node *lengths, const char *name, const lam_rnn_opts *o,
                     lam_node *const *h0, lam_node *const *c0, lam_node **layer_nodes)
{
    if (!g || lam_graph_status(g) != LAM_OK) return NULL;
    if (!x || !o || !name) {
        lam_graph_fail(g, LAM_ERR_ARG, "rnn: NULL input, options or name");
        return NULL;
    }
    const char *cell = lam_rnn_cell_name(o->cell);
    if ((unsigned)o->cell >= LAM_RNN_CELL_COUNT_ || o->units <= 0 || o->layers < 1 || o->layers > LAM_RNN_MAX_LAYERS ||
        !(o->dropout >= 0.0f && o->dropout < 1.0f)) {
        lam_graph_fail(g, LAM_ERR_ARG, "%s %s: units %d must be positive, layers %d in 1..%d, dropout %g in [0, 1)", cell,
                       name, o->units, o->layers, LAM_RNN_MAX_LAYERS, (double)o->dropout);
        return NULL;
    }
    lam_shape xs = lam_node_shape(x);
    char sb[64];
    if (xs.ndim != 3) {
        lam_graph_fail(g, LAM_ERR_SHAPE, "%s %s: input %s, expected [batch, time, features]", cell, name,
                       lam_shape_str(&xs, sb, sizeof sb));
        return NULL;
    }
    int D = o->bidirectional ? 2 : 1, G = lam_rnn_cell_gates(o->cell), H = o->units;
    /* torch: every weight and bias U(-1/sqrt(H), 1/sqrt(H)) */
    lam_init init = {LAM_INIT_UNIFORM, 1.0f / sqrtf((float)H), 0};
    lam_graph_begin_layer(g, name);
    lam_node *h = x;
    for (int l = 0; l < o->layers; l++) {
        int64_t in = lam_node_shape(h).d[2];
        lam_node *wih[2], *whh[2], *bih[2], *bhh[2];
        char pn[300];
        for (int d = 0; d < D; d++) {
            const char *sfx = d ? "_reverse" : "";
            snprintf(pn, sizeof pn, "%s.weight_ih_l%d%s", name, l, sfx);
            wih[d] = lam_param(g, pn, lam_shape2((int64_t)G * H, in), init);
            snprintf(pn, sizeof pn, "%s.weight_hh_l%d%s", name, l, sfx);
            whh[d] = lam_param(g, pn, lam_shape2((int64_t)G * H, H), init);
            if (o->bias) {
                snprintf(pn, sizeof pn, "%s.bias_ih_l%d%s", name, l, sfx);
                bih[d] = lam_param(g, pn, lam_shape1((int64_t)G * H), init);
                snprintf(pn, sizeof pn, "%s.bias_hh_l%d%s", name, l, sfx);
                bhh[d] = lam_param(g, pn, lam_shape1((int64_t)G * H), init);
            }
        }
        bool top = l == o->layers - 1;
        lam_rnn_args a = {o->cell, o->bidirectional, top && o->last_only};
        lam_node *y = lam_rnn_op(g, h, wih, whh, o->bias ? bih : NULL, o->bias ? bhh : NULL, h0 ? h0[l] : NULL,
                                 c0 ? c0[l] : NULL, lengths, &a);
        if (!y) return NULL;
        if (layer_nodes) layer_nodes[l] = y;
        snprintf(pn, sizeof pn, top ? "%s" : "%s.l%d", name, l);
        if (lam_node_set_name(g, y, pn) != LAM_OK) return NULL;
        h = y;
        if (!top && o->dropout > 0.0f) {
            h = lam_dropout(g, h, o->dropout);
            snprintf(pn, sizeof pn, "%s.dropout%d", name, l);
            if (!h || lam_node_set_name(g, h, pn) != LAM_OK) return NULL;
        }
    }
    return h;
}
