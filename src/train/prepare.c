/* Data preparation for a model: read the [data] source (CSV, IDX files,
 * Fashion-MNIST, CIFAR-10, NumPy arrays), check it against the model's input and output,
 * split off test and validation parts, and fit the input scaler on the
 * training part only. */
#include <stdio.h>
#include <string.h>

#include "lamina/npy.h"
#include "train/train_internal.h"


/* format = npy: an .npz archive, or .npy files (the test part's class
 * labels bounded by the training part's classes).  The samples take the
 * model's input shape when the element counts agree (x of shape (N, 28, 28)
 * feeds input = 784 or 1, 28, 28). */
static lam_status read_npy(lam_model *m, lam_dataset **rest, lam_dataset **test)
{
    lam_data_opts *d = &m->data;
    lam_npy_data_opts o = lam_npy_data_opts_defaults();
    o.task = d->csv.task;
    lam_status s;
    if (d->path) s = lam_dataset_from_npz(d->path, &o, rest, test);
    else if (!d->npy_x)
        return lam_fail(LAM_ERR_ARG, "%s: no data: set [data] path = FILE.npz, or x = FILE.npy and y = FILE.npy, "
                                     "or pass --data FILE.npz", m->cfg->path);
    else if ((s = lam_dataset_from_npy_files(d->npy_x, d->npy_y, &o, rest)) == LAM_OK && d->npy_test_x) {
        if ((*rest)->task == LAM_TASK_CLASSIFICATION) o.nclasses = (*rest)->nclasses;
        s = lam_dataset_from_npy_files(d->npy_test_x, d->npy_test_y, &o, test);
    }
    lam_dataset *parts[2] = {*rest, *test};
    for (int i = 0; i < 2 && s == LAM_OK; i++)
        if (parts[i] && parts[i]->nfeat == lam_shape_numel(&m->sample))
            s = lam_dataset_set_sample_shape(parts[i], m->sample);
    if (s != LAM_OK) {
        lam_dataset_free(*rest);
        lam_dataset_free(*test);
        *rest = *test = NULL;
    }
    return s;
}

/* Read the source into rest (to be split) and, for image sets, test. */
static lam_status read_source(lam_model *m, lam_dataset **rest, lam_dataset **test, lam_csv_report *report)
{
    lam_data_opts *d = &m->data;
    lam_idx_opts io = lam_idx_opts_defaults();
    switch (d->format) {
    case LAM_DATA_CSV:
        if (!d->path)
            return lam_fail(LAM_ERR_ARG, "%s: no data: set [data] path = FILE or pass --data FILE", m->cfg->path);
        return lam_csv_read(d->path, &d->csv, rest, report);
    case LAM_DATA_FASHION_MNIST: return lam_fashion_mnist_load(d->path, rest, test);
    case LAM_DATA_IDX:
        if (!d->train_images || !d->train_labels)
            return lam_fail(LAM_ERR_ARG, "%s: [data] format = idx needs train_images and train_labels", m->cfg->path);
        TRY(lam_dataset_from_idx(d->train_images, d->train_labels, &io, rest));
        if (d->test_images && d->test_labels) {
            io.nclasses = (*rest)->nclasses;
            lam_status s = lam_dataset_from_idx(d->test_images, d->test_labels, &io, test);
            if (s != LAM_OK) {
                lam_dataset_free(*rest);
                *rest = NULL;
            }
            return s;
        }
        return LAM_OK;
    case LAM_DATA_CIFAR10: {
        if (!d->path) return lam_fail(LAM_ERR_ARG, "%s: [data] format = cifar10 needs path = DIR", m->cfg->path);
        char p[5][1024], t[1024];
        const char *pp[5];
        for (int i = 0; i < 5; i++) {
            snprintf(p[i], sizeof p[i], "%s/data_batch_%d.bin", d->path, i + 1);
            pp[i] = p[i];
        }
        snprintf(t, sizeof t, "%s/test_batch.bin", d->path);
        const char *tp = t;
        TRY(lam_cifar_read(pp, 5, LAM_CIFAR_10, rest));
        lam_status s = lam_cifar_read(&tp, 1, LAM_CIFAR_10, test);
        if (s != LAM_OK) {
            lam_dataset_free(*rest);
            *rest = NULL;
        }
        return s;
    }
    case LAM_DATA_NPY: return read_npy(m, rest, test);
    default: break; /* the sequence formats are read by seqdata.c */
    }
    return lam_fail(LAM_ERR_ARG, "unknown data format %d", (int)d->format);
}

static lam_status check_fit(lam_model *m, const lam_dataset *ds)
{
    const char *src = m->data.path           ? m->data.path
                      : m->data.train_images ? m->data.train_images
                      : m->data.npy_x        ? m->data.npy_x
                                             : "the data";
    int64_t nf = lam_shape_numel(&m->sample);
    char a[64], b[64];
    if (ds->nfeat != nf || (ds->sample_shape.ndim > 1 && !lam_shape_eq(&ds->sample_shape, &m->sample)))
        return lam_fail(LAM_ERR_SHAPE, "%s: %lld features per sample (shape %s) but the model's input %s has %lld", src,
                        (long long)ds->nfeat, lam_shape_str(&ds->sample_shape, a, sizeof a),
                        lam_shape_str(&m->sample, b, sizeof b), (long long)nf);
    if (ds->task == LAM_TASK_CLASSIFICATION) {
        int need = m->train.loss == LAM_LOSS_BCE ? 2 : m->nout;
        if (m->train.loss == LAM_LOSS_MSE)
            return lam_fail(LAM_ERR_ARG, "%s has class labels but the model's loss is mse", src);
        if (ds->nclasses > need)
            return lam_fail(LAM_ERR_SHAPE, "%s has %d classes but the model's output layer has %d units", src,
                            ds->nclasses, m->nout);
    } else if (ds->ntargets != m->nout) {
        return lam_fail(LAM_ERR_SHAPE, "%s has %d targets but the model has %d outputs", src, ds->ntargets, m->nout);
    }
    return LAM_OK;
}

/* Per-channel statistics expanded to a per-feature scaler. */
static lam_status channel_scaler(lam_model *m, const lam_dataset *train)
{
    if (train->sample_shape.ndim != 3)
        return lam_fail(LAM_ERR_ARG, "%s: scale = channel needs image data [C, H, W]", m->cfg->path);
    int C = (int)train->sample_shape.d[0];
    int64_t hw = train->nfeat / C;
    float *mean = lam_calloc((size_t)C * 2, sizeof(float));
    float *shift = lam_calloc((size_t)train->nfeat * 2, sizeof(float));
    lam_status s = LAM_ERR_NOMEM;
    if (mean && shift) {
        float *std = mean + C, *scale = shift + train->nfeat;
        s = lam_dataset_channel_stats(train, mean, std);
        for (int64_t i = 0; s == LAM_OK && i < train->nfeat; i++) {
            shift[i] = mean[i / hw];
            scale[i] = std[i / hw];
        }
        if (s == LAM_OK) s = lam_scaler_from_params(LAM_SCALER_STANDARD, shift, scale, train->nfeat, &m->scaler);
    }
    lam_free(mean);
    lam_free(shift);
    return s;
}

/* Remember the training data's class names (saved in checkpoints, so that
 * eval and predict map labels as training did). */
static lam_status keep_class_names(lam_model *m, const lam_dataset *ds)
{
    if (!ds->class_names || m->class_names || m->borrowed_cfg) return LAM_OK;
    m->class_names = lam_calloc((size_t)ds->nclasses, sizeof *m->class_names);
    if (!m->class_names) return LAM_ERR_NOMEM;
    m->n_class_names = ds->nclasses;
    for (int32_t i = 0; i < ds->nclasses; i++)
        if (!(m->class_names[i] = lam_strdup(ds->class_names[i]))) return LAM_ERR_NOMEM;
    return LAM_OK;
}

/* Standardise regression targets with the training part's statistics
 * (predictions are mapped back by evaluate and predict). */
static lam_status scale_targets(lam_model *m, lam_dataset *tr, lam_dataset *va, lam_dataset *te)
{
    if (!m->data.scale_target || !tr->y || m->train.loss != LAM_LOSS_MSE) return LAM_OK;
    lam_scaler_free(m->target_scaler);
    m->target_scaler = NULL;
    TRY(lam_scaler_fit_rows(LAM_SCALER_STANDARD, tr->y, tr->n, tr->ntargets, &m->target_scaler));
    lam_dataset *parts[] = {tr, va, te};
    for (int i = 0; i < 3; i++)
        if (parts[i] && parts[i]->y) TRY(lam_scaler_transform(m->target_scaler, parts[i]->y, parts[i]->n, parts[i]->ntargets));
    return LAM_OK;
}

lam_status lam_model_prepare_data(lam_model *m, lam_dataset **train, lam_dataset **val, lam_dataset **test,
                                  lam_csv_report *report)
{
    *train = *test = NULL;
    if (val) *val = NULL;
    lam_dataset *rest = NULL, *tst = NULL, *tr = NULL, *va = NULL;
    lam_status s;
    if (lam_data_format_is_text(m->data.format) || m->data.format == LAM_DATA_TIMESERIES) {
        if ((s = lam_seq_prepare_(m, &tr, val ? &va : NULL, &tst)) != LAM_OK) return s;
        if (report) {
            memset(report, 0, sizeof *report);
            report->rows = report->rows_kept = tr->n + (va ? va->n : 0) + (tst ? tst->n : 0);
        }
        if ((s = keep_class_names(m, tr)) != LAM_OK || (s = check_fit(m, tr)) != LAM_OK ||
            (tst && (s = check_fit(m, tst)) != LAM_OK) || (s = scale_targets(m, tr, va, tst)) != LAM_OK) {
            lam_dataset_free(tst);
            lam_dataset_free(tr);
            lam_dataset_free(va);
            return s;
        }
        *train = tr;
        *test = tst;
        if (val) *val = va;
        return LAM_OK;
    }
    if ((s = read_source(m, &rest, &tst, report)) != LAM_OK) return s;
    return lam_model_prepare_dataset(m, rest, tst, train, val, test);
}

lam_status lam_model_prepare_dataset(lam_model *m, lam_dataset *all, lam_dataset *test_in, lam_dataset **train,
                                     lam_dataset **val, lam_dataset **test)
{
    *train = *test = NULL;
    if (val) *val = NULL;
    lam_dataset *rest = all, *tst = test_in, *tr = NULL, *va = NULL;
    lam_status s = LAM_OK;
    if (!m || !rest) {
        s = lam_fail(LAM_ERR_ARG, "lam_model_prepare_dataset: NULL model or data");
        goto fail;
    }
    if (rest->ids || m->tokens) {
        s = lam_fail(LAM_ERR_ARG, "lam_model_prepare_dataset: token data is prepared from the model file's text "
                                  "(lam_model_prepare_data)");
        goto fail;
    }
    if (!rest->labels && !rest->y) {
        s = lam_fail(LAM_ERR_ARG, "%s: the training data has no labels or targets", m->cfg->path);
        goto fail;
    }
    if (rest->nfeat == lam_shape_numel(&m->sample) && rest->sample_shape.ndim < 2 &&
        (s = lam_dataset_set_sample_shape(rest, m->sample)) != LAM_OK)
        goto fail;
    if ((s = keep_class_names(m, rest)) != LAM_OK) goto fail;
    if ((s = check_fit(m, rest)) != LAM_OK || (tst && (s = check_fit(m, tst)) != LAM_OK)) goto fail;
    lam_split_opts so = lam_split_opts_defaults();
    so.seed = m->data.split_seed;
    so.stratify = m->data.stratify && rest->task == LAM_TASK_CLASSIFICATION;
    if (!tst && m->data.test_split > 0) {
        lam_dataset *whole = rest;
        so.test_fraction = m->data.test_split;
        rest = NULL;
        s = lam_dataset_split_ex(whole, &so, &rest, &tst);
        lam_dataset_free(whole);
        if (s != LAM_OK) goto fail;
    }
    if (val && m->train.val_split > 0) {
        so.test_fraction = m->train.val_split;
        so.seed = m->data.split_seed + 1;
        if ((s = lam_dataset_split_ex(rest, &so, &tr, &va)) != LAM_OK) goto fail;
        lam_dataset_free(rest);
        rest = NULL;
    } else {
        tr = rest;
        rest = NULL;
    }
    lam_scaler_free(m->scaler);
    m->scaler = NULL;
    switch (m->data.scale) {
    case LAM_SCALE_NONE: break;
    case LAM_SCALE_CHANNEL: s = channel_scaler(m, tr); break;
    default:
        s = lam_scaler_fit(m->data.scale == LAM_SCALE_STANDARD ? LAM_SCALER_STANDARD : LAM_SCALER_MINMAX, tr,
                           &m->scaler);
    }
    if (s != LAM_OK) goto fail;
    if (m->scaler) {
        if ((s = lam_scaler_apply(m->scaler, tr)) != LAM_OK) goto fail;
        if (va && (s = lam_scaler_apply(m->scaler, va)) != LAM_OK) goto fail;
        if (tst && (s = lam_scaler_apply(m->scaler, tst)) != LAM_OK) goto fail;
    }
    if (tr->labels && (s = lam_baseline_majority_(m, tr, tst)) != LAM_OK) goto fail;
    if ((s = scale_targets(m, tr, va, tst)) != LAM_OK) goto fail;
    *train = tr;
    *test = tst;
    if (val) *val = va;
    return LAM_OK;
fail:
    lam_dataset_free(rest);
    lam_dataset_free(tst);
    lam_dataset_free(tr);
    lam_dataset_free(va);
    return s;
}

lam_status lam_model_prepare_inputs(const lam_model *m, lam_dataset *ds)
{
    if (!m || !ds) return lam_fail(LAM_ERR_ARG, "lam_model_prepare_inputs: NULL argument");
    int64_t nf = lam_shape_numel(&m->sample);
    if (ds->ids || m->tokens)
        return lam_fail(LAM_ERR_ARG, "lam_model_prepare_inputs: token data goes through lam_model_prepare_data");
    if (ds->nfeat != nf)
        return lam_fail(LAM_ERR_SHAPE, "the data has %lld features per sample; the model's input has %lld",
                        (long long)ds->nfeat, (long long)nf);
    if (ds->sample_shape.ndim < 2) TRY(lam_dataset_set_sample_shape(ds, m->sample));
    return m->scaler ? lam_scaler_apply(m->scaler, ds) : LAM_OK;
}
