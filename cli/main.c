/* The lamina command: train, eval, predict, inspect.  The only code that
 * prints for the user and chooses exit codes: 0 success, 1 failure, 2 usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lamina/lamina.h"

#define EXIT_USAGE 2

static int fail(lam_status s)
{
    const char *msg = lam_last_error();
    fprintf(stderr, "lamina: error: %s%s%s\n", msg[0] ? msg : lam_status_str(s), msg[0] ? "" : "", "");
    return EXIT_FAILURE;
}

/* ---- options ---------------------------------------------------------------- */
typedef struct cli_opts {
    const char *file;          /* CFG or CKPT */
    const char *data, *out, *resume;
    int epochs, batch, threads;
    double lr;
    long long seed;
    bool quiet, help;
} cli_opts;

static const char *const train_help =
    "usage: lamina train CFG [options]\n"
    "Train the model described by the model file CFG and report its test results.\n"
    "  --data PATH     data file (CSV, plain or .gz), instead of the model's [data] path\n"
    "  --epochs N      number of epochs\n"
    "  --batch N       batch size\n"
    "  --lr X          learning rate\n"
    "  --seed N        seed for initialisation, shuffling and dropout\n"
    "  --threads N     kernel threads (default: all cores)\n"
    "  --out DIR       run folder (default runs/NAME): model.safetensors, checkpoint.safetensors,\n"
    "                  metrics.csv, report.txt\n"
    "  --resume CKPT   continue exactly from a checkpoint of the same model\n"
    "  --quiet         no progress output\n";
static const char *const eval_help =
    "usage: lamina eval CKPT --data PATH [--threads N]\n"
    "Evaluate a trained model on a labelled data file: loss, accuracy, per-class\n"
    "precision/recall/F1 and the confusion matrix (or MSE/MAE/R2 for regression).\n";
static const char *const predict_help =
    "usage: lamina predict CKPT --data PATH [--out FILE] [--threads N]\n"
    "Write one CSV row per input row: the predicted class and the class\n"
    "probabilities (or the predicted values for regression).  The data file has\n"
    "the same columns as the training data.\n";
static const char *const inspect_help =
    "usage: lamina inspect CFG|CKPT [--batch N]\n"
    "Print the resolved model: layers, output shapes, parameter counts, FLOPs and\n"
    "the planned memory.\n";
static const char *const main_help =
    "usage: lamina COMMAND [options]   (lamina COMMAND --help for details)\n"
    "commands:\n"
    "  train CFG      train a model from a model file\n"
    "  eval CKPT      evaluate a trained model on labelled data\n"
    "  predict CKPT   predict with a trained model\n"
    "  inspect FILE   show a model file's or checkpoint's layers, shapes, parameters and memory\n"
    "  version        print the version\n";

static bool parse_num(const char *flag, const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double x = v ? strtod(v, &end) : 0;
    if (!v || errno || end == v || *end || x < lo || x > hi) {
        fprintf(stderr, "lamina: %s needs a number in [%g, %g], got '%s'\n", flag, lo, hi, v ? v : "");
        return false;
    }
    *out = x;
    return true;
}

static int parse_opts(int argc, char **argv, cli_opts *o, const char *allowed)
{
    memset(o, 0, sizeof *o);
    o->seed = -1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        double x;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            o->help = true;
            continue;
        }
        if (a[0] == '-' && a[1] == '-') {
            char key[64];
            snprintf(key, sizeof key, " %s ", a + 2);
            if (!strstr(allowed, key)) {
                fprintf(stderr, "lamina: unknown option %s\n", a);
                return EXIT_USAGE;
            }
        }
        if (!strcmp(a, "--quiet")) o->quiet = true;
        else if (!strcmp(a, "--data") && v) o->data = argv[++i];
        else if (!strcmp(a, "--out") && v) o->out = argv[++i];
        else if (!strcmp(a, "--resume") && v) o->resume = argv[++i];
        else if (!strcmp(a, "--epochs")) {
            if (!parse_num(a, v, 1, 1e6, &x)) return EXIT_USAGE;
            o->epochs = (int)x, i++;
        } else if (!strcmp(a, "--batch")) {
            if (!parse_num(a, v, 1, 1 << 20, &x)) return EXIT_USAGE;
            o->batch = (int)x, i++;
        } else if (!strcmp(a, "--threads")) {
            if (!parse_num(a, v, 1, 1024, &x)) return EXIT_USAGE;
            o->threads = (int)x, i++;
        } else if (!strcmp(a, "--lr")) {
            if (!parse_num(a, v, 1e-12, 1e3, &x)) return EXIT_USAGE;
            o->lr = x, i++;
        } else if (!strcmp(a, "--seed")) {
            if (!parse_num(a, v, 0, 4e18, &x)) return EXIT_USAGE;
            o->seed = (long long)x, i++;
        } else if (a[0] == '-') {
            fprintf(stderr, "lamina: option %s needs a value\n", a);
            return EXIT_USAGE;
        } else if (!o->file) o->file = a;
        else {
            fprintf(stderr, "lamina: unexpected argument '%s'\n", a);
            return EXIT_USAGE;
        }
    }
    if (o->threads) lam_set_threads(o->threads);
    return 0;
}

/* ---- progress ------------------------------------------------------------------ */
typedef struct progress {
    bool tty, quiet;
} progress;

static void on_batch(const lam_batch_log *b, void *user)
{
    progress *p = user;
    if (!p->tty || p->quiet) return;
    if (b->batch % 5 != 0 && b->batch != b->batches) return;
    double eta = b->elapsed / (double)b->batch * (double)(b->batches - b->batch);
    int w = 24, fill = (int)(w * b->batch / (b->batches ? b->batches : 1));
    char bar[32];
    for (int i = 0; i < w; i++) bar[i] = i < fill ? '=' : ' ';
    bar[w] = 0;
    fprintf(stderr, "\repoch %d/%d [%s] %lld/%lld loss %.4f ETA %.1fs   ", b->epoch, b->epochs, bar,
            (long long)b->batch, (long long)b->batches, b->loss, eta);
}

static void on_epoch(const lam_epoch_log *e, void *user)
{
    progress *p = user;
    if (p->quiet) return;
    if (p->tty) fprintf(stderr, "\r%*s\r", 78, "");
    fprintf(stderr, "epoch %d/%d  loss %.4f", e->epoch, e->epochs, e->train_loss);
    if (e->train_acc == e->train_acc) fprintf(stderr, "  acc %.4f", e->train_acc);
    if (e->val_loss == e->val_loss) fprintf(stderr, "  val_loss %.4f", e->val_loss);
    if (e->val_acc == e->val_acc) fprintf(stderr, "  val_acc %.4f", e->val_acc);
    fprintf(stderr, "  lr %.3g  %.2fs%s\n", e->lr, e->seconds, e->improved ? "" : "");
}

/* ---- commands ------------------------------------------------------------------- */

static int mkdir_p(const char *dir)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(tmp, 0777);
            *p = '/';
        }
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST) return -1;
    return 0;
}

static int cmd_train(int argc, char **argv)
{
    cli_opts o;
    int rc = parse_opts(argc, argv, &o, " data epochs batch lr seed threads out resume quiet ");
    if (rc) return rc;
    if (o.help) return fputs(train_help, stdout), 0;
    if (!o.file) return fputs(train_help, stderr), EXIT_USAGE;
    lam_model_overrides ov = lam_model_overrides_none();
    ov.data_path = o.data;
    ov.epochs = o.epochs;
    ov.batch = o.batch;
    ov.lr = o.lr;
    ov.seed = o.seed;
    lam_model *m = NULL;
    lam_dataset *tr = NULL, *va = NULL, *te = NULL;
    lam_metrics mt = {0};
    lam_csv_report rep = {0};
    lam_status s = lam_model_load(o.file, &ov, &m);
    if (s != LAM_OK) return fail(s);
    char out_dir[1024];
    if (o.out) snprintf(out_dir, sizeof out_dir, "%s", o.out);
    else {
        const char *base = strrchr(o.file, '/');
        base = base ? base + 1 : o.file;
        snprintf(out_dir, sizeof out_dir, "runs/%.*s", (int)strcspn(base, "."), base);
    }
    if (mkdir_p(out_dir) != 0) {
        fprintf(stderr, "lamina: error: cannot create the run folder %s: %s\n", out_dir, strerror(errno));
        lam_model_free(m);
        return EXIT_FAILURE;
    }
    if ((s = lam_model_prepare_data(m, &tr, &va, &te, &rep)) != LAM_OK) goto out;
    char buf[8192];
    printf("data: %s: %lld rows x %lld features", m->data.path, (long long)rep.rows_kept, (long long)tr->nfeat);
    if (rep.rows_dropped) printf(", %lld rows with missing values dropped", (long long)rep.rows_dropped);
    if (rep.values_imputed) printf(", %lld missing values imputed with column means", (long long)rep.values_imputed);
    printf("; train %lld, validation %lld, test %lld\n", (long long)tr->n, (long long)(va ? va->n : 0),
           (long long)(te ? te->n : 0));
    if ((s = lam_model_compile(m, m->train.batch)) != LAM_OK) goto out;
    lam_model_describe(m, buf, sizeof buf);
    fputs(buf, stdout);
    printf("training: %s lr %g, batch %d, %d epochs, %d threads\n", lam_optim_kind_name(m->train.optimizer),
           m->train.group.lr, m->train.batch, m->train.epochs, lam_get_threads());
    fflush(stdout);
    char ckpt[1100], model_path[1100], csv_path[1100], report_path[1100];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", out_dir);
    snprintf(model_path, sizeof model_path, "%s/model.safetensors", out_dir);
    snprintf(csv_path, sizeof csv_path, "%s/metrics.csv", out_dir);
    snprintf(report_path, sizeof report_path, "%s/report.txt", out_dir);
    progress pg = {isatty(2) != 0, o.quiet};
    lam_fit_hooks hk = {on_batch, on_epoch, &pg, ckpt, o.resume, csv_path};
    lam_fit_result fr;
    if ((s = lam_fit(m, tr, va, &hk, &fr)) != LAM_OK) goto out;
    if ((s = lam_checkpoint_save(m, NULL, NULL, model_path)) != LAM_OK) goto out;
    printf("trained %d epochs in %.2f s (%.4f s/epoch)%s; best epoch %d\n", fr.epochs_run, fr.seconds,
           fr.seconds / (fr.epochs_run ? fr.epochs_run : 1), fr.stopped_early ? ", stopped early" : "",
           fr.best_epoch);
    const lam_dataset *evs = te ? te : tr;
    if ((s = lam_evaluate(m, evs, &mt)) != LAM_OK) goto out;
    lam_metrics_report(&mt, (const char *const *)evs->class_names, buf, sizeof buf);
    printf("%s results:\n%s", te ? "test" : "training-set", buf);
    FILE *f = fopen(report_path, "w");
    if (f) {
        fprintf(f, "%s results (%s):\n%s", te ? "test" : "training-set", o.file, buf);
        fclose(f);
    }
    printf("saved %s (and checkpoint.safetensors, metrics.csv, report.txt)\n", model_path);
out:
    lam_metrics_free(&mt);
    lam_csv_report_clear(&rep);
    lam_dataset_free(tr);
    lam_dataset_free(va);
    lam_dataset_free(te);
    lam_model_free(m);
    return s == LAM_OK ? 0 : fail(s);
}

/* Read a data file with the checkpoint's column layout and scale it. */
static lam_status load_eval_data(lam_model *m, const char *path, lam_dataset **ds)
{
    lam_status s = lam_csv_read(path, &m->data.csv, ds, NULL);
    if (s != LAM_OK) return s;
    if (m->scaler && (s = lam_scaler_apply(m->scaler, *ds)) != LAM_OK) {
        lam_dataset_free(*ds);
        *ds = NULL;
    }
    return s;
}

static int cmd_eval(int argc, char **argv)
{
    cli_opts o;
    int rc = parse_opts(argc, argv, &o, " data threads ");
    if (rc) return rc;
    if (o.help) return fputs(eval_help, stdout), 0;
    if (!o.file || !o.data) return fputs(eval_help, stderr), EXIT_USAGE;
    lam_model *m;
    lam_dataset *ds = NULL;
    lam_metrics mt = {0};
    lam_status s = lam_checkpoint_load(o.file, &m, NULL);
    if (s != LAM_OK) return fail(s);
    if ((s = load_eval_data(m, o.data, &ds)) == LAM_OK && (s = lam_evaluate(m, ds, &mt)) == LAM_OK) {
        char buf[8192];
        lam_metrics_report(&mt, (const char *const *)ds->class_names, buf, sizeof buf);
        fputs(buf, stdout);
    }
    lam_metrics_free(&mt);
    lam_dataset_free(ds);
    lam_model_free(m);
    return s == LAM_OK ? 0 : fail(s);
}

static int cmd_predict(int argc, char **argv)
{
    cli_opts o;
    int rc = parse_opts(argc, argv, &o, " data out threads ");
    if (rc) return rc;
    if (o.help) return fputs(predict_help, stdout), 0;
    if (!o.file || !o.data) return fputs(predict_help, stderr), EXIT_USAGE;
    lam_model *m;
    lam_dataset *ds = NULL;
    float *pred = NULL;
    FILE *f = stdout;
    lam_status s = lam_checkpoint_load(o.file, &m, NULL);
    if (s != LAM_OK) return fail(s);
    if ((s = load_eval_data(m, o.data, &ds)) != LAM_OK) goto out;
    pred = lam_calloc((size_t)ds->n * (size_t)m->nout, sizeof(float));
    if (!pred) {
        s = LAM_ERR_NOMEM;
        goto out;
    }
    if ((s = lam_predict(m, ds, pred)) != LAM_OK) goto out;
    if (o.out && !(f = fopen(o.out, "w"))) {
        s = lam_fail(LAM_ERR_IO, "%s: %s", o.out, strerror(errno));
        goto out;
    }
    int k = m->nout;
    bool cls = m->train.loss == LAM_LOSS_CROSS_ENTROPY;
    fprintf(f, cls ? "predicted" : "");
    for (int j = 0; j < k; j++) fprintf(f, cls ? ",p%d" : (j ? ",y%d" : "y%d"), j);
    fprintf(f, "\n");
    for (int64_t i = 0; i < ds->n; i++) {
        const float *p = pred + i * k;
        if (cls) {
            int best = 0;
            for (int j = 1; j < k; j++)
                if (p[j] > p[best]) best = j;
            fprintf(f, "%d", best);
        }
        for (int j = 0; j < k; j++) fprintf(f, (cls || j) ? ",%.6g" : "%.6g", p[j]);
        fprintf(f, "\n");
    }
    if (f != stdout && fclose(f) != 0) s = lam_fail(LAM_ERR_IO, "%s: write error", o.out);
out:
    lam_free(pred);
    lam_dataset_free(ds);
    lam_model_free(m);
    return s == LAM_OK ? 0 : fail(s);
}

static bool is_checkpoint(const char *path)
{
    size_t n = strlen(path);
    return n > 12 && !strcmp(path + n - 12, ".safetensors");
}

static int cmd_inspect(int argc, char **argv)
{
    cli_opts o;
    int rc = parse_opts(argc, argv, &o, " batch ");
    if (rc) return rc;
    if (o.help) return fputs(inspect_help, stdout), 0;
    if (!o.file) return fputs(inspect_help, stderr), EXIT_USAGE;
    lam_model *m;
    lam_train_state ts;
    bool ck = is_checkpoint(o.file);
    lam_status s = ck ? lam_checkpoint_load(o.file, &m, &ts) : lam_model_load(o.file, NULL, &m);
    if (s != LAM_OK) return fail(s);
    if (o.batch) m->train.batch = o.batch;
    if ((s = lam_model_compile(m, m->train.batch)) == LAM_OK) {
        char buf[8192];
        lam_model_describe(m, buf, sizeof buf);
        fputs(buf, stdout);
        if (ck) printf("checkpoint: %d epochs, %llu steps\n", ts.epoch, (unsigned long long)ts.step);
    }
    lam_model_free(m);
    return s == LAM_OK ? 0 : fail(s);
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(main_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "train")) return cmd_train(argc - 2, argv + 2);
    if (!strcmp(cmd, "eval")) return cmd_eval(argc - 2, argv + 2);
    if (!strcmp(cmd, "predict")) return cmd_predict(argc - 2, argv + 2);
    if (!strcmp(cmd, "inspect")) return cmd_inspect(argc - 2, argv + 2);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) return printf("lamina %s\n", LAMINA_VERSION), 0;
    fprintf(stderr, "lamina: unknown command '%s'\n%s", cmd, main_help);
    return EXIT_USAGE;
}
