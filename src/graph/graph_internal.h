/* The graph structure shared by graph building (graph.c), planning
 * (compile.c) and execution (exec.c). */
#ifndef LAMINA_GRAPH_INTERNAL_H
#define LAMINA_GRAPH_INTERNAL_H

#include "ops/op.h"

/* LAM_ERR_SHAPE, recorded in g, when `shape` (node n's) holds more than
 * LAM_MAX_NUMEL elements. */
lam_status lam_graph_check_numel_(lam_graph *g, const lam_node *n, const lam_shape *shape);

struct lam_graph {
    lam_arena *arena;          /* nodes, names */
    lam_node **nodes;
    int n_nodes, cap_nodes;
    /* name -> node: open addressing, a slot holds a node id + 1 (0: empty).
     * A renamed node leaves its old slot behind; lookups compare the node's
     * current name, so the stale slot only costs a probe until the next
     * rebuild (graph.c, name_index_add). */
    int *name_slots;
    int name_cap, name_used;
    void (*bwd_hook)(void *user, int node); /* lam_graph_set_backward_hook */
    void *bwd_hook_user;
    lam_status (*sum)(void *user, double *buf, size_t n); /* lam_graph_set_reducer */
    void *sum_user;
    lam_param_info *params;
    int n_params, cap_params;
    size_t param_total;
    const char **layers;
    int n_layers, cap_layers, cur_layer;

    lam_status status;         /* first error (sticky) */
    char err[512];

    uint64_t seed;
    lam_rng rng;               /* dropout masks */

    /* compiled state */
    bool compiled, training_plan;
    int max_batch, cur_batch, plan_threads;
    float *param_data, *grad_data;
    size_t param_alloc;        /* floats allocated in param_data */
    size_t param_inited;       /* parameters [0, param_inited) hold values */
    void *arena_buf, *scratch;
    size_t arena_bytes, arena_naive, scratch_bytes;
    size_t arena_plain;        /* the arena without recomputation */
    bool fwd_done, fwd_training;
    bool profiling;
    bool check_finite; /* lam_graph_set_check_finite */
    bool no_fresh; /* test hook: zero every intermediate gradient, never let an op set it */
    bool no_relu_pool; /* test hook: compile leaves the ReLU mask to the convolution */
    unsigned bwd_epoch;

    /* activation recomputation (lam_graph_begin_recompute): segments of
     * consecutive nodes whose inner values are dropped after forward and
     * computed again, from the same RNG state, just before their backward */
    struct lam_segment {
        int first, last;       /* node ids; `last` is the segment's output */
        lam_rng rng;           /* the dropout RNG when its forward began */
    } *segs;
    int n_segs, cap_segs, open_seg; /* open_seg: the segment being built, or -1 */
    bool recompute_plan;       /* compiled with the segments recomputed */
};

/* Re-run shape inference of every node for batch size `batch`. */
lam_status lam_graph_reinfer(lam_graph *g, int batch);

#endif
