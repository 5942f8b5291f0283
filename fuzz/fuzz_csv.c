/* Fuzz the CSV reader (src/data/csv.c, csv_lex.c, csv_values.c): each input
 * is written to a scratch file (plain, or gzip when it starts with gzip's
 * magic: zlib decides) and read with four option sets -- the defaults
 * (classification, header detection, label last), regression by column name
 * with mean imputation, features only with ';' and dropped rows, and a fixed
 * class count -- plus lam_csv_count_columns and lam_csv_read_classes.  A
 * data set the reader returns must pass lam_dataset_check and agree with
 * its report. */
#include "fuzz_common.h"

static void check_set(const lam_dataset *ds, const lam_csv_report *r, const lam_csv_opts *o)
{
    lam_status s = lam_dataset_check(ds);
    FZ_CHECK(s == LAM_OK, "the reader returned a data set that fails lam_dataset_check: %s",
             lam_last_error());
    FZ_CHECK(ds->n == r->rows_kept && r->rows_kept + r->rows_dropped == r->rows,
             "report %lld kept + %lld dropped != %lld rows, n = %lld", (long long)r->rows_kept,
             (long long)r->rows_dropped, (long long)r->rows, (long long)ds->n);
    FZ_CHECK(ds->nfeat >= 1 && lam_shape_numel(&ds->sample_shape) == ds->nfeat, "bad nfeat");
    fz_touch(ds->x, (size_t)ds->n * (size_t)ds->nfeat * sizeof(float));
    if (ds->feature_names)
        for (int64_t j = 0; j < ds->nfeat; j++) fz_touch(ds->feature_names[j], strlen(ds->feature_names[j]));
    if (o->features_only) {
        FZ_CHECK(!ds->labels && !ds->y && ds->nclasses == 0 && ds->ntargets == 0, "features only has outputs");
    } else if (o->task == LAM_TASK_CLASSIFICATION) {
        FZ_CHECK(ds->labels && ds->nclasses >= 1, "classification without labels");
        if (ds->class_names)
            for (int32_t k = 0; k < ds->nclasses; k++) fz_touch(ds->class_names[k], strlen(ds->class_names[k]));
        if (o->nclasses > 0) FZ_CHECK(ds->nclasses == o->nclasses, "nclasses %d given, %d found", o->nclasses, ds->nclasses);
        int64_t *cnt = calloc((size_t)ds->nclasses, sizeof *cnt);
        FZ_CHECK(cnt && lam_dataset_class_counts(ds, cnt) == LAM_OK, "class counts failed");
        free(cnt);
    } else {
        FZ_CHECK(ds->y && ds->ntargets >= 1, "regression without targets");
        fz_touch(ds->y, (size_t)ds->n * (size_t)ds->ntargets * sizeof(float));
    }
    char buf[256];
    lam_csv_report_str(r, buf, sizeof buf);
}

static void read_with(const char *path, const lam_csv_opts *o)
{
    lam_dataset *ds = (lam_dataset *)&ds;
    lam_csv_report r;
    memset(&r, 0x5a, sizeof r);
    lam_status s = lam_csv_read(path, o, &ds, &r);
    if (s == LAM_OK) {
        check_set(ds, &r, o);
        lam_dataset_free(ds);
        lam_csv_report_clear(&r);
    } else {
        fz_check_failure(s, "lam_csv_read");
        FZ_CHECK(ds == NULL && r.missing_per_col == NULL, "failure left outputs set");
    }
}

FZ_INITIALIZE(FZ_MEM_TRAP, (size_t)256 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t live = fz_live();
    const char *p = fz_write("in.csv", data, size);

    lam_csv_opts o = lam_csv_opts_defaults();
    read_with(p, &o);

    lam_csv_col tgt = {0, "y"}, ign = {0, NULL};
    o = lam_csv_opts_defaults();
    o.task = LAM_TASK_REGRESSION;
    o.header = LAM_CSV_HEADER_YES;
    o.targets = &tgt;
    o.ntargets = 1;
    o.ignore = &ign;
    o.nignore = 1;
    o.missing = LAM_MISSING_MEAN;
    read_with(p, &o);

    o = lam_csv_opts_defaults();
    o.delimiter = ';';
    o.features_only = true;
    o.missing = LAM_MISSING_DROP;
    read_with(p, &o);

    o = lam_csv_opts_defaults();
    o.nclasses = 3;
    o.header = LAM_CSV_HEADER_NO;
    o.label = (lam_csv_col){0, NULL};
    read_with(p, &o);

    int ncols = -1;
    lam_status s = lam_csv_count_columns(p, NULL, &ncols);
    if (s == LAM_OK) FZ_CHECK(ncols >= 1, "count_columns gave %d", ncols);
    else fz_check_failure(s, "lam_csv_count_columns");

    char **names = (char **)&names;
    int32_t k = -7;
    s = lam_csv_read_classes(p, NULL, &names, &k);
    if (s == LAM_OK) {
        FZ_CHECK(k >= 1, "read_classes gave %d classes", (int)k);
        for (int32_t i = 0; names && i < k; i++) fz_touch(names[i], strlen(names[i]));
        lam_csv_names_free(names, k);
    } else {
        fz_check_failure(s, "lam_csv_read_classes");
    }
    FZ_CHECK_NO_LEAK(live);
    return 0;
}
