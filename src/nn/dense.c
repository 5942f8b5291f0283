/* The dense (fully connected) layer. */
#include <stdio.h>
#include <string.h>

#include "lamina/nn.h"

lam_dense_opts lam_dense_opts_defaults(int units, lam_act act)
{
    return (lam_dense_opts){.units = units, .act = act, .bias = true, .init = LAM_INIT_TORCH_DEFAULT, .init_a = 0.02f};
}

lam_node *lam_nn_dense(lam_graph *g, lam_node *x, const char *name, const lam_dense_opts *o)
{
    if (!g) return NULL;
    if (!x || !o || !name) {
        lam_graph_fail(g, LAM_ERR_ARG, "dense: NULL input, options or name");
        return NULL;
    }
    if (lam_graph_status(g) != LAM_OK) return NULL;
    lam_shape xs = lam_node_shape(x);
    if (xs.ndim < 1 || o->units <= 0) {
        lam_graph_fail(g, LAM_ERR_ARG, "dense %s: units = %d, must be positive", name, o->units);
        return NULL;
    }
    int64_t in = xs.d[xs.ndim - 1];
    char pn[256];
    lam_graph_begin_layer(g, name);
    snprintf(pn, sizeof pn, "%s.weight", name);
    lam_node *w = o->tied;
    if (w) {
        lam_shape ws = lam_node_shape(w);
        if (strcmp(lam_node_op_name(w), "param") || ws.ndim != 2 || ws.d[0] != o->units || ws.d[1] != in) {
            char sb[64];
            lam_graph_fail(g, LAM_ERR_ARG, "dense %s: the tied weight %s is %s, needs a parameter [%d, %lld]", name,
                           lam_node_name(w), lam_shape_str(&ws, sb, sizeof sb), o->units, (long long)in);
            return NULL;
        }
    } else {
        w = lam_param(g, pn, lam_shape2(o->units, in),
                      (lam_init){o->init, o->init == LAM_INIT_NORMAL || o->init == LAM_INIT_UNIFORM ? o->init_a : 0.0f, 0});
    }
    lam_node *b = NULL;
    if (o->bias) {
        snprintf(pn, sizeof pn, "%s.bias", name);
        /* torch initialises the bias from the weight's fan-in */
        b = lam_param(g, pn, lam_shape1(o->units),
                      (lam_init){o->init == LAM_INIT_TORCH_DEFAULT ? LAM_INIT_TORCH_DEFAULT : LAM_INIT_ZEROS, 0, in});
        if (!b) return NULL;
    }
    lam_node *y = lam_dense_op(g, x, w, b, o->act);
    if (y && lam_node_set_name(g, y, name) != LAM_OK) return NULL;
    return y;
}
