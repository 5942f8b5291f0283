/* fit / evaluate / predict and data preparation.  The training step (gather a
 * batch, forward, backward, clip, optimiser step) allocates nothing: every
 * buffer is made before the first epoch. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train/train_internal.h"


static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- batches ---------------------------------------------------------------------- */

static uint32_t row_of(const uint32_t *idx, int i) { return idx ? idx[i] : (uint32_t)i; }

/* Put the targets of rows idx[0..b) into the target node. */
static void load_targets(lam_model *m, const lam_dataset *ds, const uint32_t *idx, int b)
{
    if (m->next_token) { /* each position's next token */
        int32_t *lab = lam_node_ids(m->target);
        size_t T = (size_t)ds->nfeat;
        for (int i = 0; i < b; i++)
            memcpy(lab + i * T, ds->ids + (size_t)row_of(idx, i) * (size_t)ds->ids_stride + 1, T * sizeof(int32_t));
    } else if (m->train.loss == LAM_LOSS_CROSS_ENTROPY) {
        int32_t *lab = lam_node_labels(m->target);
        for (int i = 0; i < b; i++) lab[i] = ds->labels[idx ? idx[i] : (uint32_t)i];
    } else if (m->train.loss == LAM_LOSS_BCE && ds->labels) {
        float *t = lam_node_data(m->target);
        for (int i = 0; i < b; i++) t[i] = (float)ds->labels[idx ? idx[i] : (uint32_t)i];
    } else {
        float *t = lam_node_data(m->target);
        int k = ds->ntargets;
        for (int i = 0; i < b; i++) memcpy(t + (size_t)i * k, ds->y + (size_t)(idx ? idx[i] : (uint32_t)i) * k, sizeof(float) * (size_t)k);
    }
}

static void load_inputs(lam_model *m, const lam_dataset *ds, const uint32_t *idx, int b)
{
    size_t nf = (size_t)ds->nfeat;
    if (ds->ids) {
        int32_t *x = lam_node_ids(m->x);
        for (int i = 0; i < b; i++)
            memcpy(x + i * nf, ds->ids + (size_t)idx[i] * (size_t)ds->ids_stride, nf * sizeof(int32_t));
    } else {
        float *x = lam_node_data(m->x);
        for (int i = 0; i < b; i++) memcpy(x + i * nf, ds->x + (size_t)idx[i] * nf, nf * sizeof(float));
    }
    if (m->lengths) {
        int32_t *len = lam_node_ids(m->lengths);
        for (int i = 0; i < b; i++) len[i] = ds->lengths ? ds->lengths[idx[i]] : (int32_t)nf;
    }
}

/* Rows the loss scores per sample: one, or every position of a language model. */
static int64_t rows_per_sample(const lam_model *m) { return m->next_token ? m->sample.d[0] : 1; }

/* Correct predictions in the current batch (classification; every position
 * of a language model). */
static int64_t batch_correct(lam_model *m, int b)
{
    const float *o = lam_node_data(m->out);
    int k = m->nout;
    int64_t c = 0;
    if (m->train.loss == LAM_LOSS_BCE) {
        const float *t = lam_node_data(m->target);
        for (int i = 0; i < b; i++) c += (o[i] > 0) == (t[i] > 0.5f);
        return c;
    }
    const int32_t *lab = lam_node_labels(m->target);
    b *= (int)rows_per_sample(m);
    for (int i = 0; i < b; i++) {
        int best = 0;
        for (int j = 1; j < k; j++)
            if (o[i * k + j] > o[i * k + best]) best = j;
        c += best == lab[i];
    }
    return c;
}

static bool is_classification(const lam_model *m) { return m->train.loss != LAM_LOSS_MSE; }

/* ---- evaluate ------------------------------------------------------------------------ */

/* Run the model over ds in order; per batch, call fn(user, first_row, b).
 * targets == false: run only what `to` needs (no loss, no labels). */
lam_status lam_sweep_(lam_model *m, const lam_dataset *ds, bool targets, lam_node *to,
                      void (*fn)(lam_model *, int64_t, int, void *), void *user)
{
    return lam_sweep_rows_(m, ds, 0, ds->n, targets, to, fn, user);
}

lam_status lam_sweep_rows_(lam_model *m, const lam_dataset *ds, int64_t first, int64_t end, bool targets, lam_node *to,
                           void (*fn)(lam_model *, int64_t, int, void *), void *user)
{
    int B = m->compiled_batch;
    uint32_t idx[1024];
    if (B > 1024) B = 1024;
    for (int64_t r = first; r < end; r += B) {
        int b = (int)(end - r < B ? end - r : B);
        for (int i = 0; i < b; i++) idx[i] = (uint32_t)(r + i);
        load_inputs(m, ds, idx, b);
        if (targets) load_targets(m, ds, idx, b);
        TRY(targets ? lam_graph_forward(m->g, b, false) : lam_graph_forward_to(m->g, to, b, false));
        fn(m, r, b, user);
    }
    return LAM_OK;
}

typedef struct eval_acc {
    lam_metrics *mt;
    double loss_sum;
    float *pred; /* regression: [n, k] */
    int64_t correct; /* language models */
} eval_acc;

static void eval_batch(lam_model *m, int64_t r, int b, void *user)
{
    eval_acc *a = user;
    a->loss_sum += (double)lam_node_data(m->loss)[0] * b;
    const float *o = lam_node_data(m->out);
    int k = m->nout;
    if (a->pred) {
        memcpy(a->pred + r * k, o, sizeof(float) * (size_t)b * (size_t)k);
        return;
    }
    if (m->next_token) { /* accuracy over every position; no per-class table for a vocabulary */
        a->correct += batch_correct(m, b);
        return;
    }
    int K = a->mt->nclasses;
    for (int i = 0; i < b; i++) {
        int truth, best = 0;
        if (m->train.loss == LAM_LOSS_BCE) {
            truth = lam_node_data(m->target)[i] > 0.5f;
            best = o[i] > 0;
        } else {
            truth = lam_node_labels(m->target)[i];
            for (int j = 1; j < k; j++)
                if (o[i * k + j] > o[i * k + best]) best = j;
        }
        if (truth < K && best < K) a->mt->confusion[(size_t)truth * K + best]++;
    }
}

/* MSE, MAE, R2 in the targets' own units (undoing a target scaler). */
static lam_status regression_metrics(lam_model *m, const lam_dataset *ds, float *pred, lam_metrics *out)
{
    if (!m->target_scaler) {
        lam_metrics_regression(out, pred, ds->y, ds->n, m->nout);
        return LAM_OK;
    }
    size_t n = (size_t)ds->n * (size_t)m->nout;
    float *truth = lam_malloc(n * sizeof *truth);
    if (!truth) return LAM_ERR_NOMEM;
    memcpy(truth, ds->y, n * sizeof *truth);
    lam_status s = lam_scaler_inverse(m->target_scaler, truth, ds->n, m->nout);
    if (s == LAM_OK) s = lam_scaler_inverse(m->target_scaler, pred, ds->n, m->nout);
    if (s == LAM_OK) lam_metrics_regression(out, pred, truth, ds->n, m->nout);
    lam_free(truth);
    return s;
}

lam_status lam_evaluate(lam_model *m, const lam_dataset *ds, lam_metrics *out)
{
    memset(out, 0, sizeof *out);
    if (!ds || ds->n == 0) return lam_fail(LAM_ERR_ARG, "evaluate: empty dataset");
    if (ds->nfeat != lam_shape_numel(&m->sample))
        return lam_fail(LAM_ERR_SHAPE, "evaluate: data has %lld features, the model expects %lld", (long long)ds->nfeat,
                        (long long)lam_shape_numel(&m->sample));
    if (is_classification(m) && !ds->labels && !(m->next_token && ds->next_token))
        return lam_fail(LAM_ERR_ARG, "evaluate: the model classifies but the data has no class labels");
    if (m->tokens != (ds->ids != NULL))
        return lam_fail(LAM_ERR_ARG, "evaluate: the model reads %s but the data holds %s", m->tokens ? "token ids" : "floats",
                        ds->ids ? "token ids" : "floats");
    if (!is_classification(m) && !ds->y)
        return lam_fail(LAM_ERR_ARG, "evaluate: the model is a regression but the data has no targets");
    TRY(lam_model_compile(m, m->train.batch));
    int K = m->train.loss == LAM_LOSS_BCE ? 2 : m->nout;
    if (m->next_token) {
        TRY(lam_metrics_init(out, LAM_TASK_REGRESSION, 0));
        out->task = LAM_TASK_CLASSIFICATION; /* nclasses 0: loss, perplexity and accuracy only */
    } else {
        TRY(lam_metrics_init(out, is_classification(m) ? LAM_TASK_CLASSIFICATION : LAM_TASK_REGRESSION, K));
    }
    eval_acc a = {out, 0, NULL, 0};
    if (!is_classification(m)) {
        a.pred = lam_calloc((size_t)ds->n * (size_t)m->nout, sizeof(float));
        if (!a.pred) return LAM_ERR_NOMEM;
    }
    /* with several ranks each takes its share of the rows; the sums, the
     * confusion matrix and the predictions (zero outside a rank's rows) are
     * then added up: every rank ends with the whole set's metrics */
    int P = lam_comm_size(m->comm), r = lam_comm_rank(m->comm);
    lam_status s = lam_sweep_rows_(m, ds, ds->n * r / P, ds->n * (r + 1) / P, true, NULL, eval_batch, &a);
    if (s == LAM_OK && P > 1) {
        double sums[2] = {a.loss_sum, (double)a.correct};
        s = lam_comm_sum_f64(m->comm, sums, 2);
        a.loss_sum = sums[0];
        a.correct = (int64_t)sums[1];
        if (s == LAM_OK && out->confusion) s = lam_comm_sum_i64(m->comm, out->confusion, (size_t)K * (size_t)K);
        if (s == LAM_OK && a.pred) s = lam_comm_sum_f32(m->comm, a.pred, (size_t)ds->n * (size_t)m->nout);
    }
    if (s == LAM_OK) {
        out->n = ds->n * rows_per_sample(m);
        out->loss = a.loss_sum / (double)ds->n;
        if (m->next_token) out->accuracy = (double)a.correct / (double)out->n;
        else if (is_classification(m)) lam_metrics_finish_classification(out);
        else s = regression_metrics(m, ds, a.pred, out);
    } else {
        lam_metrics_free(out);
    }
    lam_free(a.pred);
    return s;
}

typedef struct pred_acc { float *out; } pred_acc;
static void pred_batch(lam_model *m, int64_t r, int b, void *user)
{
    pred_acc *a = user;
    int k = m->nout;
    const float *o = lam_node_data(m->out);
    float *dst = a->out + r * k;
    for (int i = 0; i < b; i++) {
        const float *oi = o + (size_t)i * k;
        float *di = dst + (size_t)i * k;
        if (m->train.loss == LAM_LOSS_CROSS_ENTROPY) {
            float mx = oi[0];
            for (int j = 1; j < k; j++) mx = oi[j] > mx ? oi[j] : mx;
            double z = 0;
            for (int j = 0; j < k; j++) z += exp((double)oi[j] - mx);
            for (int j = 0; j < k; j++) di[j] = (float)(exp((double)oi[j] - mx) / z);
        } else if (m->train.loss == LAM_LOSS_BCE) {
            for (int j = 0; j < k; j++) di[j] = 1.0f / (1.0f + expf(-oi[j]));
        } else {
            memcpy(di, oi, sizeof(float) * (size_t)k);
        }
    }
}

lam_status lam_predict(lam_model *m, const lam_dataset *ds, float *out)
{
    if (!ds || ds->n == 0) return lam_fail(LAM_ERR_ARG, "predict: empty dataset");
    if (m->next_token) return lam_fail(LAM_ERR_ARG, "predict: a language model writes text: use lam_generate");
    if (m->tokens != (ds->ids != NULL))
        return lam_fail(LAM_ERR_ARG, "predict: the model reads %s but the data holds %s", m->tokens ? "token ids" : "floats",
                        ds->ids ? "token ids" : "floats");
    if (ds->nfeat != lam_shape_numel(&m->sample))
        return lam_fail(LAM_ERR_SHAPE, "predict: data has %lld features, the model expects %lld", (long long)ds->nfeat,
                        (long long)lam_shape_numel(&m->sample));
    TRY(lam_model_compile(m, m->train.batch));
    pred_acc a = {out};
    TRY(lam_sweep_(m, ds, false, m->out, pred_batch, &a));
    if (m->target_scaler) TRY(lam_scaler_inverse(m->target_scaler, out, ds->n, m->nout));
    return LAM_OK;
}

/* ---- fit ------------------------------------------------------------------------------ */

/* Before a resume: drop the rows of the metrics log the checkpoint had not
 * reached (written after it by a run that was then killed), those of this
 * stage past `epoch` and of later stages, so that the log reads as if
 * training had never stopped.  Rewritten atomically when anything goes. */
static lam_status trim_log(const char *path, int stage, int epoch)
{
    FILE *f = fopen(path, "rb");
    if (!f) return LAM_OK; /* no log yet */
    char *buf = NULL, *tmp = NULL;
    lam_status s = LAM_OK;
    long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return lam_fail(LAM_ERR_IO, "%s: cannot read the metrics log: %s", path, strerror(errno));
    }
    buf = lam_malloc((size_t)len + 1);
    tmp = lam_malloc(strlen(path) + 8);
    if (!buf || !tmp) {
        s = LAM_ERR_NOMEM;
        goto out;
    }
    if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
        s = lam_fail(LAM_ERR_IO, "%s: cannot read the metrics log", path);
        goto out;
    }
    size_t w = 0;
    for (size_t i = 0; i < (size_t)len;) {
        size_t j = i;
        while (j < (size_t)len && buf[j] != '\n') j++;
        size_t end = j < (size_t)len ? j + 1 : j;
        char line[48];
        size_t k = end - i < sizeof line - 1 ? end - i : sizeof line - 1;
        memcpy(line, buf + i, k);
        line[k] = 0;
        int st, ep;
        bool keep = !(sscanf(line, "%d,%d,", &st, &ep) == 2 && (st > stage || (st == stage && ep > epoch)));
        if (keep) {
            memmove(buf + w, buf + i, end - i);
            w += end - i;
        }
        i = end;
    }
    fclose(f);
    f = NULL;
    if (w == (size_t)len) goto out;
    sprintf(tmp, "%s.tmp", path);
    FILE *o = fopen(tmp, "wb");
    bool ok = o != NULL;
    if (o) {
        ok = fwrite(buf, 1, w, o) == w;
        ok = fclose(o) == 0 && ok;
    }
    if (!ok || rename(tmp, path) != 0) {
        s = lam_fail(LAM_ERR_IO, "%s: cannot rewrite the metrics log: %s", path, strerror(errno));
        remove(tmp);
    }
out:
    if (f) fclose(f);
    lam_free(buf);
    lam_free(tmp);
    return s;
}

/* Write the training state to `path`: the loader's position, the dropout
 * RNG and, inside an epoch (mid), the running sums of that epoch. */
static lam_status write_state(lam_model *m, const lam_optim *opt, lam_train_state *ts, const lam_loader *ld,
                              const float *best, const char *path, bool mid, double loss_sum, int64_t correct,
                              int64_t seen, int64_t batches)
{
    lam_loader_get_state(ld, &ts->loader);
    ts->dropout_rng = *lam_graph_rng(m->g);
    if (mid) {
        ts->epoch_loss_sum = loss_sum;
        ts->epoch_correct = correct;
        ts->epoch_seen = seen;
        ts->epoch_batches = batches;
    }
    lam_status s = lam_checkpoint_write_(m, opt, ts, best, path);
    ts->epoch_loss_sum = 0;
    ts->epoch_correct = ts->epoch_seen = ts->epoch_batches = 0;
    return s;
}

/* Whether every trainable parameter's gradient is finite. */
static bool grads_finite(lam_graph *g)
{
    const float *gr = lam_graph_grads(g);
    for (size_t i = 0; i < lam_graph_param_count(g); i++) {
        const lam_param_info *p = lam_graph_param_at(g, i);
        if (!p->trainable) continue;
        uint32_t bad = 0; /* an all-ones exponent: NaN or infinity (an OR the compiler vectorises) */
        for (size_t k = 0; k < p->numel; k++) {
            uint32_t u;
            memcpy(&u, gr + p->offset + k, sizeof u);
            bad |= (u & 0x7f800000u) == 0x7f800000u;
        }
        if (bad) return false;
    }
    return true;
}

/* The loss (or, in_grads, a gradient) of optimiser step `step` is not
 * finite: replay the micro-batch still loaded from the dropout RNG state it
 * started with, checking every op, and fail naming the step and the first op
 * that produced a NaN or an infinity.  Nothing of the step is applied, so
 * the last checkpoint written stays the last good state. */
static lam_status numeric_fault(lam_model *m, const lam_rng *rng0, int b, float seed, bool in_grads, float loss,
                                uint64_t step, int epoch, int64_t batch)
{
    char where[400];
    lam_rng keep = *lam_graph_rng(m->g);
    *lam_graph_rng(m->g) = *rng0;
    lam_graph_set_check_finite(m->g, true);
    lam_status r = lam_graph_forward(m->g, b, true);
    if (r == LAM_OK && in_grads) {
        lam_graph_zero_grad(m->g);
        r = lam_graph_backward_seed(m->g, m->loss, &seed);
    }
    lam_graph_set_check_finite(m->g, false);
    *lam_graph_rng(m->g) = keep;
    if (r == LAM_ERR_NUMERIC) snprintf(where, sizeof where, "%s", lam_last_error());
    else if (in_grads) snprintf(where, sizeof where, "the gradients of an earlier micro-batch of the step");
    else snprintf(where, sizeof where, "no op on replay (the loss was %g)", (double)loss);
    return lam_fail(LAM_ERR_NUMERIC,
                    "training diverged at step %llu (epoch %d, batch %lld): the %s is not finite; %s; nothing of "
                    "this step was applied, the last checkpoint holds the last good state (lower the learning "
                    "rate, or clip the gradients with clip_norm)",
                    (unsigned long long)step, epoch, (long long)batch, in_grads ? "gradient" : "loss", where);
}

/* Multiply the trainable parameters' gradients by r. */
static void scale_grads(lam_graph *g, float r)
{
    float *gr = lam_graph_grads(g);
    for (size_t i = 0; i < lam_graph_param_count(g); i++) {
        const lam_param_info *p = lam_graph_param_at(g, i);
        if (!p->trainable) continue;
        for (size_t k = 0; k < p->numel; k++) gr[p->offset + k] *= r;
    }
}

/* Whether weight decay applies to parameter p under the rule: with
 * LAM_DECAY_MATRICES, only tensors of two or more dimensions that no
 * embedding or position-embedding op reads as its table. */
static bool decays(const lam_graph *g, const lam_param_info *p, lam_decay_rule rule)
{
    if (rule == LAM_DECAY_ALL) return true;
    if (p->shape.ndim < 2) return false; /* biases, norm gains */
    lam_node *pn = lam_graph_node(g, p->name);
    for (int i = 0; pn && i < lam_graph_node_count(g); i++) {
        lam_node *n = lam_graph_node_at(g, i);
        const char *op = lam_node_op_name(n);
        if ((!strcmp(op, "embedding") || !strcmp(op, "pos_embed")) && lam_node_input(n, 1) == pn) return false;
    }
    return true;
}

/* Optimiser over the trainable parameters: one parameter group per layer,
 * with the [train] hyper-parameters and the layer's own; group 0 for
 * layer-less ones; under LAM_DECAY_MATRICES, groups ngroups + l are their
 * twins without weight decay, for the parameters the rule exempts. */
lam_status lam_fit_make_optim_(lam_model *m, lam_optim **out)
{
    lam_graph *g = m->g;
    size_t np = lam_graph_param_count(g);
    int ngroups = lam_graph_layer_count(g) + 1;
    lam_param_span *spans = lam_calloc(np ? np : 1, sizeof *spans);
    int twins = m->train.decay == LAM_DECAY_MATRICES; /* the no-decay twins exist */
    lam_param_group *groups = lam_calloc((size_t)ngroups * 2, sizeof *groups);
    lam_status s = LAM_OK;
    if (!spans || !groups) {
        s = LAM_ERR_NOMEM;
        goto done;
    }
    size_t ns = 0;
    for (size_t i = 0; i < np; i++) {
        const lam_param_info *p = lam_graph_param_at(g, i);
        if (!p->trainable) continue;
        int gi = p->layer + 1 + (twins && !decays(g, p, m->train.decay) ? ngroups : 0);
        spans[ns++] = (lam_param_span){p->name, p->offset, p->numel, gi};
    }
    /* group 0: parameters outside layers; group l+1: graph layer l, with the
     * layer's own settings and the depth decay of the learning rate */
    int depth = 0;
    for (int i = ngroups - 1; i >= 0; i--) {
        groups[i] = m->train.group;
        if (i == 0) break;
        bool has_params = false;
        for (size_t k = 0; k < np; k++) has_params |= lam_graph_param_at(g, k)->layer == i - 1 && !lam_graph_param_at(g, k)->buffer;
        groups[i].lr *= pow(m->train.lr_depth_decay, depth);
        if (has_params) depth++;
        const lam_layer_opts *lo = i - 1 < m->n_layer_opts ? &m->layer_opts[i - 1] : NULL;
        if (lo && lo->lr >= 0) groups[i].lr = lo->lr;
        if (lo && lo->momentum >= 0) groups[i].momentum = lo->momentum;
        if (lo && lo->weight_decay >= 0) groups[i].weight_decay = lo->weight_decay;
        if ((s = lam_param_group_check(m->train.optimizer, &groups[i], i)) != LAM_OK) goto done;
    }
    for (int i = 0; twins && i < ngroups; i++) {
        groups[ngroups + i] = groups[i];
        groups[ngroups + i].weight_decay = 0;
    }
    s = lam_optim_create(m->train.optimizer, lam_graph_param_total(g), spans, ns, groups, (1 + twins) * ngroups, out);
done:
    lam_free(spans);
    lam_free(groups);
    return s;
}

static lam_status comm_sum(void *user, double *buf, size_t n) { return lam_comm_sum_f64(user, buf, n); }

/* A seed for rank `rank`'s dropout in micro-batch `micro` of step `step`:
 * data-parallel ranks draw different masks, a function of the step alone, so
 * a resume with any number of ranks needs no per-rank state. */
static uint64_t step_stream(uint64_t seed, uint64_t step, int micro, int rank)
{
    uint64_t z = seed ^ (step * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)micro << 40) ^ ((uint64_t)rank << 52);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* One micro-batch of data-parallel training on this rank: rows [lo, lo + bl)
 * of the global batch idx[0..b).  Augmented images are drawn for the whole
 * batch on every rank (the draws stay those of one process) before the
 * rank's rows are kept.  The loss is seeded with bl / b so that the sum over
 * the ranks is the global batch's mean gradient; the rank's share of the
 * loss, of the step's loss and of the correct predictions is added to
 * *loss, *l and *correct. */
static lam_status dist_micro_batch(lam_model *m, const lam_dataset *train, const uint32_t *idx, int b, int lo, int bl,
                                   lam_rng *aug_rng, float *aug_tmp, int C, int H, int W, uint64_t step, int micro,
                                   int rank, double *loss, double *l, int64_t *correct)
{
    int accum = m->train.accumulate > 1 ? m->train.accumulate : 1;
    if (aug_rng) {
        load_inputs(m, train, idx, b);
        TRY(lam_augment_batch(&m->augment, lam_node_data(m->x), b, C, H, W, aug_rng, aug_tmp));
        size_t nf = (size_t)train->nfeat;
        float *x = lam_node_data(m->x);
        memmove(x, x + (size_t)lo * nf, (size_t)bl * nf * sizeof(float));
    } else if (bl > 0) {
        load_inputs(m, train, idx + lo, bl);
    }
    if (bl == 0) return LAM_OK; /* a batch smaller than the ranks: this one adds zeros */
    if (!m->self_supervised) load_targets(m, train, idx + lo, bl);
    lam_rng_seed(lam_graph_rng(m->g), step_stream(m->train.seed, step, micro, rank));
    TRY(lam_graph_forward(m->g, bl, true));
    float lm = lam_node_data(m->loss)[0];
    const float w = accum > 1 ? (float)bl / (float)((int64_t)accum * m->train.batch) : (float)bl / (float)b;
    *loss += (double)lm * bl;
    *l += (double)(lm * w);
    if (is_classification(m) && !m->self_supervised) *correct += batch_correct(m, bl);
    return lam_graph_backward_seed(m->g, m->loss, &w); /* a NaN shows in the summed gradient */
}

lam_status lam_fit(lam_model *m, const lam_dataset *train, const lam_dataset *val, const lam_fit_hooks *hooks,
                   lam_fit_result *res)
{
    lam_fit_hooks hk = hooks ? *hooks : (lam_fit_hooks){0};
    memset(res, 0, sizeof *res);
    if (!train || train->n == 0) return lam_fail(LAM_ERR_ARG, "fit: empty training set");
    if (train->nfeat != lam_shape_numel(&m->sample))
        return lam_fail(LAM_ERR_SHAPE, "fit: data has %lld features, the model expects %lld", (long long)train->nfeat,
                        (long long)lam_shape_numel(&m->sample));
    if (!m->self_supervised && (is_classification(m) ? !train->labels && !(m->next_token && train->next_token) : !train->y))
        return lam_fail(LAM_ERR_ARG, "fit: the data has no %s", is_classification(m) ? "class labels" : "targets");
    TRY(lam_model_compile(m, m->train.batch));

    lam_optim *opt = NULL;
    lam_loader *ld = NULL;
    lam_ddp *ddp = NULL;
    FILE *csv = NULL;
    /* data parallel over the ranks of m->comm: every rank draws the same
     * global batches and trains on its share of each; the gradients are
     * summed, so every rank applies the same update; rank 0 alone writes */
    const int P = lam_comm_size(m->comm), rank = lam_comm_rank(m->comm);
    const bool dist = P > 1;
    float *best = NULL, *aug_tmp = NULL;
    double *step_s = NULL;
    double timed_s = 0, timed_wait_s = 0; /* the timed steps after the warm-up: time, and waiting on the ranks */
    uint32_t *idx = NULL;
    lam_metrics vm = {0};
    lam_status s = lam_fit_make_optim_(m, &opt);
    if (s != LAM_OK) goto done;
    lam_loader_opts lo = lam_loader_opts_defaults();
    lo.batch_size = m->train.batch;
    lo.shuffle = m->train.shuffle;
    lo.seed = m->train.seed;
    if ((s = lam_loader_new(train, &lo, &ld)) != LAM_OK) goto done;
    size_t ptotal = lam_graph_param_total(m->g);
    best = lam_malloc(ptotal * sizeof(float) + 64);
    idx = lam_malloc(sizeof(uint32_t) * (size_t)m->train.batch);
    bool augment = m->augment.crop || m->augment.shift || m->augment.flip || m->augment.noise;
    int C = 1, H = 1, W = 1;
    if (m->sample.ndim == 3) C = (int)m->sample.d[0], H = (int)m->sample.d[1], W = (int)m->sample.d[2];
    else W = (int)lam_shape_numel(&m->sample);
    if (augment) aug_tmp = lam_malloc(sizeof(float) * (size_t)C * H * W);
    if (!best || !idx || (augment && !aug_tmp)) {
        s = LAM_ERR_NOMEM;
        goto done;
    }
    lam_schedule sched = m->train.schedule;
    int accum_n = m->train.accumulate > 1 ? m->train.accumulate : 1;
    int64_t nb = (lam_loader_num_batches(ld) + accum_n - 1) / accum_n; /* optimiser steps per epoch */
    /* with a step budget the epochs only bound the run: enough to hold it */
    int epochs = m->train.epochs;
    uint64_t max_steps = m->train.steps > 0 ? (uint64_t)m->train.steps : UINT64_MAX;
    if (m->train.steps > 0) epochs = (int)((m->train.steps + nb - 1) / nb);
    if (sched.t_max == 0)
        sched.t_max = sched.per_step ? (long)(m->train.steps > 0 ? m->train.steps : nb * epochs) : epochs;
    /* step times, for the median (made here: the step itself allocates nothing) */
    size_t max_timed = (size_t)(m->train.steps > 0 ? m->train.steps : nb * epochs);
    if (max_timed > (1u << 20)) max_timed = 1u << 20;
    step_s = lam_malloc(sizeof *step_s * (max_timed ? max_timed : 1));
    if (!step_s) {
        s = LAM_ERR_NOMEM;
        goto done;
    }
    size_t n_timed = 0;
    double last[10];
    int n_last = 0;

    lam_train_state ts = {0};
    ts.best_monitor = INFINITY;
    lam_rng_seed(&ts.augment_rng, m->train.seed ^ 0xa46d3e7u);
    bool has_best = false;
    if (hk.resume_path) {
        if ((s = lam_checkpoint_resume_(hk.resume_path, m, opt, &ts, best, &has_best)) != LAM_OK) goto done;
        if ((s = lam_loader_set_state(ld, &ts.loader)) != LAM_OK) goto done;
        *lam_graph_rng(m->g) = ts.dropout_rng;
    }
    if (dist && m->train.sync_batchnorm) { /* BatchNorm sums over the ranks: every rank must run every batch */
        int64_t last = train->n % m->train.batch;
        if (m->train.batch < P || (last && last < P)) {
            s = lam_fail(LAM_ERR_ARG,
                         "sync_batchnorm on %d ranks needs every batch to give each rank a row: batch %d, last batch "
                         "%lld of %lld rows; hint: a batch of at least %d, or shuffle off with a row count that fits",
                         P, m->train.batch, (long long)(last ? last : m->train.batch), (long long)train->n, P);
            goto done;
        }
        lam_graph_set_reducer(m->g, comm_sum, m->comm);
    }
    if (dist) { /* rank 0's parameters and buffers everywhere, then the bucket plan */
        if ((s = lam_comm_bcast(m->comm, lam_graph_params(m->g), ptotal * sizeof(float), 0)) != LAM_OK) goto done;
        if ((s = lam_ddp_new_(m, m->comm, LAM_DDP_BUCKET_BYTES, &ddp)) != LAM_OK) goto done;
        if (rank != 0) hk.csv_log_path = hk.checkpoint_path = NULL; /* one writer */
    }
    if (!has_best) memcpy(best, lam_graph_params(m->g), ptotal * sizeof(float));
    /* with early stopping the best weights so far are part of the state */
    const float *ck_best = m->train.patience > 0 ? best : NULL;
    if (hk.csv_log_path) {
        /* the log has the rows of the epochs the checkpoint completed, and
         * that of an epoch the step budget cut short, which a resume with the
         * same budget does not write again */
        int logged = ts.epoch + (ts.step >= max_steps && ts.epoch_seen > 0);
        if (hk.resume_path && (s = trim_log(hk.csv_log_path, hk.stage ? hk.stage : 1, logged)) != LAM_OK) goto done;
        csv = fopen(hk.csv_log_path, "a");
        if (!csv) {
            s = lam_fail(LAM_ERR_IO, "%s: cannot write the metrics log: %s", hk.csv_log_path, strerror(errno));
            goto done;
        }
        if (ftell(csv) == 0) fprintf(csv, "stage,epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n");
    }
    double t_train = 0;
    int epoch;
    bool stop = false;        /* should_stop said so */
    bool interrupted = false; /* ... and training stopped before it was done */
    for (epoch = ts.epoch + 1; epoch <= epochs && ts.step < max_steps; epoch++) {
        /* the running sums: zero, or those of an epoch a resumed checkpoint stopped in */
        double t0 = now_s(), loss_sum = ts.epoch_loss_sum;
        int64_t correct = ts.epoch_correct, seen = ts.epoch_seen, bi = ts.epoch_batches;
        ts.epoch_loss_sum = 0;
        ts.epoch_correct = ts.epoch_seen = ts.epoch_batches = 0;
        int b;
        float factor = lam_schedule_factor(&sched, sched.per_step ? (long)ts.step : epoch - 1);
        bool drained = false;
        while (!drained) {
            if (ts.step >= max_steps) break; /* the step budget ends the epoch early */
            double ts0 = now_s(), tw0 = lam_comm_wait_seconds(m->comm);
            /* one optimiser step over `accumulate` micro-batches: their
             * gradients add up in the parameters' gradients, each seeded
             * with its share of the step's samples */
            int accum = m->train.accumulate > 1 ? m->train.accumulate : 1, nmicro = 0;
            int64_t step_samples = 0;
            float l = 0;
            lam_graph_zero_grad(m->g);
            double d_loss = 0, d_l = 0; /* data parallel: this rank's part of the step's sums */
            int64_t d_correct = 0;
            if (dist) lam_ddp_arm_(ddp, accum == 1); /* one backward per step: sum while it runs */
            for (; nmicro < accum; nmicro++) {
                if (!lam_loader_next_indices(ld, idx, &b)) {
                    drained = true;
                    break;
                }
                if (dist) { /* this rank's share of the global batch, rows [lo, lo + bl) */
                    int lo = (int)((int64_t)b * rank / P), bl = (int)((int64_t)b * (rank + 1) / P) - lo;
                    if ((s = dist_micro_batch(m, train, idx, b, lo, bl, augment ? &ts.augment_rng : NULL, aug_tmp, C,
                                              H, W, ts.step, nmicro, rank, &d_loss, &d_l, &d_correct)) != LAM_OK)
                        goto done;
                    seen += b;
                    step_samples += b;
                    continue;
                }
                load_inputs(m, train, idx, b);
                if (!m->self_supervised) load_targets(m, train, idx, b);
                if (augment && (s = lam_augment_batch(&m->augment, lam_node_data(m->x), b, C, H, W, &ts.augment_rng,
                                                      aug_tmp)) != LAM_OK)
                    goto done;
                lam_rng rng0 = *lam_graph_rng(m->g); /* to replay this micro-batch */
                if ((s = lam_graph_forward(m->g, b, true)) != LAM_OK) goto done;
                float lm = lam_node_data(m->loss)[0];
                if (!isfinite(lm)) {
                    s = numeric_fault(m, &rng0, b, 1.0f, false, lm, ts.step + 1, epoch, bi + 1);
                    goto done;
                }
                loss_sum += (double)lm * b;
                l += accum > 1 ? lm * (float)b / (float)((int64_t)accum * m->train.batch) : lm;
                if (is_classification(m) && !m->self_supervised) correct += batch_correct(m, b);
                seen += b;
                step_samples += b;
                const float w = accum > 1 ? (float)b / (float)((int64_t)accum * m->train.batch) : 1.0f;
                if ((s = lam_graph_backward_seed(m->g, m->loss, &w)) != LAM_OK) goto done;
                if (!grads_finite(m->g)) {
                    s = numeric_fault(m, &rng0, b, w, true, lm, ts.step + 1, epoch, bi + 1);
                    goto done;
                }
            }
            if (nmicro == 0) break;
            if (dist) { /* every bucket summed over the ranks: the global batch's gradient */
                if ((s = lam_ddp_finish_(ddp)) != LAM_OK) goto done;
                if (!grads_finite(m->g)) {
                    s = lam_fail(LAM_ERR_NUMERIC,
                                 "training diverged at step %llu (epoch %d, batch %lld): the gradient summed over the "
                                 "%d ranks is not finite; nothing of this step was applied, the last checkpoint holds "
                                 "the last good state (run on one process to have the op that produced it named; lower "
                                 "the learning rate, or clip the gradients with clip_norm)",
                                 (unsigned long long)ts.step + 1, epoch, (long long)bi + 1, P);
                    goto done;
                }
            }
            if (accum > 1 && step_samples != (int64_t)accum * m->train.batch) { /* a short last step */
                float r = (float)((int64_t)accum * m->train.batch) / (float)step_samples;
                l *= r;
                scale_grads(m->g, r);
            }
            b = (int)step_samples;
            if (sched.per_step) factor = lam_schedule_factor(&sched, (long)ts.step);
            if (m->train.clip_norm > 0 &&
                (s = lam_optim_clip_grad_norm(opt, lam_graph_grads(m->g), m->train.clip_norm, NULL)) != LAM_OK)
                goto done;
            if ((s = lam_optim_step(opt, lam_graph_params(m->g), lam_graph_grads(m->g), factor)) != LAM_OK) goto done;
            if (dist) { /* the step's loss and counts over the ranks, and whether any was asked to stop */
                double red[4] = {d_loss, (double)d_correct, d_l,
                                 !stop && hk.should_stop && hk.should_stop(hk.user) ? 1.0 : 0.0};
                if ((s = lam_comm_sum_f64(m->comm, red, 4)) != LAM_OK) goto done;
                loss_sum += red[0];
                correct += (int64_t)red[1];
                l = (float)red[2];
                if (red[3] > 0) stop = true;
            }
            if (n_timed < max_timed) {
                double t = now_s() - ts0;
                if (n_timed >= 5) timed_s += t, timed_wait_s += lam_comm_wait_seconds(m->comm) - tw0;
                step_s[n_timed++] = t;
            }
            last[n_last++ % 10] = l;
            ts.step++;
            res->steps++;
            res->samples += b;
            bi++;
            if (hk.on_batch) {
                lam_batch_log bl = {epoch, epochs, bi, nb, loss_sum / (double)seen, now_s() - t0};
                hk.on_batch(&bl, hk.user);
            }
            if (!dist && !stop && hk.should_stop && hk.should_stop(hk.user)) stop = true;
            /* a step that ends the epoch (the loader keeps the last short
             * batch: pos reaches n) gets the epoch's checkpoint, and a stop
             * waits for it; any other step may get a mid-epoch one */
            lam_loader_state lp;
            lam_loader_get_state(ld, &lp);
            if (drained || lp.pos >= lp.n || ts.step >= max_steps) continue;
            if (!stop && !(hk.checkpoint_every > 0 && ts.step % (uint64_t)hk.checkpoint_every == 0)) continue;
            if (hk.checkpoint_path && (s = write_state(m, opt, &ts, ld, ck_best, hk.checkpoint_path, true, loss_sum,
                                                       correct, seen, bi)) != LAM_OK)
                goto done;
            if (stop) {
                interrupted = true;
                break;
            }
        }
        if (interrupted) break;
        double dt = now_s() - t0;
        t_train += dt;
        /* an epoch cut short by the step budget is not done: a resume
         * continues it from the loader's position */
        lam_loader_state lst;
        lam_loader_get_state(ld, &lst);
        bool partial = ts.step >= max_steps && lst.pos > 0 && lst.pos < lst.n;
        int64_t scored = seen * rows_per_sample(m);
        lam_epoch_log el = {hk.stage ? hk.stage : 1, hk.stage_name, epoch, epochs, loss_sum / (double)(seen ? seen : 1),
                            is_classification(m) && !m->self_supervised ? (double)correct / (double)(scored ? scored : 1) : NAN,
                            NAN, NAN, m->train.group.lr * factor, dt, false};
        double monitor = el.train_loss;
        if (val && val->n && !m->self_supervised) {
            if ((s = lam_evaluate(m, val, &vm)) != LAM_OK) goto done;
            el.val_loss = vm.loss;
            el.val_acc = is_classification(m) ? vm.accuracy : NAN;
            lam_metrics_free(&vm);
            monitor = el.val_loss;
        }
        ts.epoch = partial ? epoch - 1 : epoch;
        /* early stopping scores whole epochs: a partial one would be scored
         * twice, now and when a resume with a larger budget finishes it */
        if (!partial && monitor < ts.best_monitor - m->train.min_delta) {
            ts.best_monitor = monitor;
            ts.best_epoch = epoch;
            ts.bad_epochs = 0;
            el.improved = true;
            memcpy(best, lam_graph_params(m->g), ptotal * sizeof(float));
        } else if (!partial) {
            ts.bad_epochs++;
        }
        bool go_on = hk.on_epoch ? hk.on_epoch(&el, hk.user) : true;
        if (!stop && hk.should_stop && hk.should_stop(hk.user)) stop = true; /* e.g. during validation */
        if (dist) { /* the ranks agree: any rank's stop or end stops all */
            int32_t flags[2] = {stop, !go_on};
            if ((s = lam_comm_max_i32(m->comm, flags, 2)) != LAM_OK) goto done;
            stop = flags[0] != 0;
            go_on = flags[1] == 0;
        }
        if (csv) {
            fprintf(csv, "%d,%d,%.6f,%.6f,%.6f,%.6f,%.6g,%.4f\n", el.stage, el.epoch, el.train_loss, el.train_acc, el.val_loss,
                    el.val_acc, el.lr, el.seconds);
            fflush(csv);
        }
        /* a partial epoch's sums: a resume with a larger step budget finishes it */
        if (hk.checkpoint_path && (s = write_state(m, opt, &ts, ld, ck_best, hk.checkpoint_path, partial, loss_sum,
                                                   correct, seen, bi)) != LAM_OK)
            goto done;
        if (m->train.patience > 0 && ts.bad_epochs >= m->train.patience) {
            res->stopped_early = true;
            break;
        }
        if (!go_on) {
            res->stopped_by_hook = true;
            break;
        }
        if (stop) {
            interrupted = epoch < epochs && ts.step < max_steps; /* else training is done anyway */
            break;
        }
    }
    res->interrupted = interrupted;
    res->total_steps = ts.step;
    if (interrupted) res->stopped_by_hook = true;
    /* early stopping restores the best weights (Keras's restore_best_weights);
     * an interrupted run keeps the last step's, as its checkpoint does */
    if (!interrupted && m->train.patience > 0 && ts.best_epoch > 0)
        memcpy(lam_graph_params(m->g), best, ptotal * sizeof(float));
    res->epochs_run = ts.epoch;
    res->best_epoch = m->train.patience > 0 ? ts.best_epoch : ts.epoch;
    res->best_monitor = ts.best_monitor;
    res->seconds = t_train;
    if (n_last) {
        int k = n_last < 10 ? n_last : 10;
        double a = 0;
        for (int i = 0; i < k; i++) a += last[i];
        res->last_loss = last[(n_last - 1) % 10];
        res->last10_loss = a / k;
    }
    /* as the peer benchmarks time it: the median step after 5 warm-up steps */
    if (n_timed > 5) {
        double *t = step_s + 5;
        size_t n = n_timed - 5;
        res->step_wait_share = timed_s > 0 ? timed_wait_s / timed_s : 0;
        qsort(t, n, sizeof *t, cmp_double);
        res->step_median_s = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
    }
done:
    if (csv && fclose(csv) != 0 && s == LAM_OK) s = lam_fail(LAM_ERR_IO, "%s: write error", hk.csv_log_path);
    lam_ddp_free_(ddp);
    lam_graph_set_reducer(m->g, NULL, NULL); /* evaluation runs in inference mode */
    lam_optim_free(opt);
    lam_loader_free(ld);
    lam_free(best);
    lam_free(aug_tmp);
    lam_free(idx);
    lam_free(step_s);
    return s;
}
