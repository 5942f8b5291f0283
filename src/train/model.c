/* Models from model files: every section and key of the file is read here
 * through the typed getters (so unknown keys are errors with line numbers),
 * the layers are built with the nn builders, and the output, target and loss
 * nodes are attached. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json.h"
#include "train/train_internal.h"

static const char *const loss_names[] = {"cross_entropy", "mse", "bce", NULL};
const char *lam_loss_name(lam_loss_kind k) { return (unsigned)k < LAM_LOSS_COUNT_ ? loss_names[k] : "?"; }

lam_model_overrides lam_model_overrides_none(void) { return (lam_model_overrides){.seed = -1}; }

void lam_model_free(lam_model *m)
{
    if (!m) return;
    lam_graph_free(m->g);
    lam_scaler_free(m->scaler);
    lam_scaler_free(m->target_scaler);
    if (!m->borrowed_cfg) {
        lam_vocab_free(m->vocab);
        lam_text_cache_free_(m->text);
        lam_free(m->baselines);
        lam_free(m->layer_opts);
        lam_free(m->stages);
        for (int32_t i = 0; i < m->n_class_names; i++) lam_free(m->class_names[i]);
        lam_free(m->class_names);
        lam_cfg_free(m->cfg);
    }
    lam_free(m);
}


static lam_cfg_section *section(lam_cfg *c, const char *name)
{
    int i = lam_cfg_find(c, name, 0);
    if (i < 0) return NULL;
    return &c->sec[i];
}

static lam_status check_single(lam_cfg *c, const char *name)
{
    int a = lam_cfg_find(c, name, 0);
    if (a >= 0) {
        int b = lam_cfg_find(c, name, a + 1);
        if (b >= 0)
            return lam_fail(LAM_ERR_FORMAT, "%s:%d: section [%s] repeated (first on line %d)", c->path, c->sec[b].line,
                            name, c->sec[a].line);
    }
    return LAM_OK;
}

static const char *const data_formats[] = {"csv",      "idx",        "fashion_mnist", "cifar10", "corpus",
                                            "text_csv", "text_files", "timeseries",    "npy",     NULL};
_Static_assert(sizeof data_formats / sizeof data_formats[0] == LAM_DATA_FORMAT_COUNT_ + 1, "one name per format");
const char *lam_data_format_name(lam_data_format f)
{
    return (unsigned)f < sizeof data_formats / sizeof data_formats[0] - 1 ? data_formats[f] : "?";
}

/* format = npy: path = FILE.npz, or x = FILE.npy and y = FILE.npy (and
 * test_x, test_y); the keys belong to that format only. */
static lam_status read_npy_keys(lam_cfg *c, lam_cfg_section *s, lam_data_opts *d)
{
    static const char *const keys[] = {"x", "y", "test_x", "test_y"};
    const char **v[] = {&d->npy_x, &d->npy_y, &d->npy_test_x, &d->npy_test_y};
    int line = s ? s->line : 0;
    for (int i = 0; i < 4; i++) {
        TRY(lam_cfg_str(c, s, keys[i], NULL, v[i]));
        if (*v[i] && d->format != LAM_DATA_NPY) {
            lam_cfg_raw(c, s, keys[i], &line);
            return lam_fail(LAM_ERR_FORMAT, "%s:%d: [data] %s = FILE.npy needs format = npy", c->path, line,
                            keys[i]);
        }
    }
    if (d->format != LAM_DATA_NPY) return LAM_OK;
    if (d->npy_x || d->npy_y || d->npy_test_x || d->npy_test_y)
        lam_cfg_raw(c, s, d->npy_x ? "x" : d->npy_y ? "y" : d->npy_test_x ? "test_x" : "test_y", &line);
    if (d->path && d->npy_x)
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: [data] format = npy takes path = FILE.npz or x = / y = .npy "
                                        "files, not both", c->path, line);
    if (!d->npy_x != !d->npy_y || !d->npy_test_x != !d->npy_test_y || (d->npy_test_x && !d->npy_x))
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: [data] format = npy: x and y go together, and so do test_x "
                                        "and test_y (which need x and y)", c->path, line);
    return LAM_OK;
}

static lam_status read_data(lam_cfg *c, lam_data_opts *d, const lam_shape *sample)
{
    lam_cfg_section *s = section(c, "data");
    d->csv = lam_csv_opts_defaults();
    int f;
    TRY(lam_cfg_choice(c, s, "format", data_formats, 0, &f));
    d->format = (lam_data_format)f;
    TRY(lam_cfg_str(c, s, "path", NULL, &d->path));
    TRY(lam_cfg_str(c, s, "train_images", NULL, &d->train_images));
    TRY(lam_cfg_str(c, s, "train_labels", NULL, &d->train_labels));
    TRY(lam_cfg_str(c, s, "test_images", NULL, &d->test_images));
    TRY(lam_cfg_str(c, s, "test_labels", NULL, &d->test_labels));
    TRY(read_npy_keys(c, s, d));
    const char *label;
    TRY(lam_cfg_str(c, s, "label", d->format == LAM_DATA_TEXT_CSV ? "first" : "last", &label));
    if (!strcmp(label, "last")) label = "-1";
    else if (!strcmp(label, "first")) label = "0";
    d->csv.label = lam_csv_col_parse(label);
    static const char *const hdr[] = {"auto", "yes", "no", NULL};
    int h;
    /* labelled text has no numbers to tell a header by: say so, or it is one */
    TRY(lam_cfg_choice(c, s, "header", hdr, d->format == LAM_DATA_TEXT_CSV ? 1 : 0, &h));
    d->csv.header = (lam_csv_header)h;
    static const char *const miss[] = {"error", "drop", "mean", NULL};
    int mi;
    TRY(lam_cfg_choice(c, s, "missing", miss, 0, &mi));
    d->csv.missing = (lam_missing)mi;
    const char *delim;
    TRY(lam_cfg_str(c, s, "delimiter", ",", &delim));
    if (!strcmp(delim, "tab")) d->csv.delimiter = '\t';
    else if (strlen(delim) == 1) d->csv.delimiter = delim[0];
    else return lam_fail(LAM_ERR_FORMAT, "%s: [data] delimiter must be one character or 'tab'", c->path);
    /* a corpus for language modelling trains on all of its text by default */
    TRY(lam_cfg_double(c, s, "test_split", d->format == LAM_DATA_CORPUS ? 0.0 : 0.2, 0.0, 0.9, &d->test_split));
    long seed;
    TRY(lam_cfg_int(c, s, "split_seed", 42, 0, (1L << 62), &seed));
    d->split_seed = (uint64_t)seed;
    TRY(lam_cfg_bool(c, s, "stratify", false, &d->stratify));
    static const char *const sc[] = {"none", "standard", "minmax", "channel", NULL};
    int k;
    /* tables, time series and NumPy arrays are standardised by default;
     * image pixels arrive in [0, 1]; token ids are not scaled */
    TRY(lam_cfg_choice(c, s, "scale", sc,
                       d->format == LAM_DATA_CSV || d->format == LAM_DATA_TIMESERIES || d->format == LAM_DATA_NPY, &k));
    d->scale = (lam_scale_kind)k;
    TRY(lam_cfg_bool(c, s, "scale_target", d->format == LAM_DATA_TIMESERIES, &d->scale_target));
    if (lam_data_format_is_text(d->format) && d->scale != LAM_SCALE_NONE)
        return lam_fail(LAM_ERR_FORMAT, "%s: [data] scale: token ids are not scaled (remove the key)", c->path);
    return lam_seq_data_opts_(c, s, d, sample);
}

/* [stage] sections, read (and so checked) when the model is built */
static lam_status read_stages(lam_model *m)
{
    lam_cfg *c = m->cfg;
    int n = 0;
    for (int i = lam_cfg_find(c, "stage", 0); i >= 0; i = lam_cfg_find(c, "stage", i + 1)) n++;
    if (!n) return LAM_OK;
    if (n > LAM_MAX_STAGES) { /* lam_train_result has room for that many: fail now, not after training them */
        int i = -1;
        for (int k = 0; k <= LAM_MAX_STAGES; k++) i = lam_cfg_find(c, "stage", i + 1);
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: more than %d [stage] sections", c->path, c->sec[i].line,
                        LAM_MAX_STAGES);
    }
    m->stages = lam_calloc((size_t)n, sizeof *m->stages);
    if (!m->stages) return LAM_ERR_NOMEM;
    int k = 0;
    for (int i = lam_cfg_find(c, "stage", 0); i >= 0; i = lam_cfg_find(c, "stage", i + 1), k++) {
        lam_cfg_section *s = &c->sec[i];
        lam_stage_spec *st = &m->stages[k];
        long epochs;
        TRY(lam_cfg_str(c, s, "name", NULL, &st->name));
        TRY(lam_cfg_str(c, s, "train", "all", &st->train));
        TRY(lam_cfg_int(c, s, "epochs", m->train.epochs, 1, 1000000, &epochs));
        st->epochs = (int)epochs;
        TRY(lam_cfg_double(c, s, "lr", m->train.group.lr, 0.0, 1e3, &st->lr));
        TRY(lam_cfg_double(c, s, "momentum", m->train.group.momentum, 0.0, 1.0, &st->momentum));
        TRY(lam_cfg_double(c, s, "weight_decay", m->train.group.weight_decay, 0.0, 1e3, &st->weight_decay));
    }
    m->n_stages = n;
    return LAM_OK;
}

static lam_status read_augment(lam_cfg *c, lam_augment *a)
{
    TRY(check_single(c, "augment"));
    lam_cfg_section *s = section(c, "augment");
    *a = lam_augment_defaults();
    long v;
    double x;
    TRY(lam_cfg_bool(c, s, "flip", false, &a->flip));
    TRY(lam_cfg_int(c, s, "crop_pad", 0, 0, 64, &v));
    a->crop = v > 0;
    a->crop_pad = (int)v;
    TRY(lam_cfg_int(c, s, "shift", 0, 0, 64, &v));
    a->shift = v > 0;
    a->shift_max = (int)v;
    TRY(lam_cfg_double(c, s, "noise", 0.0, 0.0, 10.0, &x));
    a->noise = x > 0;
    a->noise_std = (float)x;
    return LAM_OK;
}

static lam_status read_train(lam_cfg *c, lam_train_opts *t, uint64_t net_seed)
{
    lam_cfg_section *s = section(c, "train");
    int k;
    TRY(lam_cfg_choice(c, s, "loss", loss_names, 0, &k));
    t->loss = (lam_loss_kind)k;
    const char *opt;
    int line = 0;
    TRY(lam_cfg_str(c, s, "optimizer", "sgd", &opt));
    lam_cfg_raw(c, s, "optimizer", &line);
    if (!lam_optim_kind_from_name(opt, &t->optimizer))
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: unknown optimizer '%s' (sgd, adam, adamw, rmsprop, adagrad)", c->path,
                        line, opt);
    lam_param_group *g = &t->group;
    *g = lam_param_group_defaults(t->optimizer);
    TRY(lam_cfg_double(c, s, "lr", g->lr, 0.0, 1e3, &g->lr));
    TRY(lam_cfg_double(c, s, "momentum", g->momentum, 0.0, 1.0, &g->momentum));
    TRY(lam_cfg_double(c, s, "dampening", g->dampening, 0.0, 1.0, &g->dampening));
    TRY(lam_cfg_bool(c, s, "nesterov", g->nesterov, &g->nesterov));
    TRY(lam_cfg_double(c, s, "weight_decay", g->weight_decay, 0.0, 1e3, &g->weight_decay));
    TRY(lam_cfg_double(c, s, "l2", g->weight_decay, 0.0, 1e3, &g->weight_decay));
    TRY(lam_cfg_double(c, s, "l1", g->l1, 0.0, 1e3, &g->l1));
    TRY(lam_cfg_double(c, s, "beta1", g->beta1, 0.0, 0.999999, &g->beta1));
    TRY(lam_cfg_double(c, s, "beta2", g->beta2, 0.0, 0.999999999, &g->beta2));
    TRY(lam_cfg_double(c, s, "eps", g->eps, 1e-30, 1.0, &g->eps));
    TRY(lam_cfg_double(c, s, "alpha", g->alpha, 0.0, 1.0, &g->alpha));
    TRY(lam_cfg_bool(c, s, "centered", g->centered, &g->centered));
    TRY(lam_cfg_bool(c, s, "amsgrad", g->amsgrad, &g->amsgrad));
    TRY(lam_cfg_double(c, s, "lr_decay", g->lr_decay, 0.0, 1e3, &g->lr_decay));
    TRY(lam_param_group_check(t->optimizer, g, 0));
    static const char *const decay_rules[] = {"all", "matrices", NULL};
    int dr;
    TRY(lam_cfg_choice(c, s, "decay", decay_rules, t->optimizer == LAM_OPTIM_ADAMW ? LAM_DECAY_MATRICES : LAM_DECAY_ALL,
                       &dr));
    t->decay = (lam_decay_rule)dr;

    const char *sched;
    TRY(lam_cfg_str(c, s, "schedule", "constant", &sched));
    lam_cfg_raw(c, s, "schedule", &line);
    if (!lam_schedule_from_name(sched, &t->schedule))
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: unknown schedule '%s' (constant, step, multistep, exponential, cosine, warmup_cosine)",
                        c->path, line, sched);
    lam_schedule *sc = &t->schedule;
    long v;
    TRY(lam_cfg_bool(c, s, "schedule_per_step", sc->per_step, &sc->per_step));
    TRY(lam_cfg_int(c, s, "step_size", sc->step_size, 1, 1L << 40, &v));
    sc->step_size = v;
    TRY(lam_cfg_double(c, s, "gamma", sc->gamma, 1e-9, 10.0, &sc->gamma));
    TRY(lam_cfg_int(c, s, "warmup", sc->warmup, 0, 1L << 40, &v));
    sc->warmup = v;
    TRY(lam_cfg_double(c, s, "warmup_start_factor", sc->warmup_start_factor, 0.0, 1.0, &sc->warmup_start_factor));
    TRY(lam_cfg_double(c, s, "min_lr_factor", sc->eta_min, 0.0, 1.0, &sc->eta_min));
    TRY(lam_cfg_int(c, s, "t_max", sc->t_max, 0, 1L << 40, &v));
    sc->t_max = v;

    TRY(lam_cfg_int(c, s, "epochs", 10, 1, 1000000, &v));
    t->epochs = (int)v;
    TRY(lam_cfg_int(c, s, "steps", 0, 0, 1L << 40, &v));
    t->steps = v;
    const char *strat;
    TRY(lam_cfg_str(c, s, "strategy", lam_cfg_find(c, "stage", 0) >= 0 ? "stages" : "end_to_end", &strat));
    lam_cfg_raw(c, s, "strategy", &line);
    if (!lam_strategy_from_name(strat, &t->strategy))
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: unknown strategy '%s' (end_to_end, layerwise_supervised, layerwise_autoencoder, stages)",
                        c->path, line, strat);
    if (t->strategy == LAM_STRATEGY_STAGES && lam_cfg_find(c, "stage", 0) < 0)
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: strategy = stages needs [stage] sections", c->path, line);
    TRY(lam_cfg_int(c, s, "stage_epochs", -1, 1, 1000000, &v));
    t->stage_epochs = (int)v;
    /* -1: follow `epochs` (also when --epochs overrides it) */
    TRY(lam_cfg_int(c, s, "fine_tune_epochs", -1, 0, 1000000, &v));
    t->fine_tune_epochs = (int)v;
    TRY(lam_cfg_double(c, s, "fine_tune_lr", g->lr, 0.0, 1e3, &t->fine_tune_lr));
    TRY(lam_cfg_double(c, s, "ae_noise", 0.1, 0.0, 0.95, &t->ae_noise));
    TRY(lam_cfg_double(c, s, "labelled_fraction", 1.0, 0.001, 1.0, &t->labelled_fraction));
    TRY(lam_cfg_double(c, s, "pseudo_threshold", 0.95, 0.0, 1.0, &t->pseudo_threshold));
    TRY(lam_cfg_int(c, s, "pseudo_rounds", 1, 1, LAM_MAX_PSEUDO_ROUNDS, &v));
    t->pseudo_rounds = (int)v;
    TRY(lam_cfg_int(c, s, "batch", 32, 1, 1 << 20, &v));
    t->batch = (int)v;
    TRY(lam_cfg_int(c, s, "accumulate", 1, 1, 1 << 16, &v));
    t->accumulate = (int)v;
    TRY(lam_cfg_double(c, s, "validation_split", 0.0, 0.0, 0.9, &t->val_split));
    TRY(lam_cfg_int(c, s, "patience", 0, 0, 1000000, &v));
    t->patience = (int)v;
    TRY(lam_cfg_double(c, s, "min_delta", 0.0, 0.0, 1e9, &t->min_delta));
    TRY(lam_cfg_double(c, s, "clip_norm", 0.0, 0.0, 1e9, &t->clip_norm));
    TRY(lam_cfg_double(c, s, "lr_depth_decay", 1.0, 1e-6, 1.0, &t->lr_depth_decay));
    TRY(lam_cfg_bool(c, s, "shuffle", true, &t->shuffle));
    TRY(lam_cfg_bool(c, s, "sync_batchnorm", false, &t->sync_batchnorm));
    TRY(lam_cfg_int(c, s, "seed", (long)(net_seed & 0x3fffffffffffffffULL), 0, 1L << 62, &v));
    t->seed = (uint64_t)v;
    return LAM_OK;
}

lam_status lam_model_attach_loss_(lam_model *m)
{
    lam_graph *g = m->g;
    lam_shape os = lam_node_shape(m->out);
    char sb[64];
    if (m->next_token) {
        if (os.ndim != 3 || os.d[1] != m->sample.d[0] || m->train.loss != LAM_LOSS_CROSS_ENTROPY)
            return lam_fail(LAM_ERR_SHAPE,
                            "%s: a language model's last layer must give [batch, %lld, vocabulary] (has %s) and its loss "
                            "be cross_entropy; hint: recurrent layers with return = sequence, then [dense] units = vocab",
                            m->cfg->path, (long long)m->sample.d[0], lam_shape_str(&os, sb, sizeof sb));
        m->nout = (int)os.d[2];
        lam_graph_mark_output(g, m->out);
        m->target = lam_input_ids(g, "labels", m->sample);
        m->loss = lam_softmax_ce_loss(g, m->out, m->target);
        if (!m->loss) return lam_fail(lam_graph_status(g), "%s: %s", m->cfg->path, lam_graph_error(g));
        lam_node_set_name(g, m->loss, "loss");
        return LAM_OK;
    }
    if (os.ndim != 2)
        return lam_fail(LAM_ERR_SHAPE, "%s: the last layer must give [batch, outputs] (has %s)%s", m->cfg->path,
                        lam_shape_str(&os, sb, sizeof sb),
                        os.ndim == 3 ? "; hint: a recurrent layer with return = last, or [seq_pool], makes one vector "
                                       "of a sequence" : "");
    m->nout = (int)os.d[1];
    lam_graph_mark_output(g, m->out);
    if (m->train.loss == LAM_LOSS_CROSS_ENTROPY) {
        if (m->nout < 2)
            return lam_fail(LAM_ERR_SHAPE, "%s: cross_entropy needs an output layer of at least 2 units (has %d)",
                            m->cfg->path, m->nout);
        m->target = lam_input_labels(g, "labels");
        m->loss = lam_softmax_ce_loss(g, m->out, m->target);
    } else {
        m->target = lam_input(g, "targets", lam_shape1(m->nout));
        m->loss = m->train.loss == LAM_LOSS_MSE ? lam_mse_loss(g, m->out, m->target)
                                                : lam_bce_logits_loss(g, m->out, m->target);
    }
    if (!m->loss) return lam_fail(lam_graph_status(g), "%s: %s", m->cfg->path, lam_graph_error(g));
    lam_node_set_name(g, m->loss, "loss");
    return LAM_OK;
}

static lam_status build(lam_model *m, const lam_model_overrides *ov)
{
    lam_cfg *c = m->cfg;
    TRY(check_single(c, "net"));
    TRY(check_single(c, "data"));
    TRY(check_single(c, "train"));
    lam_cfg_section *net = section(c, "net");
    if (!net) return lam_fail(LAM_ERR_FORMAT, "%s: missing [net] section (input = ...)", c->path);
    int64_t dims[LAM_MAX_DIMS];
    int nd;
    TRY(lam_cfg_int_list(c, net, "input", dims, LAM_MAX_DIMS - 1, &nd, true));
    /* each dimension is at most 2^31; so must their product be, before any
     * shape arithmetic (int64) can overflow */
    for (int i = 0, line = 0; i < nd; i++) {
        int64_t numel = 1;
        for (int k = 0; k <= i; k++) numel *= dims[k];
        if (numel > ((int64_t)1 << 31)) {
            lam_cfg_raw(c, net, "input", &line);
            return lam_fail(LAM_ERR_FORMAT, "%s:%d: input = '%s' holds more than 2^31 values per sample", c->path,
                            line, lam_cfg_raw(c, net, "input", NULL));
        }
    }
    m->sample = lam_shape_make(nd, dims);
    long seed;
    TRY(lam_cfg_int(c, net, "seed", 0, 0, 1L << 62, &seed));
    if (ov && ov->seed >= 0) seed = (long)ov->seed;
    m->seed = (uint64_t)seed;
    TRY(read_data(c, &m->data, &m->sample));
    TRY(read_train(c, &m->train, m->seed));
    TRY(read_augment(c, &m->augment));
    TRY(read_stages(m));
    if ((m->augment.crop || m->augment.shift || m->augment.flip) && m->sample.ndim != 3)
        return lam_fail(LAM_ERR_FORMAT, "%s: [augment] crop_pad, shift and flip need image input ([net] input = C, H, W)",
                        c->path);
    if (ov) {
        if (ov->data_path) m->data.path = ov->data_path;
        if (ov->epochs > 0) m->train.epochs = ov->epochs;
        if (ov->batch > 0) m->train.batch = ov->batch;
        if (ov->lr > 0) m->train.group.lr = ov->lr;
        if (ov->seed >= 0) m->train.seed = (uint64_t)ov->seed;
        if (ov->steps > 0) m->train.steps = ov->steps;
        if (ov->strategy && !lam_strategy_from_name(ov->strategy, &m->train.strategy))
            return lam_fail(LAM_ERR_ARG, "unknown strategy '%s' (end_to_end, layerwise_supervised, layerwise_autoencoder, stages)",
                            ov->strategy);
        if (m->train.strategy == LAM_STRATEGY_STAGES && lam_cfg_find(c, "stage", 0) < 0)
            return lam_fail(LAM_ERR_ARG, "%s: strategy stages needs [stage] sections in the model file", c->path);
    }
    if (m->train.stage_epochs < 0) m->train.stage_epochs = m->train.epochs;
    if (m->train.fine_tune_epochs < 0) m->train.fine_tune_epochs = m->train.epochs;
    m->data.csv.task = m->train.loss == LAM_LOSS_MSE ? LAM_TASK_REGRESSION : LAM_TASK_CLASSIFICATION;
    m->tokens = lam_data_format_is_text(m->data.format);
    m->next_token = m->data.format == LAM_DATA_CORPUS;
    if (m->next_token && m->train.loss != LAM_LOSS_CROSS_ENTROPY)
        return lam_fail(LAM_ERR_FORMAT, "%s: a corpus trains a language model: [train] loss must be cross_entropy", c->path);
    if (m->data.format == LAM_DATA_TIMESERIES && (m->data.ts.target != NULL) != (m->train.loss == LAM_LOSS_MSE))
        return lam_fail(LAM_ERR_FORMAT, "%s: time series: target = COLUMN goes with loss = mse, class = COLUMN with "
                                        "cross_entropy", c->path);
    if (m->data.format == LAM_DATA_TIMESERIES) {
        m->data.csv.task = m->data.ts.target ? LAM_TASK_REGRESSION : LAM_TASK_CLASSIFICATION;
        m->data.csv.ntargets = 1;
    }
    TRY(lam_seq_vocab_(m, ov ? ov->vocab_json : NULL));
    m->g = lam_graph_new(m->seed);
    if (!m->g) return LAM_ERR_NOMEM;
    m->x = m->tokens ? lam_input_ids(m->g, "x", m->sample) : lam_input(m->g, "x", m->sample);
    if (m->x && m->data.format == LAM_DATA_TEXT_CSV) m->lengths = lam_input_ids(m->g, "lengths", (lam_shape){0, {0}});
    if (!m->x) return lam_fail(lam_graph_status(m->g), "%s: %s", c->path, lam_graph_error(m->g));
    TRY(lam_model_build_layers_(m));
    TRY(lam_model_attach_loss_(m));
    return lam_cfg_check_unused(c);
}

lam_status lam_model_from_cfg(lam_cfg *cfg, const lam_model_overrides *ov, lam_model **out)
{
    *out = NULL;
    lam_model *m = lam_calloc(1, sizeof *m);
    if (!m) {
        lam_cfg_free(cfg);
        return LAM_ERR_NOMEM;
    }
    m->cfg = cfg;
    lam_status s = build(m, ov);
    if (s != LAM_OK) {
        lam_model_free(m);
        return s;
    }
    *out = m;
    return LAM_OK;
}

lam_status lam_model_load(const char *path, const lam_model_overrides *ov, lam_model **out)
{
    lam_cfg *c;
    *out = NULL;
    TRY(lam_cfg_load(path, &c));
    return lam_model_from_cfg(c, ov, out);
}

lam_status lam_model_compile(lam_model *m, int max_batch)
{
    if (m->compiled_batch >= max_batch) return LAM_OK;
    lam_compile_opts o = lam_compile_opts_defaults();
    o.max_batch = max_batch;
    TRY(lam_graph_compile(m->g, &o));
    m->compiled_batch = max_batch;
    return LAM_OK;
}

static void fmt_bytes(double b, char *buf, size_t n)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB"};
    int i = 0;
    while (b >= 1024 && i < 3) b /= 1024, i++;
    snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

/* Non-parameter nodes by name, to find the layer each parameter belongs to. */
typedef struct named_node {
    const char *name;
    int node;
} named_node;

static int cmp_named(const void *a, const void *b)
{
    return strcmp(((const named_node *)a)->name, ((const named_node *)b)->name);
}

/* name against the key p[0..len), in the order of strcmp */
static int cmp_key(const char *name, const char *p, size_t len)
{
    int c = strncmp(name, p, len);
    return c ? c : name[len] != 0;
}

/* First entry of v[0..n) (sorted by name) whose name is p[0..len), or -1. */
static int find_prefix(const named_node *v, int n, const char *p, size_t len)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (cmp_key(v[mid].name, p, len) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && cmp_key(v[lo].name, p, len) == 0 ? lo : -1;
}

/* np[i] = the parameter elements owned by node i: the parameters whose
 * longest non-parameter node-name prefix (followed by a '.') is node i's
 * name.  Sorted names and a binary search per prefix, O((nodes + params)
 * log nodes): a scan of every node for every parameter of every node made a
 * model of a few thousand layers take minutes.  false if out of memory. */
static bool param_owners(const lam_graph *g, size_t *np)
{
    int nn = lam_graph_node_count(g), k = 0;
    named_node *v = lam_malloc(((size_t)nn + 1) * sizeof *v);
    if (!v) return false;
    for (int i = 0; i < nn; i++) {
        lam_node *nd = lam_graph_node_at(g, i);
        np[i] = 0;
        if (strcmp(lam_node_op_name(nd), "param")) v[k++] = (named_node){lam_node_name(nd), i};
    }
    qsort(v, (size_t)k, sizeof *v, cmp_named);
    for (size_t p = 0; p < lam_graph_param_count(g); p++) {
        const lam_param_info *pi = lam_graph_param_at(g, p);
        for (size_t len = strlen(pi->name); len-- > 0;) {
            if (pi->name[len] != '.') continue;
            int j = find_prefix(v, k, pi->name, len);
            if (j < 0) continue;
            for (int e = j; e < k && !strcmp(v[e].name, v[j].name); e++) np[v[e].node] += pi->numel;
            break;
        }
    }
    lam_free(v);
    return true;
}

size_t lam_model_describe(lam_model *m, char *buf, size_t n)
{
    size_t k = 0;
#define OUT(...) k += (size_t)snprintf(k < n ? buf + k : NULL, k < n ? n - k : 0, __VA_ARGS__)
    char s[64];
    OUT("model %s: input %s%s, loss %s, optimizer %s\n", m->cfg->path, lam_shape_str(&m->sample, s, sizeof s),
        m->tokens ? " tokens" : "", lam_loss_name(m->train.loss), lam_optim_kind_name(m->train.optimizer));
    if (m->vocab)
        OUT("  vocabulary: %d tokens (%s tokenizer%s%s)\n", (int)lam_vocab_size(m->vocab),
            lam_tokenizer_name(lam_vocab_tokenizer(m->vocab)), lam_vocab_pad_id(m->vocab) >= 0 ? ", <pad>" : "",
            lam_vocab_unk_id(m->vocab) >= 0 ? ", <unk>" : "");
    OUT("  %-14s %-11s %-16s %12s\n", "layer", "op", "output", "params");
    size_t total = 0;
    size_t *owned = lam_calloc((size_t)lam_graph_node_count(m->g) + 1, sizeof *owned);
    if (owned && !param_owners(m->g, owned)) {
        lam_free(owned);
        owned = NULL;
    }
    for (int i = 0; i < lam_graph_node_count(m->g); i++) {
        lam_node *nd = lam_graph_node_at(m->g, i);
        const char *op = lam_node_op_name(nd);
        if (!strcmp(op, "param")) continue;
        size_t np = owned ? owned[i] : 0; /* the parameters whose longest node-name prefix is this node's */
        total += np;
        lam_shape sh = lam_node_shape(nd);
        OUT("  %-14s %-11s %-16s %12zu\n", lam_node_name(nd), op, lam_shape_str(&sh, s, sizeof s), np);
    }
    size_t trainable = 0;
    for (size_t p = 0; p < lam_graph_param_count(m->g); p++)
        if (lam_graph_param_at(m->g, p)->trainable) trainable += lam_graph_param_at(m->g, p)->numel;
    bool by_layer = owned != NULL;
    lam_free(owned);
    OUT("  parameters: %zu (%zu trainable)%s\n", total, trainable, by_layer ? "" : " (out of memory: not counted by layer)");
    OUT("  forward FLOPs per sample: %.0f\n", lam_graph_flops_per_sample(m->g));
    lam_mem_plan mp = lam_graph_mem_plan(m->g);
    if (mp.arena_bytes || mp.param_bytes) {
        char a[32], b[32], c2[32], d[32];
        fmt_bytes((double)mp.arena_bytes, a, sizeof a);
        fmt_bytes((double)mp.arena_naive_bytes, b, sizeof b);
        fmt_bytes((double)mp.scratch_bytes, c2, sizeof c2);
        fmt_bytes((double)mp.param_bytes, d, sizeof d);
        OUT("  planned memory at batch %d: activations+gradients %s (%s unplanned), scratch %s, parameters+gradients %s\n",
            m->compiled_batch, a, b, c2, d);
        if (mp.arena_no_recompute_bytes != mp.arena_bytes) {
            fmt_bytes((double)mp.arena_no_recompute_bytes, a, sizeof a);
            OUT("  activation recomputation: activations+gradients %s without it (%.2fx)\n", a,
                (double)mp.arena_no_recompute_bytes / (double)(mp.arena_bytes ? mp.arena_bytes : 1));
        }
    }
    return k;
#undef OUT
}

static void jshape(lam_json_buf *b, const lam_shape *s)
{
    lam_json_buf_puts(b, "[");
    for (int i = 0; i < s->ndim; i++) {
        if (i) lam_json_buf_puts(b, ",");
        lam_json_write_int(b, s->d[i]);
    }
    lam_json_buf_puts(b, "]");
}

lam_status lam_model_json(lam_model *m, char **out)
{
    if (!m || !out) return lam_fail(LAM_ERR_ARG, "lam_model_json: NULL argument");
    *out = NULL;
    lam_json_buf b = {0};
    size_t *owned = lam_calloc((size_t)lam_graph_node_count(m->g) + 1, sizeof *owned);
    if (!owned || !param_owners(m->g, owned)) {
        lam_free(owned);
        return LAM_ERR_NOMEM;
    }
    lam_json_buf_puts(&b, "{");
    lam_json_put_str(&b, "model_file", m->cfg->path);
    lam_json_key(&b, "input");
    jshape(&b, &m->sample);
    lam_json_put_bool(&b, "tokens", m->tokens);
    lam_json_put_str(&b, "loss", lam_loss_name(m->train.loss));
    lam_json_put_str(&b, "optimizer", lam_optim_kind_name(m->train.optimizer));
    lam_json_put_int(&b, "outputs", m->nout);
    if (m->vocab) {
        lam_json_key(&b, "vocabulary");
        lam_json_buf_puts(&b, "{");
        lam_json_put_int(&b, "size", (int64_t)lam_vocab_size(m->vocab));
        lam_json_put_str(&b, "tokenizer", lam_tokenizer_name(lam_vocab_tokenizer(m->vocab)));
        lam_json_buf_puts(&b, "}");
    }
    lam_json_put_int(&b, "batch", m->compiled_batch);
    lam_json_key(&b, "layers"); /* as lam_model_describe: every node but the parameters */
    lam_json_buf_puts(&b, "[");
    size_t total = 0;
    bool first = true;
    for (int i = 0; i < lam_graph_node_count(m->g); i++) {
        lam_node *nd = lam_graph_node_at(m->g, i);
        const char *op = lam_node_op_name(nd);
        if (!strcmp(op, "param")) continue;
        total += owned[i];
        lam_shape sh = lam_node_sample_shape(nd);
        lam_json_buf_puts(&b, first ? "{" : ",{");
        first = false;
        lam_json_put_str(&b, "name", lam_node_name(nd));
        lam_json_put_str(&b, "op", op);
        lam_json_key(&b, "shape");
        jshape(&b, &sh);
        lam_json_put_int(&b, "params", (int64_t)owned[i]);
        lam_json_buf_puts(&b, "}");
    }
    lam_json_buf_puts(&b, "]");
    lam_free(owned);
    size_t trainable = 0;
    for (size_t p = 0; p < lam_graph_param_count(m->g); p++)
        if (lam_graph_param_at(m->g, p)->trainable) trainable += lam_graph_param_at(m->g, p)->numel;
    lam_json_put_int(&b, "parameters", (int64_t)total);
    lam_json_put_int(&b, "trainable", (int64_t)trainable);
    lam_json_put_double(&b, "flops_per_sample", lam_graph_flops_per_sample(m->g));
    lam_mem_plan mp = lam_graph_mem_plan(m->g);
    if (mp.arena_bytes || mp.param_bytes) {
        lam_json_key(&b, "memory");
        lam_json_buf_puts(&b, "{");
        lam_json_put_int(&b, "activations", (int64_t)mp.arena_bytes);
        lam_json_put_int(&b, "activations_unplanned", (int64_t)mp.arena_naive_bytes);
        lam_json_put_int(&b, "activations_without_recompute", (int64_t)mp.arena_no_recompute_bytes);
        lam_json_put_int(&b, "scratch", (int64_t)mp.scratch_bytes);
        lam_json_put_int(&b, "parameters", (int64_t)mp.param_bytes);
        lam_json_buf_puts(&b, "}");
    }
    lam_json_buf_puts(&b, "}");
    return lam_json_buf_take(&b, out);
}
