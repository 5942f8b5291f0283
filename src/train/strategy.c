/* Training strategies: end to end, greedy layer-wise supervised, greedy
 * layer-wise (denoising) autoencoders, and hand-written [stage] sections.
 *
 * The model's layer sections are grouped into blocks, one per learnable
 * section (dense, conv2d) with the sections after it up to the next one
 * (BatchNorm, pooling, dropout, activation); the last block is the output.
 * A greedy stage builds a temporary graph from the model file's sections —
 * the trained blocks frozen, the new block trainable, a temporary head (or a
 * decoder) on top — copies the model's parameters into it by name, trains it
 * with lam_fit, and copies the new block's parameters back.  The output
 * block is then trained on the full model with the hidden blocks frozen, and
 * the whole model fine-tuned end to end.  Frozen layers get no gradient work
 * and no update, and their BatchNorm statistics stay fixed. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lamina/io.h"
#include "lamina/nn.h"
#include "train/train_internal.h"


static const char *const strategy_names[LAM_STRATEGY_COUNT_] = {"end_to_end", "layerwise_supervised",
                                                                  "layerwise_autoencoder", "stages"};
const char *lam_strategy_name(lam_strategy_kind k)
{
    return (unsigned)k < LAM_STRATEGY_COUNT_ ? strategy_names[k] : "?";
}
bool lam_strategy_from_name(const char *name, lam_strategy_kind *out)
{
    for (int i = 0; i < LAM_STRATEGY_COUNT_; i++)
        if (!strcmp(name, strategy_names[i])) {
            *out = (lam_strategy_kind)i;
            return true;
        }
    return false;
}

/* ---- blocks ------------------------------------------------------------------ */

typedef struct blocks {
    int n;
    int learn[LAM_MAX_STAGES]; /* section index of each block's learnable section */
    int start[LAM_MAX_STAGES + 1]; /* block b = sections [start[b], start[b+1]) */
} blocks;

static lam_status find_blocks(lam_model *m, blocks *b)
{
    lam_cfg *c = m->cfg;
    b->n = 0;
    for (int i = 0; i < c->n_sec; i++) {
        if (!lam_section_is_learnable_(m, i)) continue;
        if (b->n == LAM_MAX_STAGES - 2)
            return lam_fail(LAM_ERR_ARG, "%s: more than %d learnable layers for a layer-wise strategy", c->path,
                            LAM_MAX_STAGES - 2);
        b->learn[b->n] = i;
        b->start[b->n] = b->n == 0 ? 0 : i;
        b->n++;
    }
    b->start[b->n] = c->n_sec;
    if (b->n < 2)
        return lam_fail(LAM_ERR_ARG, "%s: a layer-wise strategy needs at least one hidden layer before the output layer",
                        c->path);
    return LAM_OK;
}

/* ---- parameters shared by name ------------------------------------------------- */

/* Copy the parameters of graph layers [l0, l1) of `from` into the parameters
 * of the same name in `to` (those `to` has). */
static void copy_layers(lam_graph *to, lam_graph *from, int l0, int l1)
{
    for (size_t i = 0; i < lam_graph_param_count(from); i++) {
        const lam_param_info *p = lam_graph_param_at(from, i);
        if (p->layer < l0 || p->layer >= l1) continue;
        const lam_param_info *q = lam_graph_param_find(to, p->name);
        if (!q || q->numel != p->numel) continue;
        memcpy(lam_graph_params(to) + q->offset, lam_graph_params(from) + p->offset, p->numel * sizeof(float));
    }
}

static void copy_all(lam_graph *to, lam_graph *from) { copy_layers(to, from, -1, 1 << 30); }

static size_t trainable_count(lam_graph *g)
{
    size_t n = 0;
    for (size_t i = 0; i < lam_graph_param_count(g); i++)
        if (lam_graph_param_at(g, i)->trainable) n += lam_graph_param_at(g, i)->numel;
    return n;
}

/* A stage's temporary model: settings copied from m, a graph of its own. */
static lam_status sub_new(lam_model *m, lam_model **out)
{
    lam_model *s = lam_calloc(1, sizeof *s);
    if (!s) return LAM_ERR_NOMEM;
    *s = *m;
    s->borrowed_cfg = true;
    s->scaler = NULL;
    s->compiled_batch = 0;
    s->self_supervised = false;
    s->g = lam_graph_new(m->seed);
    s->x = !s->g ? NULL : m->tokens ? lam_input_ids(s->g, "x", m->sample) : lam_input(s->g, "x", m->sample);
    s->lengths = s->x && m->lengths ? lam_input_ids(s->g, "lengths", (lam_shape){0, {0}}) : NULL;
    s->out = s->target = s->loss = NULL;
    *out = s;
    if (!s->x) return s->g ? lam_graph_status(s->g) : LAM_ERR_NOMEM;
    return LAM_OK;
}

/* ---- running one stage ------------------------------------------------------------ */

typedef struct run {
    lam_model *m;
    const lam_dataset *train, *val;
    lam_fit_hooks hooks;
    lam_train_result *res;
    int done_stages;   /* completed stages found in the resume checkpoint */
    bool stopped;      /* a hook asked to stop (on_epoch, should_stop) */
} run;

static lam_status fit_stage(run *r, lam_model *sm, const char *name, int epochs, double lr)
{
    lam_train_result *res = r->res;
    if (res->n_stages == LAM_MAX_STAGES) return lam_fail(LAM_ERR_ARG, "more than %d stages", LAM_MAX_STAGES);
    lam_stage_report *rep = &res->stage[res->n_stages];
    memset(rep, 0, sizeof *rep);
    snprintf(rep->name, sizeof rep->name, "%s", name);
    lam_train_opts saved = sm->train;
    sm->train.epochs = epochs;
    sm->train.group.lr = lr;
    TRY(lam_model_compile(sm, sm->train.batch));
    rep->params_updated = trainable_count(sm->g);
    lam_fit_hooks hk = r->hooks;
    hk.checkpoint_path = NULL; /* the strategy checkpoints at stage boundaries */
    hk.checkpoint_every = 0;
    hk.resume_path = NULL;
    hk.stage = res->n_stages + 1;
    hk.stage_name = rep->name;
    lam_fit_result fr;
    lam_status s = lam_fit(sm, r->train, sm->self_supervised ? NULL : r->val, &hk, &fr);
    sm->train = saved;
    if (s != LAM_OK) return s;
    rep->fit = fr;
    rep->epochs_run = fr.epochs_run;
    rep->best_epoch = fr.best_epoch;
    rep->seconds = fr.seconds;
    rep->final_loss = fr.best_monitor;
    res->seconds += fr.seconds;
    res->best_epoch = fr.best_epoch;
    if (fr.stopped_by_hook) {
        r->stopped = true; /* the stage is incomplete: no boundary checkpoint */
        return LAM_OK;
    }
    res->n_stages++;
    return LAM_OK;
}

/* After each stage: checkpoint the model (parameters + stages completed). */
static lam_status stage_done(run *r)
{
    if (!r->hooks.checkpoint_path || r->stopped || lam_comm_rank(r->m->comm) != 0) return LAM_OK; /* one writer */
    lam_train_state ts = {0};
    ts.stage = r->res->n_stages;
    ts.best_monitor = NAN;
    ts.dropout_rng = *lam_graph_rng(r->m->g); /* the model's own stages draw from it */
    return lam_checkpoint_save(r->m, NULL, &ts, r->hooks.checkpoint_path);
}

/* Skip a stage that a resumed checkpoint has completed. */
static bool skip(run *r)
{
    if (r->stopped) return true;
    if (r->res->n_stages >= r->done_stages) return false;
    lam_stage_report *rep = &r->res->stage[r->res->n_stages++];
    memset(rep, 0, sizeof *rep);
    snprintf(rep->name, sizeof rep->name, "(completed before resume)");
    return true;
}

/* ---- greedy layer-wise ------------------------------------------------------------- */

/* Hidden block b trained with a temporary dense head, blocks < b frozen. */
static lam_status supervised_stage(run *r, const blocks *bl, int b)
{
    lam_model *m = r->m, *sm = NULL;
    lam_status s = sub_new(m, &sm);
    lam_node *h = sm ? sm->x : NULL;
    if (s == LAM_OK) s = lam_build_sections_(m, sm->g, h, 0, bl->start[b], &h);
    int frozen = s == LAM_OK ? lam_graph_layer_count(sm->g) : 0;
    if (s == LAM_OK) s = lam_build_sections_(m, sm->g, h, bl->start[b], bl->start[b + 1], &h);
    int layers = s == LAM_OK ? lam_graph_layer_count(sm->g) : 0;
    if (s == LAM_OK) {
        lam_shape hs = lam_node_shape(h);
        if (hs.ndim > 2) h = lam_flatten(sm->g, h);
        lam_dense_opts o = lam_dense_opts_defaults(m->nout, LAM_ACT_NONE);
        sm->out = lam_nn_dense(sm->g, h, "head", &o);
        s = sm->out ? lam_model_attach_loss_(sm) : lam_fail(lam_graph_status(sm->g), "%s", lam_graph_error(sm->g));
    }
    if (s == LAM_OK) s = lam_model_compile(sm, sm->train.batch);
    if (s == LAM_OK) {
        copy_all(sm->g, m->g);
        for (int l = 0; l < frozen; l++) lam_graph_set_layer_trainable(sm->g, l, false);
        char name[96], ln[64];
        snprintf(name, sizeof name, "%s: supervised, temporary head", lam_section_layer_name_(m, bl->learn[b], ln, sizeof ln));
        s = fit_stage(r, sm, name, m->train.stage_epochs, m->train.group.lr);
    }
    if (s == LAM_OK) copy_layers(m->g, sm->g, frozen, layers);
    lam_model_free(sm);
    return s;
}

/* Learnable section of block b as a denoising autoencoder on the codes of
 * the frozen blocks below it: corrupt (dropout), encode, decode, MSE against
 * the clean codes. */
static lam_status autoencoder_stage(run *r, const blocks *bl, int b)
{
    lam_model *m = r->m, *sm = NULL;
    lam_status s = sub_new(m, &sm);
    lam_node *codes = sm ? sm->x : NULL, *h = NULL;
    if (s == LAM_OK) s = lam_build_sections_(m, sm->g, codes, 0, bl->learn[b], &codes);
    int frozen = s == LAM_OK ? lam_graph_layer_count(sm->g) : 0;
    lam_graph *g = sm ? sm->g : NULL;
    if (s == LAM_OK) {
        h = m->train.ae_noise > 0 ? lam_dropout(g, codes, (float)m->train.ae_noise) : codes;
        if (h) s = lam_build_sections_(m, g, h, bl->learn[b], bl->learn[b] + 1, &h);
        else s = lam_graph_status(g);
    }
    int layers = s == LAM_OK ? lam_graph_layer_count(g) : 0;
    if (s == LAM_OK) {
        lam_shape cs = lam_node_shape(codes), hs = lam_node_shape(h);
        lam_node *target = codes, *recon;
        if (hs.ndim == 4) {
            /* conv encoder: a conv decoder back to the codes' channels and size */
            lam_cfg_section *sec = &m->cfg->sec[bl->learn[b]];
            lam_conv2d_opts o = lam_conv2d_opts_defaults((int)cs.d[1], 3, LAM_ACT_NONE);
            int kh = 3, kw = 3;
            const char *kv = lam_cfg_raw(m->cfg, sec, "kernel", NULL);
            if (kv && sscanf(kv, "%d , %d", &kh, &kw) == 1) kw = kh;
            const char *st = lam_cfg_raw(m->cfg, sec, "stride", NULL);
            const char *dl = lam_cfg_raw(m->cfg, sec, "dilation", NULL);
            if ((st && strcmp(st, "1") != 0) || (dl && strcmp(dl, "1") != 0)) {
                s = lam_fail(LAM_ERR_UNSUPPORTED, "%s:%d: layerwise_autoencoder supports conv2d layers with stride 1 and dilation 1",
                             m->cfg->path, sec->line);
            } else {
                o.kh = kh;
                o.kw = kw;
                /* pad so the decoder's output has the codes' spatial size */
                o.padding = LAM_PAD_EXPLICIT;
                o.pad_h = (int)((cs.d[2] - hs.d[2] + kh - 1) / 2);
                o.pad_w = (int)((cs.d[3] - hs.d[3] + kw - 1) / 2);
                recon = lam_nn_conv2d(g, h, "decoder", &o);
                if (recon) {
                    lam_shape rs = lam_node_shape(recon);
                    if (!lam_shape_eq(&rs, &cs))
                        s = lam_fail(LAM_ERR_UNSUPPORTED, "%s:%d: cannot build a decoder back to the codes' shape for this conv2d layer",
                                     m->cfg->path, sec->line);
                }
                sm->out = recon;
            }
        } else {
            /* dense encoder: a linear dense decoder to the (flattened) codes */
            if (cs.ndim > 2) target = lam_flatten(g, codes);
            lam_shape ts = target ? lam_node_shape(target) : cs;
            lam_dense_opts o = lam_dense_opts_defaults((int)ts.d[1], LAM_ACT_NONE);
            sm->out = lam_nn_dense(g, h, "decoder", &o);
        }
        if (s == LAM_OK) {
            sm->loss = sm->out ? lam_mse_loss(g, sm->out, target) : NULL;
            if (!sm->loss) s = lam_fail(lam_graph_status(g), "autoencoder stage: %s", lam_graph_error(g));
        }
    }
    if (s == LAM_OK) {
        sm->self_supervised = true;
        sm->train.loss = LAM_LOSS_MSE;
        s = lam_model_compile(sm, sm->train.batch);
    }
    if (s == LAM_OK) {
        copy_all(g, m->g);
        for (int l = 0; l < frozen; l++) lam_graph_set_layer_trainable(g, l, false);
        char name[96], ln[64];
        snprintf(name, sizeof name, "%s: denoising autoencoder", lam_section_layer_name_(m, bl->learn[b], ln, sizeof ln));
        s = fit_stage(r, sm, name, m->train.stage_epochs, m->train.group.lr);
    }
    if (s == LAM_OK) copy_layers(m->g, g, frozen, layers);
    lam_model_free(sm);
    return s;
}

/* Train the model itself with only graph layers [l0, l1) trainable (all if l0 < 0). */
static lam_status master_stage(run *r, int l0, int l1, const char *name, int epochs, double lr)
{
    lam_model *m = r->m;
    for (int l = 0; l < lam_graph_layer_count(m->g); l++) lam_graph_set_layer_trainable(m->g, l, l0 < 0 || (l >= l0 && l < l1));
    lam_status s = fit_stage(r, m, name, epochs, lr);
    for (int l = 0; l < lam_graph_layer_count(m->g); l++) lam_graph_set_layer_trainable(m->g, l, true);
    return s;
}

static lam_status greedy(run *r, bool autoencoder)
{
    lam_model *m = r->m;
    blocks bl;
    TRY(find_blocks(m, &bl));
    for (int b = 0; b < bl.n - 1; b++) {
        if (skip(r)) continue;
        TRY(autoencoder ? autoencoder_stage(r, &bl, b) : supervised_stage(r, &bl, b));
        TRY(stage_done(r));
    }
    /* the output block on frozen hidden blocks: its graph layers are the
     * last ones (sections are built in order) */
    lam_model *sm = NULL;
    TRY(sub_new(m, &sm));
    lam_node *h = sm->x;
    lam_status s = lam_build_sections_(m, sm->g, h, 0, bl.start[bl.n - 1], &h);
    int first_out_layer = lam_graph_layer_count(sm->g);
    lam_model_free(sm);
    TRY(s);
    if (!skip(r)) {
        TRY(master_stage(r, first_out_layer, 1 << 30, "output layer, hidden layers frozen", m->train.stage_epochs,
                         m->train.group.lr));
        TRY(stage_done(r));
    }
    if (m->train.fine_tune_epochs > 0 && !skip(r)) {
        TRY(master_stage(r, -1, 0, "fine-tune end to end", m->train.fine_tune_epochs, m->train.fine_tune_lr));
        TRY(stage_done(r));
    }
    return LAM_OK;
}

/* ---- [stage] sections ----------------------------------------------------------------- */

static lam_status hand_stages(run *r)
{
    lam_model *m = r->m;
    int nl = lam_graph_layer_count(m->g);
    for (int k = 0; k < m->n_stages; k++) {
        const lam_stage_spec *st = &m->stages[k];
        const char *train = st->train;
        bool all = !strcmp(train, "all");
        /* every named layer must exist */
        for (const char *p = train; !all && *p;) {
            while (*p == ' ' || *p == ',') p++;
            size_t len = strcspn(p, ", ");
            bool found = false;
            for (int l = 0; l < nl && len; l++)
                found |= strlen(lam_graph_layer_name(m->g, l)) == len && !strncmp(p, lam_graph_layer_name(m->g, l), len);
            if (len && !found)
                return lam_fail(LAM_ERR_FORMAT, "%s: [stage] %d: train = %s: no layer named '%.*s'", m->cfg->path, k + 1,
                                train, (int)len, p);
            p += len;
        }
        if (skip(r)) continue;
        for (int l = 0; l < nl; l++) {
            bool on = all;
            const char *ln = lam_graph_layer_name(m->g, l);
            for (const char *p = train; !all && *p;) {
                while (*p == ' ' || *p == ',') p++;
                size_t len = strcspn(p, ", ");
                if (len && strlen(ln) == len && !strncmp(p, ln, len)) on = true;
                p += len;
            }
            lam_graph_set_layer_trainable(m->g, l, on);
        }
        char name[96];
        if (st->name) snprintf(name, sizeof name, "%s", st->name);
        else snprintf(name, sizeof name, "stage %d: %s", k + 1, train);
        lam_param_group saved = m->train.group;
        m->train.group.momentum = st->momentum;
        m->train.group.weight_decay = st->weight_decay;
        lam_status s = lam_param_group_check(m->train.optimizer, &m->train.group, 0);
        if (s == LAM_OK) s = fit_stage(r, m, name, st->epochs, st->lr);
        m->train.group = saved;
        for (int l = 0; l < nl; l++) lam_graph_set_layer_trainable(m->g, l, true);
        TRY(s);
        TRY(stage_done(r));
    }
    return LAM_OK;
}

/* ---- entry --------------------------------------------------------------------------- */

/* Load the parameters and completed-stage count of a stage checkpoint. */
static lam_status resume_stages(run *r, const char *path)
{
    lam_model *ck = NULL;
    lam_train_state ts;
    TRY(lam_checkpoint_check_run_(path, r->m));
    TRY(lam_checkpoint_load(path, &ck, &ts));
    copy_all(r->m->g, ck->g);
    *lam_graph_rng(r->m->g) = ts.dropout_rng;
    r->done_stages = ts.stage;
    lam_model_free(ck);
    return LAM_OK;
}

lam_status lam_train_model(lam_model *m, const lam_dataset *train, const lam_dataset *val, const lam_fit_hooks *hooks,
                           lam_train_result *res)
{
    memset(res, 0, sizeof *res);
    run r = {m, train, val, hooks ? *hooks : (lam_fit_hooks){0}, res, 0, false};
    TRY(lam_model_compile(m, m->train.batch));
    if (m->train.strategy == LAM_STRATEGY_END_TO_END) {
        lam_fit_result fr;
        lam_fit_hooks hk = r.hooks;
        hk.stage = 1;
        hk.stage_name = "end to end";
        lam_stage_report *rep = &res->stage[0];
        snprintf(rep->name, sizeof rep->name, "end to end");
        rep->params_updated = trainable_count(m->g);
        TRY(lam_fit(m, train, val, &hk, &fr));
        rep->fit = fr;
        rep->epochs_run = fr.epochs_run;
        rep->best_epoch = res->best_epoch = fr.best_epoch;
        rep->seconds = res->seconds = fr.seconds;
        rep->final_loss = fr.best_monitor;
        res->n_stages = 1;
        return LAM_OK;
    }
    if (r.hooks.resume_path) TRY(resume_stages(&r, r.hooks.resume_path));
    switch (m->train.strategy) {
    case LAM_STRATEGY_LAYERWISE_SUPERVISED: return greedy(&r, false);
    case LAM_STRATEGY_LAYERWISE_AUTOENCODER: return greedy(&r, true);
    case LAM_STRATEGY_STAGES: return hand_stages(&r);
    default: return lam_fail(LAM_ERR_ARG, "unknown strategy %d", (int)m->train.strategy);
    }
}
