/* The op table, generated from ops.def: one definition per op, indexed by
 * lam_op, and the name table.  Also the leaf ops (input, param), which have no
 * kernels: their buffers are filled by the caller or by the parameter store. */
#include "ops/op.h"

#include <stdio.h>
#include <string.h>

static lam_status infer_leaf(lam_node *n, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    n->scratch_bytes = n->saved_bytes = 0;
    return LAM_OK; /* shape set by the builder */
}
static void run_nothing(const lam_op_ctx *c) { (void)c; }

const lam_op_def lam_opdef_input = {.name = "input", .min_in = 0, .max_in = 0, .infer = infer_leaf, .forward = run_nothing};
const lam_op_def lam_opdef_param = {.name = "param", .min_in = 0, .max_in = 0, .infer = infer_leaf, .forward = run_nothing};

/* An extra output of its input node (the producer): the producer's forward
 * writes this node's buffer and its backward reads this node's gradient, so
 * the node itself runs nothing (the executor and the planner know it).  Its
 * backward is a no-op that exists so that gradients flow to the producer. */
static lam_status infer_output(lam_node *n, char *err, size_t errlen)
{
    const lam_node *p = n->in[0];
    int k = n->p.output.k;
    if (k < 0 || k >= p->n_aux) {
        snprintf(err, errlen, "output %d of %s: the op has %d extra outputs", k, lam_op_name(p->op), p->n_aux);
        return LAM_ERR_ARG;
    }
    n->shape = p->aux_shape[k];
    n->has_batch = p->has_batch;
    n->dtype = LAM_DTYPE_F32;
    n->scratch_bytes = n->saved_bytes = 0;
    return LAM_OK;
}
const lam_op_def lam_opdef_output = {.name = "output", .min_in = 1, .max_in = 1, .infer = infer_output, .forward = run_nothing, .backward = run_nothing};

#define LAM_OP(E, n, P) extern const lam_op_def lam_opdef_##n;
#include "ops/ops.def"
#undef LAM_OP

const lam_op_def *const lam_op_defs[LAM_OP_COUNT_] = {
#define LAM_OP(E, n, P) [LAM_OP_##E] = &lam_opdef_##n,
#include "ops/ops.def"
#undef LAM_OP
};

static const char *const op_names[] = {
#define LAM_OP(E, n, P) #n,
#include "ops/ops.def"
#undef LAM_OP
};
_Static_assert(sizeof op_names / sizeof op_names[0] == LAM_OP_COUNT_,
               "op name table out of step with ops.def");

const char *lam_op_name(lam_op op) { return (unsigned)op < LAM_OP_COUNT_ ? op_names[op] : "?"; }

char *lam_shape_fmt(const lam_shape *s, char *buf, size_t n) { return lam_shape_str(s, buf, n); }
int64_t lam_node_numel(const lam_node *n) { return lam_shape_numel(&n->shape); }

static const char *const act_names[LAM_ACT_COUNT_] = {"none", "relu", "sigmoid", "tanh", "gelu", "gelu_tanh", "silu"};
const char *lam_act_name(lam_act a) { return (unsigned)a < LAM_ACT_COUNT_ ? act_names[a] : "?"; }
bool lam_act_from_name(const char *name, lam_act *out)
{
    for (int i = 0; i < LAM_ACT_COUNT_; i++)
        if (strcmp(name, act_names[i]) == 0) {
            *out = (lam_act)i;
            return true;
        }
    if (strcmp(name, "linear") == 0) { /* Keras spelling */
        *out = LAM_ACT_NONE;
        return true;
    }
    return false;
}
