/* Tests for data sets from NumPy arrays (src/data/npy_data.c) and the model
 * file's format = npy (src/train/model.c, prepare.c): features of any type
 * and shape, class labels and regression targets, every rule with its
 * message, .npy files and .npz archives (x/y and Keras's names), and tiny
 * models trained from them through the lam_model_* API.  The readers
 * themselves: tests/test_npy.c. */
#include "lamina/lamina.h"

#include "test.h"

#include <unistd.h>

#define GOLD "tests/golden/npy/"

static void tpath(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", t_tmpdir, name); }

/* ---- data sets --------------------------------------------------------------------------- */

static lam_npy arr(lam_npy_dtype t, int ndim, const int64_t *dims, void *data)
{
    lam_npy a = {.dtype = t, .ndim = ndim, .data = data, .numel = 1};
    for (int i = 0; i < ndim; i++) a.dims[i] = dims[i], a.numel *= dims[i];
    a.nbytes = (size_t)a.numel * lam_npy_dtype_size(t);
    return a;
}

static void expect_ds_error(const lam_npy *x, const lam_npy *y, lam_task task, int32_t nclasses, lam_status st,
                            const char *want)
{
    lam_npy_data_opts o = lam_npy_data_opts_defaults();
    o.task = task;
    o.nclasses = nclasses;
    lam_dataset *ds = (lam_dataset *)&ds;
    lam_status s = lam_dataset_from_npy(x, y, &o, &ds);
    CHECK_MSG(s == st && ds == NULL && strstr(lam_last_error(), want), "%s: %s (want %s)", lam_status_str(s),
              lam_last_error(), want);
}

static void test_dataset(void)
{
    double xv[24];
    for (int i = 0; i < 24; i++) xv[i] = i * 0.5;
    int32_t yv[4] = {0, 2, 1, 2};
    int64_t dx[3] = {4, 2, 3}, dy[1] = {4};
    lam_npy x = arr(LAM_NPY_F8, 3, dx, xv), y = arr(LAM_NPY_I4, 1, dy, yv);
    lam_dataset *ds = NULL;
    CHECK_OK(lam_dataset_from_npy(&x, &y, NULL, &ds));
    if (ds) {
        CHECK(ds->task == LAM_TASK_CLASSIFICATION && ds->n == 4 && ds->nfeat == 6 && ds->nclasses == 3);
        CHECK(ds->sample_shape.ndim == 2 && ds->sample_shape.d[0] == 2 && ds->sample_shape.d[1] == 3);
        CHECK(ds->x[7] == 3.5f && ds->labels[1] == 2 && ds->labels[3] == 2);
        CHECK_OK(lam_dataset_check(ds));
    }
    lam_dataset_free(ds);
    /* float labels holding integers; x of shape [N] */
    float fl[4] = {1, 0, 3, 1};
    lam_npy yf = arr(LAM_NPY_F4, 1, dy, fl), x1 = arr(LAM_NPY_F8, 1, dy, xv);
    CHECK_OK(lam_dataset_from_npy(&x1, &yf, NULL, &ds));
    if (ds) CHECK(ds->nfeat == 1 && ds->sample_shape.ndim == 1 && ds->nclasses == 4 && ds->labels[2] == 3);
    lam_dataset_free(ds);
    /* regression: [N] and [N, k] */
    lam_npy_data_opts o = lam_npy_data_opts_defaults();
    o.task = LAM_TASK_REGRESSION;
    CHECK_OK(lam_dataset_from_npy(&x, &yf, &o, &ds));
    if (ds) CHECK(ds->task == LAM_TASK_REGRESSION && ds->ntargets == 1 && ds->y[2] == 3 && !ds->labels);
    lam_dataset_free(ds);
    int64_t dy2[2] = {4, 2};
    lam_npy y2 = arr(LAM_NPY_F8, 2, dy2, xv);
    CHECK_OK(lam_dataset_from_npy(&x, &y2, &o, &ds));
    if (ds) CHECK(ds->ntargets == 2 && ds->y[5] == 2.5f);
    lam_dataset_free(ds);
    /* errors */
    float fbad[4] = {1, 0.5f, 3, 1};
    lam_npy yb = arr(LAM_NPY_F4, 1, dy, fbad);
    expect_ds_error(&x, &yb, LAM_TASK_CLASSIFICATION, 0, LAM_ERR_FORMAT, "y: label 1 is 0.5, not an integer");
    int32_t neg[4] = {0, 1, -1, 0};
    lam_npy yn = arr(LAM_NPY_I4, 1, dy, neg);
    expect_ds_error(&x, &yn, LAM_TASK_CLASSIFICATION, 0, LAM_ERR_FORMAT, "y: label 2 is -1 (negative)");
    expect_ds_error(&x, &y, LAM_TASK_CLASSIFICATION, 2, LAM_ERR_FORMAT, "y: label 1 is 2, outside [0, 2)");
    uint64_t huge[4] = {0, UINT64_MAX, 0, 0};
    lam_npy yh = arr(LAM_NPY_U8, 1, dy, huge);
    expect_ds_error(&x, &yh, LAM_TASK_CLASSIFICATION, 0, LAM_ERR_FORMAT, "y: label 1 is 18446744073709551615 (too large)");
    int64_t d3[1] = {3};
    lam_npy y3 = arr(LAM_NPY_I4, 1, d3, yv);
    expect_ds_error(&x, &y3, LAM_TASK_CLASSIFICATION, 0, LAM_ERR_FORMAT, "y: shape (3,) does not go with x's (4, 2, 3)");
    expect_ds_error(&x, &y2, LAM_TASK_CLASSIFICATION, 0, LAM_ERR_FORMAT, "class labels have shape (N,)");
    int64_t d0[2] = {0, 3}, dz[2] = {4, 0};
    lam_npy x0 = arr(LAM_NPY_F8, 2, d0, xv), xz = arr(LAM_NPY_F8, 2, dz, xv), xs = arr(LAM_NPY_F8, 0, NULL, xv);
    expect_ds_error(&x0, &y, LAM_TASK_CLASSIFICATION, 0, LAM_ERR_FORMAT, "x: shape (0, 3) holds no samples");
    expect_ds_error(&xz, &y, LAM_TASK_CLASSIFICATION, 0, LAM_ERR_FORMAT, "x: shape (4, 0): each sample holds 0 values");
    expect_ds_error(&xs, &y, LAM_TASK_CLASSIFICATION, 0, LAM_ERR_FORMAT, "x: a scalar");
    xv[4] = NAN;
    expect_ds_error(&x, &y, LAM_TASK_CLASSIFICATION, 0, LAM_ERR_FORMAT, "x: element 4 (index (0, 1, 1)) is nan");
    xv[4] = 2;
    double yinf[8] = {0, 1, 2, INFINITY, 0, 0, 0, 0};
    lam_npy yi = arr(LAM_NPY_F8, 2, dy2, yinf);
    expect_ds_error(&x, &yi, LAM_TASK_REGRESSION, 0, LAM_ERR_FORMAT, "y: element 3 (index (1, 1)) is inf");
    int64_t dy3[3] = {4, 1, 1};
    lam_npy y3d = arr(LAM_NPY_F8, 3, dy3, xv);
    expect_ds_error(&x, &y3d, LAM_TASK_REGRESSION, 0, LAM_ERR_FORMAT, "(N,) or (N, k)");
    /* from files */
    CHECK_OK(lam_dataset_from_npz(GOLD "keras_style.npz", NULL, &ds, NULL));
    CHECK(ds && ds->n == 8);
    lam_dataset *tr = NULL, *te = NULL;
    CHECK_OK(lam_dataset_from_npz(GOLD "keras_style.npz", NULL, &tr, &te));
    if (tr && te) {
        CHECK(tr->n == 8 && te->n == 4 && tr->nclasses == 4 && te->nclasses == 4 && tr->nfeat == 9);
        CHECK(tr->sample_shape.ndim == 2 && te->labels[0] == 3 && tr->x[1] == 255.0f);
    }
    lam_dataset_free(ds);
    lam_dataset_free(tr);
    lam_dataset_free(te);
    CHECK_OK(lam_dataset_from_npz(GOLD "savez.npz", NULL, &tr, &te));
    CHECK(tr && tr->n == 6 && tr->nclasses == 3 && te == NULL);
    lam_dataset_free(tr);
    lam_status s = lam_dataset_from_npz(GOLD "unicode_names.npz", NULL, &tr, &te);
    CHECK(s == LAM_ERR_FORMAT && tr == NULL && strstr(lam_last_error(), "no training arrays"));
    char px[192], py[192];
    tpath(px, sizeof px, "dx.npy");
    tpath(py, sizeof py, "dy.npy");
    CHECK_OK(lam_npy_write(px, LAM_NPY_F8, 3, dx, xv));
    CHECK_OK(lam_npy_write(py, LAM_NPY_I4, 1, d3, yv));
    s = lam_dataset_from_npy_files(px, py, NULL, &ds);
    CHECK(s == LAM_ERR_FORMAT && strstr(lam_last_error(), "dy.npy: shape (3,) does not go with"));
    CHECK_OK(lam_npy_write(py, LAM_NPY_I4, 1, dy, yv));
    CHECK_OK(lam_dataset_from_npy_files(px, py, NULL, &ds));
    CHECK(ds && ds->n == 4);
    lam_dataset_free(ds);
}

/* ---- model files: format = npy -------------------------------------------------------------- */

static lam_status model_from_text(const char *text, lam_model **m)
{
    lam_cfg *c;
    lam_status s = lam_cfg_parse(text, strlen(text), "npy.cfg", &c);
    if (s != LAM_OK) return s;
    return lam_model_from_cfg(c, NULL, m);
}

/* Three Gaussian blobs in 2-D: x [n, 1, 2] f8, labels u1. */
static void blobs(int n, uint64_t seed, double *x, uint8_t *y)
{
    lam_rng r;
    lam_rng_seed(&r, seed);
    static const double cx[3] = {-2, 2, 0}, cy[3] = {0, 0, 2.5};
    for (int i = 0; i < n; i++) {
        int k = (int)lam_rng_below(&r, 3);
        y[i] = (uint8_t)k;
        x[2 * i] = cx[k] + 0.5 * lam_rng_normal(&r);
        x[2 * i + 1] = cy[k] + 0.5 * lam_rng_normal(&r);
    }
}

static double train_and_score(const char *cfg, int64_t want_train, int64_t want_test)
{
    lam_model *m = NULL;
    CHECK_OK(model_from_text(cfg, &m));
    if (!m) return -1;
    lam_dataset *tr = NULL, *va = NULL, *te = NULL;
    double acc = -1;
    CHECK_OK(lam_model_prepare_data(m, &tr, &va, &te, NULL));
    if (tr && te) {
        CHECK_MSG(tr->n == want_train && te->n == want_test, "train %lld, test %lld", (long long)tr->n,
                  (long long)te->n);
        lam_fit_result fr;
        CHECK_OK(lam_fit(m, tr, va, NULL, &fr));
        lam_metrics mt;
        memset(&mt, 0, sizeof mt);
        CHECK_OK(lam_evaluate(m, te, &mt));
        acc = mt.task == LAM_TASK_CLASSIFICATION ? mt.accuracy : mt.r2;
        lam_metrics_free(&mt);
    }
    lam_dataset_free(tr);
    lam_dataset_free(va);
    lam_dataset_free(te);
    lam_model_free(m);
    return acc;
}

static void test_model_file(void)
{
    enum { N = 400, NT = 100 };
    static double x[2 * N], xt[2 * NT], r[N];
    static uint8_t y[N], yt[NT];
    blobs(N, 7, x, y);
    blobs(NT, 8, xt, yt);
    int64_t dx[3] = {N, 1, 2}, dy[1] = {N}, dxt[3] = {NT, 1, 2}, dyt[1] = {NT}, dr[2] = {N, 1};
    char pz[192], cfg[2048];
    tpath(pz, sizeof pz, "blobs.npz");
    lam_npz_entry e[2] = {{"x", LAM_NPY_F8, 3, dx, x}, {"y", LAM_NPY_U1, 1, dy, y}};
    CHECK_OK(lam_npz_write(pz, e, 2, true));
    const char *tail = "[dense]\nunits = 16\nactivation = relu\n[dense]\nunits = 3\n"
                       "[train]\nloss = cross_entropy\noptimizer = adam\nlr = 0.01\nepochs = 15\nbatch = 16\n";
    /* an archive of x and y: test_split applies */
    snprintf(cfg, sizeof cfg, "[net]\ninput = 2\nseed = 1\n[data]\nformat = npy\npath = %s\n%s", pz, tail);
    double acc = train_and_score(cfg, 320, 80);
    CHECK_MSG(acc >= 0.9, "accuracy %.3f from an .npz", acc);
    /* .npy files with a test part, used as given; input = 1, 2 takes the samples' own shape */
    char px[192], py[192], ptx[192], pty[192];
    tpath(px, sizeof px, "bx.npy");
    tpath(py, sizeof py, "by.npy");
    tpath(ptx, sizeof ptx, "btx.npy");
    tpath(pty, sizeof pty, "bty.npy");
    CHECK_OK(lam_npy_write(px, LAM_NPY_F8, 3, dx, x));
    CHECK_OK(lam_npy_write(py, LAM_NPY_U1, 1, dy, y));
    CHECK_OK(lam_npy_write(ptx, LAM_NPY_F8, 3, dxt, xt));
    CHECK_OK(lam_npy_write(pty, LAM_NPY_U1, 1, dyt, yt));
    snprintf(cfg, sizeof cfg,
             "[net]\ninput = 1, 2\nseed = 1\n[data]\nformat = npy\nx = %s\ny = %s\ntest_x = %s\ntest_y = %s\n"
             "[flatten]\n%s",
             px, py, ptx, pty, tail);
    acc = train_and_score(cfg, N, NT);
    CHECK_MSG(acc >= 0.9, "accuracy %.3f from .npy files", acc);
    /* Keras's names, x_train ... y_test */
    lam_npz_entry k[4] = {{"x_train", LAM_NPY_F8, 3, dx, x}, {"y_train", LAM_NPY_U1, 1, dy, y},
                          {"x_test", LAM_NPY_F8, 3, dxt, xt}, {"y_test", LAM_NPY_U1, 1, dyt, yt}};
    CHECK_OK(lam_npz_write(pz, k, 4, false));
    snprintf(cfg, sizeof cfg, "[net]\ninput = 2\nseed = 1\n[data]\nformat = npy\npath = %s\n%s", pz, tail);
    acc = train_and_score(cfg, N, NT);
    CHECK_MSG(acc >= 0.9, "accuracy %.3f from a Keras-style .npz", acc);
    /* regression follows the loss: y = x0 - 2 x1 */
    for (int i = 0; i < N; i++) r[i] = x[2 * i] - 2 * x[2 * i + 1];
    lam_npz_entry g[2] = {{"x", LAM_NPY_F8, 3, dx, x}, {"y", LAM_NPY_F8, 2, dr, r}};
    CHECK_OK(lam_npz_write(pz, g, 2, false));
    snprintf(cfg, sizeof cfg,
             "[net]\ninput = 2\nseed = 1\n[data]\nformat = npy\npath = %s\n[dense]\nunits = 1\n"
             "[train]\nloss = mse\noptimizer = adam\nlr = 0.05\nepochs = 20\nbatch = 16\n",
             pz);
    double r2 = train_and_score(cfg, 320, 80);
    CHECK_MSG(r2 >= 0.95, "r2 %.3f", r2);
    /* errors */
    static const struct {
        const char *data, *want;
    } bad[] = {
        {"format = csv\nx = a.npy\n", "npy.cfg:6: [data] x = FILE.npy needs format = npy"},
        {"format = npy\npath = a.npz\nx = a.npy\ny = b.npy\n", "npy.cfg:7: [data] format = npy takes path = FILE.npz or x"},
        {"format = npy\nx = a.npy\n", "npy.cfg:6: [data] format = npy: x and y go together"},
        {"format = npy\ntest_x = a.npy\ntest_y = b.npy\n", "x and y go together, and so do test_x"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(cfg, sizeof cfg, "[net]\ninput = 2\nseed = 1\n[data]\n%s%s", bad[i].data, tail);
        lam_model *m = (lam_model *)&m;
        lam_status s = model_from_text(cfg, &m);
        CHECK_MSG(s == LAM_ERR_FORMAT && m == NULL && strstr(lam_last_error(), bad[i].want), "%s", lam_last_error());
    }
    /* data that does not fit the model */
    CHECK_OK(lam_npz_write(pz, e, 2, false));
    snprintf(cfg, sizeof cfg, "[net]\ninput = 3\n[data]\nformat = npy\npath = %s\n%s", pz, tail);
    lam_model *m = NULL;
    CHECK_OK(model_from_text(cfg, &m));
    lam_dataset *tr = NULL, *va = NULL, *te = NULL;
    lam_status s = m ? lam_model_prepare_data(m, &tr, &va, &te, NULL) : LAM_ERR_ARG;
    CHECK_MSG(s == LAM_ERR_SHAPE && tr == NULL && strstr(lam_last_error(), "2 features per sample (shape [1, 2])"),
              "%s", lam_last_error());
    lam_model_free(m);
    snprintf(cfg, sizeof cfg, "[net]\ninput = 2\n[data]\nformat = npy\n%s", tail);
    CHECK_OK(model_from_text(cfg, &m));
    s = m ? lam_model_prepare_data(m, &tr, &va, &te, NULL) : LAM_ERR_ARG;
    CHECK(s == LAM_ERR_ARG && strstr(lam_last_error(), "no data: set [data] path = FILE.npz"));
    lam_model_free(m);
}

int main(void)
{
    if (!t_mkdtemp("/tmp/lamina_npyd_XXXXXX")) return 1;
    lam_set_threads(1);
    RUN(test_dataset);
    RUN(test_model_file);
    t_rm_tree(t_tmpdir);
    TEST_MAIN_END;
}
