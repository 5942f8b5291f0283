/* The catalogue of malformed files (tests/malformed/, written by
 * tests/malformed/make_catalogue.py): every file of tests/malformed/
 * catalogue.txt is given to its reader and must fail -- never LAM_OK, never a
 * crash, no leak -- with an error message holding the catalogued text.  A
 * line whose text is "(valid)" names a control file that must be read
 * without error (the files the malformed ones are derived from, and the
 * companion files of the two-file IDX readers).
 *
 * Line format: FILE READER EXPECTED-ERROR-SUBSTRING (the rest of the line;
 * '#' starts a comment line).  Readers and the options they use:
 *   model        lam_model_load (no overrides)
 *   safetensors  lam_safetensors_open
 *   checkpoint   lam_checkpoint_load, with the training state
 *   csv          lam_csv_read, default options
 *   csv_3classes lam_csv_read, no header, label column 0, nclasses = 3
 *   idx          lam_idx_read
 *   idx_images   lam_dataset_from_idx(FILE, ok_labels_2.idx), nclasses 10
 *   idx_labels   lam_dataset_from_idx(ok_images_2.idx, FILE), nclasses 10
 *   cifar10      lam_cifar_read, CIFAR-10
 *   cifar100     lam_cifar_read, CIFAR-100 fine labels
 *   corpus       lam_text_read_corpus
 *   vocab_json   lam_vocab_from_json on the file's bytes
 *   text_csv     lam_text_csv_read, header yes, columns "label" and "text"
 *   timeseries   lam_timeseries_read: features x, y; target y; window 2;
 *                horizon 1; time column t; test_fraction 0.25
 *   npy          lam_npy_read
 *   npz          lam_npz_open, then lam_npz_read of every member
 *   npy_x        lam_dataset_from_npy_files(FILE, npy_ok_y.npy), classes inferred
 *   npy_y        lam_dataset_from_npy_files(npy_ok_x.npy, FILE), nclasses 10
 *   npz_data     lam_dataset_from_npz (x/y or x_train/y_train, test part)
 *
 * `test_malformed --print` lists the status and message each file gives
 * (for writing new catalogue lines).  Two more tests keep model files near
 * the size cap within the time an input may take (fuzz/README.md). */
#include "lamina/lamina.h"

#include "test.h"

#define DIR "tests/malformed/"

static bool print_mode;

/* Read `path` with reader `reader`; *known is false for an unknown reader. */
static lam_status read_with(const char *reader, const char *path, bool *known)
{
    *known = true;
    lam_status s;
    if (!strcmp(reader, "model")) {
        lam_model *m = (lam_model *)&m;
        s = lam_model_load(path, NULL, &m);
        if (s == LAM_OK) lam_model_free(m);
        else CHECK(m == NULL);
    } else if (!strcmp(reader, "safetensors")) {
        lam_safetensors *st = (lam_safetensors *)&st;
        s = lam_safetensors_open(path, &st);
        if (s == LAM_OK) lam_safetensors_close(st);
        else CHECK(st == NULL);
    } else if (!strcmp(reader, "checkpoint")) {
        lam_model *m = (lam_model *)&m;
        lam_train_state ts;
        s = lam_checkpoint_load(path, &m, &ts);
        if (s == LAM_OK) lam_model_free(m);
        else CHECK(m == NULL);
    } else if (!strcmp(reader, "csv") || !strcmp(reader, "csv_3classes")) {
        lam_csv_opts o = lam_csv_opts_defaults();
        if (!strcmp(reader, "csv_3classes")) {
            o.header = LAM_CSV_HEADER_NO;
            o.label = (lam_csv_col){0, NULL};
            o.nclasses = 3;
        }
        lam_dataset *ds = (lam_dataset *)&ds;
        lam_csv_report r;
        s = lam_csv_read(path, &o, &ds, &r);
        if (s == LAM_OK) {
            lam_dataset_free(ds);
            lam_csv_report_clear(&r);
        } else {
            CHECK(ds == NULL && r.missing_per_col == NULL);
        }
    } else if (!strcmp(reader, "idx")) {
        lam_idx *m = (lam_idx *)&m;
        s = lam_idx_read(path, &m);
        if (s == LAM_OK) lam_idx_free(m);
        else CHECK(m == NULL);
    } else if (!strcmp(reader, "idx_images") || !strcmp(reader, "idx_labels")) {
        lam_idx_opts o = lam_idx_opts_defaults();
        o.nclasses = 10;
        bool im = !strcmp(reader, "idx_images");
        lam_dataset *ds = (lam_dataset *)&ds;
        s = lam_dataset_from_idx(im ? path : DIR "ok_images_2.idx", im ? DIR "ok_labels_2.idx" : path, &o, &ds);
        if (s == LAM_OK) lam_dataset_free(ds);
        else CHECK(ds == NULL);
    } else if (!strcmp(reader, "cifar10") || !strcmp(reader, "cifar100")) {
        lam_dataset *ds = (lam_dataset *)&ds;
        s = lam_cifar_read(&path, 1, !strcmp(reader, "cifar10") ? LAM_CIFAR_10 : LAM_CIFAR_100_FINE, &ds);
        if (s == LAM_OK) lam_dataset_free(ds);
        else CHECK(ds == NULL);
    } else if (!strcmp(reader, "corpus")) {
        char *text = (char *)&text;
        size_t len = 1;
        s = lam_text_read_corpus(path, false, &text, &len);
        if (s == LAM_OK) lam_free(text);
        else CHECK(text == NULL && len == 0);
    } else if (!strcmp(reader, "vocab_json")) {
        size_t n;
        char *b = t_slurp(path, &n);
        CHECK(b != NULL);
        lam_vocab *v = (lam_vocab *)&v;
        s = b ? lam_vocab_from_json(b, n, &v) : lam_fail(LAM_ERR_IO, "%s: cannot read", path);
        if (s == LAM_OK) lam_vocab_free(v);
        else if (b) CHECK(v == NULL);
        free(b);
    } else if (!strcmp(reader, "text_csv")) {
        lam_csv_opts o = lam_csv_opts_defaults();
        o.header = LAM_CSV_HEADER_YES;
        o.label = (lam_csv_col){0, "label"};
        lam_text_set *ts = (lam_text_set *)&ts;
        s = lam_text_csv_read(path, &o, (lam_csv_col){0, "text"}, &ts);
        if (s == LAM_OK) lam_text_set_free(ts);
        else CHECK(ts == NULL);
    } else if (!strcmp(reader, "timeseries")) {
        static const char *const feats[] = {"x", "y"};
        lam_timeseries_opts o = lam_timeseries_opts_defaults();
        o.features = feats;
        o.nfeatures = 2;
        o.target = "y";
        o.window = 2;
        o.time_column = "t";
        o.test_fraction = 0.25;
        lam_dataset *tr = (lam_dataset *)&tr, *te = (lam_dataset *)&te;
        s = lam_timeseries_read(path, &o, &tr, &te, NULL);
        if (s == LAM_OK) {
            lam_dataset_free(tr);
            lam_dataset_free(te);
        } else {
            CHECK(tr == NULL && te == NULL);
        }
    } else if (!strcmp(reader, "npy")) {
        lam_npy *a = (lam_npy *)&a;
        s = lam_npy_read(path, &a);
        if (s == LAM_OK) lam_npy_free(a);
        else CHECK(a == NULL);
    } else if (!strcmp(reader, "npz")) {
        lam_npz *z = (lam_npz *)&z;
        s = lam_npz_open(path, &z);
        if (s != LAM_OK) CHECK(z == NULL);
        for (size_t i = 0; s == LAM_OK && i < lam_npz_count(z); i++) {
            lam_npy *a = (lam_npy *)&a;
            s = lam_npz_read(z, lam_npz_name(z, i), &a);
            if (s == LAM_OK) lam_npy_free(a);
            else CHECK(a == NULL);
        }
        lam_npz_close(z);
    } else if (!strcmp(reader, "npy_x") || !strcmp(reader, "npy_y")) {
        bool x = !strcmp(reader, "npy_x");
        lam_npy_data_opts o = lam_npy_data_opts_defaults();
        o.nclasses = x ? 0 : 10;
        lam_dataset *ds = (lam_dataset *)&ds;
        s = lam_dataset_from_npy_files(x ? path : DIR "npy_ok_x.npy", x ? DIR "npy_ok_y.npy" : path, &o, &ds);
        if (s == LAM_OK) lam_dataset_free(ds);
        else CHECK(ds == NULL);
    } else if (!strcmp(reader, "npz_data")) {
        lam_dataset *tr = (lam_dataset *)&tr, *te = (lam_dataset *)&te;
        s = lam_dataset_from_npz(path, NULL, &tr, &te);
        if (s == LAM_OK) {
            lam_dataset_free(tr);
            lam_dataset_free(te);
        } else {
            CHECK(tr == NULL && te == NULL);
        }
    } else {
        *known = false;
        s = LAM_ERR_ARG;
    }
    return s;
}

static void run_entry(const char *file, const char *reader, const char *want, int lineno)
{
    char path[512];
    snprintf(path, sizeof path, DIR "%s", file);
    int before = t_failed_checks_;
    bool valid = !strcmp(want, "(valid)");
    FILE *f = fopen(path, "rb");
    CHECK_MSG(f != NULL, "catalogue line %d: %s is missing (run tests/malformed/make_catalogue.py)", lineno, path);
    if (f) fclose(f);
    uint64_t live = t_live_bytes();
    lam_clear_error();
    bool known;
    lam_status s = f ? read_with(reader, path, &known) : LAM_ERR_IO;
    const char *msg = lam_last_error();
    if (print_mode) {
        printf("%-44s %-12s %-20s %s\n", file, reader, lam_status_str(s), s == LAM_OK ? "" : msg);
        return;
    }
    if (f) CHECK_MSG(known, "catalogue line %d: unknown reader '%s'", lineno, reader);
    if (valid) {
        CHECK_MSG(s == LAM_OK, "%s (%s): a control file must be read, got %s: %s", file, reader, lam_status_str(s), msg);
    } else {
        CHECK_MSG(s != LAM_OK, "%s (%s): a malformed file was accepted; expected an error with \"%s\"", file, reader,
                  want);
        if (s != LAM_OK)
            CHECK_MSG(strstr(msg, want) != NULL, "%s (%s): %s: \"%s\" does not hold \"%s\"", file, reader,
                      lam_status_str(s), msg, want);
    }
    CHECK_MSG(t_live_bytes() == live, "%s (%s): %llu bytes leaked", file, reader,
              (unsigned long long)(t_live_bytes() - live));
    if (t_failed_checks_ == before) {
        t_passed_++;
        printf("ok %s\n", file);
    } else {
        t_failed_++;
        printf("FAIL %s\n", file);
    }
    fflush(stdout);
}

/* Regression: a model file near the 1 MiB cap with ~96,000 distinct keys took
 * minutes (a scan of the section per key); a hash table makes it linear.
 * The repeated key at the end must still be found, with its first line.
 * The time bound is loose (the quadratic parse took over 120 s). */
static void test_big_model_file(void)
{
    size_t cap = LAM_CFG_MAX_BYTES, n = 0;
    char *t = malloc(cap + 1);
    n += (size_t)snprintf(t + n, cap - n, "[net]\n");
    int k = 0;
    while (n + 40 < cap) n += (size_t)snprintf(t + n, cap - n, "key%d = %d\n", k, k), k++;
    n += (size_t)snprintf(t + n, cap - n, "key5 = 0\n");
    lam_cfg *c = (lam_cfg *)&c;
    double t0 = t_now();
    lam_status s = lam_cfg_parse(t, n, "big.cfg", &c);
    double dt = t_now() - t0;
    char want[96];
    snprintf(want, sizeof want, "big.cfg:%d: key 'key5' repeated in [net] (first on line 7)", k + 2);
    CHECK_MSG(s == LAM_ERR_FORMAT && c == NULL && strstr(lam_last_error(), want), "%s: %s", lam_status_str(s),
              lam_last_error());
    CHECK_MSG(dt < 30, "parsing %zu bytes of %d keys took %.1f s", n, k, dt);
    /* the same without the repeat parses */
    n -= strlen("key5 = 0\n");
    s = lam_cfg_parse(t, n, "big.cfg", &c);
    CHECK(s == LAM_OK && c && c->n_sec == 1 && c->sec[0].n_kv == k);
    if (s == LAM_OK) lam_cfg_free(c);
    free(t);
}

/* Regression: describing a model of a few thousand layers took minutes (for
 * each layer, each parameter, a scan of every layer). */
static void test_many_layers(void)
{
    size_t cap = 64 << 10, n = 0;
    char *t = malloc(cap);
    n += (size_t)snprintf(t + n, cap - n, "[net]\ninput = 2\n[data]\npath = x.csv\n");
    for (int i = 0; i < 3000; i++) n += (size_t)snprintf(t + n, cap - n, "[dense]\nunits = 2\n");
    n += (size_t)snprintf(t + n, cap - n, "[train]\n");
    lam_cfg *c = NULL;
    lam_model *m = NULL;
    double t0 = t_now();
    CHECK_OK(lam_cfg_parse(t, n, "layers.cfg", &c));
    if (c) CHECK_OK(lam_model_from_cfg(c, NULL, &m));
    if (m) {
        static char buf[1 << 20];
        lam_model_describe(m, buf, sizeof buf);
        CHECK(strstr(buf, "  fc3000         dense       [1, 2]                      6\n") != NULL);
        CHECK(strstr(buf, "parameters: 18000 (18000 trainable)") != NULL);
    }
    double dt = t_now() - t0;
    CHECK_MSG(dt < 30, "building and describing 3000 layers took %.1f s", dt);
    lam_model_free(m);
    free(t);
}

int main(int argc, char **argv)
{
    print_mode = argc > 1 && !strcmp(argv[1], "--print");
    lam_set_threads(1);
    char *copy = t_slurp(DIR "catalogue.txt", NULL);
    if (!copy) {
        printf("FAIL catalogue: cannot read " DIR "catalogue.txt (run from the repository root)\n");
        return 1;
    }
    int lineno = 0, entries = 0;
    for (char *line = copy, *next; line && *line; line = next) {
        lineno++;
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        size_t L = strlen(line);
        while (L && (line[L - 1] == ' ' || line[L - 1] == '\r')) line[--L] = 0;
        if (!*line || *line == '#') continue;
        char file[256], reader[64];
        int used = 0;
        if (sscanf(line, "%255s %63s %n", file, reader, &used) != 2 || !line[used]) {
            printf("FAIL catalogue line %d: expected FILE READER SUBSTRING: %s\n", lineno, line);
            t_failed_++;
            continue;
        }
        run_entry(file, reader, line + used, lineno);
        entries++;
    }
    free(copy);
    if (entries < 100) {
        printf("FAIL catalogue: only %d entries\n", entries);
        t_failed_++;
    }
    if (print_mode) return 0;
    RUN(test_big_model_file);
    RUN(test_many_layers);
    TEST_MAIN_END;
}
