/* Checkpoints: safetensors files holding every parameter by name, the input
 * scaler ("scaler.shift", "scaler.scale"), optionally the optimiser state
 * ("optim.<buffer>" and "optim.<buffer>.init"), early stopping's best
 * weights ("fit.best", flat) and, in __metadata__, the model file's text,
 * the format version and the training state (epoch, step, early stopping,
 * loader position and RNG states, the running sums of an epoch stopped
 * mid-way) for exact resume.  Written atomically by lam_safetensors_write;
 * loaded by name and shape, strictly.
 *
 * Format versions: 1, and 2 for a checkpoint holding "fit.best" (a reader
 * of version 1 would reject that tensor).  Version 1 is written whenever it
 * can express the content; both are read.  Metadata keys added within a
 * version (the epoch_* sums) are optional on reading. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json.h"
#include "lamina/io.h"
#include "train/train_internal.h"

#define FORMAT "lamina-checkpoint"
#define FORMAT_VERSION "1"      /* written without "fit.best" */
#define FORMAT_VERSION_BEST "2" /* written with it */


static void rng_str(const lam_rng *r, char *buf, size_t n)
{
    snprintf(buf, n, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, r->s[0], r->s[1], r->s[2], r->s[3]);
}

static bool rng_parse(const char *s, lam_rng *r)
{
    if (!s || strlen(s) != 64) return false;
    for (int i = 0; i < 4; i++) {
        char part[17];
        memcpy(part, s + 16 * i, 16);
        part[16] = 0;
        char *end;
        r->s[i] = strtoull(part, &end, 16);
        if (*end) return false;
    }
    return true;
}

/* The settings of a run that the command line can change without changing
 * the model file (--seed, --batch, --lr, --strategy, --data), as metadata
 * "run_<name>" strings.  A resume must continue the same run: the values are
 * formatted the same way when written and when checked, and compared as
 * strings (the learning rate in the fewest digits that read back exactly). */
#define RUN_SETTINGS 6
typedef struct run_settings {
    const char *key[RUN_SETTINGS], *option[RUN_SETTINGS];
    char val[RUN_SETTINGS][64];
    const char *data; /* the data path: any length */
} run_settings;

static void run_settings_of(const lam_model *m, run_settings *r)
{
    static const char *const keys[RUN_SETTINGS] = {"run_seed", "run_train_seed", "run_batch",
                                                   "run_lr",   "run_strategy",   "run_data"};
    static const char *const options[RUN_SETTINGS] = {"seed", "seed", "batch", "lr", "strategy", "data"};
    for (int i = 0; i < RUN_SETTINGS; i++) r->key[i] = keys[i], r->option[i] = options[i];
    snprintf(r->val[0], sizeof r->val[0], "%" PRIu64, m->seed);
    snprintf(r->val[1], sizeof r->val[1], "%" PRIu64, m->train.seed);
    snprintf(r->val[2], sizeof r->val[2], "%d", m->train.batch);
    for (int digits = 15; digits <= 17; digits++) { /* the shortest form that reads back exactly */
        snprintf(r->val[3], sizeof r->val[3], "%.*g", digits, m->train.group.lr);
        if (strtod(r->val[3], NULL) == m->train.group.lr) break;
    }
    snprintf(r->val[4], sizeof r->val[4], "%s", lam_strategy_name(m->train.strategy));
    r->val[5][0] = 0;
    r->data = m->data.path ? m->data.path : "";
}

static const char *run_value(const run_settings *r, int i) { return i == RUN_SETTINGS - 1 ? r->data : r->val[i]; }

/* A resume of a checkpoint whose run settings differ from m's would continue
 * another run: refuse it, naming the setting and the option that restores
 * it.  Checkpoints written before the settings were recorded pass. */
static lam_status check_run_settings(const lam_safetensors *st, const char *path, const lam_model *m)
{
    run_settings r;
    run_settings_of(m, &r);
    for (int i = 0; i < RUN_SETTINGS; i++) {
        const char *was = lam_safetensors_meta(st, r.key[i]), *now = run_value(&r, i);
        if (!was || !strcmp(was, now)) continue;
        const char *name = r.key[i] + 4, *none = "none (the model file's)";
        return lam_fail(LAM_ERR_ARG,
                        "%s: the checkpoint was trained with %s %s, this run has %s %s: a resume continues the "
                        "same run, so give it the options of the interrupted one (lamina train ... --%s %s)",
                        path, name, *was ? was : none, name, *now ? now : none, r.option[i], *was ? was : "...");
    }
    return LAM_OK;
}

lam_status lam_checkpoint_check_run_(const char *path, const lam_model *m)
{
    lam_safetensors *st;
    TRY(lam_safetensors_open(path, &st));
    lam_status s = LAM_OK;
    const char *text = lam_safetensors_meta(st, "model");
    if (!text || strcmp(text, m->cfg->text) != 0)
        s = lam_fail(LAM_ERR_ARG, "%s: the checkpoint was made from a different model file", path);
    if (s == LAM_OK) s = check_run_settings(st, path, m);
    lam_safetensors_close(st);
    return s;
}

lam_status lam_checkpoint_save(lam_model *m, const lam_optim *o, const lam_train_state *ts, const char *path)
{
    return lam_checkpoint_write_(m, o, ts, NULL, path);
}

lam_status lam_checkpoint_write_(lam_model *m, const lam_optim *o, const lam_train_state *ts, const float *best,
                                 const char *path)
{
    lam_graph *g = m->g;
    if (!lam_graph_params(g)) return lam_fail(LAM_ERR_STATE, "checkpoint: the model is not compiled");
    size_t np = lam_graph_param_count(g);
    lam_st_entry *e = lam_calloc(np + 5 + 2 * 8, sizeof *e);
    if (!e) return LAM_ERR_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < np; i++) {
        const lam_param_info *p = lam_graph_param_at(g, i);
        e[n++] = (lam_st_entry){p->name, LAM_DTYPE_F32, p->shape, lam_graph_params(g) + p->offset};
    }
    if (m->scaler) {
        const float *shift, *scale;
        int64_t nc;
        lam_scaler_params(m->scaler, &shift, &scale, &nc);
        e[n++] = (lam_st_entry){"scaler.shift", LAM_DTYPE_F32, lam_shape1(nc), shift};
        e[n++] = (lam_st_entry){"scaler.scale", LAM_DTYPE_F32, lam_shape1(nc), scale};
    }
    if (m->target_scaler) { /* regression targets were standardised */
        const float *shift, *scale;
        int64_t nc;
        lam_scaler_params(m->target_scaler, &shift, &scale, &nc);
        e[n++] = (lam_st_entry){"target_scaler.shift", LAM_DTYPE_F32, lam_shape1(nc), shift};
        e[n++] = (lam_st_entry){"target_scaler.scale", LAM_DTYPE_F32, lam_shape1(nc), scale};
    }
    if (best) e[n++] = (lam_st_entry){"fit.best", LAM_DTYPE_F32, lam_shape1((int64_t)lam_graph_param_total(g)), best};
    char names[8][64], steps[512] = "";
    if (o) {
        lam_optim *om = (lam_optim *)o; /* state_at hands out writable pointers; we only read */
        int ns = lam_optim_state_count(o);
        for (int i = 0; i < ns && i < 4; i++) {
            lam_optim_state st;
            lam_optim_state_at(om, i, &st);
            snprintf(names[2 * i], sizeof names[0], "optim.%s", st.name);
            snprintf(names[2 * i + 1], sizeof names[0], "optim.%s.init", st.name);
            e[n++] = (lam_st_entry){names[2 * i], LAM_DTYPE_F32, lam_shape1((int64_t)st.numel), st.data};
            e[n++] = (lam_st_entry){names[2 * i + 1], LAM_DTYPE_I8, lam_shape1(st.ngroups), st.initialised};
        }
        size_t k = 0;
        for (int i = 0; i < lam_optim_ngroups(o) && k < sizeof steps - 24; i++)
            k += (size_t)snprintf(steps + k, sizeof steps - k, i ? ",%" PRIu64 : "%" PRIu64, lam_optim_group_get_step(o, i));
    }
    char stage[32], epoch[32], step[32], best_epoch[32], bad[32], bestm[64], lrng[80], drng[80], arng[80], lep[32],
        lpos[32], ln[32], els[64], ec[32], es[32], eb[32];
    lam_train_state z = {0};
    if (!ts) ts = &z;
    snprintf(stage, sizeof stage, "%d", ts->stage);
    snprintf(epoch, sizeof epoch, "%d", ts->epoch);
    snprintf(step, sizeof step, "%" PRIu64, ts->step);
    snprintf(best_epoch, sizeof best_epoch, "%d", ts->best_epoch);
    snprintf(bad, sizeof bad, "%d", ts->bad_epochs);
    snprintf(bestm, sizeof bestm, "%.17g", ts->best_monitor); /* 17 digits: the double back exactly */
    rng_str(&ts->loader.epoch_rng, lrng, sizeof lrng);
    rng_str(&ts->dropout_rng, drng, sizeof drng);
    rng_str(&ts->augment_rng, arng, sizeof arng);
    snprintf(lep, sizeof lep, "%" PRIu64, ts->loader.epoch);
    snprintf(lpos, sizeof lpos, "%" PRIu64, ts->loader.pos);
    snprintf(ln, sizeof ln, "%" PRIu64, ts->loader.n);
    snprintf(els, sizeof els, "%.17g", ts->epoch_loss_sum);
    snprintf(ec, sizeof ec, "%" PRId64, ts->epoch_correct);
    snprintf(es, sizeof es, "%" PRId64, ts->epoch_seen);
    snprintf(eb, sizeof eb, "%" PRId64, ts->epoch_batches);
    lam_st_meta meta[] = {
        {"format", FORMAT},
        {"format_version", best ? FORMAT_VERSION_BEST : FORMAT_VERSION},
        {"model", m->cfg->text},
        {"model_path", m->cfg->path},
        {"scaler", m->scaler ? (lam_scaler_get_kind(m->scaler) == LAM_SCALER_STANDARD ? "standard" : "minmax") : "none"},
        {"stage", stage},
        {"epoch", epoch},
        {"step", step},
        {"best_epoch", best_epoch},
        {"bad_epochs", bad},
        {"best_monitor", bestm},
        {"loader_rng", lrng},
        {"loader_epoch", lep},
        {"loader_pos", lpos},
        {"loader_n", ln},
        {"epoch_loss_sum", els},
        {"epoch_correct", ec},
        {"epoch_seen", es},
        {"epoch_batches", eb},
        {"dropout_rng", drng},
        {"augment_rng", arng},
        {"optimizer", o ? lam_optim_kind_name(lam_optim_get_kind(o)) : "none"},
        {"optim_steps", steps},
    };
    /* the training data's class names, as a JSON array of strings */
    lam_json_buf cls = {0};
    lam_st_meta all[sizeof meta / sizeof meta[0] + 2 + RUN_SETTINGS];
    size_t nmeta = sizeof meta / sizeof meta[0];
    memcpy(all, meta, sizeof meta);
    run_settings rs;
    run_settings_of(m, &rs);
    for (int i = 0; i < RUN_SETTINGS; i++) all[nmeta++] = (lam_st_meta){rs.key[i], run_value(&rs, i)};
    if (m->class_names) {
        lam_json_buf_puts(&cls, "[");
        for (int32_t i = 0; i < m->n_class_names; i++) {
            if (i) lam_json_buf_puts(&cls, ",");
            lam_json_write_string(&cls, m->class_names[i], strlen(m->class_names[i]));
        }
        lam_json_buf_puts(&cls, "]");
        lam_json_buf_append(&cls, "", 1); /* NUL */
        if (cls.status != LAM_OK) {
            lam_status st = cls.status;
            lam_free(e);
            lam_json_buf_free(&cls);
            return st;
        }
        all[nmeta++] = (lam_st_meta){"class_names", cls.data};
    }
    /* a text model's vocabulary: the model rebuilds from it, not from the data */
    char *vocab = NULL;
    if (m->vocab) {
        size_t vlen;
        lam_status vs = lam_vocab_to_json(m->vocab, &vocab, &vlen);
        if (vs != LAM_OK) {
            lam_free(e);
            lam_json_buf_free(&cls);
            return vs;
        }
        all[nmeta++] = (lam_st_meta){"vocab", vocab};
    }
    lam_status s = lam_safetensors_write(path, e, n, all, nmeta);
    lam_free(vocab);
    lam_json_buf_free(&cls);
    lam_free(e);
    return s;
}

static lam_status meta_u64(const lam_safetensors *st, const char *path, const char *key, uint64_t *out)
{
    const char *v = lam_safetensors_meta(st, key);
    char *end;
    if (!v || !*v) return lam_fail(LAM_ERR_FORMAT, "%s: checkpoint metadata lacks '%s'", path, key);
    errno = 0;
    *out = strtoull(v, &end, 10);
    if (*end || *v == '-' || errno == ERANGE) /* ERANGE: more than 2^64 - 1 */
        return lam_fail(LAM_ERR_FORMAT, "%s: checkpoint metadata '%s' = '%s' is not a count", path, key, v);
    return LAM_OK;
}

static lam_status read_state(const lam_safetensors *st, const char *path, lam_train_state *ts)
{
    uint64_t v = 0;
    memset(ts, 0, sizeof *ts);
    TRY(meta_u64(st, path, "stage", &v));
    if (v > LAM_MAX_STAGES) return lam_fail(LAM_ERR_FORMAT, "%s: stage %" PRIu64 " out of range", path, v);
    ts->stage = (int)v;
    TRY(meta_u64(st, path, "epoch", &v));
    if (v > 1000000) return lam_fail(LAM_ERR_FORMAT, "%s: epoch %" PRIu64 " out of range", path, v);
    ts->epoch = (int)v;
    TRY(meta_u64(st, path, "step", &ts->step));
    TRY(meta_u64(st, path, "best_epoch", &v));
    ts->best_epoch = (int)(v > 1000000 ? 0 : v);
    TRY(meta_u64(st, path, "bad_epochs", &v));
    ts->bad_epochs = (int)(v > 1000000 ? 0 : v);
    const char *b = lam_safetensors_meta(st, "best_monitor");
    ts->best_monitor = b ? strtod(b, NULL) : 0;
    TRY(meta_u64(st, path, "loader_epoch", &ts->loader.epoch));
    TRY(meta_u64(st, path, "loader_pos", &ts->loader.pos));
    TRY(meta_u64(st, path, "loader_n", &ts->loader.n));
    /* the running sums of an epoch stopped mid-way (absent before they were added: zero) */
    const char *keys[3] = {"epoch_correct", "epoch_seen", "epoch_batches"};
    int64_t *dst[3] = {&ts->epoch_correct, &ts->epoch_seen, &ts->epoch_batches};
    for (int i = 0; i < 3; i++) {
        if (!lam_safetensors_meta(st, keys[i])) continue;
        TRY(meta_u64(st, path, keys[i], &v));
        if (v > (uint64_t)INT64_MAX) return lam_fail(LAM_ERR_FORMAT, "%s: %s out of range", path, keys[i]);
        *dst[i] = (int64_t)v;
    }
    const char *els = lam_safetensors_meta(st, "epoch_loss_sum");
    if (els) {
        char *end;
        ts->epoch_loss_sum = strtod(els, &end);
        if (end == els || *end || !isfinite(ts->epoch_loss_sum))
            return lam_fail(LAM_ERR_FORMAT, "%s: checkpoint metadata 'epoch_loss_sum' = '%s' is not a number", path, els);
    }
    if (!rng_parse(lam_safetensors_meta(st, "loader_rng"), &ts->loader.epoch_rng) ||
        !rng_parse(lam_safetensors_meta(st, "dropout_rng"), &ts->dropout_rng) ||
        !rng_parse(lam_safetensors_meta(st, "augment_rng"), &ts->augment_rng))
        return lam_fail(LAM_ERR_FORMAT, "%s: malformed RNG state in checkpoint metadata", path);
    return LAM_OK;
}

/* Copy every parameter of m from st (names and shapes must match); check that
 * st holds nothing else but scaler and optimiser tensors. */
static lam_status load_params(const lam_safetensors *st, const char *path, lam_model *m)
{
    lam_graph *g = m->g;
    for (size_t i = 0; i < lam_graph_param_count(g); i++) {
        const lam_param_info *p = lam_graph_param_at(g, i);
        const lam_st_tensor *t;
        lam_status s = lam_safetensors_get(st, p->name, LAM_DTYPE_F32, &p->shape, &t);
        if (s != LAM_OK) return lam_fail(s, "%s: %s", path, lam_last_error());
        const float *src = t->data;
        for (size_t k = 0; k < p->numel; k++)
            if (!isfinite(src[k]))
                return lam_fail(LAM_ERR_FORMAT, "%s: parameter %s[%zu] is %g: not finite (a diverged run?)", path,
                                p->name, k, (double)src[k]);
        memcpy(lam_graph_params(g) + p->offset, t->data, t->nbytes);
    }
    for (size_t i = 0; i < lam_safetensors_count(st); i++) {
        const char *nm = lam_safetensors_at(st, i)->name;
        if (!strncmp(nm, "optim.", 6) || !strncmp(nm, "scaler.", 7) || !strncmp(nm, "target_scaler.", 14) ||
            !strcmp(nm, "fit.best"))
            continue;
        if (!lam_graph_param_find(g, nm))
            return lam_fail(LAM_ERR_FORMAT, "%s: tensor '%s' is not a parameter of the model", path, nm);
    }
    const char *kind = lam_safetensors_meta(st, "scaler");
    if (kind && strcmp(kind, "none") != 0) {
        lam_scaler_kind k;
        if (!strcmp(kind, "standard")) k = LAM_SCALER_STANDARD;
        else if (!strcmp(kind, "minmax")) k = LAM_SCALER_MINMAX;
        else return lam_fail(LAM_ERR_FORMAT, "%s: unknown scaler '%s'", path, kind);
        const lam_st_tensor *sh = lam_safetensors_find(st, "scaler.shift"), *sc = lam_safetensors_find(st, "scaler.scale");
        int64_t nf = lam_shape_numel(&m->sample);
        if (!sh || !sc || sh->dtype != LAM_DTYPE_F32 || sc->dtype != LAM_DTYPE_F32 || sh->shape.ndim != 1 ||
            sc->shape.ndim != 1 || sh->shape.d[0] != nf || sc->shape.d[0] != nf)
            return lam_fail(LAM_ERR_FORMAT, "%s: scaler tensors missing or not F32 [%lld]", path, (long long)nf);
        lam_scaler_free(m->scaler);
        m->scaler = NULL;
        TRY(lam_scaler_from_params(k, sh->data, sc->data, nf, &m->scaler));
    }
    const lam_st_tensor *ts = lam_safetensors_find(st, "target_scaler.shift"),
                        *tc = lam_safetensors_find(st, "target_scaler.scale");
    if (ts || tc) {
        if (!ts || !tc || ts->dtype != LAM_DTYPE_F32 || tc->dtype != LAM_DTYPE_F32 || ts->shape.ndim != 1 ||
            tc->shape.ndim != 1 || ts->shape.d[0] != m->nout || tc->shape.d[0] != m->nout)
            return lam_fail(LAM_ERR_FORMAT, "%s: target scaler tensors missing or not F32 [%d]", path, m->nout);
        lam_scaler_free(m->target_scaler);
        m->target_scaler = NULL;
        TRY(lam_scaler_from_params(LAM_SCALER_STANDARD, ts->data, tc->data, m->nout, &m->target_scaler));
    }
    return LAM_OK;
}

/* class_names metadata (a JSON array of strings) into m */
static lam_status load_class_names(const lam_safetensors *st, const char *path, lam_model *m)
{
    const char *v = lam_safetensors_meta(st, "class_names");
    if (!v) return LAM_OK;
    lam_arena *a = lam_arena_new(0);
    if (!a) return LAM_ERR_NOMEM;
    lam_json *root;
    lam_json_error je;
    lam_json_options jo = lam_json_defaults();
    lam_status s = lam_json_parse(a, v, strlen(v), &jo, &root, &je);
    if (s == LAM_ERR_NOMEM) {
        lam_arena_free(a);
        return lam_fail(LAM_ERR_NOMEM, "%s: out of memory reading the class names", path);
    }
    if (s != LAM_OK || root->type != LAM_JSON_ARRAY || root->n > 100000) {
        lam_arena_free(a);
        return lam_fail(LAM_ERR_FORMAT, "%s: class_names metadata is not an array of strings", path);
    }
    m->class_names = lam_calloc(root->n ? root->n : 1, sizeof *m->class_names);
    if (!m->class_names) s = LAM_ERR_NOMEM;
    for (size_t i = 0; s == LAM_OK && i < root->n; i++) {
        if (root->items[i]->type != LAM_JSON_STRING) {
            s = lam_fail(LAM_ERR_FORMAT, "%s: class_names[%zu] is not a string", path, i);
            break;
        }
        if (!(m->class_names[i] = lam_strdup(root->items[i]->str))) s = LAM_ERR_NOMEM;
        m->n_class_names = (int32_t)i + 1;
    }
    lam_arena_free(a);
    return s;
}

static lam_status open_checked(const char *path, lam_safetensors **st)
{
    TRY(lam_safetensors_open(path, st));
    const char *f = lam_safetensors_meta(*st, "format"), *v = lam_safetensors_meta(*st, "format_version");
    if (!f || strcmp(f, FORMAT) != 0 || !lam_safetensors_meta(*st, "model")) {
        lam_safetensors_close(*st);
        *st = NULL;
        return lam_fail(LAM_ERR_FORMAT, "%s: not a Lamina checkpoint (no %s metadata)", path, FORMAT);
    }
    if (!v || (strcmp(v, FORMAT_VERSION) != 0 && strcmp(v, FORMAT_VERSION_BEST) != 0)) {
        lam_fail(LAM_ERR_FORMAT, "%s: checkpoint format version %s, this Lamina reads %s and %s", path, v ? v : "?",
                 FORMAT_VERSION, FORMAT_VERSION_BEST);
        lam_safetensors_close(*st);
        *st = NULL;
        return LAM_ERR_FORMAT;
    }
    return LAM_OK;
}

lam_status lam_checkpoint_load(const char *path, lam_model **out, lam_train_state *ts)
{
    *out = NULL;
    lam_safetensors *st;
    TRY(open_checked(path, &st));
    const char *text = lam_safetensors_meta(st, "model");
    const char *mp = lam_safetensors_meta(st, "model_path");
    lam_cfg *cfg = NULL;
    lam_model *m = NULL;
    lam_status s = lam_cfg_parse(text, strlen(text), mp ? mp : path, &cfg);
    lam_model_overrides ov = lam_model_overrides_none();
    ov.vocab_json = lam_safetensors_meta(st, "vocab");
    if (s == LAM_OK) s = lam_model_from_cfg(cfg, &ov, &m);
    if (s == LAM_OK) s = lam_model_compile(m, m->train.batch);
    if (s == LAM_OK) s = load_params(st, path, m);
    if (s == LAM_OK) s = load_class_names(st, path, m);
    if (s == LAM_OK && ts) s = read_state(st, path, ts);
    lam_safetensors_close(st);
    if (s != LAM_OK) {
        lam_model_free(m);
        return s;
    }
    *out = m;
    return LAM_OK;
}

lam_status lam_checkpoint_resume_(const char *path, lam_model *m, lam_optim *o, lam_train_state *ts, float *best,
                                  bool *has_best)
{
    lam_safetensors *st;
    *has_best = false;
    TRY(open_checked(path, &st));
    lam_status s = LAM_OK;
    if (strcmp(lam_safetensors_meta(st, "model"), m->cfg->text) != 0)
        s = lam_fail(LAM_ERR_ARG, "%s: the checkpoint was made from a different model file", path);
    if (s == LAM_OK) s = check_run_settings(st, path, m);
    if (s == LAM_OK) s = load_params(st, path, m);
    if (s == LAM_OK) s = read_state(st, path, ts);
    const char *ok = lam_safetensors_meta(st, "optimizer");
    if (s == LAM_OK && (!ok || strcmp(ok, lam_optim_kind_name(lam_optim_get_kind(o))) != 0))
        s = lam_fail(LAM_ERR_FORMAT, "%s: checkpoint has no %s optimiser state", path,
                     lam_optim_kind_name(lam_optim_get_kind(o)));
    for (size_t i = 0; s == LAM_OK && i < lam_safetensors_count(st); i++) {
        const lam_st_tensor *t = lam_safetensors_at(st, i);
        size_t L = strlen(t->name);
        if (strncmp(t->name, "optim.", 6) != 0 || (L > 5 && !strcmp(t->name + L - 5, ".init"))) continue;
        char init_name[160];
        snprintf(init_name, sizeof init_name, "%s.init", t->name);
        const lam_st_tensor *fl = lam_safetensors_find(st, init_name);
        if (t->dtype != LAM_DTYPE_F32 || t->shape.ndim != 1 || !fl || fl->dtype != LAM_DTYPE_I8 ||
            fl->shape.ndim != 1 || fl->shape.d[0] != lam_optim_ngroups(o)) {
            s = lam_fail(LAM_ERR_FORMAT, "%s: optimiser state %s malformed", path, t->name);
            break;
        }
        s = lam_optim_state_set(o, t->name + 6, t->data, (size_t)t->shape.d[0], fl->data);
    }
    const lam_st_tensor *bt = lam_safetensors_find(st, "fit.best");
    if (s == LAM_OK && bt) {
        size_t total = lam_graph_param_total(m->g);
        if (bt->dtype != LAM_DTYPE_F32 || bt->shape.ndim != 1 || bt->shape.d[0] != (int64_t)total)
            s = lam_fail(LAM_ERR_FORMAT, "%s: fit.best is not F32 [%zu] (the model's parameter count)", path, total);
        else {
            memcpy(best, bt->data, total * sizeof(float));
            *has_best = true;
        }
    }
    const char *steps = lam_safetensors_meta(st, "optim_steps");
    for (int i = 0; s == LAM_OK && steps && *steps && i < lam_optim_ngroups(o); i++) {
        char *end;
        uint64_t v = strtoull(steps, &end, 10);
        if (end == steps) {
            s = lam_fail(LAM_ERR_FORMAT, "%s: malformed optim_steps", path);
            break;
        }
        s = lam_optim_group_set_step(o, i, v);
        steps = *end == ',' ? end + 1 : end;
    }
    lam_safetensors_close(st);
    return s;
}
