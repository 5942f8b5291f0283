/* Fuzz the checkpoint reader, lam_checkpoint_load (src/train/checkpoint.c):
 * the safetensors container, the Lamina metadata (format, version, the
 * model file's text, the training state, class names, the vocabulary of a
 * text model), the model rebuilt from that text and compiled at its [train]
 * batch, and the parameters and scalers loaded by name and shape.  The seeds
 * (fuzz/corpus/checkpoint) are real checkpoints written by the library.
 * Live memory is capped at 16 MiB (allocations beyond it fail with
 * LAM_ERR_NOMEM): a checkpoint may name a big model, and the loader compiles
 * and initialises the whole model before it compares the tensors, which for
 * a big model takes more than the 1 s an input may under ASan. */
#include "fuzz_common.h"

FZ_INITIALIZE(FZ_MEM_REFUSE, (size_t)16 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t live = fz_live();
    const char *p = fz_write("ckpt.safetensors", data, size);
    lam_model *m = (lam_model *)&m;
    lam_train_state ts;
    memset(&ts, 0xa5, sizeof ts);
    lam_status s = lam_checkpoint_load(p, &m, &ts);
    if (s != LAM_OK) {
        fz_check_failure(s, "lam_checkpoint_load");
        FZ_CHECK(m == NULL, "failure left *out set");
    } else {
        static char buf[1 << 16];
        FZ_CHECK(m->g && m->cfg && lam_graph_params(m->g), "loaded model not compiled");
        FZ_CHECK(ts.stage >= 0 && ts.stage <= LAM_MAX_STAGES && ts.epoch >= 0, "state out of range");
        lam_model_describe(m, buf, sizeof buf);
        size_t np = lam_graph_param_count(m->g);
        for (size_t i = 0; i < np; i++) {
            const lam_param_info *pi = lam_graph_param_at(m->g, i);
            fz_touch(lam_graph_params(m->g) + pi->offset, pi->numel * sizeof(float));
        }
        for (int32_t i = 0; i < m->n_class_names; i++) fz_touch(m->class_names[i], strlen(m->class_names[i]));
        lam_model_free(m);
    }
    FZ_CHECK_NO_LEAK(live);
    return 0;
}
