/* Shape op family: reshape (flatten is a reshape to one dimension per
 * sample).  The data is copied; the copy is cheap next to the ops around it
 * and keeps every node's buffer its own for the memory planner. */
#include <stdio.h>
#include <string.h>

#include "kernels/par.h"
#include "ops/op.h"

static lam_status reshape_infer(lam_node *nd, char *err, size_t errlen)
{
    const lam_shape *x = &nd->in[0]->shape, *to = &nd->p.reshape.sample;
    int64_t B = x->d[0], per = lam_shape_numel(x) / (B ? B : 1);
    char sx[64], st[64];
    if (x->ndim < 1 || to->ndim + 1 > LAM_MAX_DIMS || lam_shape_numel(to) != per) {
        snprintf(err, errlen, "reshape: input %s cannot become %s per sample", lam_shape_fmt(x, sx, sizeof sx),
                 lam_shape_fmt(to, st, sizeof st));
        return LAM_ERR_SHAPE;
    }
    nd->shape.ndim = to->ndim + 1;
    nd->shape.d[0] = B;
    for (int i = 0; i < to->ndim; i++) nd->shape.d[i + 1] = to->d[i];
    nd->has_batch = nd->in[0]->has_batch;
    nd->dtype = LAM_DTYPE_F32;
    nd->scratch_bytes = nd->saved_bytes = 0;
    return LAM_OK;
}

static void reshape_fwd(const lam_op_ctx *c)
{
    memcpy(c->out, c->in[0], (size_t)lam_node_numel(c->node) * sizeof(float));
}

static void reshape_bwd(const lam_op_ctx *c)
{
    if (!c->din[0]) return;
    long n = (long)lam_node_numel(c->node);
    if (c->din_fresh[0]) memcpy(c->din[0], c->dout, (size_t)n * sizeof(float));
    else LAM_PFOR(n, i, c->din[0][i] += c->dout[i]);
}

const lam_op_def lam_opdef_reshape = {.name = "reshape", .min_in = 1, .max_in = 1, .infer = reshape_infer, .forward = reshape_fwd, .backward = reshape_bwd, .fresh = 1};
