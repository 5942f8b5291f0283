/* Semi-supervised training by pseudo-labelling (self-training): train on the
 * labelled part, label the confident part of the unlabelled rows with the
 * model's own predictions, and continue training on both. */
#include <math.h>
#include <string.h>

#include "train/train_internal.h"


static double test_accuracy(lam_model *m, const lam_dataset *test)
{
    if (!test) return NAN;
    lam_metrics mt;
    if (lam_evaluate(m, test, &mt) != LAM_OK) return NAN;
    double a = mt.accuracy;
    lam_metrics_free(&mt);
    return a;
}

/* labelled rows followed by the pseudo-labelled rows idx[0..np) of unl */
static lam_status combine(const lam_dataset *lab, const lam_dataset *unl, const uint32_t *idx, const int32_t *plabel,
                          int64_t np, lam_dataset **out)
{
    lam_dataset *d;
    TRY(lam_dataset_new(LAM_TASK_CLASSIFICATION, lab->n + np, lab->nfeat, lab->nclasses, &d));
    lam_status s = lam_dataset_set_sample_shape(d, lab->sample_shape);
    if (s != LAM_OK) {
        lam_dataset_free(d);
        return s;
    }
    size_t nf = (size_t)lab->nfeat;
    memcpy(d->x, lab->x, (size_t)lab->n * nf * sizeof(float));
    memcpy(d->labels, lab->labels, (size_t)lab->n * sizeof(int32_t));
    for (int64_t i = 0; i < np; i++) {
        memcpy(d->x + (size_t)(lab->n + i) * nf, unl->x + (size_t)idx[i] * nf, nf * sizeof(float));
        d->labels[lab->n + i] = plabel[i];
    }
    *out = d;
    return LAM_OK;
}

lam_status lam_train_semi(lam_model *m, const lam_dataset *train, const lam_dataset *val, const lam_dataset *test,
                          const lam_fit_hooks *hooks, lam_semi_report *rep)
{
    memset(rep, 0, sizeof *rep);
    if (m->train.loss != LAM_LOSS_CROSS_ENTROPY || !train->labels)
        return lam_fail(LAM_ERR_ARG, "%s: pseudo-labelling needs a classifier (loss = cross_entropy)", m->cfg->path);
    lam_split_opts so = lam_split_opts_defaults();
    so.test_fraction = 1.0 - m->train.labelled_fraction;
    so.seed = m->data.split_seed + 2;
    so.stratify = true;
    lam_dataset *lab = NULL, *unl = NULL, *mix = NULL;
    float *prob = NULL;
    uint32_t *idx = NULL;
    int32_t *plabel = NULL;
    lam_status s = lam_dataset_split_ex(train, &so, &lab, &unl);
    if (s != LAM_OK) return s;
    rep->n_labelled = lab->n;
    rep->n_unlabelled = unl->n;
    int K = m->nout;
    prob = lam_malloc(sizeof(float) * (size_t)unl->n * (size_t)K);
    idx = lam_malloc(sizeof(uint32_t) * (size_t)unl->n);
    plabel = lam_malloc(sizeof(int32_t) * (size_t)unl->n);
    if (!prob || !idx || !plabel) {
        s = LAM_ERR_NOMEM;
        goto done;
    }
    if ((s = lam_train_model(m, lab, val, hooks, &rep->train)) != LAM_OK) goto done;
    rep->labelled_only_accuracy = test_accuracy(m, test);
    for (int r = 0; r < m->train.pseudo_rounds; r++) {
        if ((s = lam_predict(m, unl, prob)) != LAM_OK) goto done;
        int64_t np = 0, correct = 0;
        for (int64_t i = 0; i < unl->n; i++) {
            const float *p = prob + i * K;
            int best = 0;
            for (int j = 1; j < K; j++)
                if (p[j] > p[best]) best = j;
            if (p[best] < m->train.pseudo_threshold) continue;
            idx[np] = (uint32_t)i;
            plabel[np++] = best;
            correct += best == unl->labels[i]; /* the hidden label: for the report only */
        }
        lam_pseudo_round *pr = &rep->round[rep->rounds++];
        pr->n_pseudo = np;
        pr->n_correct = correct;
        lam_dataset_free(mix);
        mix = NULL;
        if ((s = combine(lab, unl, idx, plabel, np, &mix)) != LAM_OK) goto done;
        /* continue from the current weights, end to end */
        lam_strategy_kind saved = m->train.strategy;
        m->train.strategy = LAM_STRATEGY_END_TO_END;
        lam_train_result tr;
        lam_fit_hooks hk = hooks ? *hooks : (lam_fit_hooks){0};
        hk.resume_path = NULL; /* a resume applies to the first training only */
        s = lam_train_model(m, mix, val, &hk, &tr);
        m->train.strategy = saved;
        if (s != LAM_OK) goto done;
        pr->test_accuracy = test_accuracy(m, test);
    }
done:
    lam_free(prob);
    lam_free(idx);
    lam_free(plabel);
    lam_dataset_free(lab);
    lam_dataset_free(unl);
    lam_dataset_free(mix);
    return s;
}
