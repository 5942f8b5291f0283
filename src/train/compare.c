/* Strategy comparison and encoding: `lamina compare` trains one model file
 * with several strategies from the same seed on the same split; `lamina
 * encode` writes a trained network's codes (dimensionality reduction). */
#include <string.h>

#include "train/train_internal.h"


void lam_compare_free(lam_compare_row *rows, int n)
{
    for (int i = 0; i < n; i++) lam_metrics_free(&rows[i].test);
}

lam_status lam_compare(const char *cfg_path, const lam_model_overrides *ov, const lam_strategy_kind *strategies, int n,
                       const lam_fit_hooks *hooks, lam_compare_row *rows)
{
    memset(rows, 0, sizeof *rows * (size_t)n);
    lam_status s = LAM_OK;
    for (int i = 0; i < n && s == LAM_OK; i++) {
        lam_model_overrides o = ov ? *ov : lam_model_overrides_none();
        o.strategy = lam_strategy_name(strategies[i]);
        lam_model *m = NULL;
        lam_dataset *tr = NULL, *va = NULL, *te = NULL;
        rows[i].strategy = strategies[i];
        s = lam_model_load(cfg_path, &o, &m);
        if (s == LAM_OK) s = lam_model_prepare_data(m, &tr, &va, &te, NULL);
        if (s == LAM_OK) s = lam_train_model(m, tr, va, hooks, &rows[i].train);
        if (s == LAM_OK) s = lam_evaluate(m, te ? te : tr, &rows[i].test);
        lam_dataset_free(tr);
        lam_dataset_free(va);
        lam_dataset_free(te);
        lam_model_free(m);
    }
    if (s != LAM_OK) lam_compare_free(rows, n);
    return s;
}

lam_node *lam_model_code_node(lam_model *m)
{
    /* (after image layers this is the flatten the dense layer reads) */
    lam_node *in = lam_node_input(m->out, 0);
    return in ? in : m->out;
}

typedef struct encode_acc {
    lam_node *code;
    float *out;
} encode_acc;

static void encode_batch(lam_model *m, int64_t r, int b, void *user)
{
    (void)m;
    encode_acc *a = user;
    lam_shape cs = lam_node_shape(a->code);
    size_t per = (size_t)(lam_shape_numel(&cs) / b);
    memcpy(a->out + (size_t)r * per, lam_node_data(a->code), (size_t)b * per * sizeof(float));
}

lam_status lam_encode(lam_model *m, lam_node *code, const lam_dataset *ds, float *out)
{
    if (!code) return lam_fail(LAM_ERR_ARG, "encode: no code node");
    if (!ds || ds->n == 0) return lam_fail(LAM_ERR_ARG, "encode: empty dataset");
    if (ds->nfeat != lam_shape_numel(&m->sample) || m->tokens != (ds->ids != NULL))
        return lam_fail(LAM_ERR_SHAPE, "encode: data has %lld %s per sample, the model expects %lld %s",
                        (long long)ds->nfeat, ds->ids ? "tokens" : "features", (long long)lam_shape_numel(&m->sample),
                        m->tokens ? "tokens" : "features");
    TRY(lam_model_compile(m, m->train.batch));
    encode_acc a = {code, out};
    return lam_sweep_(m, ds, false, code, encode_batch, &a);
}
