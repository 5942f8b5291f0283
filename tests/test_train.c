/* Training-level tests: model files (strict parsing, line numbers), the
 * digits MLP reaching its accuracy, checkpoint round trip, exact resume,
 * malformed checkpoints, early stopping, regression and binary losses. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lamina/lamina.h"
#include "test.h"


static lam_status model_from_text(const char *text, lam_model **m)
{
    lam_cfg *c;
    lam_status s = lam_cfg_parse(text, strlen(text), "test.cfg", &c);
    if (s != LAM_OK) return s;
    return lam_model_from_cfg(c, NULL, m);
}

static void expect_cfg_error(const char *text, const char *needle)
{
    lam_model *m = NULL;
    lam_status s = model_from_text(text, &m);
    CHECK_MSG(s == LAM_ERR_FORMAT || s == LAM_ERR_SHAPE, "status %s for:\n%s", lam_status_str(s), text);
    CHECK_MSG(strstr(lam_last_error(), needle) != NULL, "error '%s' lacks '%s'", lam_last_error(), needle);
    CHECK(m == NULL);
    lam_model_free(m);
}

#define NET "[net]\ninput = 4\n"
#define OUT3 "[dense]\nunits = 3\n"

static void test_model_file_errors(void)
{
    expect_cfg_error(NET "[dense]\nunits = 8\nactivaton = relu\n" OUT3, "test.cfg:5: unknown key 'activaton'");
    expect_cfg_error(NET "[dense]\nunits = 8\nunits = 9\n" OUT3, "test.cfg:5: key 'units' repeated");
    expect_cfg_error(NET "[dense]\nunits = 8x\n" OUT3, "test.cfg:4: units = '8x' is not an integer");
    expect_cfg_error(NET "[dense]\nunits = 0\n" OUT3, "test.cfg:4:");
    expect_cfg_error(NET "[conv9d]\nunits = 3\n", "test.cfg:3: unknown section [conv9d]");
    expect_cfg_error(NET "[dense]\nactivation = relu\n" OUT3, "test.cfg:3: [dense] needs 'units'");
    expect_cfg_error("input = 4\n" NET OUT3, "test.cfg:1: key outside any section");
    expect_cfg_error(NET "[dense]\nunits = 3\nactivation = swishy\n", "test.cfg:5: unknown activation 'swishy'");
    expect_cfg_error(NET OUT3 "[train]\noptimizer = adamax\n", "test.cfg:6: unknown optimizer 'adamax'");
    expect_cfg_error(NET OUT3 "[train]\nlr = -1\n", "test.cfg:6: lr = -1 is outside");
    expect_cfg_error(NET OUT3 "[train]\nepochs = 1e3\n", "test.cfg:6: epochs");
    expect_cfg_error("[net]\n" OUT3, "[net] needs 'input'");
    expect_cfg_error(NET, "no layers");
    expect_cfg_error(NET "[dense]\nunits = 1\n", "cross_entropy needs an output layer of at least 2 units");
    expect_cfg_error(NET "[dense\nunits = 3\n", "test.cfg:3: malformed section header");
    expect_cfg_error(NET OUT3 "[train]\n[train]\n", "section [train] repeated");
    expect_cfg_error(NET OUT3 "garbage line\n", "test.cfg:5: expected 'key = value'");
    /* a valid file parses, and comments are allowed */
    lam_model *m = NULL;
    CHECK_OK(model_from_text("# comment\n[net]\ninput = 4 ; trailing\n[dense]\nunits = 3 # why\n", &m));
    CHECK(m && m->nout == 3);
    lam_model_free(m);
}

static lam_model *load_digits(const lam_model_overrides *ov)
{
    lam_model *m = NULL;
    CHECK_OK(lam_model_load("configs/digits_mlp.cfg", ov, &m));
    return m;
}

static void test_digits_accuracy(void)
{
    lam_model *m = load_digits(NULL);
    if (!m) return;
    lam_dataset *tr, *va, *te;
    lam_csv_report rep = {0};
    CHECK_OK(lam_model_prepare_data(m, &tr, &va, &te, &rep));
    CHECK(tr && te && tr->n == 1437 && te->n == 360);
    lam_fit_result fr;
    CHECK_OK(lam_fit(m, tr, va, NULL, &fr));
    lam_metrics mt;
    CHECK_OK(lam_evaluate(m, te, &mt));
    CHECK_MSG(mt.accuracy >= 0.97, "digits test accuracy %.4f < 0.97", mt.accuracy);
    CHECK(mt.macro_f1 > 0.96);
    int64_t total = 0;
    for (int i = 0; i < 100; i++) total += mt.confusion[i];
    CHECK(total == 360);
    lam_metrics_free(&mt);
    lam_csv_report_clear(&rep);
    lam_dataset_free(tr);
    lam_dataset_free(va);
    lam_dataset_free(te);
    lam_model_free(m);
}

/* train a few epochs, save, load, compare parameters, scaler and predictions */
static void test_checkpoint_round_trip(void)
{
    lam_model_overrides ov = lam_model_overrides_none();
    ov.epochs = 2;
    lam_model *m = load_digits(&ov);
    if (!m) return;
    lam_dataset *tr, *va, *te;
    CHECK_OK(lam_model_prepare_data(m, &tr, &va, &te, NULL));
    lam_fit_result fr;
    CHECK_OK(lam_fit(m, tr, NULL, NULL, &fr));
    char path[300];
    snprintf(path, sizeof path, "%s/m.safetensors", t_tmpdir);
    CHECK_OK(lam_checkpoint_save(m, NULL, NULL, path));
    lam_model *m2 = NULL;
    lam_train_state ts;
    CHECK_OK(lam_checkpoint_load(path, &m2, &ts));
    if (!m2) goto out;
    size_t n = lam_graph_param_total(m->g);
    CHECK(n == lam_graph_param_total(m2->g));
    CHECK(memcmp(lam_graph_params(m->g), lam_graph_params(m2->g), n * sizeof(float)) == 0);
    const float *a, *b;
    int64_t na, nb;
    CHECK(m2->scaler != NULL);
    lam_scaler_params(m->scaler, &a, NULL, &na);
    lam_scaler_params(m2->scaler, &b, NULL, &nb);
    CHECK(na == nb && memcmp(a, b, (size_t)na * sizeof(float)) == 0);
    float *p1 = malloc(sizeof(float) * (size_t)te->n * 10), *p2 = malloc(sizeof(float) * (size_t)te->n * 10);
    CHECK_OK(lam_predict(m, te, p1));
    CHECK_OK(lam_predict(m2, te, p2));
    CHECK(memcmp(p1, p2, sizeof(float) * (size_t)te->n * 10) == 0);
    free(p1);
    free(p2);
out:
    lam_model_free(m2);
    lam_dataset_free(tr);
    lam_dataset_free(va);
    lam_dataset_free(te);
    lam_model_free(m);
}

static bool stop_at_2(const lam_epoch_log *e, void *user)
{
    (void)user;
    return e->epoch < 2;
}

/* 4 epochs straight == 2 epochs, checkpoint, fresh process state, resume 2 more */
static void test_resume_equals_uninterrupted(void)
{
    static const char *cfg = "[net]\ninput = 64\nseed = 3\n[data]\npath = data/digits.csv.gz\n"
                             "[dense]\nunits = 32\nactivation = relu\n[dropout]\nrate = 0.2\n[dense]\nunits = 10\n"
                             "[train]\noptimizer = adam\nlr = 0.002\nepochs = 4\nbatch = 50\nschedule = cosine\n"
                             "validation_split = 0.1\n";
    char ck[300];
    snprintf(ck, sizeof ck, "%s/resume.safetensors", t_tmpdir);
    float *full = NULL;
    size_t n = 0;
    for (int run = 0; run < 3; run++) {
        lam_model *m = NULL;
        CHECK_OK(model_from_text(cfg, &m));
        if (!m) return;
        lam_dataset *tr, *va, *te;
        CHECK_OK(lam_model_prepare_data(m, &tr, &va, &te, NULL));
        lam_fit_hooks hk = {0};
        lam_fit_result fr;
        if (run == 1) {
            hk.on_epoch = stop_at_2; /* interrupted half way, leaving a checkpoint */
            hk.checkpoint_path = ck;
        }
        if (run == 2) hk.resume_path = ck;
        CHECK_OK(lam_fit(m, tr, va, &hk, &fr));
        n = lam_graph_param_total(m->g);
        if (run == 0) {
            full = malloc(n * sizeof(float));
            memcpy(full, lam_graph_params(m->g), n * sizeof(float));
        }
        if (run == 2) {
            CHECK(fr.epochs_run == 4);
            CHECK_MSG(memcmp(full, lam_graph_params(m->g), n * sizeof(float)) == 0,
                      "resumed parameters differ from an uninterrupted run");
        }
        lam_dataset_free(tr);
        lam_dataset_free(va);
        lam_dataset_free(te);
        lam_model_free(m);
    }
    free(full);
}

/* A NaN reaches training (here: a feature of one training row after epoch
 * 1): lam_fit stops with LAM_ERR_NUMERIC naming the step and the first op
 * that produced it, applies nothing of that step, and the checkpoint of
 * epoch 1 stays readable and finite. */
static bool poison_after_1(const lam_epoch_log *e, void *user)
{
    if (e->epoch == 1) ((lam_dataset *)user)->x[5 * 64 + 7] = NAN;
    return true;
}

static void test_nan_stops_with_the_op(void)
{
    static const char *cfg = "[net]\ninput = 64\nseed = 3\n[data]\npath = data/digits.csv.gz\n"
                             "[dense]\nname = hidden\nunits = 16\nactivation = relu\n[dense]\nunits = 10\n"
                             "[train]\noptimizer = sgd\nlr = 0.05\nepochs = 3\nbatch = 64\n";
    char ck[300];
    snprintf(ck, sizeof ck, "%s/nan.safetensors", t_tmpdir);
    lam_model *m = NULL;
    CHECK_OK(model_from_text(cfg, &m));
    if (!m) return;
    lam_dataset *tr, *va, *te;
    CHECK_OK(lam_model_prepare_data(m, &tr, &va, &te, NULL));
    lam_fit_hooks hk = {.on_epoch = poison_after_1, .user = tr, .checkpoint_path = ck};
    lam_fit_result fr;
    lam_status s = lam_fit(m, tr, va, &hk, &fr);
    const char *e = lam_last_error();
    CHECK_MSG(s == LAM_ERR_NUMERIC && strstr(e, "epoch 2") && strstr(e, "step") && strstr(e, "node hidden"), "%s", e);
    /* nothing of the failed step applied: the weights are finite */
    const float *p = lam_graph_params(m->g);
    int bad = 0;
    for (size_t i = 0; i < lam_graph_param_total(m->g); i++) bad += !isfinite(p[i]);
    CHECK(bad == 0);
    lam_model *m2 = NULL;
    lam_train_state ts;
    CHECK_OK(lam_checkpoint_load(ck, &m2, &ts));
    CHECK(m2 && ts.epoch == 1);
    lam_model_free(m2);
    lam_dataset_free(tr);
    lam_dataset_free(va);
    lam_dataset_free(te);
    lam_model_free(m);
}

static void test_malformed_checkpoints(void)
{
    char good[300], bad[300];
    snprintf(good, sizeof good, "%s/good.safetensors", t_tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", t_tmpdir);
    lam_model_overrides ov = lam_model_overrides_none();
    ov.epochs = 1;
    lam_model *m = load_digits(&ov);
    if (!m) return;
    CHECK_OK(lam_model_compile(m, 32));
    CHECK_OK(lam_checkpoint_save(m, NULL, NULL, good));
    FILE *f = fopen(good, "rb");
    static unsigned char buf[1 << 20];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    lam_model *m2 = NULL;
    /* every 97th truncation point, and a few garbage variants */
    for (size_t cut = 0; cut < len; cut += 97) {
        t_spit(bad, buf, cut);
        lam_status s = lam_checkpoint_load(bad, &m2, NULL);
        CHECK_MSG(s == LAM_ERR_FORMAT || s == LAM_ERR_IO, "truncated at %zu: %s", cut, lam_status_str(s));
        CHECK(m2 == NULL);
    }
    t_spit(bad, "garbage garbage garbage", 23);
    CHECK(lam_checkpoint_load(bad, &m2, NULL) == LAM_ERR_FORMAT && m2 == NULL);
    /* a valid safetensors file that is not a Lamina checkpoint */
    float v = 1;
    lam_st_entry e = {"w", LAM_DTYPE_F32, lam_shape1(1), &v};
    CHECK_OK(lam_safetensors_write(bad, &e, 1, NULL, 0));
    CHECK(lam_checkpoint_load(bad, &m2, NULL) == LAM_ERR_FORMAT);
    CHECK(strstr(lam_last_error(), "not a Lamina checkpoint") != NULL);
    /* a checkpoint whose parameter has the wrong shape */
    const lam_param_info *w = lam_graph_param_find(m->g, "fc1.weight");
    lam_st_entry e2[2] = {{"fc1.weight", LAM_DTYPE_F32, lam_shape2(100, 63), lam_graph_params(m->g) + w->offset}};
    lam_st_meta meta[] = {{"format", "lamina-checkpoint"}, {"format_version", "1"}, {"model", m->cfg->text}};
    CHECK_OK(lam_safetensors_write(bad, e2, 1, meta, 3));
    CHECK(lam_checkpoint_load(bad, &m2, NULL) == LAM_ERR_SHAPE && m2 == NULL);
    /* a checkpoint with a missing parameter */
    e2[0].shape = w->shape;
    CHECK_OK(lam_safetensors_write(bad, e2, 1, meta, 3));
    CHECK(lam_checkpoint_load(bad, &m2, NULL) == LAM_ERR_FORMAT && m2 == NULL);
    /* a model text that does not parse */
    lam_st_meta meta2[] = {{"format", "lamina-checkpoint"}, {"format_version", "1"}, {"model", "[net]\nbogus\n"}};
    CHECK_OK(lam_safetensors_write(bad, e2, 1, meta2, 3));
    CHECK(lam_checkpoint_load(bad, &m2, NULL) == LAM_ERR_FORMAT);
    /* a future format version */
    lam_st_meta meta3[] = {{"format", "lamina-checkpoint"}, {"format_version", "99"}, {"model", m->cfg->text}};
    CHECK_OK(lam_safetensors_write(bad, e2, 1, meta3, 3));
    CHECK(lam_checkpoint_load(bad, &m2, NULL) == LAM_ERR_FORMAT);
    CHECK(lam_checkpoint_load("/nonexistent/x.safetensors", &m2, NULL) == LAM_ERR_IO);
    lam_model_free(m);
}

/* early stopping: stops, and the model holds the best epoch's weights */
static void test_early_stopping_restores_best(void)
{
    static const char *cfg = "[net]\ninput = 64\n[data]\npath = data/digits.csv.gz\n"
                             "[dense]\nunits = 64\nactivation = relu\n[dense]\nunits = 10\n"
                             "[train]\noptimizer = sgd\nlr = 0.3\nmomentum = 0.9\nepochs = 60\nbatch = 16\n"
                             "validation_split = 0.2\npatience = 3\n";
    lam_model *m = NULL;
    CHECK_OK(model_from_text(cfg, &m));
    if (!m) return;
    lam_dataset *tr, *va, *te;
    CHECK_OK(lam_model_prepare_data(m, &tr, &va, &te, NULL));
    lam_fit_result fr;
    CHECK_OK(lam_fit(m, tr, va, NULL, &fr));
    CHECK(fr.stopped_early && fr.epochs_run < 60);
    CHECK(fr.best_epoch == fr.epochs_run - 3);
    lam_metrics mt;
    CHECK_OK(lam_evaluate(m, va, &mt));
    CHECK_NEAR(mt.loss, fr.best_monitor, 1e-6, 1e-5);
    lam_metrics_free(&mt);

    /* A step budget that ends mid-epoch, then a resume without one, gives
     * the straight run: the cut epoch is scored for early stopping once,
     * when it is whole (cuts in the best epoch and in the bad streak). */
    size_t np = lam_graph_param_total(m->g);
    float *straight = malloc(np * sizeof(float));
    memcpy(straight, lam_graph_params(m->g), np * sizeof(float));
    int64_t per_epoch = (tr->n + 15) / 16;
    char ck[300];
    snprintf(ck, sizeof ck, "%s/early.safetensors", t_tmpdir);
    for (int cut_epoch = fr.best_epoch; cut_epoch <= fr.best_epoch + 2; cut_epoch += 2) {
        lam_model *m2 = NULL;
        lam_fit_result f2;
        CHECK_OK(model_from_text(cfg, &m2));
        if (!m2) break;
        m2->train.steps = (cut_epoch - 1) * per_epoch + per_epoch / 2;
        lam_fit_hooks hk = {.checkpoint_path = ck};
        CHECK_OK(lam_fit(m2, tr, va, &hk, &f2));
        CHECK(!f2.stopped_early && f2.epochs_run == cut_epoch - 1);
        lam_model_free(m2);
        m2 = NULL;
        CHECK_OK(model_from_text(cfg, &m2));
        if (!m2) break;
        hk = (lam_fit_hooks){.checkpoint_path = ck, .resume_path = ck};
        CHECK_OK(lam_fit(m2, tr, va, &hk, &f2));
        CHECK_MSG(f2.stopped_early && f2.epochs_run == fr.epochs_run && f2.best_epoch == fr.best_epoch,
                  "cut in epoch %d: stopped after %d epochs (best %d), straight after %d (best %d)", cut_epoch,
                  f2.epochs_run, f2.best_epoch, fr.epochs_run, fr.best_epoch);
        CHECK_MSG(memcmp(straight, lam_graph_params(m2->g), np * sizeof(float)) == 0,
                  "cut in epoch %d: weights differ from the straight run", cut_epoch);
        lam_model_free(m2);
    }
    free(straight);
    lam_dataset_free(tr);
    lam_dataset_free(va);
    lam_dataset_free(te);
    lam_model_free(m);
}

/* regression (MSE) and binary classification (BCE) on generated data */
static void test_regression_and_binary(void)
{
    char path[300], cfg[1024];
    snprintf(path, sizeof path, "%s/reg.csv", t_tmpdir);
    FILE *f = fopen(path, "w");
    lam_rng r;
    lam_rng_seed(&r, 5);
    fprintf(f, "a,b,c,y\n");
    for (int i = 0; i < 400; i++) {
        float a = lam_rng_normal(&r), b = lam_rng_normal(&r), c = lam_rng_normal(&r);
        fprintf(f, "%g,%g,%g,%g\n", a, b, c, 2 * a - b + 0.5f * c * c + 0.05f * lam_rng_normal(&r));
    }
    fclose(f);
    snprintf(cfg, sizeof cfg,
             "[net]\ninput = 3\n[data]\npath = %s\n[dense]\nunits = 32\nactivation = tanh\n[dense]\nunits = 1\n"
             "[train]\nloss = mse\noptimizer = adam\nlr = 0.01\nepochs = 60\nbatch = 16\n",
             path);
    lam_model *m = NULL;
    CHECK_OK(model_from_text(cfg, &m));
    if (m) {
        lam_dataset *tr, *va, *te;
        CHECK_OK(lam_model_prepare_data(m, &tr, &va, &te, NULL));
        lam_fit_result fr;
        CHECK_OK(lam_fit(m, tr, va, NULL, &fr));
        lam_metrics mt;
        CHECK_OK(lam_evaluate(m, te, &mt));
        CHECK_MSG(mt.r2 > 0.95, "regression R2 %.4f", mt.r2);
        CHECK(mt.mse > 0 && mt.mae > 0);
        lam_metrics_free(&mt);
        lam_dataset_free(tr);
        lam_dataset_free(va);
        lam_dataset_free(te);
        lam_model_free(m);
    }
    /* binary: label = [a + b > 0] */
    snprintf(path, sizeof path, "%s/bin.csv", t_tmpdir);
    f = fopen(path, "w");
    for (int i = 0; i < 400; i++) {
        float a = lam_rng_normal(&r), b = lam_rng_normal(&r);
        fprintf(f, "%g,%g,%d\n", a, b, a + b > 0);
    }
    fclose(f);
    snprintf(cfg, sizeof cfg,
             "[net]\ninput = 2\n[data]\npath = %s\n[dense]\nunits = 8\nactivation = relu\n[dense]\nunits = 1\n"
             "[train]\nloss = bce\noptimizer = adam\nlr = 0.01\nepochs = 30\n",
             path);
    CHECK_OK(model_from_text(cfg, &m));
    if (m) {
        lam_dataset *tr, *va, *te;
        CHECK_OK(lam_model_prepare_data(m, &tr, &va, &te, NULL));
        lam_fit_result fr;
        CHECK_OK(lam_fit(m, tr, va, NULL, &fr));
        lam_metrics mt;
        CHECK_OK(lam_evaluate(m, te, &mt));
        CHECK_MSG(mt.accuracy > 0.95, "binary accuracy %.4f", mt.accuracy);
        lam_metrics_free(&mt);
        lam_dataset_free(tr);
        lam_dataset_free(va);
        lam_dataset_free(te);
        lam_model_free(m);
    }
}

/* string class labels: their names travel in the checkpoint */
static void test_class_names_in_checkpoint(void)
{
    char path[300], cfg[1024], ck[300];
    snprintf(path, sizeof path, "%s/names.csv", t_tmpdir);
    FILE *f = fopen(path, "w");
    fprintf(f, "a,b,kind\n");
    for (int i = 0; i < 60; i++) fprintf(f, "%d,%d,%s\n", i % 7, i % 5, i % 3 == 0 ? "cat" : i % 3 == 1 ? "\"dog, big\"" : "\"emu\"\"x\"");
    fclose(f);
    snprintf(cfg, sizeof cfg, "[net]\ninput = 2\n[data]\npath = %s\n[dense]\nunits = 3\n[train]\nepochs = 1\n", path);
    lam_model *m = NULL, *m2 = NULL;
    CHECK_OK(model_from_text(cfg, &m));
    if (!m) return;
    lam_dataset *tr, *va, *te;
    CHECK_OK(lam_model_prepare_data(m, &tr, &va, &te, NULL));
    CHECK(m->n_class_names == 3 && m->class_names && !strcmp(m->class_names[1], "dog, big") &&
          !strcmp(m->class_names[2], "emu\"x"));
    CHECK_OK(lam_model_compile(m, 32));
    snprintf(ck, sizeof ck, "%s/names.safetensors", t_tmpdir);
    CHECK_OK(lam_checkpoint_save(m, NULL, NULL, ck));
    CHECK_OK(lam_checkpoint_load(ck, &m2, NULL));
    if (m2) {
        CHECK(m2->n_class_names == 3);
        for (int i = 0; i < 3 && m2->n_class_names == 3; i++) CHECK(!strcmp(m->class_names[i], m2->class_names[i]));
    }
    lam_model_free(m2);
    lam_dataset_free(tr);
    lam_dataset_free(va);
    lam_dataset_free(te);
    lam_model_free(m);
}

static void test_metrics_by_hand(void)
{
    lam_metrics m;
    CHECK_OK(lam_metrics_init(&m, LAM_TASK_CLASSIFICATION, 3));
    /* true 0: predicted 0,0,1 ; true 1: 1,1 ; true 2: 0,2,2,2 */
    int64_t cm[9] = {2, 1, 0, 0, 2, 0, 1, 0, 3};
    memcpy(m.confusion, cm, sizeof cm);
    lam_metrics_finish_classification(&m);
    CHECK_NEAR(m.accuracy, 7.0 / 9, 1e-12, 0);
    CHECK_NEAR(m.precision[0], 2.0 / 3, 1e-12, 0);
    CHECK_NEAR(m.recall[0], 2.0 / 3, 1e-12, 0);
    CHECK_NEAR(m.precision[1], 2.0 / 3, 1e-12, 0);
    CHECK_NEAR(m.recall[1], 1.0, 1e-12, 0);
    CHECK_NEAR(m.f1[1], 0.8, 1e-12, 0);
    CHECK_NEAR(m.recall[2], 0.75, 1e-12, 0);
    CHECK_NEAR(m.macro_f1, (2.0 / 3 + 0.8 + 2 * 0.75 / 1.75) / 3, 1e-12, 0);
    lam_metrics_free(&m);
    float p[4] = {1, 2, 3, 4}, t[4] = {1, 2, 3, 5};
    lam_metrics_regression(&m, p, t, 4, 1);
    CHECK_NEAR(m.mse, 0.25, 1e-12, 0);
    CHECK_NEAR(m.mae, 0.25, 1e-12, 0);
    CHECK_NEAR(m.r2, 1 - 1.0 / 8.75, 1e-12, 0);
}

/* The describers return the whole text's length, as snprintf does, and cut
 * a short buffer cleanly: a 100-class report (about 70 KB) or a 200-block
 * model is not truncated by a caller that sizes its buffer. */
static void test_reports_are_sized(void)
{
    lam_metrics m;
    CHECK_OK(lam_metrics_init(&m, LAM_TASK_CLASSIFICATION, 100));
    for (int c = 0; c < 100; c++) m.confusion[c * 100 + c] = c + 1;
    lam_metrics_finish_classification(&m);
    size_t n = lam_metrics_report(&m, NULL, NULL, 0);
    CHECK_MSG(n > 60000, "report of %zu bytes", n);
    char *buf = malloc(n + 1), small[100];
    CHECK(lam_metrics_report(&m, NULL, buf, n + 1) == n && strlen(buf) == n);
    CHECK(strstr(buf, "   99 ") && buf[n - 1] == '\n');
    CHECK(lam_metrics_report(&m, NULL, small, sizeof small) == n && strlen(small) == sizeof small - 1);
    CHECK(!strncmp(small, buf, sizeof small - 1));
    free(buf);
    lam_metrics_free(&m);

    lam_model *md = NULL;
    size_t cap = 64 + 30 * 200, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text, cap, "[net]\ninput = 8\n");
    for (int i = 0; i < 200; i++) len += (size_t)snprintf(text + len, cap - len, "[dense]\nunits = %d\n", i < 199 ? 8 : 3);
    CHECK_OK(model_from_text(text, &md));
    free(text);
    if (md) {
        CHECK_OK(lam_model_compile(md, 1));
        n = lam_model_describe(md, NULL, 0);
        buf = malloc(n + 1);
        CHECK(lam_model_describe(md, buf, n + 1) == n && strlen(buf) == n);
        CHECK(strstr(buf, "fc200 ") && strstr(buf, "planned memory at batch 1"));
        free(buf);
    }
    lam_model_free(md);
}

/* Data the caller holds: lam_dataset_from_arrays checks what it copies,
 * lam_model_prepare_dataset splits and scales it as the model file says,
 * lam_model_prepare_inputs readies new rows, and the JSON of
 * lam_model_train_json / lam_evaluate_json agrees with lam_evaluate. */
static void test_arrays_api(void)
{
    enum { N = 400, F = 3 };
    static float x[N * F], yv[N];
    static int32_t lab[N];
    lam_rng r;
    lam_rng_seed(&r, 11);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < F; j++) x[i * F + j] = 10 * lam_rng_normal(&r) + 50; /* the scaler matters */
        lab[i] = (x[i * F] > 50) + (x[i * F + 1] > 50);
        yv[i] = x[i * F] - 2 * x[i * F + 2];
    }
    lam_dataset *ds = NULL;
    CHECK(lam_dataset_from_arrays(x, N, F, lab, 0, yv, 1, &ds) == LAM_ERR_ARG && !ds); /* both outputs */
    CHECK(lam_dataset_from_arrays(NULL, N, F, lab, 0, NULL, 0, &ds) == LAM_ERR_ARG);
    CHECK(lam_dataset_from_arrays(x, 0, F, lab, 0, NULL, 0, &ds) == LAM_ERR_ARG);
    CHECK(lam_dataset_from_arrays(x, N, F, lab, 2, NULL, 0, &ds) == LAM_ERR_FORMAT); /* label 2 >= 2 classes */
    CHECK(strstr(lam_last_error(), "label 2 outside [0, 2)"));
    x[7] = NAN;
    CHECK(lam_dataset_from_arrays(x, N, F, lab, 0, NULL, 0, &ds) == LAM_ERR_FORMAT && !ds);
    CHECK(strstr(lam_last_error(), "row 2, feature 1 is nan"));
    x[7] = 50;
    CHECK_OK(lam_dataset_from_arrays(x, N, F, lab, 0, NULL, 0, &ds));
    CHECK(ds && ds->nclasses == 3 && ds->labels[5] == lab[5] && ds->x[7] == 50);
    lam_model *m = NULL;
    CHECK_OK(model_from_text("[net]\ninput = 3\nseed = 2\n[data]\ntest_split = 0.25\n[dense]\nunits = 16\n"
                             "activation = tanh\n[dense]\nunits = 3\n[train]\noptimizer = adam\nlr = 0.03\nepochs = 15\n"
                             "batch = 32\nvalidation_split = 0.2\n", &m));
    if (!m) return;
    lam_dataset *tr, *va, *te;
    CHECK_OK(lam_model_prepare_dataset(m, ds, NULL, &tr, &va, &te));
    CHECK(tr && va && te && te->n == 100 && va->n == 60 && tr->n == 240);
    double mean = 0;
    for (int i = 0; tr && i < tr->n; i++) mean += tr->x[i * F];
    CHECK_MSG(tr && fabs(mean / tr->n) < 1e-4, "training part not standardised: mean %g", tr ? mean / tr->n : 0);
    char *js = NULL;
    CHECK_OK(lam_model_train_json(m, tr, va, te, NULL, &js));
    CHECK(js && strstr(js, "\"format\":\"lamina-run\"") && strstr(js, "\"split\":\"test\",\"task\":\"classification\","));
    lam_metrics mt;
    CHECK_OK(lam_evaluate(m, te, &mt));
    char want[64];
    snprintf(want, sizeof want, "\"accuracy\":%.4g", mt.accuracy);
    CHECK_MSG(mt.accuracy > 0.85, "test accuracy %g", mt.accuracy);
    lam_free(js);
    CHECK_OK(lam_evaluate_json(m, te, &js));
    CHECK_MSG(js && strncmp(strstr(js, "\"accuracy\":"), want, strlen(want)) == 0, "%s / %s", js, want);
    lam_free(js);
    lam_metrics_free(&mt);
    /* new rows in the original units: the training scaler is applied */
    lam_dataset *raw = NULL;
    CHECK_OK(lam_dataset_from_arrays(x, N, F, NULL, 0, NULL, 0, &raw));
    CHECK(raw && !raw->labels && !raw->y);
    CHECK_OK(lam_model_prepare_inputs(m, raw));
    float *p = malloc(sizeof(float) * N * 3);
    CHECK_OK(lam_predict(m, raw, p));
    int right = 0;
    for (int i = 0; i < N; i++) {
        int best = p[i * 3 + 1] > p[i * 3] ? 1 : 0;
        if (p[i * 3 + 2] > p[i * 3 + best]) best = 2;
        right += best == lab[i];
    }
    CHECK_MSG(right > N * 85 / 100, "%d of %d right", right, N);
    free(p);
    lam_dataset *narrow = NULL;
    CHECK_OK(lam_dataset_from_arrays(x, N / 2, 2 * F, NULL, 0, NULL, 0, &narrow));
    CHECK(lam_model_prepare_inputs(m, narrow) == LAM_ERR_SHAPE);
    lam_dataset_free(narrow);
    lam_dataset_free(raw);
    lam_dataset_free(tr);
    lam_dataset_free(va);
    lam_dataset_free(te);
    CHECK(lam_model_prepare_dataset(m, NULL, NULL, &tr, &va, &te) == LAM_ERR_ARG && !tr && !va && !te);
    lam_model_free(m);
}

int main(void)
{
    if (!t_mkdtemp("/tmp/lamina_test_train_XXXXXX")) return 1;
    RUN(test_model_file_errors);
    RUN(test_metrics_by_hand);
    RUN(test_reports_are_sized);
    RUN(test_arrays_api);
    RUN(test_class_names_in_checkpoint);
    RUN(test_digits_accuracy);
    RUN(test_checkpoint_round_trip);
    RUN(test_resume_equals_uninterrupted);
    RUN(test_nan_stops_with_the_op);
    RUN(test_malformed_checkpoints);
    RUN(test_early_stopping_restores_best);
    RUN(test_regression_and_binary);
    t_rm_tree(t_tmpdir);
    TEST_MAIN_END;
}
