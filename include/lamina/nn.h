/* Lamina layers: functions that add nodes to a graph and register named
 * parameters ("fc1.weight", "fc1.bias") under one layer, so that the layer
 * can be frozen or given its own optimiser hyper-parameters. */
#ifndef LAMINA_NN_H
#define LAMINA_NN_H

#include "lamina/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lam_dense_opts {
    int units;           /* output features (required, > 0) */
    lam_act act;         /* fused activation (default none) */
    bool bias;           /* default true */
    lam_init_kind init;  /* weight init (default LAM_INIT_TORCH_DEFAULT, as torch.nn.Linear) */
} lam_dense_opts;
lam_dense_opts lam_dense_opts_defaults(int units, lam_act act);

/* Fully connected layer y = act(x W^T + b) on the last dimension of x.
 * W is [units, in], b [units].  The output node is named `name`.
 * Returns NULL on error (recorded in the graph). */
lam_node *lam_nn_dense(lam_graph *g, lam_node *x, const char *name, const lam_dense_opts *o);

#ifdef __cplusplus
}
#endif
#endif
