/* Memory estimate of a training run, printed by `lamina inspect` before a
 * run and compared with the measured peak after it (`lamina train`).  The
 * terms follow what the code allocates: the data sets (floats and labels),
 * the transient copies made while reading and splitting, the compiled graph
 * (activation arena, scratch, parameters and gradients), the optimiser state
 * and the trainer's buffers, plus a fixed allowance for the C runtime and the
 * OpenMP thread pool. */
#include <string.h>

#include "train/train_internal.h"

#define RUNTIME_BYTES ((size_t)12 << 20)

static size_t optim_state_floats(const lam_model *m, size_t nparams)
{
    const lam_param_group *g = &m->train.group;
    switch (m->train.optimizer) {
    case LAM_OPTIM_SGD: return g->momentum > 0 ? nparams : 0;
    case LAM_OPTIM_ADAM:
    case LAM_OPTIM_ADAMW: return nparams * (g->amsgrad ? 3 : 2);
    case LAM_OPTIM_RMSPROP: return nparams * (1 + (g->momentum > 0) + g->centered);
    case LAM_OPTIM_ADAGRAD: return nparams;
    default: return 0;
    }
}

lam_status lam_model_memory_estimate(lam_model *m, lam_mem_estimate *e)
{
    memset(e, 0, sizeof *e);
    lam_mem_plan p = lam_graph_mem_plan(m->g);
    if (!p.param_bytes) return lam_fail(LAM_ERR_STATE, "memory estimate: compile the model first");
    size_t nparams = lam_graph_param_total(m->g);
    e->graph_bytes = p.arena_bytes + p.scratch_bytes + p.param_bytes;
    e->optim_bytes = optim_state_floats(m, nparams) * sizeof(float);
    /* best-weights copy, batch indices, augmentation scratch */
    e->fit_bytes = nparams * sizeof(float) + (size_t)m->train.batch * 4 + (size_t)lam_shape_numel(&m->sample) * 4;
    size_t per_sample = (size_t)lam_shape_numel(&m->sample) * sizeof(float) + sizeof(int32_t);
    int64_t ntr = 0, nte = 0;
    if (m->data.format == LAM_DATA_FASHION_MNIST && lam_fashion_mnist_peek(m->data.path, &ntr, &nte) == LAM_OK) {
        e->data_known = true;
    } else if (m->data.format == LAM_DATA_IDX && m->data.train_images) {
        lam_idx h;
        if (lam_idx_peek(m->data.train_images, &h) == LAM_OK) {
            ntr = h.dims[0];
            e->data_known = true;
            if (m->data.test_images && lam_idx_peek(m->data.test_images, &h) == LAM_OK) nte = h.dims[0];
        }
    }
    if (e->data_known) {
        e->data_bytes = (size_t)(ntr + nte) * per_sample;
        /* reading: the file's bytes (one byte per u8 pixel) next to the floats */
        size_t raw = (size_t)ntr * (size_t)lam_shape_numel(&m->sample);
        /* a validation split copies the training part once */
        size_t split = m->train.val_split > 0 ? (size_t)ntr * per_sample : 0;
        size_t trf = (size_t)ntr * per_sample;
        size_t peak_read = trf + raw, peak_all = e->data_bytes + split;
        e->read_bytes = (peak_read > peak_all ? peak_read : peak_all) - e->data_bytes;
    }
    e->total_bytes = e->data_bytes + e->read_bytes + e->graph_bytes + e->optim_bytes + e->fit_bytes + RUNTIME_BYTES;
    return LAM_OK;
}
