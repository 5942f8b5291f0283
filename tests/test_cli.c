/* Tests of the lamina command as a user runs it: help and usage errors
 * (exit 2), model-file errors naming the line (exit 1), an end-to-end run
 * (train, eval, predict on both data layouts, inspect, resume) on a tiny
 * generated data set, a regression model, and malformed inputs that must fail
 * cleanly (exit 1, never a signal, never a sanitizer report).  The binary is
 * $LAMINA (default build/lamina); fixtures live in a mkdtemp folder. */
#include "test.h"

#include "io/json.h"
#include "lamina/io.h"
#include "lamina/npy.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *lamina;
static char out_buf[1 << 17], err_buf[1 << 17]; /* stdout / stderr of the last run */

static const char *write_file(const char *name, const char *text)
{
    const char *p = t_tpath(name);
    FILE *f = fopen(p, "wb");
    CHECK_MSG(f != NULL, "cannot write %s", p);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return p;
}

static size_t read_into(const char *path, char *buf, size_t n)
{
    buf[0] = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t k = fread(buf, 1, n - 1, f);
    buf[k] = 0;
    fclose(f);
    return k;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    int n = 0, c, last = '\n';
    while ((c = fgetc(f)) != EOF) {
        if (c == '\n') n++;
        last = c;
    }
    fclose(f);
    return n + (last != '\n');
}

/* Run `lamina ARGS` (ARGS a shell fragment) and return its exit code, 128 + N
 * for a death by signal N.  stdout / stderr land in out_buf / err_buf.  Every
 * run is checked for crashes and sanitizer reports. */
static int run(const char *fmt, ...)
{
    char args[4096], cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    char out_path[128], err_path[128]; /* not t_tpath: the caller's paths live in its ring */
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", t_tmpdir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", t_tmpdir);
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>'%s' </dev/null", lamina, args, out_path, err_path);
    int st = system(cmd);
    int rc = st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    read_into(out_path, out_buf, sizeof out_buf);
    read_into(err_path, err_buf, sizeof err_buf);
    CHECK_MSG(rc >= 0 && rc <= 2, "lamina %s: exit code %d (crash?)\nstderr: %s", args, rc, err_buf);
    CHECK_MSG(!strstr(err_buf, "Sanitizer") && !strstr(err_buf, "runtime error"), "lamina %s:\n%s", args, err_buf);
    return rc;
}

#define CHECK_RUN(want, ...)                                                                            \
    do {                                                                                                \
        int rc_ = run(__VA_ARGS__);                                                                     \
        CHECK_MSG(rc_ == (want), "exit code %d, want %d\nstdout: %.2000s\nstderr: %.2000s", rc_, (want), \
                  out_buf, err_buf);                                                                    \
    } while (0)

#define CHECK_HAS(buf, needle) CHECK_MSG(strstr((buf), (needle)) != NULL, "no \"%s\" in:\n%.3000s", (needle), (buf))

/* The number following `key` in text (after `after` when non-NULL); NAN if none. */
static double number_after(const char *text, const char *after, const char *key)
{
    const char *p = after ? strstr(text, after) : text;
    if (!p || !(p = strstr(p, key))) return NAN;
    return strtod(p + strlen(key), NULL);
}

/* ---- fixtures -------------------------------------------------------------------- */

static uint32_t lcg_state;
static double urand(void)
{
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return (double)(lcg_state >> 8) / (double)(1u << 24);
}

static const char *const class_str[3] = {"ant", "bee", "cat"};

/* n rows of 4 features around one of three centres, deterministically;
 * label: class names (with_label 1), nothing (0).  Rows with class != only
 * (only >= 0) are skipped. */
static const char *write_classes(const char *name, int n, int with_label, int only, uint32_t seed)
{
    static const double centre[3][4] = {{0, 0, 0, 0}, {3, 3, 0, 0}, {0, 3, 3, 3}};
    char *text = malloc((size_t)n * 80 + 100);
    size_t k = (size_t)sprintf(text, with_label ? "f0,f1,f2,f3,label\n" : "f0,f1,f2,f3\n");
    lcg_state = seed;
    for (int i = 0; i < n; i++) {
        int c = i % 3;
        double x[4];
        for (int j = 0; j < 4; j++) x[j] = centre[c][j] + urand();
        if (only >= 0 && c != only) continue;
        k += (size_t)sprintf(text + k, "%.4f,%.4f,%.4f,%.4f", x[0], x[1], x[2], x[3]);
        k += (size_t)sprintf(text + k, with_label ? ",%s\n" : "\n", class_str[c]);
    }
    const char *p = write_file(name, text);
    free(text);
    return p;
}

static const char *const model_text =
    "# three classes, four features\n"
    "[net]\n"
    "input = 4\n"
    "seed = 1\n"
    "[data]\n"
    "path = %s\n"
    "test_split = 0.2\n"
    "[dense]\n"
    "units = 16\n"
    "activation = relu\n"
    "[dense]\n"
    "name = out\n"
    "units = 3\n"
    "[train]\n"
    "optimizer = adam\n"
    "lr = 0.02\n"
    "batch = 16\n"
    "epochs = 20\n";

static const char *write_model(const char *name, const char *data_path)
{
    char text[2048];
    snprintf(text, sizeof text, model_text, data_path);
    return write_file(name, text);
}

/* ---- tests ----------------------------------------------------------------------- */

/* Two metrics logs hold the same rows but for their last column (seconds). */
static bool same_rows_but_seconds(const char *a, const char *b, int *rows)
{
    FILE *f = fopen(a, "r"), *g = fopen(b, "r");
    bool same = f && g;
    char la[512], lb[512];
    *rows = 0;
    while (same) {
        char *p = fgets(la, sizeof la, f), *q = fgets(lb, sizeof lb, g);
        if (!p || !q) {
            same = !p && !q;
            break;
        }
        ++*rows;
        char *ca = strrchr(la, ','), *cb = strrchr(lb, ',');
        if (ca) *ca = 0;
        if (cb) *cb = 0;
        same = !strcmp(la, lb);
        if (!same) fprintf(stderr, "  %s\n  %s\n", la, lb);
    }
    if (f) fclose(f);
    if (g) fclose(g);
    return same;
}

/* --checkpoint-every and the exit codes in the help; checkpoints mid-epoch
 * change nothing, and a resume from one ends where an uninterrupted run
 * does, byte for byte.  (Kills and signals: test_kill_resume.) */
static void test_checkpoint_every(void)
{
    CHECK_RUN(0, "train --help");
    CHECK_HAS(out_buf, "--checkpoint-every N");
    CHECK_HAS(out_buf, "SIGINT (Ctrl-C) or SIGTERM");
    CHECK_HAS(out_buf, "3 interrupted");
    CHECK_RUN(0, "--help");
    CHECK_HAS(out_buf, "3 training interrupted by SIGINT or");
    const char *data = write_classes("ck_every.csv", 150, 1, -1, 5);
    const char *cfg = write_model("ck_every.cfg", data);
    const char *plain = t_tpath("ck_plain"), *every = t_tpath("ck_every");
    CHECK_RUN(0, "train '%s' --out '%s' --quiet --epochs 6", cfg, plain);
    /* 8 batches per epoch: the step budget ends in epoch 4, whose running
     * sums the checkpoint keeps; the resume finishes that epoch and two more */
    CHECK_RUN(0, "train '%s' --out '%s' --quiet --steps 29 --checkpoint-every 4", cfg, every);
    CHECK_RUN(0, "train '%s' --out '%s' --quiet --epochs 6 --checkpoint-every 4 --resume '%s/checkpoint.safetensors'",
              cfg, every, every);
    char pa[320], pb[320];
    snprintf(pa, sizeof pa, "%s/model.safetensors", plain);
    snprintf(pb, sizeof pb, "%s/model.safetensors", every);
    size_t na, nb;
    char *a = t_slurp(pa, &na), *b = t_slurp(pb, &nb);
    CHECK_MSG(a && b && na > 0 && na == nb && !memcmp(a, b, na), "model files differ (%zu / %zu bytes)", na, nb);
    free(a);
    free(b);
    /* the metrics logs too, but for the seconds column */
    snprintf(pa, sizeof pa, "%s/metrics.csv", plain);
    snprintf(pb, sizeof pb, "%s/metrics.csv", every);
    int rows = -1;
    CHECK_MSG(same_rows_but_seconds(pa, pb, &rows), "%s and %s differ", pa, pb);
    CHECK_MSG(rows == 7, "%d rows in %s", rows, pb);
    /* stage-wise strategies checkpoint at stage boundaries only */
    CHECK_RUN(2, "train '%s' --out '%s' --quiet --strategy layerwise_supervised --checkpoint-every 4", cfg,
              t_tpath("ck_lw"));
    CHECK_HAS(err_buf, "--checkpoint-every needs end_to_end");

    /* a resume with other run settings would continue another run: refused,
     * naming the setting, and the checkpoint is left as it was */
    const char *ov = t_tpath("ck_override");
    char ck[320];
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", ov);
    CHECK_RUN(0, "train '%s' --out '%s' --quiet --steps 10 --lr 0.05 --batch 8 --seed 3", cfg, ov);
    size_t nck;
    a = t_slurp(ck, &nck);
    CHECK_RUN(1, "train '%s' --out '%s' --quiet --epochs 6 --resume '%s'", cfg, ov, ck);
    CHECK_HAS(err_buf, "the checkpoint was trained with seed 3, this run has seed 1:"); /* the model file's */
    CHECK_HAS(err_buf, "(lamina train ... --seed 3)");
    CHECK_RUN(1, "train '%s' --out '%s' --quiet --epochs 6 --seed 3 --batch 8 --resume '%s'", cfg, ov, ck);
    CHECK_HAS(err_buf, "the checkpoint was trained with lr 0.05, this run has lr 0.02:");
    CHECK_HAS(err_buf, "--lr 0.05)");
    CHECK_RUN(1, "train '%s' --out '%s' --quiet --epochs 6 --seed 3 --lr 0.05 --resume '%s'", cfg, ov, ck);
    CHECK_HAS(err_buf, "the checkpoint was trained with batch 8, this run has batch 16:");
    CHECK_RUN(1, "train '%s' --out '%s' --quiet --epochs 6 --seed 3 --lr 0.05 --batch 8 --data '%s' --resume '%s'",
              cfg, ov, write_classes("ck_other.csv", 150, 1, -1, 5), ck);
    CHECK_HAS(err_buf, "the checkpoint was trained with data");
    b = t_slurp(ck, &nb);
    CHECK(a && b && nck > 0 && nck == nb && !memcmp(a, b, nb));
    free(a);
    free(b);
    CHECK_RUN(0, "train '%s' --out '%s' --quiet --epochs 6 --seed 3 --lr 0.05 --batch 8 --resume '%s'", cfg, ov, ck);
}

static void test_help_and_usage(void)
{
    CHECK_RUN(0, "--help");
    CHECK_HAS(out_buf, "usage: lamina COMMAND");
    CHECK_RUN(0, "help");
    CHECK_HAS(out_buf, "commands:");
    static const char *const cmds[] = {"train", "eval", "predict", "inspect", "generate"};
    for (int i = 0; i < 5; i++) {
        char want[64];
        snprintf(want, sizeof want, "usage: lamina %s", cmds[i]);
        CHECK_RUN(0, "%s --help", cmds[i]);
        CHECK_HAS(out_buf, want);
        CHECK_RUN(0, "%s -h", cmds[i]);
        CHECK_HAS(out_buf, want);
        CHECK_RUN(0, "help %s", cmds[i]);
        CHECK_HAS(out_buf, want);
        /* the required file is missing: usage on stderr, exit 2 */
        CHECK_RUN(2, "%s", cmds[i]);
        CHECK_HAS(err_buf, want);
        CHECK_RUN(2, "%s x --no-such-option", cmds[i]);
        CHECK_HAS(err_buf, "unknown option --no-such-option");
    }
    CHECK_RUN(0, "version");
    CHECK_HAS(out_buf, "lamina ");
    CHECK_RUN(2, "");
    CHECK_HAS(err_buf, "usage:");
    CHECK_RUN(2, "frobnicate");
    CHECK_HAS(err_buf, "unknown command 'frobnicate'");
    /* options that belong to another command, bad values, missing values */
    CHECK_RUN(2, "eval x.safetensors --data d.csv --epochs 3");
    CHECK_HAS(err_buf, "unknown option --epochs");
    CHECK_RUN(2, "train m.cfg --epochs abc");
    CHECK_HAS(err_buf, "--epochs needs an integer");
    CHECK_RUN(2, "train m.cfg --epochs 2.5");
    CHECK_RUN(2, "train m.cfg --epochs=0");
    CHECK_RUN(2, "train m.cfg --lr nan");
    CHECK_RUN(2, "train m.cfg --out");
    CHECK_HAS(err_buf, "--out needs a value");
    CHECK_RUN(2, "train m.cfg other.cfg");
    CHECK_HAS(err_buf, "unexpected argument 'other.cfg'");
    CHECK_RUN(2, "train m.cfg -q");
    CHECK_RUN(2, "train m.cfg --checkpoint-every 0");
    CHECK_RUN(2, "train m.cfg --checkpoint-every x");
    /* a missing model file: exit 1, the path in the message */
    const char *missing = t_tpath("no_such_model.cfg");
    CHECK_RUN(1, "train '%s'", missing);
    CHECK_HAS(err_buf, missing);
    CHECK_RUN(1, "inspect '%s'", missing);
    CHECK_HAS(err_buf, missing);
    CHECK_RUN(1, "eval '%s' --data '%s'", t_tpath("no_such.safetensors"), missing);
    CHECK_HAS(err_buf, "no_such.safetensors");
}

/* A model file with one mistake: `lamina inspect` exits 1 and the message
 * names file:line and contains `what`. */
static void expect_model_error(const char *name, const char *text, int line, const char *what)
{
    const char *p = write_file(name, text);
    char where[300];
    snprintf(where, sizeof where, "%s:%d:", p, line);
    int rc = run("inspect '%s'", p);
    CHECK_MSG(rc == 1, "%s: exit code %d\nstdout: %s\nstderr: %s", name, rc, out_buf, err_buf);
    CHECK_MSG(strstr(err_buf, where) != NULL, "%s: no \"%s\" in: %s", name, where, err_buf);
    CHECK_MSG(strstr(err_buf, what) != NULL, "%s: no \"%s\" in: %s", name, what, err_buf);
}

static void test_model_file_errors(void)
{
#define HEAD "[net]\ninput = 4\n"                           /* lines 1-2 */
#define LAYERS "[dense]\nunits = 8\nactivation = relu\n"    /* lines 3-5 */
#define OUT "[dense]\nunits = 3\n"                          /* lines 6-7 */
#define TRAIN "[train]\nepochs = 2\n"                       /* lines 8-9 */
    const char *ok = write_file("ok.cfg", HEAD LAYERS OUT TRAIN);
    CHECK_RUN(0, "inspect '%s'", ok);
    CHECK_HAS(out_buf, "parameters: 67"); /* 4*8+8 + 8*3+3 */
    expect_model_error("unknown_key.cfg", HEAD "colour = red\n" LAYERS OUT TRAIN, 3, "unknown key 'colour'");
    expect_model_error("dup_key.cfg", HEAD "input = 5\n" LAYERS OUT TRAIN, 3, "repeated");
    expect_model_error("bad_number.cfg", HEAD "[dense]\nunits = 8x\n" OUT TRAIN, 4, "not an integer");
    expect_model_error("bad_double.cfg", HEAD LAYERS OUT "[train]\nlr = 0.1.2\n", 9, "not a finite number");
    expect_model_error("unknown_section.cfg", HEAD LAYERS "[conv9]\nunits = 3\n" TRAIN, 6, "unknown section [conv9]");
    expect_model_error("no_units.cfg", HEAD LAYERS "[dense]\nactivation = tanh\n" TRAIN, 6, "needs 'units'");
    expect_model_error("outside.cfg", "input = 4\n" HEAD LAYERS OUT TRAIN, 1, "outside any section");
    expect_model_error("bad_act.cfg", HEAD "[dense]\nunits = 8\nactivation = relux\n" OUT TRAIN, 5,
                       "unknown activation 'relux'");
    expect_model_error("bad_opt.cfg", HEAD LAYERS OUT "[train]\noptimizer = adamax9\n", 9,
                       "unknown optimizer 'adamax9'");
    expect_model_error("range.cfg", HEAD LAYERS OUT "[train]\nepochs = 0\n", 9, "outside");
    expect_model_error("range2.cfg", HEAD LAYERS OUT "[train]\nlr = -1\n", 9, "outside");
    expect_model_error("bad_choice.cfg", HEAD LAYERS OUT "[train]\nloss = hinge\n", 9, "expected one of");
    expect_model_error("bad_header.cfg", HEAD "[dense\n" OUT TRAIN, 3, "section");
    /* train reports the same errors */
    CHECK_RUN(1, "train '%s' --quiet --out '%s'", t_tpath("unknown_key.cfg"), t_tpath("never"));
    CHECK_HAS(err_buf, ":3:");
    CHECK_MSG(access(t_tpath("never"), F_OK) != 0, "the run folder was created for a broken model file");
#undef HEAD
#undef LAYERS
#undef OUT
#undef TRAIN
}

static void test_end_to_end(void)
{
    const char *data = write_classes("three.csv", 200, 1, -1, 7);
    const char *feats = write_classes("three_features.csv", 200, 0, -1, 7);
    const char *only_cat = write_classes("only_cat.csv", 30, 1, 2, 99);
    const char *cfg = write_model("three.cfg", data);
    const char *dir = t_tpath("run");
    char p_model[300], p_ckpt[300], p_metrics[300], p_report[300];
    snprintf(p_model, sizeof p_model, "%s/model.safetensors", dir);
    snprintf(p_ckpt, sizeof p_ckpt, "%s/checkpoint.safetensors", dir);
    snprintf(p_metrics, sizeof p_metrics, "%s/metrics.csv", dir);
    snprintf(p_report, sizeof p_report, "%s/report.txt", dir);

    CHECK_RUN(0, "train '%s' --out '%s' --quiet", cfg, dir);
    double acc = number_after(out_buf, "test results:", "accuracy ");
    CHECK_MSG(acc >= 0.9, "test accuracy %g\n%s", acc, out_buf);
    CHECK_HAS(out_buf, "confusion matrix");
    CHECK_HAS(out_buf, "cat"); /* per-class lines carry the class names */
    CHECK_HAS(out_buf, "parameters: 131");
    CHECK_MSG(!strstr(err_buf, "epoch 1/"), "--quiet printed progress: %s", err_buf);
    CHECK(file_exists(p_model) && file_exists(p_ckpt) && file_exists(p_metrics) && file_exists(p_report));
    CHECK(count_lines(p_metrics) == 21);
    char text[1 << 14];
    read_into(p_metrics, text, sizeof text);
    CHECK(strncmp(text, "stage,epoch,", 12) == 0);
    read_into(p_report, text, sizeof text);
    CHECK_HAS(text, "accuracy");

    /* progress without --quiet (stderr is not a terminal: one line per epoch) */
    CHECK_RUN(0, "train '%s' --out '%s' --epochs 2", cfg, t_tpath("run_progress"));
    CHECK_HAS(err_buf, "epoch 2/2");

    CHECK_RUN(0, "eval '%s' --data '%s'", p_model, data);
    acc = number_after(out_buf, NULL, "accuracy ");
    CHECK_MSG(acc >= 0.9, "eval accuracy %g\n%s", acc, out_buf);
    /* labels are mapped as in training even when the file has one class only
     * (inferred from this file alone, "cat" would become class 0) */
    CHECK_RUN(0, "eval '%s' --data '%s'", p_model, only_cat);
    acc = number_after(out_buf, NULL, "accuracy ");
    CHECK_MSG(acc >= 0.9, "eval accuracy on one class %g\n%s", acc, out_buf);
    CHECK(number_after(out_buf, NULL, "(n = ") == 10);
    /* an unknown class and a file without labels are errors */
    const char *daisy = write_file("daisy.csv", "f0,f1,f2,f3,label\n1,2,3,4,ant\n1,2,3,4,daisy\n");
    CHECK_RUN(1, "eval '%s' --data '%s'", p_model, daisy);
    CHECK_HAS(err_buf, ":3:");
    CHECK_HAS(err_buf, "daisy");
    CHECK_RUN(1, "eval '%s' --data '%s'", p_model, feats);
    CHECK_HAS(err_buf, "lamina predict");

    /* predict on the training layout (labels ignored) and on features only */
    const char *preds = t_tpath("preds.csv");
    CHECK_RUN(0, "predict '%s' --data '%s' --out '%s'", p_model, data, preds);
    CHECK(count_lines(preds) == 201);
    read_into(preds, text, sizeof text);
    CHECK(strncmp(text, "predicted,p0,p1,p2\n", 19) == 0);
    CHECK(strncmp(text + 19, "ant,", 4) == 0); /* row 0 is class 0, by class name */
    const char *preds2 = t_tpath("preds2.csv");
    CHECK_RUN(0, "predict '%s' --data '%s' --out '%s'", p_model, feats, preds2);
    CHECK(count_lines(preds2) == 201);
    char text2[1 << 14];
    read_into(preds2, text2, sizeof text2);
    CHECK_MSG(strcmp(text, text2) == 0, "predictions differ between the two layouts");
    CHECK_RUN(0, "predict '%s' --data '%s'", p_model, feats); /* to stdout */
    CHECK(strncmp(out_buf, "predicted,", 10) == 0 && strcmp(out_buf, text) == 0);
    const char *two = write_file("two.csv", "1,2\n3,4\n");
    CHECK_RUN(1, "predict '%s' --data '%s'", p_model, two);
    CHECK_HAS(err_buf, "has 2 columns; the model expects 4 features (or 5 with the label column)");
    CHECK_RUN(1, "predict '%s' --data '%s' --out '%s'", p_model, feats, t_tpath("no_dir/p.csv"));
    CHECK_HAS(err_buf, "no_dir/p.csv");

    CHECK_RUN(0, "inspect '%s'", cfg);
    CHECK_HAS(out_buf, "parameters: 131");
    CHECK_RUN(0, "inspect '%s'", p_model);
    CHECK_HAS(out_buf, "parameters: 131");
    CHECK_RUN(0, "inspect '%s' --batch 7", p_ckpt);
    CHECK_HAS(out_buf, "training state: 20 epochs");

    /* resume: epochs 21..25 are appended */
    CHECK_RUN(0, "train '%s' --out '%s' --quiet --resume '%s' --epochs 25", cfg, dir, p_ckpt);
    CHECK(count_lines(p_metrics) == 26);
    read_into(p_metrics, text, sizeof text);
    CHECK(strstr(text, "\n1,20,") && strstr(text, "\n1,21,") && strstr(text, "\n1,25,") && !strstr(text, "\n1,26,"));
    CHECK_HAS(out_buf, "trained 25 epochs");
    CHECK_RUN(0, "inspect '%s'", p_ckpt);
    CHECK_HAS(out_buf, "training state: 25 epochs");
    /* resuming from another model's checkpoint fails */
    const char *other = write_file("other.cfg", "[net]\ninput = 4\n[dense]\nunits = 3\n");
    CHECK_RUN(1, "train '%s' --data '%s' --out '%s' --resume '%s' --quiet", other, data, t_tpath("run_other"), p_ckpt);
}

static void test_regression(void)
{
    char *text = malloc(200 * 80 + 100);
    size_t k = (size_t)sprintf(text, "a,b,c,d,y\n");
    lcg_state = 3;
    for (int i = 0; i < 200; i++) {
        double x[4];
        for (int j = 0; j < 4; j++) x[j] = 2 * urand() - 1;
        double y = 1.5 * x[0] - 2 * x[1] + 0.5 * x[2] + x[3] + 0.05 * (urand() - 0.5);
        k += (size_t)sprintf(text + k, "%.4f,%.4f,%.4f,%.4f,%.4f\n", x[0], x[1], x[2], x[3], y);
    }
    const char *data = write_file("reg.csv", text);
    free(text);
    char cfg_text[1024];
    snprintf(cfg_text, sizeof cfg_text,
             "[net]\ninput = 4\n[data]\npath = %s\n[dense]\nunits = 16\nactivation = tanh\n"
             "[dense]\nunits = 1\n[train]\nloss = mse\noptimizer = adam\nlr = 0.02\nbatch = 16\nepochs = 40\n",
             data);
    const char *cfg = write_file("reg.cfg", cfg_text);
    const char *dir = t_tpath("run_reg");
    CHECK_RUN(0, "train '%s' --out '%s' --quiet", cfg, dir);
    double r2 = number_after(out_buf, "test results:", "R2 ");
    CHECK_MSG(r2 >= 0.9, "test R2 %g\n%s", r2, out_buf);
    char model[300];
    snprintf(model, sizeof model, "%s/model.safetensors", dir);
    CHECK_RUN(0, "eval '%s' --data '%s'", model, data);
    r2 = number_after(out_buf, NULL, "R2 ");
    CHECK_MSG(r2 >= 0.9, "eval R2 %g\n%s", r2, out_buf);
    const char *preds = t_tpath("reg_preds.csv");
    CHECK_RUN(0, "predict '%s' --data '%s' --out '%s'", model, data, preds);
    CHECK(count_lines(preds) == 201);
    char head[64];
    read_into(preds, head, sizeof head);
    CHECK(strncmp(head, "y0\n", 3) == 0);
    const char *feats = write_file("reg_feats.csv", "0.1,0.2,0.3,0.4\n-0.5,0.5,0,1\n");
    CHECK_RUN(0, "predict '%s' --data '%s'", model, feats);
    CHECK(strncmp(out_buf, "y0\n", 3) == 0);
    const char *text_y = write_file("reg_text.csv", "a,b,c,d,y\n1,2,3,4,high\n");
    CHECK_RUN(1, "eval '%s' --data '%s'", model, text_y);
    CHECK_HAS(err_buf, ":2:9");
}

/* Copy the first `n` bytes of src to dst (n < 0: all but -n bytes). */
static void copy_prefix(const char *src, const char *dst, long n)
{
    FILE *f = fopen(src, "rb"), *g = fopen(dst, "wb");
    CHECK(f && g);
    if (f && g) {
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fseek(f, 0, SEEK_SET);
        if (n < 0) n += size;
        for (long i = 0; i < n; i++) {
            int c = fgetc(f);
            if (c == EOF) break;
            fputc(c, g);
        }
    }
    if (f) fclose(f);
    if (g) fclose(g);
}

/* lamina compare, lamina encode and --strategy */
static void test_layerwise_commands(void)
{
    const char *data = write_classes("lw.csv", 200, 1, -1, 11);
    char text[2048];
    snprintf(text, sizeof text,
             "[net]\ninput = 4\nseed = 2\n[data]\npath = %s\n[dense]\nname = h1\nunits = 12\nactivation = tanh\n"
             "[dense]\nname = h2\nunits = 6\nactivation = tanh\n[dense]\nname = out\nunits = 3\n"
             "[train]\noptimizer = adam\nlr = 0.02\nbatch = 16\nepochs = 6\nstage_epochs = 3\n",
             data);
    const char *cfg = write_file("lw.cfg", text);
    const char *dir = t_tpath("cmp");
    CHECK_RUN(0, "compare '%s' --out '%s' --quiet", cfg, dir);
    CHECK_HAS(out_buf, "end_to_end");
    CHECK_HAS(out_buf, "layerwise_supervised");
    CHECK_HAS(out_buf, "layerwise_autoencoder");
    CHECK_HAS(out_buf, "params updated per stage");
    char p[400];
    snprintf(p, sizeof p, "%s/compare.csv", dir);
    CHECK(count_lines(p) == 4);
    snprintf(p, sizeof p, "%s/compare.txt", dir);
    CHECK(file_exists(p));
    CHECK_RUN(2, "compare '%s' --strategies end_to_end,nonsense", cfg);
    /* greedy training from the command line, then the codes of the last hidden layer */
    const char *rundir = t_tpath("lwrun");
    CHECK_RUN(0, "train '%s' --strategy layerwise_autoencoder --out '%s' --quiet", cfg, rundir);
    CHECK_HAS(out_buf, "h1: denoising autoencoder");
    CHECK_HAS(out_buf, "fine-tune end to end");
    CHECK_RUN(1, "train '%s' --strategy sideways --out '%s' --quiet", cfg, rundir);
    CHECK_HAS(err_buf, "unknown strategy");
    /* a layer-wise run resumes with its own settings only */
    snprintf(p, sizeof p, "%s/checkpoint.safetensors", rundir);
    CHECK_RUN(1, "train '%s' --out '%s' --quiet --resume '%s'", cfg, rundir, p);
    CHECK_HAS(err_buf, "trained with strategy layerwise_autoencoder, this run has strategy end_to_end");
    CHECK_RUN(1, "train '%s' --strategy layerwise_autoencoder --lr 0.1 --out '%s' --quiet --resume '%s'", cfg, rundir, p);
    CHECK_HAS(err_buf, "trained with lr 0.02, this run has lr 0.1");
    CHECK_RUN(0, "train '%s' --strategy layerwise_autoencoder --out '%s' --quiet --resume '%s'", cfg, rundir, p);
    snprintf(p, sizeof p, "%s/model.safetensors", rundir);
    const char *codes = t_tpath("codes.csv");
    CHECK_RUN(0, "encode '%s' --data '%s' --out '%s'", p, data, codes);
    CHECK(count_lines(codes) == 201);
    char buf[4096];
    read_into(codes, buf, sizeof buf);
    CHECK(strncmp(buf, "c0,c1,c2,c3,c4,c5\n", 18) == 0); /* 6 units in h2 */
    CHECK_RUN(0, "encode '%s' --data '%s' --out '%s' --layer h1", p, data, codes);
    read_into(codes, buf, sizeof buf);
    CHECK(strstr(buf, "c11,") == NULL && strstr(buf, "c11\n") != NULL);
    CHECK_RUN(1, "encode '%s' --data '%s' --out '%s' --layer nope", p, data, codes);
    CHECK_RUN(2, "encode '%s' --data '%s'", p, data);
}

static void test_malformed_inputs(void)
{
    char data[300], cfg[300], model[300]; /* own copies: t_tpath's ring is reused below */
    snprintf(data, sizeof data, "%s", t_tpath("three.csv")); /* from test_end_to_end */
    snprintf(cfg, sizeof cfg, "%s", t_tpath("three.cfg"));
    snprintf(model, sizeof model, "%s/model.safetensors", t_tpath("run"));
    if (!file_exists(model)) {
        CHECK_MSG(false, "no model from test_end_to_end");
        return;
    }
    /* truncated checkpoints: cut in the data, in the header, after 8 bytes */
    static const long cuts[] = {-10, 200, 8, 3, 0};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        const char *cut = t_tpath("cut.safetensors");
        copy_prefix(model, cut, cuts[i]);
        CHECK_RUN(1, "inspect '%s'", cut);
        CHECK_HAS(err_buf, "cut.safetensors");
        CHECK_RUN(1, "eval '%s' --data '%s'", cut, data);
        CHECK_RUN(1, "predict '%s' --data '%s'", cut, data);
        CHECK_RUN(1, "train '%s' --out '%s' --quiet --resume '%s'", cfg, t_tpath("run_cut"), cut);
    }
    const char *garbage = write_file("x.safetensors", "this is not a safetensors file at all\n\x01\x02\x03");
    CHECK_RUN(1, "inspect '%s'", garbage);
    CHECK_HAS(err_buf, "x.safetensors");
    CHECK_RUN(1, "eval '%s' --data '%s'", garbage, data);
    char huge[16] = {(char)0xff, (char)0xff, (char)0xff, (char)0xff, (char)0xff, (char)0xff, (char)0xff, 0x7f, '{', '}'};
    FILE *f = fopen(t_tpath("huge.safetensors"), "wb");
    if (f) {
        fwrite(huge, 1, 10, f);
        fclose(f);
    }
    CHECK_RUN(1, "inspect '%s'", t_tpath("huge.safetensors"));
    /* a model file given where a checkpoint is expected, and the reverse */
    CHECK_RUN(1, "eval '%s' --data '%s'", cfg, data);
    CHECK_RUN(1, "inspect '%s'", data);

    /* data files: a non-numeric value (line and column named), empty, ragged,
     * binary, missing */
    const char *bad = write_file("bad.csv", "f0,f1,f2,f3,label\n1,2,3,4,ant\n1,oops,3,4,bee\n");
    CHECK_RUN(1, "train '%s' --data '%s' --out '%s' --quiet", cfg, bad, t_tpath("run_bad"));
    CHECK_HAS(err_buf, "bad.csv:3:3");
    CHECK_HAS(err_buf, "oops");
    CHECK_RUN(1, "eval '%s' --data '%s'", model, bad);
    CHECK_HAS(err_buf, "bad.csv:3:3");
    CHECK_RUN(1, "predict '%s' --data '%s'", model, bad);
    CHECK_HAS(err_buf, "bad.csv:3:3");
    const char *empty = write_file("empty.csv", "");
    CHECK_RUN(1, "train '%s' --data '%s' --out '%s' --quiet", cfg, empty, t_tpath("run_empty"));
    CHECK_HAS(err_buf, "empty");
    CHECK_RUN(1, "eval '%s' --data '%s'", model, empty);
    CHECK_RUN(1, "predict '%s' --data '%s'", model, empty);
    const char *header_only = write_file("header_only.csv", "f0,f1,f2,f3,label\n");
    CHECK_RUN(1, "predict '%s' --data '%s'", model, header_only);
    CHECK_RUN(1, "train '%s' --data '%s' --out '%s' --quiet", cfg, header_only, t_tpath("run_empty"));
    const char *ragged = write_file("ragged.csv", "f0,f1,f2,f3,label\n1,2,3,4,ant\n1,2,3,bee\n");
    CHECK_RUN(1, "eval '%s' --data '%s'", model, ragged);
    CHECK_HAS(err_buf, "ragged.csv:3");
    CHECK_RUN(1, "predict '%s' --data '%s'", model, model); /* binary data */
    CHECK_RUN(1, "predict '%s' --data '%s'", model, t_tpath("no_such.csv"));
    CHECK_HAS(err_buf, "no_such.csv");
    /* a model file whose data has the wrong width */
    const char *wide = write_file("wide.csv", "1,2,3,4,5,0\n2,3,4,5,6,1\n");
    CHECK_RUN(1, "train '%s' --data '%s' --out '%s' --quiet", cfg, wide, t_tpath("run_wide"));
    CHECK_HAS(err_buf, "5 features");
    /* the run folder cannot be created: a file is in the way */
    write_file("blocker", "x");
    CHECK_RUN(1, "train '%s' --out '%s/sub' --quiet", cfg, t_tpath("blocker"));
    CHECK_HAS(err_buf, "blocker");
}

/* Sequence models: a language model trained for a step budget, generating
 * (the same seed, the same text), evaluated; a text classifier with
 * attention, whose weights predict --attention writes. */
static void test_sequence_commands(void)
{
    char text[3001];
    for (int i = 0; i < 3000; i++) text[i] = "aab"[i % 3];
    text[3000] = 0;
    const char *corpus = write_file("aab.txt", text);
    char cfgtext[1024];
    snprintf(cfgtext, sizeof cfgtext,
             "[net]\ninput = 12\nseed = 1\n[data]\nformat = corpus\npath = %s\n[embedding]\nunits = 8\n[gru]\nunits = 16\n"
             "[dense]\nunits = vocab\n[train]\noptimizer = adam\nlr = 0.02\nbatch = 16\nsteps = 100\n",
             corpus);
    const char *cfg = write_file("lm.cfg", cfgtext), *dir = t_tpath("run_lm");
    CHECK_RUN(0, "train '%s' --out '%s' --quiet --steps 120", cfg, dir);
    CHECK_HAS(out_buf, "steps 120: training tokens/s");
    CHECK_HAS(out_buf, "final loss");
    CHECK_HAS(out_buf, "vocabulary: 2 tokens (byte tokenizer)");
    char model[300];
    snprintf(model, sizeof model, "%s/model.safetensors", dir);
    CHECK_RUN(0, "generate '%s' --prompt ab --tokens 30 --temperature 0 --quiet", model);
    CHECK_MSG(!strncmp(out_buf, "abaabaabaab", 11), "greedy generation '%s'", out_buf);
    CHECK_RUN(0, "generate '%s' --prompt b --tokens 40 --temperature 1.5 --seed 5", model);
    CHECK_HAS(err_buf, "tokens generated");
    static char first[1 << 17];
    memcpy(first, out_buf, sizeof first);
    CHECK_RUN(0, "generate '%s' --prompt b --tokens 40 --temperature 1.5 --seed 5", model);
    CHECK_MSG(!strcmp(first, out_buf), "same seed, different text: '%s' / '%s'", first, out_buf);
    CHECK_RUN(0, "generate '%s' --prompt b --tokens 40 --temperature 1.5 --seed 5 --top-k 1", model);
    CHECK_MSG(!strncmp(out_buf, "baabaabaab", 10), "top-k 1 is greedy: '%s'", out_buf);
    CHECK_RUN(0, "generate '%s' --prompt b --tokens 40 --seed 5 --top-p 0.5", model);
    CHECK_RUN(0, "generate '%s' --prompt a --tokens 40 --stop bb --quiet", model);
    CHECK_RUN(1, "generate '%s' --prompt 'xyz'", model); /* bytes the vocabulary lacks */
    CHECK_HAS(err_buf, "not in the vocabulary");
    CHECK_RUN(2, "generate '%s' --tokens -3", model);
    CHECK_RUN(2, "generate '%s' --temperature x", model);
    CHECK_RUN(0, "eval '%s'", model);
    CHECK_HAS(out_buf, "perplexity");
    CHECK_RUN(1, "predict '%s'", model);
    CHECK_HAS(err_buf, "lamina generate");

    /* labelled text with attention */
    FILE *f = fopen(t_tpath("texts.csv"), "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("label,text\n", f);
    for (int i = 0; i < 120; i++)
        fprintf(f, "%s,\"%s the %s, %s\"\n", i % 2 ? "pos" : "neg", i % 3 ? "so" : "and", i % 2 ? "great" : "dull",
                i % 5 ? "yes" : "it was");
    fclose(f);
    snprintf(cfgtext, sizeof cfgtext,
             "[net]\ninput = 6\n[data]\nformat = text_csv\npath = %s\ntokenizer = word\n[embedding]\nunits = 8\n"
             "[lstm]\nunits = 8\n[attention]\nunits = 8\n[dense]\nunits = 2\n[train]\noptimizer = adam\nlr = 0.03\n"
             "epochs = 8\n",
             t_tpath("texts.csv"));
    cfg = write_file("cls.cfg", cfgtext);
    dir = t_tpath("run_cls");
    CHECK_RUN(0, "train '%s' --out '%s' --quiet", cfg, dir);
    CHECK_HAS(out_buf, "baseline on the test part: always");
    snprintf(model, sizeof model, "%s/model.safetensors", dir);
    CHECK_RUN(0, "eval '%s'", model);
    CHECK_HAS(out_buf, "macro F1");
    const char *preds = t_tpath("att.csv");
    CHECK_RUN(0, "predict '%s' --attention --out '%s'", model, preds);
    static char csv[1 << 16];
    read_into(preds, csv, sizeof csv);
    CHECK_HAS(csv, "true,predicted,p0,p1,text,a0,a1,a2,a3,a4,a5");
    CHECK(count_lines(preds) == 1 + 24);
    CHECK_RUN(2, "predict '%s' --attention=yes", model);
    CHECK_RUN(1, "predict '%s' --attention", t_tpath("run_lm/model.safetensors"));
}

/* Run `lamina ARGS` on a pseudo-terminal (script(1), util-linux), with
 * `env` (VAR=value ...) in its environment; what it wrote to the terminal
 * lands in out_buf.  Returns the exit code. */
static int run_tty(const char *env, const char *args)
{
    char cmd[8192], out_path[128];
    snprintf(out_path, sizeof out_path, "%s/tty.txt", t_tmpdir);
    snprintf(cmd, sizeof cmd, "env TERM=xterm %s script -qec \"'%s' %s\" /dev/null >'%s' 2>&1 </dev/null", env, lamina,
             args, out_path);
    int st = system(cmd);
    read_into(out_path, out_buf, sizeof out_buf);
    return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Terminal manners: on a terminal, errors and warnings in colour and a
 * progress line with ETA; with NO_COLOR (any non-empty value) or TERM=dumb
 * no colour; through a pipe neither colour nor the progress line (one line
 * per epoch).  The exit codes are the same everywhere. */
static void test_terminal_manners(void)
{
    CHECK_MSG(system("command -v script >/dev/null 2>&1") == 0, "script(1) (util-linux) is needed for this test");
    const char *data = write_classes("tty.csv", 150, 1, -1, 4);
    const char *cfg = write_model("tty.cfg", data);
    char args[1024];
    snprintf(args, sizeof args, "eval '%s' --data '%s'", t_tpath("no_such_model.safetensors"), data);
    CHECK(run_tty("", args) == 1);
    CHECK_HAS(out_buf, "lamina: \033[1;31merror:\033[0m ");
    CHECK(run_tty("NO_COLOR=1", args) == 1);
    CHECK_HAS(out_buf, "lamina: error: ");
    CHECK_MSG(!strchr(out_buf, '\033'), "NO_COLOR=1 printed an escape: %s", out_buf);
    CHECK(run_tty("TERM=dumb", args) == 1 && !strchr(out_buf, '\033'));
    CHECK(run_tty("NO_COLOR=", args) == 1 && strchr(out_buf, '\033')); /* empty: colours stay */
    CHECK_RUN(1, "%s", args);
    CHECK_MSG(!strchr(err_buf, '\033'), "colour through a pipe: %s", err_buf);

    snprintf(args, sizeof args, "train '%s' --out '%s' --epochs 3", cfg, t_tpath("run_tty"));
    CHECK(run_tty("", args) == 0);
    CHECK_HAS(out_buf, " ETA ");
    CHECK_HAS(out_buf, "\repoch 3/3"); /* the progress line is rewritten in place */
    CHECK_RUN(0, "%s", args);
    CHECK_MSG(!strstr(err_buf, "ETA") && !strchr(err_buf, '\r'), "progress line through a pipe: %s", err_buf);
    CHECK_HAS(err_buf, "epoch 3/3  loss");
    CHECK(run_tty("", "train --bogus") == 2);
}

/* The value at `path` ("results.accuracy", "model.layers.1.name": members
 * and array indices by dots) in text parsed as one strict JSON document
 * (the library's parser: trailing text, duplicate keys and invalid UTF-8 are
 * errors); NULL when text is not JSON or the path is absent. */
static const lam_json *json_at(lam_arena *a, const char *text, const char *path)
{
    lam_json *root;
    lam_json_error e;
    lam_json_options o = lam_json_defaults();
    if (lam_json_parse(a, text, strlen(text), &o, &root, &e) != LAM_OK) return NULL;
    const lam_json *v = root;
    char part[64];
    for (const char *p = path; v && *p;) {
        size_t n = strcspn(p, ".");
        snprintf(part, sizeof part, "%.*s", (int)n, p);
        if (v->type == LAM_JSON_ARRAY) {
            size_t i = (size_t)strtoul(part, NULL, 10);
            v = i < v->n ? v->items[i] : NULL;
        } else {
            v = v->type == LAM_JSON_OBJECT ? lam_json_get(v, part) : NULL;
        }
        p += n + (p[n] == '.');
    }
    return v;
}

static double json_num(lam_arena *a, const char *text, const char *path)
{
    const lam_json *v = json_at(a, text, path);
    return v && v->type == LAM_JSON_NUMBER ? v->number : NAN;
}

static const char *json_str(lam_arena *a, const char *text, const char *path)
{
    const lam_json *v = json_at(a, text, path);
    return v && v->type == LAM_JSON_STRING ? v->str : "";
}

/* --json: standard output is one JSON document with the same figures as the
 * text, for every command; train's is results.json, byte for byte */
static void test_json_output(void)
{
    lam_arena *a = lam_arena_new(0);
    const char *data = write_classes("json.csv", 150, 1, -1, 3);
    const char *cfg = write_model("json.cfg", data), *dir = t_tpath("run_json");
    CHECK_RUN(0, "train '%s' --out '%s' --epochs 4", cfg, dir);
    double acc = number_after(out_buf, "test results:", "accuracy ");
    CHECK_RUN(0, "train '%s' --out '%s' --epochs 4 --json", cfg, dir);
    static char js[1 << 17], file[1 << 17];
    memcpy(js, out_buf, sizeof js);
    CHECK_HAS(err_buf, "epoch 4/4"); /* progress stays on standard error */
    char p[400];
    snprintf(p, sizeof p, "%s/results.json", dir);
    read_into(p, file, sizeof file);
    CHECK_MSG(!strcmp(js, file), "train --json differs from results.json");
    CHECK(!strcmp(json_str(a, js, "format"), "lamina-run") && json_num(a, js, "version") == 1);
    CHECK(fabs(json_num(a, js, "results.accuracy") - acc) < 1e-4); /* the text printed 4 digits */
    CHECK(!strcmp(json_str(a, js, "results.split"), "test") && json_num(a, js, "results.n") == 30);
    CHECK(!strcmp(json_str(a, js, "results.classes.2.name"), "cat"));
    CHECK(json_num(a, js, "model.parameters") == 131 && !strcmp(json_str(a, js, "model.layers.1.name"), "fc1"));
    CHECK(json_num(a, js, "model.layers.1.shape.0") == 16); /* per sample */
    CHECK(json_num(a, js, "training.epochs_run") == 4 && json_num(a, js, "data.train") == 120);
    CHECK_HAS(json_str(a, js, "command"), "train");
    CHECK_HAS(json_str(a, js, "command"), "--epochs 4 --json");
    const lam_json *conf = json_at(a, js, "results.confusion");
    CHECK(conf && conf->type == LAM_JSON_ARRAY && conf->n == 3 && conf->items[0]->n == 3);

    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    CHECK_RUN(0, "eval '%s' --data '%s' --json", p, data);
    CHECK(!strcmp(json_str(a, out_buf, "command"), "eval") && json_num(a, out_buf, "rows") == 150);
    double eacc = json_num(a, out_buf, "results.accuracy");
    CHECK_RUN(0, "eval '%s' --data '%s'", p, data);
    CHECK(fabs(number_after(out_buf, NULL, "accuracy ") - eacc) < 1e-4);

    CHECK_RUN(0, "inspect '%s' --json", p);
    const lam_json *st = json_at(a, out_buf, "training_state");
    CHECK(json_num(a, out_buf, "model.parameters") == 131 && st && st->type == LAM_JSON_NULL); /* weights only */
    snprintf(p, sizeof p, "%s/checkpoint.safetensors", dir);
    CHECK_RUN(0, "inspect '%s' --json", p);
    CHECK(json_num(a, out_buf, "training_state.epochs") == 4 && json_num(a, out_buf, "training_state.steps") == 32);
    CHECK(json_num(a, out_buf, "memory_estimate.total") > 0);
    CHECK_RUN(0, "inspect '%s' --json", cfg);
    st = json_at(a, out_buf, "training_state");
    CHECK(st && st->type == LAM_JSON_NULL);
    snprintf(p, sizeof p, "%s/model.safetensors", dir);

    CHECK_RUN(2, "predict '%s' --data '%s' --json", p, data); /* the predictions need a file */
    CHECK_HAS(err_buf, "--json needs --out");
    CHECK_RUN(0, "predict '%s' --data '%s' --json --out '%s'", p, data, t_tpath("json_preds.csv"));
    CHECK(json_num(a, out_buf, "rows") == 150 && json_num(a, out_buf, "outputs") == 3);
    CHECK(count_lines(t_tpath("json_preds.csv")) == 151);

    CHECK_RUN(0, "encode '%s' --data '%s' --out '%s' --json", p, data, t_tpath("json_codes.csv"));
    CHECK(json_num(a, out_buf, "code_size") == 16 && !strcmp(json_str(a, out_buf, "layer"), "fc1"));

    CHECK_RUN(0, "compare '%s' --strategies end_to_end,layerwise_supervised --epochs 2 --out '%s' --json --quiet",
              cfg, t_tpath("json_cmp"));
    CHECK(!strcmp(json_str(a, out_buf, "rows.1.strategy"), "layerwise_supervised"));
    CHECK(json_num(a, out_buf, "rows.0.results.accuracy") >= 0 && json_num(a, out_buf, "rows.1.epochs") > 0);

    /* a language model: the generated text, even when a byte-level model
     * cuts a character (U+FFFD then) */
    snprintf(p, sizeof p, "%s/model.safetensors", t_tpath("run_lm"));
    CHECK_RUN(0, "generate '%s' --prompt ab --tokens 30 --temperature 0 --json", p);
    CHECK_MSG(!strncmp(json_str(a, out_buf, "text"), "aabaab", 6), "%s", out_buf);
    CHECK(json_num(a, out_buf, "tokens") == 30 && !strcmp(json_str(a, out_buf, "prompt"), "ab"));
    lam_arena_free(a);
}

/* NumPy files at the command line: eval, predict and encode read .npy /
 * .npz data (the same rows as a CSV give the same figures), predict and
 * encode write .npy / .npz, export writes the weights as an .npz that holds
 * exactly the checkpoint's tensors. */
static void test_numpy_files(void)
{
    enum { N = 90 };
    static const double centre[3][4] = {{0, 0, 0, 0}, {3, 3, 0, 0}, {0, 3, 3, 3}};
    static float x[N * 4];
    static int64_t y[N];
    char num[32];
    lcg_state = 21; /* the rows of write_classes(.., 21), as the CSV reader reads them */
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < 4; j++) {
            snprintf(num, sizeof num, "%.4f", centre[i % 3][j] + urand());
            x[i * 4 + j] = (float)strtod(num, NULL);
        }
        y[i] = i % 3;
    }
    const char *csv = write_classes("np.csv", N, 1, -1, 21), *cfg = write_model("np.cfg", csv), *dir = t_tpath("run_np");
    CHECK_RUN(0, "train '%s' --out '%s' --quiet --epochs 8", cfg, dir);
    char model[300];
    snprintf(model, sizeof model, "%s/model.safetensors", dir);
    int64_t xd[2] = {N, 4}, yd[1] = {N};
    const char *xnpy = t_tpath("np_x.npy"), *xynpz = t_tpath("np_xy.npz");
    CHECK_OK(lam_npy_write(xnpy, LAM_NPY_F4, 2, xd, x));
    lam_npz_entry ent[2] = {{"x", LAM_NPY_F4, 2, xd, x}, {"y", LAM_NPY_I8, 1, yd, y}};
    CHECK_OK(lam_npz_write(xynpz, ent, 2, true));

    lam_arena *a = lam_arena_new(0);
    CHECK_RUN(0, "eval '%s' --data '%s' --json", model, csv);
    double acc_csv = json_num(a, out_buf, "results.accuracy"), loss_csv = json_num(a, out_buf, "results.loss");
    CHECK_RUN(0, "eval '%s' --data '%s' --json", model, xynpz);
    CHECK_MSG(json_num(a, out_buf, "results.accuracy") == acc_csv && json_num(a, out_buf, "rows") == N &&
                  fabs(json_num(a, out_buf, "results.loss") - loss_csv) < 1e-9,
              "npz eval %s / csv accuracy %g", out_buf, acc_csv);
    CHECK(!strcmp(json_str(a, out_buf, "results.classes.1.name"), "bee")); /* names from the checkpoint */
    lam_arena_free(a);
    CHECK_RUN(1, "eval '%s' --data '%s'", model, xnpy); /* features only */
    CHECK_HAS(err_buf, "eval needs labels");

    /* predictions: .npy (probabilities), .npz (with the classes), the CSV's figures */
    const char *pcsv = t_tpath("np_p.csv"), *pnpy = t_tpath("np_p.npy"), *pnpz = t_tpath("np_p.npz");
    CHECK_RUN(0, "predict '%s' --data '%s' --out '%s'", model, csv, pcsv);
    CHECK_RUN(0, "predict '%s' --data '%s' --out '%s'", model, xnpy, pnpy);
    CHECK_RUN(0, "predict '%s' --data '%s' --out '%s'", model, xynpz, pnpz);
    lam_npy *p = NULL, *pc = NULL;
    CHECK_OK(lam_npy_read(pnpy, &p));
    CHECK(p && p->dtype == LAM_NPY_F4 && p->ndim == 2 && p->dims[0] == N && p->dims[1] == 3);
    static char text[1 << 15];
    read_into(pcsv, text, sizeof text);
    const char *line = strchr(text, '\n');
    double worst = 0;
    for (int i = 0; p && line && i < N; i++, line = strchr(line + 1, '\n')) {
        const char *c = strchr(line + 1, ','); /* after the predicted class */
        for (int j = 0; c && j < 3; j++, c = strchr(c + 1, ','))
            worst = fmax(worst, fabs(strtod(c + 1, NULL) - ((float *)p->data)[i * 3 + j]));
    }
    CHECK_MSG(worst < 1e-5, "npy and CSV predictions differ by %g", worst);
    lam_npz *z = NULL;
    CHECK_OK(lam_npz_open(pnpz, &z));
    CHECK_OK(lam_npz_read(z, "predicted", &pc));
    int agree = 0;
    for (int i = 0; p && pc && i < N; i++) {
        const float *r = (float *)p->data + i * 3;
        int64_t best = r[1] > r[0] ? 1 : 0;
        if (r[2] > r[best]) best = 2;
        agree += ((int64_t *)pc->data)[i] == best;
    }
    CHECK(pc && pc->dtype == LAM_NPY_I8 && agree == N && lam_npz_find(z, "probabilities") >= 0);
    lam_npy_free(pc);
    lam_npz_close(z);
    lam_npy_free(p);
    CHECK_RUN(1, "predict '%s' --data '%s'", model, write_file("np_bad.npy", "not numpy")); /* a clean error */
    CHECK_HAS(err_buf, "np_bad.npy");

    /* codes of the hidden layer, [N, 16] */
    const char *codes = t_tpath("np_codes.npy");
    CHECK_RUN(0, "encode '%s' --data '%s' --out '%s'", model, xnpy, codes);
    CHECK_OK(lam_npy_read(codes, &p));
    CHECK(p && p->ndim == 2 && p->dims[0] == N && p->dims[1] == 16);
    lam_npy_free(p);

    /* the weights: every tensor of the checkpoint, same name, shape and bits */
    const char *w = t_tpath("np_w.npz");
    CHECK_RUN(2, "export '%s' --out '%s'", model, t_tpath("np_w.zip"));
    CHECK_RUN(0, "export '%s' --out '%s' --compress", model, w);
    CHECK_HAS(out_buf, "wrote 6 arrays (131 parameters, and the scaler)");
    lam_safetensors *st = NULL;
    CHECK_OK(lam_safetensors_open(model, &st));
    CHECK_OK(lam_npz_open(w, &z));
    size_t same = 0;
    for (size_t i = 0; st && z && i < lam_safetensors_count(st); i++) {
        const lam_st_tensor *t = lam_safetensors_at(st, i);
        lam_npy *arr = NULL;
        if (lam_npz_read(z, t->name, &arr) != LAM_OK) continue;
        bool shape = arr->ndim == t->shape.ndim;
        for (int d = 0; shape && d < arr->ndim; d++) shape = arr->dims[d] == t->shape.d[d];
        same += shape && arr->nbytes == t->nbytes && !memcmp(arr->data, t->data, t->nbytes);
        lam_npy_free(arr);
    }
    CHECK_MSG(st && z && same == lam_safetensors_count(st) && lam_npz_count(z) == same, "%zu of %zu tensors equal",
              same, st ? lam_safetensors_count(st) : 0);
    lam_npz_close(z);
    lam_safetensors_close(st);
}

int main(void)
{
    if (!(lamina = t_lamina_binary("test_cli"))) return 1;
    if (!t_mkdtemp("/tmp/lamina_test_cli_XXXXXX")) return 1;
    RUN(test_help_and_usage);
    RUN(test_model_file_errors);
    RUN(test_end_to_end);
    RUN(test_checkpoint_every);
    RUN(test_regression);
    RUN(test_layerwise_commands);
    RUN(test_malformed_inputs);
    RUN(test_sequence_commands);
    RUN(test_json_output); /* after test_sequence_commands: uses its language model */
    RUN(test_terminal_manners);
    RUN(test_numpy_files);
    if (t_failed_ == 0) t_rm_tree(t_tmpdir);
    if (t_failed_) fprintf(stderr, "fixtures kept in %s\n", t_tmpdir);
    TEST_MAIN_END;
}
