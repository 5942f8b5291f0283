/* Fuzz the time-series reader, lam_timeseries_read (src/data/timeseries.c
 * over the CSV tokenizer), with two layouts: regression (features "x" and
 * "y", target "y", window 3, horizon 2, ordered by the time column "t",
 * the last quarter as the test part) and classification (feature "x", the
 * class column "c", window 2, test samples from time "5").  Accepted parts
 * must pass lam_dataset_check, have the [window, features] sample shape and
 * accept the scaler fit of lam_timeseries_fit_scaler. */
#include "fuzz_common.h"

static void check_part(const lam_dataset *ds, int window, int nfeat, bool train)
{
    FZ_CHECK(lam_dataset_check(ds) == LAM_OK, "time-series part fails the check: %s", lam_last_error());
    FZ_CHECK(ds->n >= 1 && ds->nfeat == (int64_t)window * nfeat && ds->sample_shape.ndim == 2 &&
                 ds->sample_shape.d[0] == window && ds->sample_shape.d[1] == nfeat,
             "sample shape");
    fz_touch(ds->x, (size_t)ds->n * (size_t)ds->nfeat * sizeof(float));
    if (train) {
        lam_scaler *sc = NULL;
        lam_status s = lam_timeseries_fit_scaler(ds, window, nfeat, &sc);
        FZ_CHECK(s == LAM_OK, "fit_scaler on the training part failed: %s", lam_last_error());
        lam_scaler_free(sc);
    }
}

static void read_with(const char *path, const lam_timeseries_opts *o)
{
    lam_dataset *tr = (lam_dataset *)&tr, *te = (lam_dataset *)&te;
    lam_timeseries_info info;
    lam_status s = lam_timeseries_read(path, o, &tr, &te, &info);
    if (s != LAM_OK) {
        fz_check_failure(s, "lam_timeseries_read");
        FZ_CHECK(tr == NULL && te == NULL, "failure left outputs set");
        return;
    }
    check_part(tr, o->window, o->nfeatures, true);
    if (te) check_part(te, o->window, o->nfeatures, false);
    FZ_CHECK(info.rows >= tr->n && info.train_rows_end <= info.rows, "info disagrees");
    lam_dataset_free(tr);
    lam_dataset_free(te);
}

FZ_INITIALIZE(FZ_MEM_TRAP, (size_t)256 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t live = fz_live();
    const char *p = fz_write("in.csv", data, size);
    static const char *const f2[] = {"x", "y"}, *const f1[] = {"x"};
    lam_timeseries_opts o = lam_timeseries_opts_defaults();
    o.features = f2;
    o.nfeatures = 2;
    o.target = "y";
    o.window = 3;
    o.horizon = 2;
    o.time_column = "t";
    o.test_fraction = 0.25;
    read_with(p, &o);
    o = lam_timeseries_opts_defaults();
    o.features = f1;
    o.nfeatures = 1;
    o.label = "c";
    o.window = 2;
    o.time_column = "t";
    o.test_from = "5";
    read_with(p, &o);
    FZ_CHECK_NO_LEAK(live);
    return 0;
}
