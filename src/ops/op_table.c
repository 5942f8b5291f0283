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

const lam_op_def lam_opdef_input = {"input", 0, 0, infer_leaf, run_nothing, NULL, NULL, 0};
const lam_op_def lam_opdef_param = {"param", 0, 0, infer_leaf, run_nothing, NULL, NULL, 0};

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

static const char *const act_names[LAM_ACT_COUNT_] = {"none", "relu", "sigmoid", "tanh", "gelu"};
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
