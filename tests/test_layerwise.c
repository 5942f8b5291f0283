/* Layer-wise learning: frozen parameters stay bitwise unchanged through a
 * stage, per-layer learning rates and depth decay are the ones applied, a
 * frozen BatchNorm keeps its statistics, a stage boundary survives save and
 * resume, encode gives codes of the right shape, and every strategy reaches
 * a stated accuracy on the digits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lamina/lamina.h"
#include "test.h"
#include "train/train_internal.h"


static lam_model *model_text(const char *text)
{
    lam_cfg *c;
    lam_model *m = NULL;
    CHECK_OK(lam_cfg_parse(text, strlen(text), "lw.cfg", &c));
    if (c) CHECK_OK(lam_model_from_cfg(c, NULL, &m));
    return m;
}

#define DIGITS_NET                                                                       \
    "[net]\ninput = 64\nseed = 1\n[data]\npath = data/digits.csv.gz\n"                   \
    "[dense]\nname = fc1\nunits = 32\nactivation = relu\n"                              \
    "[batchnorm]\nname = bn1\n"                                                          \
    "[dense]\nname = fc2\nunits = 32\nactivation = relu\n"                              \
    "[dense]\nname = out\nunits = 10\n"

static float *copy_param(lam_model *m, const char *name, size_t *n)
{
    const lam_param_info *p = lam_graph_param_find(m->g, name);
    *n = p->numel;
    float *v = malloc(p->numel * sizeof(float));
    memcpy(v, lam_graph_params(m->g) + p->offset, p->numel * sizeof(float));
    return v;
}

static bool same_param(lam_model *m, const char *name, const float *v)
{
    const lam_param_info *p = lam_graph_param_find(m->g, name);
    return memcmp(v, lam_graph_params(m->g) + p->offset, p->numel * sizeof(float)) == 0;
}

/* [stage] train = fc2, out: fc1 and bn1 (parameters and statistics) untouched */
static void test_frozen_stage_bitwise(void)
{
    lam_model *m = model_text(DIGITS_NET "[train]\noptimizer = adam\nlr = 0.01\n"
                                         "[stage]\ntrain = fc2, out\nepochs = 2\n");
    if (!m) return;
    CHECK(m->train.strategy == LAM_STRATEGY_STAGES);
    lam_dataset *tr, *va, *te;
    CHECK_OK(lam_model_prepare_data(m, &tr, &va, &te, NULL));
    CHECK_OK(lam_model_compile(m, m->train.batch));
    size_t n;
    const char *frozen[] = {"fc1.weight", "fc1.bias", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"};
    float *before[6];
    for (int i = 0; i < 6; i++) before[i] = copy_param(m, frozen[i], &n);
    float *fc2 = copy_param(m, "fc2.weight", &n);
    lam_train_result res;
    CHECK_OK(lam_train_model(m, tr, va, NULL, &res));
    CHECK(res.n_stages == 1 && res.stage[0].epochs_run == 2);
    CHECK(res.stage[0].params_updated == 32 * 32 + 32 + 10 * 32 + 10);
    for (int i = 0; i < 6; i++) {
        CHECK_MSG(same_param(m, frozen[i], before[i]), "%s changed in a stage that froze it", frozen[i]);
        free(before[i]);
    }
    CHECK(!same_param(m, "fc2.weight", fc2));
    free(fc2);
    /* every parameter is trainable again afterwards */
    for (size_t i = 0; i < lam_graph_param_count(m->g); i++)
        CHECK(lam_graph_param_at(m->g, i)->trainable || lam_graph_param_at(m->g, i)->buffer);
    lam_dataset_free(tr);
    lam_dataset_free(va);
    lam_dataset_free(te);
    lam_model_free(m);
}

/* per-layer lr, momentum and weight decay, and lr decay with depth */
static void test_per_layer_groups(void)
{
    lam_model *m = model_text("[net]\ninput = 4\n[dense]\nname = a\nunits = 8\nlr = 0.5\nmomentum = 0.3\n"
                              "[dense]\nname = b\nunits = 8\nweight_decay = 0.01\n"
                              "[dense]\nname = c\nunits = 8\n[dense]\nname = d\nunits = 3\n"
                              "[train]\noptimizer = sgd\nlr = 0.1\nmomentum = 0.9\nlr_depth_decay = 0.5\n");
    if (!m) return;
    CHECK_OK(lam_model_compile(m, 4));
    lam_optim *o = NULL;
    CHECK_OK(lam_fit_make_optim_(m, &o));
    if (!o) {
        lam_model_free(m);
        return;
    }
    /* group 0: no layer; groups 1..4: layers a, b, c, d (d is the output) */
    CHECK(lam_optim_ngroups(o) == 5);
    CHECK_NEAR(lam_optim_group(o, 1)->lr, 0.5, 0, 1e-12); /* explicit: no decay */
    CHECK_NEAR(lam_optim_group(o, 1)->momentum, 0.3, 0, 1e-12);
    CHECK_NEAR(lam_optim_group(o, 2)->lr, 0.1 * 0.25, 0, 1e-12); /* two layers above it */
    CHECK_NEAR(lam_optim_group(o, 2)->weight_decay, 0.01, 0, 1e-12);
    CHECK_NEAR(lam_optim_group(o, 3)->lr, 0.1 * 0.5, 0, 1e-12);
    CHECK_NEAR(lam_optim_group(o, 4)->lr, 0.1, 0, 1e-12);
    CHECK_NEAR(lam_optim_group(o, 4)->momentum, 0.9, 0, 1e-12);
    lam_optim_free(o);
    lam_model_free(m);
    /* the lr really applied: a layer with lr = 0 does not move */
    m = model_text(DIGITS_NET "[train]\noptimizer = sgd\nlr = 0.05\nepochs = 1\n");
    lam_model_free(m);
    m = model_text("[net]\ninput = 64\n[data]\npath = data/digits.csv.gz\n[dense]\nname = fc1\nunits = 16\n"
                   "activation = relu\nlr = 0\n[dense]\nname = out\nunits = 10\n[train]\nlr = 0.1\nepochs = 1\n");
    if (!m) return;
    lam_dataset *tr, *va, *te;
    CHECK_OK(lam_model_prepare_data(m, &tr, &va, &te, NULL));
    CHECK_OK(lam_model_compile(m, m->train.batch));
    size_t n;
    float *w1 = copy_param(m, "fc1.weight", &n), *w2 = copy_param(m, "out.weight", &n);
    lam_fit_result fr;
    CHECK_OK(lam_fit(m, tr, va, NULL, &fr));
    CHECK(same_param(m, "fc1.weight", w1));
    CHECK(!same_param(m, "out.weight", w2));
    free(w1);
    free(w2);
    lam_dataset_free(tr);
    lam_dataset_free(va);
    lam_dataset_free(te);
    lam_model_free(m);
}

static int stop_after;
static bool stop_hook(const lam_epoch_log *e, void *user)
{
    (void)user;
    return !(e->stage == stop_after && e->epoch == 2);
}

/* layerwise_supervised: stopped in stage 3, resumed from the stage-2
 * checkpoint, ends bit for bit where an uninterrupted run ends */
static void test_stage_boundary_resume(void)
{
    static const char *text = DIGITS_NET "[dropout]\nrate = 0.1\n"
                                         "[train]\noptimizer = adam\nlr = 0.005\nstrategy = layerwise_supervised\n"
                                         "stage_epochs = 3\nfine_tune_epochs = 3\nepochs = 3\n";
    char ck[300];
    snprintf(ck, sizeof ck, "%s/stages.safetensors", t_tmpdir);
    float *full = NULL;
    size_t total = 0;
    for (int run = 0; run < 3; run++) {
        lam_model *m = model_text(text);
        if (!m) return;
        lam_dataset *tr, *va, *te;
        CHECK_OK(lam_model_prepare_data(m, &tr, &va, &te, NULL));
        lam_fit_hooks hk = {0};
        hk.checkpoint_path = ck;
        if (run == 1) {
            stop_after = 3; /* interrupted inside the third stage */
            hk.on_epoch = stop_hook;
        }
        if (run == 2) hk.resume_path = ck;
        lam_train_result res;
        CHECK_OK(lam_train_model(m, tr, va, &hk, &res));
        if (run == 1) {
            lam_model *c = NULL;
            lam_train_state ts;
            CHECK_OK(lam_checkpoint_load(ck, &c, &ts));
            CHECK(ts.stage == 2);
            lam_model_free(c);
        }
        if (run != 1) CHECK(res.n_stages == 4); /* fc1, fc2, output, fine-tune */
        total = lam_graph_param_total(m->g);
        if (run == 0) {
            full = malloc(total * sizeof(float));
            memcpy(full, lam_graph_params(m->g), total * sizeof(float));
        } else if (run == 2 && full) {
            CHECK_MSG(memcmp(full, lam_graph_params(m->g), total * sizeof(float)) == 0,
                      "resumed layer-wise training differs from an uninterrupted run");
        }
        lam_dataset_free(tr);
        lam_dataset_free(va);
        lam_dataset_free(te);
        lam_model_free(m);
    }
    free(full);
}

/* each strategy on the shipped digits configuration reaches its accuracy */
static void test_strategies_on_digits(void)
{
    lam_strategy_kind ks[3] = {LAM_STRATEGY_END_TO_END, LAM_STRATEGY_LAYERWISE_SUPERVISED,
                               LAM_STRATEGY_LAYERWISE_AUTOENCODER};
    lam_compare_row rows[3];
    CHECK_OK(lam_compare("configs/digits_mlp.cfg", NULL, ks, 3, NULL, rows));
    const double want[3] = {0.97, 0.96, 0.96};
    for (int i = 0; i < 3; i++) {
        CHECK_MSG(rows[i].test.accuracy >= want[i], "%s: test accuracy %.4f < %.2f", lam_strategy_name(ks[i]),
                  rows[i].test.accuracy, want[i]);
        CHECK(rows[i].test.n == 360);
    }
    /* greedy: one stage per hidden layer, the output layer, fine-tuning */
    CHECK(rows[0].train.n_stages == 1 && rows[1].train.n_stages == 4 && rows[2].train.n_stages == 4);
    CHECK(rows[1].train.stage[0].params_updated == 64 * 100 + 100 + 100 * 10 + 10);
    CHECK(rows[2].train.stage[0].params_updated == 64 * 100 + 100 + 100 * 64 + 64);
    lam_compare_free(rows, 3);
}

static void test_encode(void)
{
    lam_model *m = model_text("[net]\ninput = 64\n[data]\npath = data/digits.csv.gz\n"
                              "[dense]\nname = enc\nunits = 8\nactivation = tanh\n[dense]\nname = out\nunits = 10\n"
                              "[train]\noptimizer = adam\nlr = 0.01\nepochs = 2\nstrategy = layerwise_autoencoder\n");
    if (!m) return;
    lam_dataset *tr, *va, *te;
    CHECK_OK(lam_model_prepare_data(m, &tr, &va, &te, NULL));
    lam_train_result res;
    CHECK_OK(lam_train_model(m, tr, va, NULL, &res));
    lam_node *code = lam_model_code_node(m);
    CHECK(code && !strcmp(lam_node_name(code), "enc"));
    float *codes = calloc((size_t)te->n * 8, sizeof(float));
    CHECK_OK(lam_encode(m, code, te, codes));
    int in_range = 1;
    double spread = 0;
    for (int64_t i = 0; i < te->n * 8; i++) {
        in_range &= codes[i] >= -1 && codes[i] <= 1; /* tanh */
        spread += fabs(codes[i] - codes[i % 8]);
    }
    CHECK(in_range && spread > 0);
    free(codes);
    lam_dataset_free(tr);
    lam_dataset_free(va);
    lam_dataset_free(te);
    lam_model_free(m);
}

/* pseudo-labelling on the digits with 10% of the labels */
static void test_pseudo_labelling(void)
{
    lam_model_overrides ov = lam_model_overrides_none();
    lam_model *m = NULL;
    CHECK_OK(lam_model_load("configs/digits_mlp.cfg", &ov, &m));
    if (!m) return;
    m->train.labelled_fraction = 0.1;
    m->train.pseudo_rounds = 2;
    lam_dataset *tr, *va, *te;
    CHECK_OK(lam_model_prepare_data(m, &tr, &va, &te, NULL));
    lam_semi_report rep;
    CHECK_OK(lam_train_semi(m, tr, va, te, NULL, &rep));
    CHECK(rep.n_labelled + rep.n_unlabelled == tr->n);
    CHECK(rep.n_labelled >= 140 && rep.n_labelled <= 146); /* 10% of 1437, stratified */
    CHECK(rep.rounds == 2);
    for (int r = 0; r < rep.rounds; r++) {
        CHECK(rep.round[r].n_pseudo > rep.n_unlabelled / 2);
        CHECK_MSG((double)rep.round[r].n_correct >= 0.95 * (double)rep.round[r].n_pseudo, "round %d: %lld of %lld right",
                  r + 1, (long long)rep.round[r].n_correct, (long long)rep.round[r].n_pseudo);
    }
    CHECK(rep.labelled_only_accuracy > 0.85);
    CHECK_MSG(rep.round[1].test_accuracy > rep.labelled_only_accuracy, "pseudo-labels did not help: %.4f -> %.4f",
              rep.labelled_only_accuracy, rep.round[1].test_accuracy);
    lam_dataset_free(tr);
    lam_dataset_free(va);
    lam_dataset_free(te);
    lam_model_free(m);
}

int main(void)
{
    if (!t_mkdtemp("/tmp/lamina_test_lw_XXXXXX")) return 1;
    lam_set_threads(1); /* small models: one thread is fastest (thread invariance is tested in test_graph) */
    RUN(test_frozen_stage_bitwise);
    RUN(test_per_layer_groups);
    RUN(test_stage_boundary_resume);
    RUN(test_strategies_on_digits);
    RUN(test_encode);
    RUN(test_pseudo_labelling);
    t_rm_tree(t_tmpdir);
    TEST_MAIN_END;
}
