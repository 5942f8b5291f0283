/* Tests of the CSV reader (src/data/csv*.c): every option, header and
 * quoting rules, numbers, gzip, column choice, regression targets, missing
 * values, labels, every malformed case with its line and column, fault
 * injection, garbage input, files to predict on (features only), and the
 * shipped digits.  Fixtures are written to a temporary directory.  Data
 * sets, scalers, splits and the loader: tests/test_data.c. */
#include "lamina/data.h"
#include "test.h"

/* Read text with opts; NULL on failure (reported). */
static lam_dataset *read_text(const char *name, const char *text, const lam_csv_opts *o,
                              lam_csv_report *rep)
{
    lam_dataset *ds = NULL;
    const char *p = t_write_file(name, text);
    lam_status st = lam_csv_read(p, o, &ds, rep);
    CHECK_MSG(st == LAM_OK, "%s: %s %s", name, lam_status_str(st), lam_last_error());
    return ds;
}

/* Expect lam_csv_read of text to fail with status `want` and a message
 * containing "<path>:<where>" (where may be "" to check only the path). */
static void expect_fail(const char *name, const char *text, const lam_csv_opts *o,
                        lam_status want, const char *where)
{
    lam_dataset *ds = (lam_dataset *)1;
    const char *p = t_write_file(name, text);
    char loc[300];
    snprintf(loc, sizeof loc, "%s%s", p, where);
    lam_csv_report rep;
    lam_status st = lam_csv_read(p, o, &ds, &rep);
    CHECK_MSG(st == want, "%s: got %s (%s), want %s", name, lam_status_str(st), lam_last_error(),
              lam_status_str(want));
    CHECK(ds == NULL);
    CHECK(rep.missing_per_col == NULL);
    if (want != LAM_ERR_ARG || where[0])
        CHECK_MSG(t_err_has(loc), "%s: message lacks \"%s\": %s", name, loc, lam_last_error());
    if (st == LAM_OK) lam_dataset_free(ds);
}

/* ---- CSV ---------------------------------------------------------------- */

static void test_csv_basic(void)
{
    uint64_t live0 = t_live_bytes();
    lam_csv_report rep;
    lam_dataset *ds = read_text("basic.csv", "1,2,0\n3,4.5,1\n-5,6e1,2\n", NULL, &rep);
    if (ds) {
        CHECK(ds->n == 3 && ds->nfeat == 2 && ds->nclasses == 3);
        CHECK(ds->task == LAM_TASK_CLASSIFICATION && ds->y == NULL);
        CHECK(ds->class_names == NULL && ds->feature_names == NULL);
        CHECK(ds->x[0] == 1 && ds->x[3] == 4.5f && ds->x[4] == -5 && ds->x[5] == 60);
        CHECK(ds->labels[0] == 0 && ds->labels[1] == 1 && ds->labels[2] == 2);
        CHECK(ds->sample_shape.ndim == 1 && ds->sample_shape.d[0] == 2);
        CHECK(rep.rows == 3 && rep.rows_kept == 3 && rep.ncols == 3 && !rep.header && !rep.gzip);
        CHECK(rep.missing_per_col && rep.missing_per_col[0] == 0);
        char buf[200];
        CHECK(strstr(lam_csv_report_str(&rep, buf, sizeof buf), "3 rows x 3 columns") != NULL);
    }
    lam_csv_report_clear(&rep);
    lam_dataset_free(ds);
    /* no trailing newline; lone CR line ends; blank trailing lines */
    ds = read_text("nonl.csv", "1,2,0\n3,4,1", NULL, NULL);
    CHECK(ds && ds->n == 2 && ds->x[3] == 4);
    lam_dataset_free(ds);
    ds = read_text("cr.csv", "1,2,0\r3,4,1\r", NULL, NULL);
    CHECK(ds && ds->n == 2 && ds->labels[1] == 1);
    lam_dataset_free(ds);
    ds = read_text("blank.csv", "1,2,0\n\n3,4,1\n\n\r\n  \n", NULL, NULL);
    CHECK(ds && ds->n == 2);
    lam_dataset_free(ds);
    CHECK(t_live_bytes() == live0);
}

static void test_csv_header_and_quotes(void)
{
    uint64_t live0 = t_live_bytes();
    lam_csv_report rep;
    /* BOM, CRLF, quoted names and values, escaped quotes, spaces, string labels */
    const char *text = "\xEF\xBB\xBF\"x,1\", y ,class\r\n"
                       " 1.5 ,\"2\",\"a,b\"\r\n"
                       "3,4,\"say \"\"hi\"\"\"\r\n"
                       "5,6, \"a,b\" \r\n\r\n\r\n";
    lam_dataset *ds = read_text("quotes.csv", text, NULL, &rep);
    if (ds) {
        CHECK(rep.header && ds->n == 3 && ds->nfeat == 2 && ds->nclasses == 2);
        CHECK(ds->feature_names && strcmp(ds->feature_names[0], "x,1") == 0 &&
              strcmp(ds->feature_names[1], "y") == 0);
        CHECK(ds->class_names && strcmp(ds->class_names[0], "a,b") == 0 &&
              strcmp(ds->class_names[1], "say \"hi\"") == 0);
        CHECK(ds->labels[0] == 0 && ds->labels[1] == 1 && ds->labels[2] == 0);
        CHECK(ds->x[0] == 1.5f && ds->x[1] == 2 && ds->x[5] == 6);
    }
    lam_csv_report_clear(&rep);
    lam_dataset_free(ds);
    /* a quoted field spanning lines; the line count continues correctly */
    ds = read_text("multiline.csv", "a,b,c\n1,2,\"x\ny\"\n3,4,z\n", NULL, NULL);
    CHECK(ds && ds->n == 2 && ds->class_names && strcmp(ds->class_names[0], "x\ny") == 0);
    lam_dataset_free(ds);
    expect_fail("multiline_bad.csv", "a,b,c\n1,2,\"x\ny\"\n3,q,z\n", NULL, LAM_ERR_FORMAT, ":4:3");
    /* header with numeric-looking feature names: detected through the label */
    ds = read_text("numhead.csv", "0,1,target\n1,2,0\n3,4,1\n", NULL, &rep);
    CHECK(ds && rep.header && ds->n == 2 && ds->nclasses == 2 && ds->class_names == NULL);
    lam_csv_report_clear(&rep);
    lam_dataset_free(ds);
    /* string labels without a header: not mistaken for one */
    ds = read_text("iris.csv", "5.1,3.5,setosa\n4.9,3.0,versicolor\n6.3,2.9,virginica\n", NULL,
                   &rep);
    CHECK(ds && !rep.header && ds->n == 3 && ds->nclasses == 3);
    if (ds) CHECK(strcmp(ds->class_names[2], "virginica") == 0 && ds->labels[1] == 1);
    lam_csv_report_clear(&rep);
    lam_dataset_free(ds);
    /* explicit header = yes / no */
    lam_csv_opts o = lam_csv_opts_defaults();
    o.header = LAM_CSV_HEADER_YES;
    ds = read_text("hyes.csv", "1,2,3\n4,5,0\n", &o, NULL);
    CHECK(ds && ds->n == 1 && ds->feature_names && strcmp(ds->feature_names[1], "2") == 0);
    lam_dataset_free(ds);
    o.header = LAM_CSV_HEADER_NO;
    expect_fail("hno.csv", "a,b,c\n4,5,0\n", &o, LAM_ERR_FORMAT, ":1:1");
    CHECK(t_err_has("header = yes"));
    /* other delimiters */
    o = lam_csv_opts_defaults();
    o.delimiter = ';';
    ds = read_text("semi.csv", "a;b;c\n1.5;2;x\n", &o, NULL);
    CHECK(ds && ds->n == 1 && ds->x[0] == 1.5f);
    lam_dataset_free(ds);
    o.delimiter = '\t';
    ds = read_text("tab.tsv", "1\t 2\t0\n3\t4\t1\n", &o, NULL);
    CHECK(ds && ds->n == 2 && ds->x[1] == 2);
    lam_dataset_free(ds);
    CHECK(t_live_bytes() == live0);
}

/* Numbers read from CSV equal (float)strtod of their text, bit for bit, for
 * every spelling (the reader has a fast path for plain decimals). */
static void test_csv_numbers(void)
{
    uint64_t live0 = t_live_bytes();
    enum { N = 3000 };
    static char text[N * 40];
    static char vals[N][32];
    lam_rng r;
    lam_rng_seed(&r, 2024);
    size_t k = 0;
    for (int i = 0; i < N; i++) {
        double v = (lam_rng_uniform_d(&r) - 0.5) * pow(10.0, (int)lam_rng_below(&r, 30) - 15);
        switch (i % 6) {
        case 0: snprintf(vals[i], 32, "%.17g", v); break;
        case 1: snprintf(vals[i], 32, "%.4f", v); break;
        case 2: snprintf(vals[i], 32, "%.9e", v); break;
        case 3: snprintf(vals[i], 32, "%d", (int)lam_rng_below(&r, 100000) - 50000); break;
        case 4: snprintf(vals[i], 32, "+%.3E", fabs(v)); break;
        default: snprintf(vals[i], 32, "%.25f", v); break;
        }
        k += (size_t)snprintf(text + k, sizeof text - k, "%s,0\n", vals[i]);
    }
    lam_dataset *ds = read_text("numbers.csv", text, NULL, NULL);
    int bad = 0;
    for (int i = 0; ds && i < N; i++) {
        float want = (float)strtod(vals[i], NULL);
        if (memcmp(&want, &ds->x[i], sizeof want) != 0 && bad++ < 5)
            fprintf(stderr, "  %s -> %.9g, strtod %.9g\n", vals[i], ds->x[i], want);
    }
    CHECK(ds && bad == 0);
    lam_dataset_free(ds);
    CHECK(t_live_bytes() == live0);
}

static void test_csv_gzip(void)
{
    uint64_t live0 = t_live_bytes();
    lam_csv_report rep;
    const char *small = "f1,f2,label\n1,2,b\n3,4,a\n";
    const char *p = t_write_gz("small.csv.gz", small, strlen(small));
    lam_dataset *ds = NULL;
    CHECK_OK(lam_csv_read(p, NULL, &ds, &rep));
    if (ds) {
        CHECK(rep.gzip && rep.header && ds->n == 2 && ds->labels[0] == 1);
        CHECK(strcmp(ds->class_names[0], "a") == 0);
    }
    lam_csv_report_clear(&rep);
    lam_dataset_free(ds);
    /* truncated gzip stream: a clean error, not a crash */
    char big[20000];
    size_t k = 0;
    for (int i = 0; k + 40 < sizeof big; i++)
        k += (size_t)snprintf(big + k, sizeof big - k, "%d,%d,%d\n", i * 7919 % 1000, i, i % 3);
    p = t_write_gz("trunc.csv.gz", big, strlen(big));
    FILE *f = fopen(p, "rb");
    unsigned char buf[20000];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    t_write_bytes("trunc.csv.gz", buf, n / 2);
    ds = NULL;
    lam_status st = lam_csv_read(p, NULL, &ds, NULL);
    CHECK_MSG(st == LAM_ERR_FORMAT, "%s %s", lam_status_str(st), lam_last_error());
    CHECK(ds == NULL && t_err_has("gzip"));
    CHECK(t_live_bytes() == live0);
}

static void test_csv_columns(void)
{
    uint64_t live0 = t_live_bytes();
    const char *text = "id,label,a,b,note\n"
                       "x1,1,0.5,1.5,hello\n"
                       "x2,0,2.5,3.5,world\n";
    lam_csv_opts o = lam_csv_opts_defaults();
    lam_csv_col ign[2] = {{0, NULL}, {0, "note"}};
    o.label = (lam_csv_col){1, NULL};
    o.ignore = ign;
    o.nignore = 2;
    lam_dataset *ds = read_text("cols.csv", text, &o, NULL);
    if (ds) {
        CHECK(ds->nfeat == 2 && ds->n == 2 && ds->labels[0] == 1 && ds->x[2] == 2.5f);
        CHECK(strcmp(ds->feature_names[0], "a") == 0 && strcmp(ds->feature_names[1], "b") == 0);
    }
    lam_dataset_free(ds);
    o.label = (lam_csv_col){0, "label"};
    ign[0] = (lam_csv_col){-5, NULL};
    ds = read_text("cols2.csv", text, &o, NULL);
    CHECK(ds && ds->nfeat == 2 && ds->labels[1] == 0);
    lam_dataset_free(ds);
    /* errors: a name not in the header, an index out of range, label ignored */
    o.label = (lam_csv_col){0, "species"};
    expect_fail("cols3.csv", text, &o, LAM_ERR_ARG, ":1:");
    CHECK(t_err_has("species") && t_err_has("'label'"));
    o.label = (lam_csv_col){7, NULL};
    o.nignore = 0;
    expect_fail("cols4.csv", "1,2,3\n", &o, LAM_ERR_ARG, "");
    CHECK(t_err_has("out of range") && t_err_has("3 columns"));
    o.label = (lam_csv_col){0, NULL};
    ign[0] = (lam_csv_col){0, NULL};
    o.nignore = 1;
    expect_fail("cols5.csv", "1,2,3\n", &o, LAM_ERR_ARG, "");
    o = lam_csv_opts_defaults();
    o.header = LAM_CSV_HEADER_NO;
    o.label = (lam_csv_col){0, "label"};
    expect_fail("cols6.csv", text, &o, LAM_ERR_ARG, "");
    /* lam_csv_col_parse */
    lam_csv_col c = lam_csv_col_parse("-2");
    CHECK(c.name == NULL && c.index == -2);
    c = lam_csv_col_parse("species");
    CHECK(c.name && strcmp(c.name, "species") == 0);
    c = lam_csv_col_parse("3x");
    CHECK(c.name != NULL);
    CHECK(t_live_bytes() == live0);
}

static void test_csv_regression(void)
{
    uint64_t live0 = t_live_bytes();
    lam_csv_opts o = lam_csv_opts_defaults();
    o.task = LAM_TASK_REGRESSION;
    lam_dataset *ds = read_text("reg1.csv", "x1,x2,y\n1,2,0.5\n3,4,-1.25\n", &o, NULL);
    if (ds) {
        CHECK(ds->task == LAM_TASK_REGRESSION && ds->labels == NULL && ds->ntargets == 1);
        CHECK(ds->nfeat == 2 && ds->y[0] == 0.5f && ds->y[1] == -1.25f);
        CHECK(ds->target_names && strcmp(ds->target_names[0], "y") == 0);
    }
    lam_dataset_free(ds);
    lam_csv_col t[2] = {{0, "t2"}, {1, NULL}};
    o.targets = t;
    o.ntargets = 2;
    ds = read_text("reg2.csv", "x,t1,t2,z\n1,2,3,4\n5,6,7,8\n", &o, NULL);
    if (ds) {
        CHECK(ds->ntargets == 2 && ds->nfeat == 2);
        CHECK(ds->y[0] == 3 && ds->y[1] == 2 && ds->y[2] == 7 && ds->y[3] == 6);
        CHECK(ds->x[0] == 1 && ds->x[1] == 4 && ds->x[3] == 8);
        CHECK(strcmp(ds->target_names[0], "t2") == 0 && strcmp(ds->feature_names[1], "z") == 0);
    }
    lam_dataset_free(ds);
    t[1] = (lam_csv_col){2, NULL}; /* t2 twice */
    expect_fail("reg3.csv", "x,t1,t2,z\n1,2,3,4\n", &o, LAM_ERR_ARG, "");
    o.ntargets = 0;
    expect_fail("reg4.csv", "1,2\n3,abc\n", &o, LAM_ERR_FORMAT, ":2:3");
    CHECK(t_live_bytes() == live0);
}

static void test_csv_missing(void)
{
    uint64_t live0 = t_live_bytes();
    const char *text = "1,NA,0\n2,3,1\n?,5,0\n4,,1\n";
    lam_csv_opts o = lam_csv_opts_defaults();
    expect_fail("miss1.csv", text, &o, LAM_ERR_FORMAT, ":1:3");
    CHECK(t_err_has("missing value") && t_err_has("NA"));
    o.missing = LAM_MISSING_DROP;
    lam_csv_report rep;
    lam_dataset *ds = read_text("miss2.csv", text, &o, &rep);
    if (ds) {
        CHECK(ds->n == 1 && ds->x[0] == 2 && ds->x[1] == 3 && ds->labels[0] == 0);
        CHECK(ds->nclasses == 1); /* only label "1" left: mapped, kept by name */
        CHECK(rep.rows == 4 && rep.rows_dropped == 3 && rep.values_imputed == 0);
        CHECK(rep.missing_per_col[0] == 1 && rep.missing_per_col[1] == 2 &&
              rep.missing_per_col[2] == 0);
    }
    lam_csv_report_clear(&rep);
    lam_dataset_free(ds);
    o.missing = LAM_MISSING_MEAN;
    ds = read_text("miss3.csv", text, &o, &rep);
    if (ds) {
        CHECK(ds->n == 4 && rep.values_imputed == 3 && rep.rows_dropped == 0);
        CHECK_NEAR(ds->x[4], 7.0 / 3.0, 1e-6, 0);
        CHECK(ds->x[1] == 4 && ds->x[7] == 4 && ds->x[0] == 1);
        CHECK(rep.missing_per_col[0] == 1 && rep.missing_per_col[1] == 2);
    }
    lam_csv_report_clear(&rep);
    lam_dataset_free(ds);
    /* missing labels: an error under ERROR and MEAN, dropped under DROP */
    expect_fail("miss4.csv", "1,2,0\n3,4,NaN\n", &o, LAM_ERR_FORMAT, ":2:5");
    CHECK(t_err_has("missing label"));
    o.missing = LAM_MISSING_ERROR;
    expect_fail("miss5.csv", "1,2,0\n3,4,\n", &o, LAM_ERR_FORMAT, ":2:5");
    o.missing = LAM_MISSING_DROP;
    ds = read_text("miss6.csv", "1,2,0\n3,4,n/a\n5,6,1\n", &o, NULL);
    CHECK(ds && ds->n == 2 && ds->labels[1] == 1);
    lam_dataset_free(ds);
    expect_fail("miss7.csv", "1,NA,0\n3,,1\n", &o, LAM_ERR_FORMAT, "");
    CHECK(t_err_has("dropped"));
    o.missing = LAM_MISSING_MEAN;
    expect_fail("miss8.csv", "1,NA,0\n3,,1\n", &o, LAM_ERR_FORMAT, "");
    CHECK(t_err_has("field 2") && t_err_has("no values"));
    CHECK(t_live_bytes() == live0);
}

static void test_csv_labels(void)
{
    uint64_t live0 = t_live_bytes();
    /* integers that are not 0..K-1: mapped in numeric order */
    lam_dataset *ds = read_text("lab1.csv", "1,2\n2,10\n3,1\n4,2\n5,1.0\n", NULL, NULL);
    if (ds) {
        CHECK(ds->nclasses == 3 && ds->class_names);
        CHECK(strcmp(ds->class_names[0], "1") == 0 && strcmp(ds->class_names[2], "10") == 0);
        CHECK(ds->labels[0] == 1 && ds->labels[1] == 2 && ds->labels[2] == 0 &&
              ds->labels[4] == 0);
    }
    lam_dataset_free(ds);
    /* fixed number of classes (a test file that lacks a class) */
    lam_csv_opts o = lam_csv_opts_defaults();
    o.nclasses = 4;
    ds = read_text("lab2.csv", "1,0\n2,3\n", &o, NULL);
    CHECK(ds && ds->nclasses == 4 && ds->labels[1] == 3 && ds->class_names == NULL);
    lam_dataset_free(ds);
    expect_fail("lab3.csv", "1,0\n2,4\n", &o, LAM_ERR_FORMAT, ":2:3");
    /* fixed class names */
    const char *names[2] = {"dog", "cat"};
    o.class_names = names;
    o.nclasses = 2;
    ds = read_text("lab4.csv", "1,cat\n2,dog\n3,cat\n", &o, NULL);
    if (ds) {
        CHECK(ds->nclasses == 2 && ds->labels[0] == 1 && ds->labels[1] == 0);
        CHECK(strcmp(ds->class_names[0], "dog") == 0);
    }
    lam_dataset_free(ds);
    expect_fail("lab5.csv", "1,cat\n2,cow\n", &o, LAM_ERR_FORMAT, ":2:3");
    CHECK(t_err_has("cow") && t_err_has("'dog'"));
    /* too many distinct labels */
    o = lam_csv_opts_defaults();
    o.max_classes = 2;
    expect_fail("lab6.csv", "1,a\n2,b\n3,c\n", &o, LAM_ERR_FORMAT, ":3:3");
    CHECK(t_err_has("regression"));
    CHECK(t_live_bytes() == live0);
}

static void test_csv_malformed(void)
{
    uint64_t live0 = t_live_bytes();
    expect_fail("empty.csv", "", NULL, LAM_ERR_FORMAT, ": the file is empty");
    expect_fail("blanks.csv", "\n\r\n\n", NULL, LAM_ERR_FORMAT, ": the file is empty");
    lam_csv_opts o = lam_csv_opts_defaults();
    o.header = LAM_CSV_HEADER_YES;
    expect_fail("hdronly.csv", "a,b,c\n", &o, LAM_ERR_FORMAT, ": no data rows");
    expect_fail("few.csv", "1,2,0\n3,4,1\n5,6\n", NULL, LAM_ERR_FORMAT, ":3:4");
    CHECK(t_err_has("expected 3 fields") && t_err_has("found 2"));
    expect_fail("many.csv", "1,2,0\n3,4,1,7\n", NULL, LAM_ERR_FORMAT, ":2:7");
    CHECK(t_err_has("found more"));
    expect_fail("nonnum.csv", "1,2,0\n3,x7,1\n", NULL, LAM_ERR_FORMAT, ":2:3");
    CHECK(t_err_has("expected a number") && t_err_has("\"x7\""));
    expect_fail("nonnum_hdr.csv", "a,b,c\n1,2,0\n3,4y,1\n", NULL, LAM_ERR_FORMAT, ":3:3");
    CHECK(t_err_has("column 'b'"));
    expect_fail("unterm.csv", "1,2,0\n\"3,4,1\n5,6,0\n", NULL, LAM_ERR_FORMAT, ":2:1");
    CHECK(t_err_has("never closed"));
    expect_fail("afterq.csv", "\"1\"x,2,0\n", NULL, LAM_ERR_FORMAT, ":1:4");
    expect_fail("inf.csv", "1,2,0\n3,inf,1\n", NULL, LAM_ERR_FORMAT, ":2:3");
    CHECK(t_err_has("finite"));
    expect_fail("range.csv", "1,2,0\n3,1e39,1\n", NULL, LAM_ERR_FORMAT, ":2:3");
    o = lam_csv_opts_defaults();
    o.delimiter = ';';
    expect_fail("comma.csv", "1;2;0\n1;2,5;0\n", &o, LAM_ERR_FORMAT, ":2:3");
    CHECK(t_err_has("decimal commas"));
    /* huge lines: with a small limit and with the default one */
    o = lam_csv_opts_defaults();
    o.max_line = 100;
    char line[600];
    memset(line, '1', sizeof line);
    memcpy(line, "1,2,0\n", 6);
    line[sizeof line - 1] = 0;
    expect_fail("long.csv", line, &o, LAM_ERR_FORMAT, ":2:");
    CHECK(t_err_has("longer than 100 bytes"));
    size_t big = ((size_t)1 << 20) + 100;
    char *huge = malloc(big + 1);
    if (huge) {
        memset(huge, '7', big);
        huge[big] = 0;
        expect_fail("huge.csv", huge, NULL, LAM_ERR_FORMAT, ":1:");
        free(huge);
    }
    /* I/O and arguments */
    lam_dataset *ds = (lam_dataset *)1;
    CHECK(lam_csv_read(t_tpath("does_not_exist.csv"), NULL, &ds, NULL) == LAM_ERR_IO && !ds);
    CHECK(t_err_has("does_not_exist.csv") && t_err_has("cannot open"));
    lam_status st = lam_csv_read(t_tmpdir, NULL, &ds, NULL);
    CHECK_MSG(st == LAM_ERR_IO, "%s %s", lam_status_str(st), lam_last_error());
    o = lam_csv_opts_defaults();
    o.delimiter = '"';
    CHECK(lam_csv_read(t_tpath("basic.csv"), &o, &ds, NULL) == LAM_ERR_ARG);
    CHECK(lam_csv_read(NULL, NULL, &ds, NULL) == LAM_ERR_ARG);
    CHECK(lam_csv_read(t_tpath("basic.csv"), NULL, NULL, NULL) == LAM_ERR_ARG);
    CHECK(t_live_bytes() == live0);
}

/* Every allocation failure inside the reader gives LAM_ERR_NOMEM, no leak. */
static void test_csv_fault_injection(void)
{
    lam_csv_opts o = lam_csv_opts_defaults();
    o.missing = LAM_MISSING_MEAN;
    const char *text = "a,\"b c\",label\n1,2,cat\n3,NA,dog\n5,6,cat\n"
                       "7,8,eel\n9,10,fox\n";
    const char *p = t_write_gz("fault.csv.gz", text, strlen(text));
    const char *names[3] = {"cat", "dog", "zzz"};
    int okays = 0;
    for (int pass = 0; pass < 2; pass++) {
        lam_csv_opts oo = o;
        if (pass == 1) {
            oo.class_names = names; /* fixed mapping path */
            oo.nclasses = 3;
            p = t_write_file("fault2.csv", "a,b,label\n1,2,cat\n3,NA,dog\n5,6,zzz\n");
        }
        bool done = false;
        for (uint64_t n = 1; n < 400 && !done; n++) {
            uint64_t live0 = t_live_bytes();
            lam_dataset *ds = NULL;
            lam_csv_report rep;
            lam_alloc_fail_after(n);
            lam_status st = lam_csv_read(p, &oo, &ds, &rep);
            lam_alloc_fail_after(0);
            if (st == LAM_OK) {
                done = true;
                okays++;
                CHECK(ds->n >= 3 && rep.values_imputed == 1);
                lam_dataset_free(ds);
                lam_csv_report_clear(&rep);
            } else {
                CHECK_MSG(st == LAM_ERR_NOMEM, "n=%d: %s %s", (int)n, lam_status_str(st),
                          lam_last_error());
                CHECK(ds == NULL);
            }
            CHECK_MSG(t_live_bytes() == live0, "n=%d leaked %lld bytes", (int)n,
                      (long long)(t_live_bytes() - live0));
        }
    }
    CHECK(okays == 2);
}

/* Random bytes and mutated CSV text: the reader returns a status, never
 * crashes, never leaks. */
static void test_csv_garbage(void)
{
    uint64_t live0 = t_live_bytes();
    lam_rng r;
    lam_rng_seed(&r, 12345);
    static unsigned char buf[8192];
    const char alphabet[] = "0123456789.,-+e\"\r\n \tNA?x";
    int n_ok = 0;
    for (int it = 0; it < 300; it++) {
        size_t n = lam_rng_below(&r, sizeof buf);
        int mode = it % 3;
        for (size_t i = 0; i < n; i++)
            buf[i] = mode == 0 ? (unsigned char)lam_rng_below(&r, 256)
                               : (unsigned char)alphabet[lam_rng_below(&r, sizeof alphabet - 1)];
        if (mode == 2 && n > 2) { /* gzip magic then junk */
            buf[0] = 0x1f;
            buf[1] = 0x8b;
        }
        const char *p = t_write_bytes("garbage.bin", buf, n);
        lam_csv_opts o = lam_csv_opts_defaults();
        o.missing = (lam_missing)(it % 3);
        o.task = it % 2 ? LAM_TASK_REGRESSION : LAM_TASK_CLASSIFICATION;
        o.max_line = 1000;
        lam_dataset *ds = NULL;
        lam_csv_report rep;
        lam_status st = lam_csv_read(p, &o, &ds, &rep);
        CHECK_MSG(st == LAM_OK || st == LAM_ERR_FORMAT || st == LAM_ERR_IO,
                  "it %d: %s %s", it, lam_status_str(st), lam_last_error());
        if (st == LAM_OK) {
            n_ok++;
            CHECK(lam_dataset_check(ds) == LAM_OK);
            lam_dataset_free(ds);
            lam_csv_report_clear(&rep);
        } else {
            CHECK(ds == NULL && lam_last_error()[0]);
        }
    }
    (void)n_ok;
    CHECK(t_live_bytes() == live0);
}

static void test_digits(void)
{
    uint64_t live0 = t_live_bytes();
    lam_dataset *ds = NULL;
    lam_csv_report rep;
    CHECK_OK(lam_csv_read("data/digits.csv.gz", NULL, &ds, &rep));
    if (!ds) return;
    CHECK(ds->n == 1797 && ds->nfeat == 64 && ds->nclasses == 10 && ds->class_names == NULL);
    CHECK(rep.gzip && !rep.header && rep.ncols == 65);
    int64_t counts[10];
    CHECK_OK(lam_dataset_class_counts(ds, counts));
    int64_t sum = 0;
    for (int k = 0; k < 10; k++) {
        sum += counts[k];
        CHECK(counts[k] >= 170 && counts[k] <= 190);
    }
    CHECK(sum == 1797);
    float lo = 1e9f, hi = -1e9f;
    for (int64_t i = 0; i < ds->n * ds->nfeat; i++) {
        lo = ds->x[i] < lo ? ds->x[i] : lo;
        hi = ds->x[i] > hi ? ds->x[i] : hi;
    }
    CHECK(lo == 0 && hi == 16);
    CHECK(ds->x[2] == 5 && ds->x[3] == 13 && ds->labels[0] == 0 && ds->labels[1] == 1);
    CHECK_OK(lam_dataset_set_sample_shape(ds, lam_shape3(1, 8, 8)));
    CHECK(lam_dataset_set_sample_shape(ds, lam_shape2(8, 7)) == LAM_ERR_SHAPE);
    lam_csv_report_clear(&rep);
    lam_dataset_free(ds);
    CHECK(t_live_bytes() == live0);
}

/* features_only (files to predict on), lam_csv_count_columns and
 * lam_csv_read_classes (the training file's class mapping). */
static void test_csv_features_only(void)
{
    uint64_t live0 = t_live_bytes();
    lam_csv_opts o = lam_csv_opts_defaults();
    o.features_only = true;
    /* every column is a feature; no labels, no targets */
    lam_csv_report rep;
    lam_dataset *ds = read_text("fo.csv", "1,2,3\n4,5,6\n", &o, &rep);
    if (ds) {
        CHECK(ds->n == 2 && ds->nfeat == 3 && ds->x[2] == 3 && ds->x[5] == 6);
        CHECK(ds->labels == NULL && ds->y == NULL && ds->nclasses == 0 && ds->ntargets == 0);
        CHECK(ds->class_names == NULL && ds->target_names == NULL);
        CHECK(ds->task == LAM_TASK_REGRESSION); /* "no outputs" (see data.h) */
        CHECK(rep.ncols == 3 && !rep.header);
        CHECK_OK(lam_dataset_check(ds)); /* safe on a set without outputs */
        lam_dataset *sub = (lam_dataset *)1;
        CHECK(lam_dataset_subset(ds, NULL, 0, &sub) != LAM_OK && sub == NULL);
        lam_scaler *sc = NULL;
        CHECK_OK(lam_scaler_fit(LAM_SCALER_STANDARD, ds, &sc));
        CHECK_OK(lam_scaler_apply(sc, ds));
        lam_scaler_free(sc);
    }
    lam_csv_report_clear(&rep);
    lam_dataset_free(ds);
    /* a header is detected from the feature fields; a label option naming a
     * column that is not there is not used */
    o.label = (lam_csv_col){0, "species"};
    ds = read_text("fo_head.csv", "a,b\n1,2\n3,4\n", &o, NULL);
    CHECK(ds && ds->n == 2 && ds->nfeat == 2 && ds->feature_names &&
          !strcmp(ds->feature_names[1], "b") && ds->labels == NULL);
    lam_dataset_free(ds);
    o.label = (lam_csv_col){-1, NULL};
    /* ignored columns stay ignored (e.g. a label column of the training layout) */
    lam_csv_col ign[1] = {{-1, NULL}};
    o.ignore = ign;
    o.nignore = 1;
    ds = read_text("fo_ign.csv", "1,2,cat\n3,4,?\n5,6,\n", &o, NULL);
    CHECK(ds && ds->n == 3 && ds->nfeat == 2 && ds->x[4] == 5 && ds->labels == NULL);
    lam_dataset_free(ds);
    o.nignore = 0;
    o.ignore = NULL;
    /* regression options are not used either */
    o.task = LAM_TASK_REGRESSION;
    ds = read_text("fo_reg.csv", "1,2\n3,4\n", &o, NULL);
    CHECK(ds && ds->nfeat == 2 && ds->y == NULL && ds->ntargets == 0);
    lam_dataset_free(ds);
    /* features are still strict: a label string is an error naming line:column */
    expect_fail("fo_bad.csv", "1,2\n3,x\n", &o, LAM_ERR_FORMAT, ":2:3");
    expect_fail("fo_empty.csv", "", &o, LAM_ERR_FORMAT, "");
    /* missing values follow the policy */
    o.missing = LAM_MISSING_MEAN;
    ds = read_text("fo_mean.csv", "1,2\nNA,4\n3,6\n", &o, NULL);
    CHECK(ds && ds->n == 3 && ds->x[2] == 2);
    lam_dataset_free(ds);
    o = lam_csv_opts_defaults();

    /* column counts: the first record, header or not; blank lines skipped */
    int nc = -1;
    CHECK_OK(lam_csv_count_columns(t_write_file("cc.csv", "\n\na,b,c\n1,2,3\n"), NULL, &nc));
    CHECK(nc == 3);
    o.delimiter = ';';
    const char *semi = "1;2;3;4\n5;6;7;8\n";
    CHECK_OK(lam_csv_count_columns(t_write_gz("cc.csv.gz", semi, strlen(semi)), &o, &nc));
    CHECK(nc == 4);
    o.delimiter = ',';
    CHECK_OK(lam_csv_count_columns(t_write_file("cc_q.csv", "\"x,y\",z\n"), NULL, &nc));
    CHECK(nc == 2);
    CHECK(lam_csv_count_columns(t_write_file("cc_e.csv", "\n\n"), NULL, &nc) == LAM_ERR_FORMAT &&
          nc == 0 && t_err_has("empty"));
    CHECK(lam_csv_count_columns(t_tpath("no_such.csv"), NULL, &nc) == LAM_ERR_IO);
    CHECK(lam_csv_count_columns(NULL, NULL, &nc) == LAM_ERR_ARG);

    /* class mappings, as lam_csv_read infers them */
    char **names = (char **)1;
    int32_t k = -1;
    const char *p = t_write_file("cls.csv", "f,label\n1,dog\n2,cat\n3,dog\n4,bird\n");
    CHECK_OK(lam_csv_read_classes(p, NULL, &names, &k));
    CHECK(k == 3 && names && !strcmp(names[0], "bird") && !strcmp(names[1], "cat") &&
          !strcmp(names[2], "dog"));
    ds = read_text("cls_test.csv", "f,label\n9,dog\n8,dog\n", NULL, NULL);
    CHECK(ds && ds->nclasses == 1); /* inferred from the test file alone: wrong */
    lam_dataset_free(ds);
    o.class_names = (const char *const *)names;
    o.nclasses = k;
    ds = read_text("cls_test.csv", "f,label\n9,dog\n8,dog\n", &o, NULL);
    CHECK(ds && ds->nclasses == 3 && ds->labels[0] == 2 && ds->labels[1] == 2);
    lam_dataset_free(ds);
    lam_csv_names_free(names, k);
    o = lam_csv_opts_defaults();
    /* integer labels 0..K-1: no names */
    CHECK_OK(lam_csv_read_classes(t_write_file("cls_int.csv", "1,2\n3,0\n4,1\n"), NULL, &names, &k));
    CHECK(k == 3 && names == NULL);
    /* numeric, not 0..K-1: sorted numerically */
    CHECK_OK(lam_csv_read_classes(t_write_file("cls_num.csv", "1,10\n3,2\n4,10\n"), NULL, &names, &k));
    CHECK(k == 2 && names && !strcmp(names[0], "2") && !strcmp(names[1], "10"));
    lam_csv_names_free(names, k);
    /* features are not parsed, but rows are dropped for missing values as
     * lam_csv_read drops them */
    p = t_write_file("cls_drop.csv", "1,1,a\n2,?,b\n3,4,c\n");
    CHECK_OK(lam_csv_read_classes(p, NULL, &names, &k));
    CHECK(k == 3 && names);
    lam_csv_names_free(names, k);
    o.missing = LAM_MISSING_DROP;
    CHECK_OK(lam_csv_read_classes(p, &o, &names, &k));
    CHECK(k == 2 && names && !strcmp(names[0], "a") && !strcmp(names[1], "c"));
    lam_csv_names_free(names, k);
    /* the label column by name; a missing label is an error with its place */
    o = lam_csv_opts_defaults();
    o.label = (lam_csv_col){0, "y"};
    CHECK_OK(lam_csv_read_classes(t_write_file("cls_name.csv", "y,f\nb,1\na,2\n"), &o, &names, &k));
    CHECK(k == 2 && names && !strcmp(names[0], "a"));
    lam_csv_names_free(names, k);
    p = t_write_file("cls_miss.csv", "y,f\nb,1\n,2\n");
    CHECK(lam_csv_read_classes(p, &o, &names, &k) == LAM_ERR_FORMAT && names == NULL && k == 0);
    CHECK_MSG(t_err_has(":3:1"), "%s", lam_last_error());
    o.task = LAM_TASK_REGRESSION;
    CHECK(lam_csv_read_classes(p, &o, &names, &k) == LAM_ERR_ARG);
    CHECK(lam_csv_read_classes(t_tpath("no_such.csv"), NULL, &names, &k) == LAM_ERR_IO);
    lam_csv_names_free(NULL, 3);
    CHECK(t_live_bytes() == live0);
}

int main(void)
{
    if (!t_mkdtemp("/tmp/lamina_test_csv_XXXXXX")) return 1;
    RUN(test_csv_basic);
    RUN(test_csv_header_and_quotes);
    RUN(test_csv_numbers);
    RUN(test_csv_gzip);
    RUN(test_csv_columns);
    RUN(test_csv_regression);
    RUN(test_csv_missing);
    RUN(test_csv_labels);
    RUN(test_csv_malformed);
    RUN(test_csv_fault_injection);
    RUN(test_csv_garbage);
    RUN(test_csv_features_only);
    RUN(test_digits);
    /* remove the fixtures */
    t_rm_tree(t_tmpdir);
    TEST_MAIN_END;
}
