/* Tests of the time-series reader (text.h): windows and targets, the split
 * by time (cut date, numeric and mixed-separator times, test fraction), the
 * label mode, every malformed case with its line and column, the scaler
 * fitted on training rows only, gzip input, random bytes and every
 * allocation failure.  Debian's seattle-weather.csv (python3-vega-datasets)
 * is checked when it is installed. */
#include "lamina/text.h"
#include "test.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* t,a,b,y,cls with 10 rows: a = i, b = 10 i, y = 100 + i, cls cycles z/x/y */
static const char *make_basic(const char *name)
{
    char text[1024];
    size_t k = (size_t)snprintf(text, sizeof text, "t,a,b,y,cls\n");
    const char *cls[3] = {"z", "x", "y"};
    for (int i = 0; i < 10; i++)
        k += (size_t)snprintf(text + k, sizeof text - k, "2020-01-%02d,%d,%d,%d,%s\n", i + 1, i,
                              10 * i, 100 + i, cls[i % 3]);
    return t_write_file(name, text);
}

static const char *const feats_ab[2] = {"a", "b"};

static lam_timeseries_opts basic_opts(void)
{
    lam_timeseries_opts o = lam_timeseries_opts_defaults();
    o.features = feats_ab;
    o.nfeatures = 2;
    o.target = "y";
    o.window = 3;
    o.horizon = 2;
    o.time_column = "t";
    return o;
}

static void test_windows(void)
{
    uint64_t live0 = t_live_bytes();
    const char *p = make_basic("basic.csv");
    lam_timeseries_opts o = basic_opts();
    o.test_fraction = 0.3;
    lam_dataset *tr = NULL, *te = NULL;
    lam_timeseries_info info;
    CHECK_OK(lam_timeseries_read(p, &o, &tr, &te, &info));
    if (!tr || !te) return;
    /* samples: 10 - 3 - 2 + 1 = 6; test: ceil(0.3 * 6) = 2 */
    CHECK(tr->n == 4 && te->n == 2 && tr->task == LAM_TASK_REGRESSION && tr->nfeat == 6);
    CHECK(tr->sample_shape.ndim == 2 && tr->sample_shape.d[0] == 3 && tr->sample_shape.d[1] == 2);
    CHECK(info.rows == 10 && info.train_rows_end == 4 - 1 + 3 && info.target_feature == -1);
    CHECK(tr->target_names && !strcmp(tr->target_names[0], "y"));
    bool ok = true;
    for (int64_t i = 0; i < tr->n + te->n; i++) {
        const lam_dataset *d = i < tr->n ? tr : te;
        int64_t r = i < tr->n ? i : i - tr->n;
        for (int w = 0; w < 3; w++) {
            ok &= d->x[r * 6 + w * 2] == (float)(i + w);
            ok &= d->x[r * 6 + w * 2 + 1] == (float)(10 * (i + w));
        }
        ok &= d->y[r] == (float)(100 + i + 3 - 1 + 2); /* the row 2 after the window's last */
    }
    CHECK(ok);
    lam_dataset_free(tr);
    lam_dataset_free(te);
    /* the target may be a feature; test_fraction 0: no test part */
    o.target = "a";
    o.test_fraction = 0;
    CHECK_OK(lam_timeseries_read(p, &o, &tr, NULL, &info));
    CHECK(tr && tr->n == 6 && info.target_feature == 0 && tr->y[0] == 4);
    lam_dataset_free(tr);
    CHECK(lam_timeseries_read(p,
                              &(lam_timeseries_opts){ .features = feats_ab,
                                                      .nfeatures = 2,
                                                      .target = "y",
                                                      .window = 2,
                                                      .horizon = 1,
                                                      .test_fraction = 0.5,
                                                      .delimiter = ',' },
                              &tr, NULL,
                              NULL) == LAM_ERR_ARG); /* a test part but nowhere to put it */
    CHECK(tr == NULL);
    CHECK(t_live_bytes() == live0);
}

static void test_split_by_time(void)
{
    uint64_t live0 = t_live_bytes();
    const char *p = make_basic("basic2.csv");
    lam_timeseries_opts o = basic_opts();
    o.test_from = "2020-01-08";
    lam_dataset *tr = NULL, *te = NULL;
    lam_timeseries_info info;
    CHECK_OK(lam_timeseries_read(p, &o, &tr, &te, &info));
    /* sample i's target is row i + 4 (day i + 5): test when day >= 8, i.e. i >= 3 */
    if (tr && te) CHECK(tr->n == 3 && te->n == 3 && te->y[0] == 107 && info.train_rows_end == 5);
    lam_dataset_free(tr);
    lam_dataset_free(te);
    /* slashes against dashes: 2020/01/07 comes before 2020-01-08 */
    const char *sl =
        t_write_file("slash.csv", "d,v\n2020/01/06,1\n2020/01/07,2\n2020/01/08,3\n2020/01/09,4\n"
                                "2020/01/10,5\n");
    lam_timeseries_opts s = lam_timeseries_opts_defaults();
    s.features = (const char *const[]){"v"};
    s.nfeatures = 1;
    s.target = "v";
    s.window = 1;
    s.time_column = "d";
    s.test_from = "2020-01-08";
    CHECK_OK(lam_timeseries_read(sl, &s, &tr, &te, NULL));
    if (tr && te) CHECK(tr->n == 1 && te->n == 3 && te->y[0] == 3); /* targets days 7 | 8, 9, 10 */
    lam_dataset_free(tr);
    lam_dataset_free(te);
    /* numbers compare as numbers: 9 < 10 */
    const char *num = t_write_file("num.csv", "step,v\n8,1\n9,2\n10,3\n11,4\n12,5\n");
    s.time_column = "step";
    s.test_from = "10";
    CHECK_OK(lam_timeseries_read(num, &s, &tr, &te, NULL));
    if (tr && te) CHECK(tr->n == 1 && te->n == 3);
    lam_dataset_free(tr);
    lam_dataset_free(te);
    /* every target in the test period, or none: an empty part */
    s.test_from = "0";
    CHECK(lam_timeseries_read(num, &s, &tr, &te, NULL) == LAM_ERR_FORMAT && tr == NULL &&
          te == NULL);
    s.test_from = "99";
    CHECK(lam_timeseries_read(num, &s, &tr, &te, NULL) == LAM_ERR_FORMAT && t_err_has("test_from"));
    CHECK(t_live_bytes() == live0);
}

static void test_label_mode(void)
{
    uint64_t live0 = t_live_bytes();
    const char *p = make_basic("basic3.csv");
    lam_timeseries_opts o = basic_opts();
    o.target = NULL;
    o.label = "cls";
    o.test_fraction = 0.25;
    lam_dataset *tr = NULL, *te = NULL;
    CHECK_OK(lam_timeseries_read(p, &o, &tr, &te, NULL));
    if (tr && te) {
        /* 10 - 3 + 1 = 8 samples; the class of the window's last row; classes x < y < z */
        CHECK(tr->n == 6 && te->n == 2 && tr->task == LAM_TASK_CLASSIFICATION && tr->nclasses == 3);
        CHECK(!strcmp(tr->class_names[0], "x") && !strcmp(te->class_names[2], "z"));
        static const int32_t want[8] = {1, 2, 0, 1, 2, 0, 1, 2}; /* rows 2..9: y z x y z x y z */
        for (int64_t i = 0; i < 8; i++)
            CHECK((i < 6 ? tr->labels[i] : te->labels[i - 6]) == want[i]);
    }
    lam_dataset_free(tr);
    lam_dataset_free(te);
    CHECK(t_live_bytes() == live0);
}

static void expect_fail(const char *name, const char *text, const lam_timeseries_opts *o,
                        lam_status want, const char *needle)
{
    lam_dataset *tr = (lam_dataset *)1, *te = (lam_dataset *)1;
    lam_timeseries_info info = {.rows = 77};
    lam_status st = lam_timeseries_read(t_write_file(name, text), o, &tr, &te, &info);
    CHECK_MSG(st == want, "%s: got %s (%s)", name, lam_status_str(st), lam_last_error());
    CHECK(tr == NULL && te == NULL && info.rows == 0);
    if (needle)
        CHECK_MSG(t_err_has(needle), "%s: message lacks \"%s\": %s", name, needle, lam_last_error());
}

static void test_malformed(void)
{
    uint64_t live0 = t_live_bytes();
    lam_timeseries_opts o = basic_opts();
    o.window = 1;
    o.horizon = 1;
    const char *hdr = "t,a,b,y\n";
    char buf[512];
#define CASE(name, body, want, needle)                   \
    do {                                                 \
        snprintf(buf, sizeof buf, "%s%s", hdr, body);    \
        expect_fail(name, buf, &o, want, needle);        \
    } while (0)
    CASE("order.csv", "2020-01-02,1,2,3\n2020-01-01,1,2,3\n2020-01-03,1,2,3\n", LAM_ERR_FORMAT,
         "order.csv:3:1: time \"2020-01-01\" comes before \"2020-01-02\" of line 2");
    CASE("nonnum.csv", "2020-01-01,1,2,3\n2020-01-02,1,abc,3\n2020-01-03,1,2,3\n", LAM_ERR_FORMAT,
         "nonnum.csv:3:14: column 'b': expected a number, found \"abc\"");
    CASE("target.csv", "2020-01-01,1,2,3\n2020-01-02,1,2,x\n", LAM_ERR_FORMAT,
         "target.csv:3:16: column 'y'");
    CASE("missing.csv", "2020-01-01,1,2,3\n2020-01-02,,2,3\n", LAM_ERR_FORMAT,
         "missing.csv:3:12: column 'a': missing");
    CASE("na.csv", "2020-01-01,1,2,3\n2020-01-02,NA,2,3\n", LAM_ERR_FORMAT, "na.csv:3:12");
    CASE("inf.csv", "2020-01-01,1,2,3\n2020-01-02,1e999,2,3\n", LAM_ERR_FORMAT, "finite");
    CASE("fields.csv", "2020-01-01,1,2,3\n2020-01-02,1,2\n", LAM_ERR_FORMAT,
         "fields.csv:3: expected 4 fields");
    CASE("toomany.csv", "2020-01-01,1,2,3,4\n", LAM_ERR_FORMAT, "toomany.csv:2: expected 4 fields");
    CASE("notime.csv", "2020-01-01,1,2,3\n,1,2,3\n", LAM_ERR_FORMAT,
         "notime.csv:3:1: the time is empty");
    CASE("short.csv", "2020-01-01,1,2,3\n", LAM_ERR_FORMAT, "1 rows are too few");
    CASE("quote.csv", "2020-01-01,\"1,2,3\n", LAM_ERR_FORMAT, "never closed");
    expect_fail("empty.csv", "", &o, LAM_ERR_FORMAT, "empty");
    expect_fail("hdronly.csv", "t,a,b,y\n", &o, LAM_ERR_FORMAT, "0 rows");
    expect_fail("nocol.csv", "t,a,c,y\n2020,1,2,3\n", &o, LAM_ERR_ARG,
                "no feature column named 'b'");
    expect_fail("twice.csv", "t,a,b,y,a\n2020,1,2,3,4\n", &o, LAM_ERR_ARG, "appears twice");
    expect_fail("nofile.csv", "", &(lam_timeseries_opts){0}, LAM_ERR_ARG, NULL);
    /* bad options */
    lam_timeseries_opts b = o;
    b.label = "y";
    expect_fail("opts1.csv", "t,a,b,y\n", &b, LAM_ERR_ARG, "exactly one");
    b = o;
    b.window = 0;
    expect_fail("opts2.csv", "t,a,b,y\n", &b, LAM_ERR_ARG, "window");
    b = o;
    b.time_column = NULL;
    b.test_from = "2020";
    expect_fail("opts3.csv", "t,a,b,y\n", &b, LAM_ERR_ARG, "time_column");
    b = o;
    b.test_fraction = 1;
    expect_fail("opts4.csv", "t,a,b,y\n", &b, LAM_ERR_ARG, "test_fraction");
    b = o;
    b.window = INT32_MAX / 2 + 1; /* window x features above INT32_MAX: refused before reading */
    expect_fail("opts7.csv", "t,a,b,y\n", &b, LAM_ERR_ARG, "too large");
    b = o;
    b.nfeatures = 0;
    expect_fail("opts5.csv", "t,a,b,y\n", &b, LAM_ERR_ARG, "feature");
    b = o;
    b.label = "nope";
    b.target = NULL;
    expect_fail("opts6.csv", "t,a,b,y\n2020,1,2,3\n", &b, LAM_ERR_ARG, "label column named 'nope'");
    /* an empty class label */
    b = o;
    b.target = NULL;
    b.label = "y";
    expect_fail("nolabel.csv", "t,a,b,y\n2020,1,2,up\n2021,1,2,\n", &b, LAM_ERR_FORMAT,
                "nolabel.csv:3:10");
#undef CASE
    CHECK(t_live_bytes() == live0);
}

/* Column means and population standard deviations of rows [0, end) of the
 * feature values, in double (reference for the scaler). */
static void ref_stats(const double *v, int64_t end, int F, double *mean, double *sd)
{
    for (int f = 0; f < F; f++) {
        double s = 0, ss = 0;
        for (int64_t r = 0; r < end; r++) s += v[r * F + f];
        mean[f] = s / (double)end;
        for (int64_t r = 0; r < end; r++) ss += (v[r * F + f] - mean[f]) * (v[r * F + f] - mean[f]);
        sd[f] = sqrt(ss / (double)end);
        if (sd[f] == 0) sd[f] = 1;
    }
}

static void test_scaler(void)
{
    uint64_t live0 = t_live_bytes();
    /* two files equal up to the test period, wildly different after it */
    char a[4096], b[4096];
    size_t ka = 0, kb = 0;
    double vals[40 * 2];
    ka += (size_t)snprintf(a + ka, sizeof a - ka, "d,p,q\n");
    kb += (size_t)snprintf(b + kb, sizeof b - kb, "d,p,q\n");
    for (int i = 0; i < 40; i++) {
        double p = (i * 37 % 11) * 0.5, q = 3 + (i % 4);
        vals[i * 2] = p, vals[i * 2 + 1] = q;
        ka += (size_t)snprintf(a + ka, sizeof a - ka, "%04d,%g,%g\n", i, p, q);
        kb += (size_t)snprintf(b + kb, sizeof b - kb, "%04d,%g,%g\n", i, i >= 30 ? p * 1000 : p,
                               i >= 30 ? -q : q);
    }
    lam_timeseries_opts o = lam_timeseries_opts_defaults();
    o.features = (const char *const[]){"p", "q"};
    o.nfeatures = 2;
    o.target = "p";
    o.window = 5;
    o.horizon = 1;
    o.time_column = "d";
    o.test_from = "0030";
    lam_dataset *tr1 = NULL, *te1 = NULL, *tr2 = NULL, *te2 = NULL;
    lam_timeseries_info i1, i2;
    CHECK_OK(lam_timeseries_read(t_write_file("sa.csv", a), &o, &tr1, &te1, &i1));
    CHECK_OK(lam_timeseries_read(t_write_file("sb.csv", b), &o, &tr2, &te2, &i2));
    lam_scaler *s1 = NULL, *s2 = NULL;
    if (tr1 && tr2) {
        /* the training targets end before row 30: the training windows' rows end at 29 */
        CHECK(i1.train_rows_end == 29 && tr1->n == 25 && te1->n == 40 - 5 - 1 + 1 - 25);
        CHECK_OK(lam_timeseries_fit_scaler(tr1, 5, 2, &s1));
        CHECK_OK(lam_timeseries_fit_scaler(tr2, 5, 2, &s2));
    }
    if (s1 && s2) {
        const float *sh1, *sc1, *sh2, *sc2;
        int64_t n1, n2;
        lam_scaler_params(s1, &sh1, &sc1, &n1);
        lam_scaler_params(s2, &sh2, &sc2, &n2);
        CHECK(n1 == 10 && n2 == 10);
        CHECK(memcmp(sh1, sh2, 10 * sizeof(float)) == 0 &&
              memcmp(sc1, sc2, 10 * sizeof(float)) == 0);
        double mean[2], sd[2];
        ref_stats(vals, i1.train_rows_end, 2, mean, sd);
        for (int w = 0; w < 5; w++)
            for (int f = 0; f < 2; f++) {
                CHECK_NEAR(sh1[w * 2 + f], mean[f], 1e-6, 1e-6);
                CHECK_NEAR(sc1[w * 2 + f], sd[f], 1e-6, 1e-6);
            }
        /* the test period's rows would change it */
        double m2[2], sd2[2];
        ref_stats(vals, 40, 2, m2, sd2);
        CHECK(fabs(m2[0] - mean[0]) > 1e-3 || fabs(sd2[0] - sd[0]) > 1e-3);
        CHECK_OK(lam_scaler_apply(s1, tr1));
    }
    /* shuffled samples are not consecutive windows */
    lam_dataset *sh = NULL;
    if (tr1) CHECK_OK(lam_dataset_subset(tr1, (uint32_t[]){3, 1, 2}, 3, &sh));
    lam_scaler *bad = (lam_scaler *)1;
    if (sh)
        CHECK(lam_timeseries_fit_scaler(sh, 5, 2, &bad) == LAM_ERR_ARG && bad == NULL &&
              t_err_has("one row apart"));
    CHECK(lam_timeseries_fit_scaler(tr1, 4, 2, &bad) == LAM_ERR_ARG);
    CHECK(lam_timeseries_fit_scaler(NULL, 5, 2, &bad) == LAM_ERR_ARG);
    lam_dataset_free(sh);
    lam_scaler_free(s1);
    lam_scaler_free(s2);
    lam_dataset_free(tr1);
    lam_dataset_free(te1);
    lam_dataset_free(tr2);
    lam_dataset_free(te2);
    CHECK(t_live_bytes() == live0);
}

static void test_gzip_and_garbage(void)
{
    uint64_t live0 = t_live_bytes();
    const char *p = t_tpath("g.csv.gz");
    gzFile g = gzopen(p, "wb");
    if (g) {
        gzputs(g, "t,a,b,y\n1,1,2,3\n2,4,5,6\n3,7,8,9\n");
        gzclose(g);
    }
    lam_timeseries_opts o = basic_opts();
    o.window = 1;
    o.horizon = 1;
    o.test_fraction = 0.5;
    lam_dataset *tr = NULL, *te = NULL;
    CHECK_OK(lam_timeseries_read(p, &o, &tr, &te, NULL));
    if (tr && te) CHECK(tr->n == 1 && te->n == 1 && tr->y[0] == 6 && te->x[1] == 5);
    lam_dataset_free(tr);
    lam_dataset_free(te);
    lam_rng r;
    lam_rng_seed(&r, 4242);
    static char buf[2048];
    const char alphabet[] = "tab,y12.\n\"-e";
    for (int it = 0; it < 200; it++) {
        size_t n = lam_rng_below(&r, sizeof buf - 16);
        size_t k = (size_t)snprintf(buf, sizeof buf, "t,a,b,y\n");
        for (size_t i = 0; i < n; i++)
            buf[k + i] = it % 2 ? (char)(1 + lam_rng_below(&r, 255))
                                : alphabet[lam_rng_below(&r, sizeof alphabet - 1)];
        buf[k + n] = 0;
        tr = te = NULL;
        lam_status st = lam_timeseries_read(t_write_file("garbage.csv", buf), &o, &tr, &te, NULL);
        CHECK_MSG(st == LAM_OK || st == LAM_ERR_FORMAT, "it %d: %s", it, lam_last_error());
        if (st == LAM_OK) CHECK(lam_dataset_check(tr) == LAM_OK);
        else CHECK(tr == NULL && te == NULL);
        lam_dataset_free(tr);
        lam_dataset_free(te);
    }
    CHECK(t_live_bytes() == live0);
}

static void test_alloc_failures(void)
{
    const char *p = make_basic("sweep.csv");
    for (int mode = 0; mode < 2; mode++) {
        lam_timeseries_opts o = basic_opts();
        if (mode) {
            o.target = NULL;
            o.label = "cls";
        }
        o.test_from = "2020-01-08";
        int okays = 0;
        for (uint64_t n = 1; n < 300 && !okays; n++) {
            uint64_t live0 = t_live_bytes();
            lam_dataset *tr = NULL, *te = NULL;
            lam_scaler *s = NULL;
            lam_alloc_fail_after(n);
            lam_status st = lam_timeseries_read(p, &o, &tr, &te, NULL);
            if (st == LAM_OK) st = lam_timeseries_fit_scaler(tr, 3, 2, &s);
            lam_alloc_fail_after(0);
            if (st == LAM_OK) okays++;
            else
                CHECK_MSG(st == LAM_ERR_NOMEM, "n=%d: %s %s", (int)n, lam_status_str(st),
                          lam_last_error());
            if (st != LAM_OK) CHECK(s == NULL);
            lam_scaler_free(s);
            lam_dataset_free(tr);
            lam_dataset_free(te);
            CHECK_MSG(t_live_bytes() == live0, "n=%d leaked", (int)n);
        }
        CHECK(okays == 1);
    }
}

/* Read column `col` (0-based) of every data row of a simple CSV (no quotes). */
static int read_column(const char *path, int col, char out[][32], int max)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[512];
    int n = 0;
    if (!fgets(line, sizeof line, f)) n = -1;
    while (n >= 0 && n < max && fgets(line, sizeof line, f)) {
        char *s = line;
        for (int c = 0; c < col && s; c++) s = strchr(s, ',') ? strchr(s, ',') + 1 : NULL;
        if (!s) continue;
        size_t k = strcspn(s, ",\n");
        snprintf(out[n++], 32, "%.*s", (int)k, s);
    }
    fclose(f);
    return n;
}

static void test_seattle(void)
{
    const char *path = "/usr/lib/python3/dist-packages/vega_datasets/_data/seattle-weather.csv";
    struct stat sb;
    if (stat(path, &sb) != 0) {
        printf("# note: %s is missing (apt-get install python3-vega-datasets); not checked\n",
               path);
        return;
    }
    uint64_t live0 = t_live_bytes();
    static char dates[4000][32], tmax[4000][32];
    int rows = read_column(path, 0, dates, 4000);
    CHECK(read_column(path, 2, tmax, 4000) == rows);
    int in2015 = 0, first2015 = -1;
    for (int i = 0; i < rows; i++)
        if (!strncmp(dates[i], "2015", 4)) {
            in2015++;
            if (first2015 < 0) first2015 = i;
        }
    bool covers =
        rows > 0 && !strcmp(dates[0], "2012/01/01") && !strcmp(dates[rows - 1], "2015/12/31");
    lam_timeseries_opts o = lam_timeseries_opts_defaults();
    o.features = (const char *const[]){"precipitation", "temp_max", "temp_min", "wind"};
    o.nfeatures = 4;
    o.target = "temp_max";
    o.window = 14;
    o.horizon = 1;
    o.time_column = "date";
    o.test_from = "2015-01-01";
    lam_dataset *tr = NULL, *te = NULL;
    lam_timeseries_info info;
    CHECK_OK(lam_timeseries_read(path, &o, &tr, &te, &info));
    if (tr && te) {
        printf("# seattle-weather: %d rows (%s .. %s), %lld training and %lld test samples\n", rows,
               dates[0], dates[rows - 1], (long long)tr->n, (long long)te->n);
        CHECK(info.rows == rows && info.target_feature == 1);
        CHECK(te->n == in2015);
        if (covers) CHECK(te->n == 365 && rows == 1461);
        CHECK(tr->n + te->n == rows - 14 - 1 + 1);
        /* the first test target is temp_max of the first 2015 day, the
         * last training target that of the day before */
        CHECK(first2015 > 0 && te->y[0] == strtof(tmax[first2015], NULL));
        CHECK(tr->y[tr->n - 1] == strtof(tmax[first2015 - 1], NULL));
        CHECK(te->x[13 * 4 + 1] ==
              strtof(tmax[first2015 - 1], NULL)); /* its window ends the day before */
        lam_scaler *s = NULL;
        CHECK_OK(lam_timeseries_fit_scaler(tr, 14, 4, &s));
        lam_scaler_free(s);
    }
    lam_dataset_free(tr);
    lam_dataset_free(te);
    /* the weather column as the class */
    o.target = NULL;
    o.label = "weather";
    CHECK_OK(lam_timeseries_read(path, &o, &tr, &te, &info));
    if (tr && te) {
        CHECK(tr->nclasses == 5 && te->nclasses == 5);
        const char *w[5] = {"drizzle", "fog", "rain", "snow", "sun"};
        for (int k = 0; k < 5 && k < tr->nclasses; k++) CHECK(!strcmp(tr->class_names[k], w[k]));
        CHECK(te->n == in2015); /* the window's last day in 2015 */
    }
    lam_dataset_free(tr);
    lam_dataset_free(te);
    CHECK(t_live_bytes() == live0);
}

int main(void)
{
    if (!t_mkdtemp("/tmp/lamina_test_ts_XXXXXX")) return 1;
    RUN(test_windows);
    RUN(test_split_by_time);
    RUN(test_label_mode);
    RUN(test_malformed);
    RUN(test_scaler);
    RUN(test_gzip_and_garbage);
    RUN(test_alloc_failures);
    RUN(test_seattle);
    t_rm_tree(t_tmpdir);
    TEST_MAIN_END;
}
