/* Convolutional networks end to end on generated images: small IDX files of
 * bars (horizontal, vertical, diagonal) read through [data] format = idx, a
 * CNN with conv2d, batchnorm, pooling, spatial dropout and augmentation; it
 * must learn, survive a checkpoint round trip (BatchNorm running statistics
 * included) and resume bit for bit. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lamina/lamina.h"
#include "test.h"


static void put_be32(FILE *f, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
    fwrite(b, 1, 4, f);
}

/* n images 12x12 of class 0 (horizontal bar), 1 (vertical), 2 (diagonal) */
static void write_set(const char *prefix, int n, uint64_t seed)
{
    char p[400];
    lam_rng r;
    lam_rng_seed(&r, seed);
    snprintf(p, sizeof p, "%s/%s-images", t_tmpdir, prefix);
    FILE *fi = fopen(p, "wb");
    snprintf(p, sizeof p, "%s/%s-labels", t_tmpdir, prefix);
    FILE *fl = fopen(p, "wb");
    put_be32(fi, 0x00000803);
    put_be32(fi, (uint32_t)n);
    put_be32(fi, 12);
    put_be32(fi, 12);
    put_be32(fl, 0x00000801);
    put_be32(fl, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        int cls = (int)lam_rng_below(&r, 3), pos = 2 + (int)lam_rng_below(&r, 8);
        unsigned char img[144];
        for (int k = 0; k < 144; k++) img[k] = (unsigned char)lam_rng_below(&r, 60);
        for (int t = 0; t < 12; t++) {
            int y = cls == 0 ? pos : t, x = cls == 1 ? pos : cls == 0 ? t : (t + pos) % 12;
            img[y * 12 + x] = 255;
        }
        fwrite(img, 1, 144, fi);
        unsigned char lab = (unsigned char)cls;
        fwrite(&lab, 1, 1, fl);
    }
    fclose(fi);
    fclose(fl);
}

static lam_status make_model(int epochs, lam_model **m)
{
    char text[2048];
    snprintf(text, sizeof text,
             "[net]\ninput = 1, 12, 12\nseed = 5\n"
             "[data]\nformat = idx\ntrain_images = %s/train-images\ntrain_labels = %s/train-labels\n"
             "test_images = %s/test-images\ntest_labels = %s/test-labels\nscale = channel\n"
             "[augment]\nshift = 1\nnoise = 0.02\n"
             "[conv2d]\nfilters = 8\nkernel = 3\npadding = same\n"
             "[batchnorm]\n"
             "[activation]\nactivation = relu\n"
             "[maxpool]\nsize = 2\n"
             "[dropout]\nrate = 0.1\nspatial = true\n"
             "[conv2d]\nfilters = 8\nkernel = 3\nactivation = relu\n"
             "[global_avgpool]\n"
             "[dense]\nunits = 3\n"
             "[train]\noptimizer = adam\nlr = 0.01\nbatch = 16\nepochs = %d\nvalidation_split = 0.1\n",
             t_tmpdir, t_tmpdir, t_tmpdir, t_tmpdir, epochs);
    lam_cfg *c;
    lam_status s = lam_cfg_parse(text, strlen(text), "cnn.cfg", &c);
    if (s != LAM_OK) return s;
    return lam_model_from_cfg(c, NULL, m);
}

static void test_cnn_learns_and_round_trips(void)
{
    lam_model *m = NULL;
    CHECK_OK(make_model(8, &m));
    if (!m) return;
    lam_dataset *tr, *va, *te;
    CHECK_OK(lam_model_prepare_data(m, &tr, &va, &te, NULL));
    if (!tr) {
        lam_model_free(m);
        return;
    }
    CHECK(tr->sample_shape.ndim == 3 && te->n == 150);
    lam_fit_result fr;
    CHECK_OK(lam_fit(m, tr, va, NULL, &fr));
    lam_metrics mt;
    CHECK_OK(lam_evaluate(m, te, &mt));
    CHECK_MSG(mt.accuracy > 0.9, "CNN test accuracy %.3f", mt.accuracy);
    lam_metrics_free(&mt);
    /* the running statistics moved away from their initial 0 / 1 */
    const lam_param_info *rm = lam_graph_param_find(m->g, "bn1.running_mean");
    CHECK(rm && rm->buffer && !rm->trainable);
    if (rm) CHECK(lam_graph_params(m->g)[rm->offset] != 0.0f);
    char path[300];
    snprintf(path, sizeof path, "%s/cnn.safetensors", t_tmpdir);
    CHECK_OK(lam_checkpoint_save(m, NULL, NULL, path));
    lam_model *m2 = NULL;
    CHECK_OK(lam_checkpoint_load(path, &m2, NULL));
    if (m2) {
        float *p1 = malloc(sizeof(float) * 150 * 3), *p2 = malloc(sizeof(float) * 150 * 3);
        CHECK_OK(lam_predict(m, te, p1));
        CHECK_OK(lam_predict(m2, te, p2));
        CHECK(memcmp(p1, p2, sizeof(float) * 150 * 3) == 0);
        free(p1);
        free(p2);
    }
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

/* with augmentation, spatial dropout and BatchNorm: 4 epochs straight equal
 * 2 epochs + checkpoint + resume for 2 more, bit for bit */
static void test_cnn_resume_exact(void)
{
    char ck[300];
    snprintf(ck, sizeof ck, "%s/resume.safetensors", t_tmpdir);
    float *full = NULL;
    for (int run = 0; run < 3; run++) {
        lam_model *m = NULL;
        CHECK_OK(make_model(4, &m));
        if (!m) break;
        lam_dataset *tr, *va, *te;
        CHECK_OK(lam_model_prepare_data(m, &tr, &va, &te, NULL));
        lam_fit_hooks hk = {0};
        if (run == 1) {
            hk.on_epoch = stop_at_2;
            hk.checkpoint_path = ck;
        }
        if (run == 2) hk.resume_path = ck;
        lam_fit_result fr;
        CHECK_OK(lam_fit(m, tr, va, &hk, &fr));
        size_t n = lam_graph_param_total(m->g);
        if (run == 0) {
            full = malloc(n * sizeof(float));
            memcpy(full, lam_graph_params(m->g), n * sizeof(float));
        }
        if (run == 2 && full)
            CHECK_MSG(memcmp(full, lam_graph_params(m->g), n * sizeof(float)) == 0,
                      "resumed CNN parameters differ from an uninterrupted run");
        lam_dataset_free(tr);
        lam_dataset_free(va);
        lam_dataset_free(te);
        lam_model_free(m);
    }
    free(full);
}

/* [conv2d] algorithm: each choice builds; Winograd on a 5x5 kernel and an
 * unknown name are errors with a message */
static void test_conv_algorithm_key(void)
{
    static const struct {
        const char *algo;
        int kernel;
        lam_status want;
        const char *msg;
    } cases[] = {
        {"auto", 3, LAM_OK, NULL},           {"im2col", 3, LAM_OK, NULL},
        {"winograd_f2", 3, LAM_OK, NULL},    {"winograd_f4", 3, LAM_OK, NULL},
        {"winograd_f4", 5, LAM_ERR_ARG, "Winograd needs a 3x3 kernel"},
        {"fft", 3, LAM_ERR_FORMAT, "winograd_f4"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "[net]\ninput = 4, 12, 12\n[conv2d]\nfilters = 8\nkernel = %d\nalgorithm = %s\n[dense]\nunits = 3\n",
                 cases[i].kernel, cases[i].algo);
        lam_cfg *c;
        lam_model *m = NULL;
        lam_status s = lam_cfg_parse(text, strlen(text), "algo.cfg", &c);
        if (s == LAM_OK) s = lam_model_from_cfg(c, NULL, &m);
        CHECK_MSG(s == cases[i].want, "algorithm = %s, kernel %d: %s (%s)", cases[i].algo, cases[i].kernel,
                  lam_status_str(s), lam_last_error());
        if (cases[i].msg)
            CHECK_MSG(strstr(lam_last_error(), cases[i].msg) != NULL, "message: %s", lam_last_error());
        lam_model_free(m);
    }
}

int main(void)
{
    if (!t_mkdtemp("/tmp/lamina_test_cnn_XXXXXX")) return 1;
    write_set("train", 600, 1);
    write_set("test", 150, 2);
    RUN(test_cnn_learns_and_round_trips);
    RUN(test_cnn_resume_exact);
    RUN(test_conv_algorithm_key);
    t_rm_tree(t_tmpdir);
    TEST_MAIN_END;
}
