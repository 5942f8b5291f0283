/* The lamina command: train, eval, predict, inspect.  The only code that
 * prints for the user and chooses exit codes: 0 success, 1 failure (a bad
 * model file, data file or checkpoint, an I/O error), 2 usage (an unknown
 * command or option, a missing or malformed option value), 3 interrupted
 * (SIGINT or SIGTERM stopped lamina train after a step, the checkpoint
 * written).  The signal handlers (interrupt.c) are installed around
 * training only: the library installs none.
 *
 * eval and predict read data files with the checkpoint's [data] options.
 * predict also accepts files with the features only; eval and predict map
 * class labels as training did (see class_map below). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"


/* Report the library's message for s (or the status name when the library
 * left none) and return the failure exit code. */
int fail(lam_status s)
{
    const char *msg = lam_last_error();
    fprintf(stderr, "lamina: error: %s\n", msg && msg[0] ? msg : lam_status_str(s));
    return EXIT_FAILURE;
}

/* ---- help ---------------------------------------------------------------------- */

static const char *const train_help =
    "usage: lamina train CFG [options]\n"
    "Train the model described by the model file CFG, then evaluate it on the held-out\n"
    "test part of the data ([data] test_split): accuracy, per-class precision/recall/F1\n"
    "and the confusion matrix (or MSE/MAE/R2 for regression).\n"
    "  --data PATH     data file (CSV, plain or .gz) or data directory, instead of [data] path\n"
    "  --strategy S    end_to_end, layerwise_supervised, layerwise_autoencoder or stages\n"
    "  --epochs N      number of epochs (with --resume: the total, counting the done ones)\n"
    "  --steps N       stop after N optimiser steps (any model); sequence models print their\n"
    "                  training tokens/s (or samples/s) and the final training loss\n"
    "  --batch N       batch size\n"
    "  --lr X          learning rate\n"
    "  --seed N        seed for initialisation, shuffling and dropout\n"
    "  --threads N     kernel threads (default: all cores)\n"
    "  --out DIR       run folder (default runs/NAME, NAME the model file's name without\n"
    "                  extension): model.safetensors (final weights), checkpoint.safetensors\n"
    "                  (written every epoch, or every stage of a layer-wise strategy, for\n"
    "                  --resume), metrics.csv, report.txt\n"
    "  --checkpoint-every N  also write the checkpoint every N optimiser steps, mid-epoch\n"
    "                  (end_to_end): a run killed at any moment loses at most N steps\n"
    "  --resume CKPT   continue from a checkpoint of the same model file, with the same\n"
    "                  options: exactly from the step it was written at (end_to_end), bit\n"
    "                  for bit as if training had not stopped, or after its last completed\n"
    "                  stage\n"
    "  --quiet         no progress output (results are still printed)\n"
    "  --profile       time every op of the graph and print the table at the end\n"
    "Checkpoints are written atomically (temporary file, fsync, rename): after a crash or\n"
    "kill -9 the checkpoint is the previous one or the new one, whole.\n"
    "SIGINT (Ctrl-C) or SIGTERM during training: the current step is finished, the\n"
    "checkpoint written and lamina exits with code 3; --resume CKPT continues (a layer-wise\n"
    "strategy repeats the stage it was in; a semi-supervised run, labelled_fraction < 1,\n"
    "is ended as by default).  A second signal ends the process at once; the checkpoint on\n"
    "disk stays whole.\n"
    "exit codes: 0 success, 1 failure, 2 usage error, 3 interrupted (checkpoint written)\n";
static const char *const eval_help =
    "usage: lamina eval CKPT --data PATH [--threads N]\n"
    "Evaluate a trained model on a labelled data file with the training data's column\n"
    "layout: loss, accuracy, per-class precision/recall/F1 and the confusion matrix (or\n"
    "MSE/MAE/R2 for regression).  Class labels are mapped as in training.\n"
    "Text and time-series models read --data (default: the model file's [data] path) as\n"
    "their model file says and evaluate its test part, split as in training (all of it\n"
    "when test_split = 0); a language model reports loss, perplexity and accuracy.\n"
    "  --data PATH     data file (CSV, plain or .gz), or a text model's text\n"
    "  --threads N     kernel threads (default: all cores)\n";
static const char *const predict_help =
    "usage: lamina predict CKPT --data PATH [--out FILE] [--threads N]\n"
    "Write a CSV with a header and one row per input row: the predicted class (its\n"
    "name when the training labels were names) and the class probabilities p0, p1, ...\n"
    "(p1 alone for a binary model; the predicted values y0, y1, ... for regression).\n"
    "The data file holds either the features only or the training data's columns (the\n"
    "label/target columns are then ignored); the first row decides which.\n"
    "Text and time-series models predict the test part of --data (default: the model\n"
    "file's [data] path), read and split as in training; each row also gets the true\n"
    "class and the text of the sample.\n"
    "  --data PATH     data file (CSV, plain or .gz), or a text model's text\n"
    "  --out FILE      output file (default: standard output)\n"
    "  --attention     also write the weights of the model's attention layer: one column\n"
    "                  per position, a0, a1, ... (what the model looked at)\n"
    "  --threads N     kernel threads (default: all cores)\n";
static const char *const inspect_help =
    "usage: lamina inspect CFG|CKPT [--batch N]\n"
    "Print the resolved model of a model file or checkpoint (*.safetensors): layers,\n"
    "output shapes, parameter counts, FLOPs and the memory planned for a batch.\n"
    "  --batch N       batch size to plan memory for (default: [train] batch)\n";
static const char *const main_help =
    "usage: lamina COMMAND [options]   (lamina COMMAND --help for details)\n"
    "commands:\n"
    "  train CFG      train a model from a model file\n"
    "  eval CKPT      evaluate a trained model on labelled data\n"
    "  predict CKPT   predict with a trained model\n"
    "  inspect FILE   show a model file's or checkpoint's layers, shapes, parameters and memory\n"
    "  compare CFG    train a model file with several strategies and compare them\n"
    "  encode CKPT    write a trained network's codes for each data row\n"
    "  generate CKPT  write text with a trained language model\n"
    "  version        print the version\n"
    "exit codes: 0 success, 1 failure, 2 usage error, 3 training interrupted by SIGINT or\n"
    "SIGTERM (the checkpoint written: lamina train --resume continues)\n";

double mib(size_t b) { return (double)b / (1 << 20); }

void print_description(lam_model *m)
{
    size_t n = lam_model_describe(m, NULL, 0) + 1;
    char *buf = malloc(n);
    if (!buf) {
        fprintf(stderr, "lamina: out of memory describing the model\n");
        return;
    }
    lam_model_describe(m, buf, n);
    fputs(buf, stdout);
    free(buf);
}

char *metrics_text(const lam_metrics *mt, const char *const *class_names)
{
    size_t n = lam_metrics_report(mt, class_names, NULL, 0) + 1;
    char *buf = malloc(n);
    if (buf) lam_metrics_report(mt, class_names, buf, n);
    else fprintf(stderr, "lamina: out of memory writing the metrics\n");
    return buf;
}

void print_metrics(const lam_metrics *mt, const char *const *class_names)
{
    char *buf = metrics_text(mt, class_names);
    if (buf) fputs(buf, stdout);
    free(buf);
}

/* The estimate of lam_model_memory_estimate, one line; returns the total. */
size_t print_memory_estimate(lam_model *m)
{
    lam_mem_estimate e;
    if (lam_model_memory_estimate(m, &e) != LAM_OK) return 0;
    if (e.data_known)
        printf("  estimated peak memory of training: %.1f MiB (data %.1f + reading %.1f, graph %.1f, optimiser %.1f, "
               "trainer %.1f, runtime)\n",
               mib(e.total_bytes), mib(e.data_bytes), mib(e.read_bytes), mib(e.graph_bytes), mib(e.optim_bytes),
               mib(e.fit_bytes));
    else
        printf("  estimated peak memory of training: %.1f MiB plus the data set (graph %.1f, optimiser %.1f, trainer "
               "%.1f, runtime)\n",
               mib(e.total_bytes), mib(e.graph_bytes), mib(e.optim_bytes), mib(e.fit_bytes));
    return e.total_bytes;
}

/* Peak resident memory of this process so far (Linux: ru_maxrss in KiB). */
double peak_rss_mib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (double)ru.ru_maxrss / 1024.0;
}

/* ---- options ------------------------------------------------------------------- */


static bool parse_int(const char *flag, const char *v, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) {
        fprintf(stderr, "lamina: %s needs an integer in [%lld, %lld], got '%s'\n", flag, lo, hi, v);
        return false;
    }
    *out = x;
    return true;
}

static bool parse_double(const char *flag, const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !(x >= lo && x <= hi)) {
        fprintf(stderr, "lamina: %s needs a number in [%g, %g], got '%s'\n", flag, lo, hi, v);
        return false;
    }
    *out = x;
    return true;
}

/* Options of one command: `allowed` lists the long options it takes, as
 * " name name ... ".  Accepts "--name value" and "--name=value".  Returns 0 or
 * EXIT_USAGE (the message printed). */
int parse_opts(int argc, char **argv, cli_opts *o, const char *allowed)
{
    memset(o, 0, sizeof *o);
    o->seed = -1;
    o->tokens = -1;
    o->temperature = o->top_p = -1;
    bool only_files = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (only_files || a[0] != '-' || !a[1]) { /* "-" alone is a file name */
            if (o->file) {
                fprintf(stderr, "lamina: unexpected argument '%s'\n", a);
                return EXIT_USAGE;
            }
            o->file = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_files = true;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            o->help = true;
            continue;
        }
        char name[64];
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        char key[80];
        snprintf(name, sizeof name, "%.*s", (int)(len < 63 ? len : 63), a);
        snprintf(key, sizeof key, " %s ", name + 2);
        if (a[1] != '-' || len >= 63 || len < 3 || !strstr(allowed, key)) {
            fprintf(stderr, "lamina: unknown option %.*s (see --help)\n", (int)len, a);
            return EXIT_USAGE;
        }
        if (!strcmp(name, "--quiet") || !strcmp(name, "--profile") || !strcmp(name, "--attention") ||
            !strcmp(name, "--no-cache")) {
            if (eq) {
                fprintf(stderr, "lamina: %s takes no value\n", name);
                return EXIT_USAGE;
            }
            if (!strcmp(name, "--quiet")) o->quiet = true;
            else if (!strcmp(name, "--profile")) o->profile = true;
            else if (!strcmp(name, "--no-cache")) o->no_cache = true;
            else o->attention = true;
            continue;
        }
        if (!strcmp(name, "--prompt")) { /* the one option whose value may be empty or start with "--" */
            const char *pv = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!pv) {
                fprintf(stderr, "lamina: option --prompt needs a value\n");
                return EXIT_USAGE;
            }
            o->prompt = pv;
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v || !*v || (!eq && v[0] == '-' && v[1] == '-')) {
            fprintf(stderr, "lamina: option %s needs a value\n", name);
            return EXIT_USAGE;
        }
        long long n;
        if (!strcmp(name, "--data")) o->data = v;
        else if (!strcmp(name, "--out")) o->out = v;
        else if (!strcmp(name, "--resume")) o->resume = v;
        else if (!strcmp(name, "--strategy")) o->strategy = v;
        else if (!strcmp(name, "--strategies")) o->strategies = v;
        else if (!strcmp(name, "--layer")) o->layer = v;
        else if (!strcmp(name, "--epochs")) {
            if (!parse_int(name, v, 1, 1000000, &n)) return EXIT_USAGE;
            o->epochs = (int)n;
        } else if (!strcmp(name, "--batch")) {
            if (!parse_int(name, v, 1, 1 << 20, &n)) return EXIT_USAGE;
            o->batch = (int)n;
        } else if (!strcmp(name, "--threads")) {
            if (!parse_int(name, v, 1, 1024, &n)) return EXIT_USAGE;
            o->threads = (int)n;
        } else if (!strcmp(name, "--seed")) {
            if (!parse_int(name, v, 0, (1LL << 62), &n)) return EXIT_USAGE;
            o->seed = n;
        } else if (!strcmp(name, "--lr")) {
            if (!parse_double(name, v, 1e-12, 1e3, &o->lr)) return EXIT_USAGE;
        } else if (!strcmp(name, "--steps")) {
            if (!parse_int(name, v, 1, 1LL << 40, &o->steps)) return EXIT_USAGE;
        } else if (!strcmp(name, "--checkpoint-every")) {
            if (!parse_int(name, v, 1, 1LL << 40, &o->checkpoint_every)) return EXIT_USAGE;
        } else if (!strcmp(name, "--tokens")) {
            if (!parse_int(name, v, 0, 1 << 24, &n)) return EXIT_USAGE;
            o->tokens = (int)n;
        } else if (!strcmp(name, "--top-k")) {
            if (!parse_int(name, v, 0, 1 << 24, &n)) return EXIT_USAGE;
            o->top_k = (int)n;
        } else if (!strcmp(name, "--temperature")) {
            if (!parse_double(name, v, 0, 1e3, &o->temperature)) return EXIT_USAGE;
        } else if (!strcmp(name, "--top-p")) {
            if (!parse_double(name, v, 1e-6, 1, &o->top_p)) return EXIT_USAGE;
        } else if (!strcmp(name, "--stop")) {
            o->stop = v;
        }
    }
    if (o->threads) lam_set_threads(o->threads);
    return 0;
}

/* Help to stdout (exit 0) when asked for, else usage to stderr (exit 2) when
 * a required argument is missing; -1 to go on. */
int help_or_usage(const cli_opts *o, const char *help, bool ok)
{
    if (o->help) return fputs(help, stdout), 0;
    if (!ok) return fputs(help, stderr), EXIT_USAGE;
    return -1;
}

/* ---- class labels ------------------------------------------------------------------ */

/* Class names for reports: `names` (n of them, may be NULL) padded to k
 * entries with the class indices.  Owned by the struct (class_names_free). */
typedef struct class_names {
    char **v;
    int k;
} class_names;

static lam_status class_names_make(const char *const *names, int n, int k, class_names *out)
{
    out->v = NULL;
    out->k = 0;
    if (!names || k < 1) return LAM_OK;
    out->v = lam_calloc((size_t)k, sizeof(char *));
    if (!out->v) return LAM_ERR_NOMEM;
    out->k = k;
    for (int c = 0; c < k; c++) {
        char num[16];
        snprintf(num, sizeof num, "%d", c);
        if (!(out->v[c] = lam_strdup(c < n ? names[c] : num))) return LAM_ERR_NOMEM;
    }
    return LAM_OK;
}

static void class_names_free(class_names *c)
{
    for (int i = 0; c->v && i < c->k; i++) lam_free(c->v[i]);
    lam_free(c->v);
    c->v = NULL;
    c->k = 0;
}

static bool is_classifier(const lam_model *m) { return m->train.loss != LAM_LOSS_MSE; }

/* Classes the model tells apart: its outputs, or 2 for a binary (BCE) model. */
static int model_classes(const lam_model *m)
{
    return m->train.loss == LAM_LOSS_BCE ? 2 : m->nout;
}

/* The class mapping of training.  The checkpoint stores the model file but
 * not the class names, so they are recovered from the training data file the
 * model file names ([data] path), which lam_csv_read_classes scans without
 * parsing features.  *known is false when that file cannot be read (it moved,
 * or training used --data); then *why holds the reason. */

void class_map_find(const lam_model *m, class_map *cm)
{
    memset(cm, 0, sizeof *cm);
    if (!is_classifier(m)) return;
    if (m->class_names) { /* saved in the checkpoint by training */
        cm->names = lam_calloc((size_t)m->n_class_names, sizeof *cm->names);
        cm->n = cm->names ? m->n_class_names : 0;
        bool ok = cm->names != NULL;
        for (int32_t i = 0; ok && i < m->n_class_names; i++) ok = (cm->names[i] = lam_strdup(m->class_names[i])) != NULL;
        cm->known = ok;
        if (!ok) snprintf(cm->why, sizeof cm->why, "out of memory copying the class names");
        return;
    }
    if (!m->data.path) {
        snprintf(cm->why, sizeof cm->why, "the model file names no training data ([data] path)");
        return;
    }
    lam_status s = lam_csv_read_classes(m->data.path, &m->data.csv, &cm->names, &cm->n);
    if (s != LAM_OK) {
        snprintf(cm->why, sizeof cm->why, "the training data cannot be read: %s", lam_last_error());
        return;
    }
    if (cm->n > model_classes(m)) {
        snprintf(cm->why, sizeof cm->why, "the training data %s now has %d classes, the model %d", m->data.path,
                 (int)cm->n, model_classes(m));
        lam_csv_names_free(cm->names, cm->n);
        cm->names = NULL;
        cm->n = 0;
        return;
    }
    cm->known = true;
}

void class_map_free(class_map *cm)
{
    lam_csv_names_free(cm->names, cm->n);
    cm->names = NULL;
}

/* Without the training mapping: labels inferred from this file alone that are
 * integers in [0, k) are taken as class indices; other label strings keep the
 * sorted order of this file, with a warning. */
static lam_status relabel_unknown(lam_dataset *ds, int k, const char *path, const class_map *cm)
{
    if (!ds->class_names) return LAM_OK;
    int32_t *map = lam_calloc((size_t)ds->nclasses, sizeof *map);
    if (!map) return LAM_ERR_NOMEM;
    bool ints = true;
    for (int32_t c = 0; c < ds->nclasses && ints; c++) {
        char *end;
        long v = strtol(ds->class_names[c], &end, 10);
        ints = end != ds->class_names[c] && !*end && v >= 0 && v < k;
        map[c] = (int32_t)v;
    }
    if (ints) {
        for (int64_t i = 0; i < ds->n; i++) ds->labels[i] = map[ds->labels[i]];
        for (int32_t c = 0; c < ds->nclasses; c++) lam_free(ds->class_names[c]);
        lam_free(ds->class_names);
        ds->class_names = NULL;
        ds->nclasses = k;
    } else {
        fprintf(stderr,
                "lamina: warning: the class labels of %s are numbered in sorted order (%s = 0, ...); this "
                "matches training only if the training data had exactly these classes (the checkpoint does "
                "not store class names, and %s)\n",
                path, ds->class_names[0], cm->why);
    }
    lam_free(map);
    return LAM_OK;
}

/* ---- eval / predict data ------------------------------------------------------------ */

/* Read a data file for eval (with_outputs: labels/targets needed) or predict
 * (features only, or the training layout with its label/target columns
 * ignored), with the checkpoint's [data] options, and scale it as in
 * training.  Decides the layout from the column count of the first row. */
lam_status load_data(lam_model *m, const char *path, bool with_outputs, const class_map *cm,
                            lam_dataset **ds)
{
    *ds = NULL;
    lam_csv_opts o = m->data.csv;
    int64_t nf = lam_shape_numel(&m->sample);
    bool reg = o.task == LAM_TASK_REGRESSION;
    int nout = reg ? (o.ntargets ? o.ntargets : 1) : 1, nign = o.nignore, ncols;
    lam_status s = lam_csv_count_columns(path, &o, &ncols);
    if (s != LAM_OK) return s;
    int64_t full = nf + nout + nign;
    const char *what = reg ? (nout > 1 ? "target columns" : "target column") : "label column";
    if (ncols != full && (with_outputs || ncols != nf)) {
        if (with_outputs && ncols == nf)
            return lam_fail(LAM_ERR_FORMAT,
                            "%s has %d columns: the model's %lld features but no %s; hint: eval needs the "
                            "labelled layout of the training data (%lld columns); use lamina predict for "
                            "features-only data",
                            path, ncols, (long long)nf, what, (long long)full);
        char ign[64] = "";
        if (nign) snprintf(ign, sizeof ign, " and %d ignored", nign);
        if (with_outputs)
            return lam_fail(LAM_ERR_FORMAT, "%s has %d columns; the model expects %lld (%lld features, the %s%s)",
                            path, ncols, (long long)full, (long long)nf, what, ign);
        return lam_fail(LAM_ERR_FORMAT, "%s has %d columns; the model expects %lld features (or %lld with the %s%s)",
                        path, ncols, (long long)nf, (long long)full, what, ign);
    }
    lam_csv_col *ign_cols = NULL;
    if (!with_outputs) {
        o.features_only = true;
        if (ncols == full) { /* the training layout: ignore its outputs too */
            ign_cols = lam_calloc((size_t)(nign + nout), sizeof *ign_cols);
            if (!ign_cols) return LAM_ERR_NOMEM;
            for (int i = 0; i < nign; i++) ign_cols[i] = o.ignore[i];
            for (int i = 0; i < nout; i++)
                ign_cols[nign + i] = reg ? (o.ntargets ? o.targets[i] : (lam_csv_col){-1, NULL}) : o.label;
            o.ignore = ign_cols;
            o.nignore = nign + nout;
        } else {
            o.ignore = NULL;
            o.nignore = 0;
        }
    } else if (!reg && cm->known) {
        o.class_names = (const char *const *)cm->names;
        o.nclasses = cm->names ? cm->n : model_classes(m); /* integer labels: any class of the model */
    }
    s = lam_csv_read(path, &o, ds, NULL);
    lam_free(ign_cols);
    if (s != LAM_OK) return s;
    if (with_outputs && !reg) {
        if (!cm->known) s = relabel_unknown(*ds, model_classes(m), path, cm);
        if (s == LAM_OK && (*ds)->nclasses > model_classes(m))
            s = lam_fail(LAM_ERR_FORMAT, "%s has %d classes but the model tells %d apart", path, (int)(*ds)->nclasses,
                         model_classes(m));
    }
    if (s == LAM_OK && (*ds)->nfeat != nf)
        s = lam_fail(LAM_ERR_FORMAT, "%s has %lld features per row; the model expects %lld", path,
                     (long long)(*ds)->nfeat, (long long)nf);
    if (s == LAM_OK && m->scaler) s = lam_scaler_apply(m->scaler, *ds);
    if (s != LAM_OK) {
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
    if ((rc = help_or_usage(&o, eval_help, o.file != NULL)) >= 0) return rc;
    lam_model *m;
    lam_dataset *ds = NULL;
    lam_metrics mt = {0};
    class_map cm;
    class_names cn = {0};
    lam_status s = lam_checkpoint_load(o.file, &m, NULL);
    if (s != LAM_OK) return fail(s);
    if (is_sequence_model(m)) return seq_eval(m, o.data);
    if (!o.data) {
        lam_model_free(m);
        return fputs(eval_help, stderr), EXIT_USAGE;
    }
    class_map_find(m, &cm);
    if ((s = load_data(m, o.data, true, &cm, &ds)) != LAM_OK) goto out;
    if ((s = lam_evaluate(m, ds, &mt)) != LAM_OK) goto out;
    const char *const *names = (const char *const *)(cm.known ? cm.names : ds->class_names);
    int nnames = cm.known ? cm.n : ds->nclasses;
    if ((s = class_names_make(names, nnames, mt.nclasses, &cn)) != LAM_OK) goto out;
    printf("%s: %lld rows\n", o.data, (long long)ds->n);
    print_metrics(&mt, (const char *const *)cn.v);
out:
    class_names_free(&cn);
    class_map_free(&cm);
    lam_metrics_free(&mt);
    lam_dataset_free(ds);
    lam_model_free(m);
    return s == LAM_OK ? 0 : fail(s);
}

/* A CSV field: quoted when it holds a delimiter, quote or line break. */
void put_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void write_predictions(FILE *f, const lam_model *m, const float *pred, int64_t n, const class_map *cm)
{
    int k = m->nout;
    bool ce = m->train.loss == LAM_LOSS_CROSS_ENTROPY, binary = m->train.loss == LAM_LOSS_BCE && k == 1;
    if (ce || binary) fputs("predicted", f);
    for (int j = 0; j < k; j++)
        fprintf(f, binary ? ",p1" : ce ? ",p%d" : (j ? ",y%d" : "y%d"), j);
    fputc('\n', f);
    for (int64_t i = 0; i < n; i++) {
        const float *p = pred + i * k;
        if (ce || binary) {
            int best = 0;
            if (binary) best = p[0] >= 0.5f;
            for (int j = 1; j < k; j++)
                if (p[j] > p[best]) best = j;
            if (cm->names && best < cm->n) put_field(f, cm->names[best]);
            else fprintf(f, "%d", best);
        }
        for (int j = 0; j < k; j++) fprintf(f, (ce || binary || j) ? ",%.6g" : "%.6g", (double)p[j]);
        fputc('\n', f);
    }
}

static int cmd_predict(int argc, char **argv)
{
    cli_opts o;
    int rc = parse_opts(argc, argv, &o, " data out threads attention ");
    if (rc) return rc;
    if ((rc = help_or_usage(&o, predict_help, o.file != NULL)) >= 0) return rc;
    lam_model *m;
    lam_dataset *ds = NULL;
    float *pred = NULL;
    FILE *f = stdout;
    class_map cm;
    lam_status s = lam_checkpoint_load(o.file, &m, NULL);
    if (s != LAM_OK) return fail(s);
    if (is_sequence_model(m)) return seq_predict(m, &o);
    if (!o.data || o.attention) {
        lam_model_free(m);
        if (o.attention) fprintf(stderr, "lamina: --attention needs a model with an [attention] layer\n");
        return fputs(predict_help, stderr), EXIT_USAGE;
    }
    class_map_find(m, &cm);
    if ((s = load_data(m, o.data, false, &cm, &ds)) != LAM_OK) goto out;
    if (is_classifier(m) && !cm.known)
        fprintf(stderr, "lamina: note: predicted classes are written as indices: %s\n", cm.why);
    pred = lam_calloc((size_t)ds->n * (size_t)m->nout, sizeof(float));
    if (!pred) {
        s = LAM_ERR_NOMEM;
        goto out;
    }
    if ((s = lam_predict(m, ds, pred)) != LAM_OK) goto out;
    if (o.out && !(f = fopen(o.out, "w"))) {
        f = stdout;
        s = lam_fail(LAM_ERR_IO, "%s: cannot write the predictions: %s", o.out, strerror(errno));
        goto out;
    }
    write_predictions(f, m, pred, ds->n, &cm);
    if (f != stdout && fclose(f) != 0) s = lam_fail(LAM_ERR_IO, "%s: write error", o.out);
    else if (f == stdout && fflush(stdout) != 0) s = lam_fail(LAM_ERR_IO, "standard output: write error");
    if (s == LAM_OK && o.out) fprintf(stderr, "lamina: wrote %lld predictions to %s\n", (long long)ds->n, o.out);
out:
    class_map_free(&cm);
    lam_free(pred);
    lam_dataset_free(ds);
    lam_model_free(m);
    return s == LAM_OK ? 0 : fail(s);
}

/* ---- train ---------------------------------------------------------------------------- */


void on_batch(const lam_batch_log *b, void *user)
{
    progress *p = user;
    if (!p->tty || p->quiet) return;
    if (b->batch % 5 != 0 && b->batch != b->batches) return;
    int64_t nb = b->batches > 0 ? b->batches : 1;
    double eta = b->elapsed / (double)b->batch * (double)(nb - b->batch);
    int w = 24, fill = (int)(w * b->batch / nb);
    char bar[32];
    for (int i = 0; i < w; i++) bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
    bar[w] = 0;
    int n = fprintf(stderr, "\repoch %d/%d [%s] %lld/%lld loss %.4f ETA %.1fs", b->epoch, b->epochs, bar,
                    (long long)b->batch, (long long)b->batches, b->loss, eta);
    if (n > 1 && n - 1 < p->width) fprintf(stderr, "%*s", p->width - (n - 1), ""); /* erase a longer line */
    if (n - 1 > p->width) p->width = n - 1;
}

bool on_epoch(const lam_epoch_log *e, void *user)
{
    progress *p = user;
    if (p->quiet) return true;
    if (p->width) fprintf(stderr, "\r%*s\r", p->width, "");
    p->width = 0;
    if (e->stage_name && strcmp(e->stage_name, "end to end") != 0) fprintf(stderr, "[%d %s] ", e->stage, e->stage_name);
    fprintf(stderr, "epoch %d/%d  loss %.4f", e->epoch, e->epochs, e->train_loss);
    if (e->train_acc == e->train_acc) fprintf(stderr, "  acc %.4f", e->train_acc);
    if (e->val_loss == e->val_loss) fprintf(stderr, "  val_loss %.4f", e->val_loss);
    if (e->val_acc == e->val_acc) fprintf(stderr, "  val_acc %.4f", e->val_acc);
    fprintf(stderr, "  lr %.3g  %.2fs%s\n", e->lr, e->seconds, e->improved && e->val_loss == e->val_loss ? "  (best)" : "");
    return true;
}

/* Create dir and its parents (like mkdir -p).  On failure returns -1 with
 * errno set, including ENOTDIR when a component exists but is not a folder. */
int mkdir_p(const char *dir)
{
    char tmp[PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof tmp) {
        errno = n ? ENAMETOOLONG : ENOENT;
        return -1;
    }
    memcpy(tmp, dir, n + 1);
    while (n > 1 && tmp[n - 1] == '/') tmp[--n] = 0;
    for (char *p = tmp + 1;; p++) {
        if (*p != '/' && *p != 0) continue;
        char c = *p;
        *p = 0;
        if (mkdir(tmp, 0777) != 0) {
            int e = errno;
            struct stat st;
            if (e != EEXIST || stat(tmp, &st) != 0 || !S_ISDIR(st.st_mode)) {
                errno = e == EEXIST ? ENOTDIR : e;
                return -1;
            }
        }
        *p = c;
        if (!c) return 0;
    }
}

/* The run folder: --out, or runs/NAME with NAME the model file's base name
 * without its extension. */
bool run_dir(const cli_opts *o, char *buf, size_t n)
{
    int k;
    if (o->out) {
        k = snprintf(buf, n, "%s", o->out);
    } else {
        const char *base = strrchr(o->file, '/');
        base = base ? base + 1 : o->file;
        const char *dot = strrchr(base, '.');
        int len = (int)(dot && dot != base ? (size_t)(dot - base) : strlen(base));
        k = snprintf(buf, n, "runs/%.*s", len, base);
    }
    return k > 0 && (size_t)k < n;
}

static int cmd_train(int argc, char **argv)
{
    cli_opts o;
    int rc = parse_opts(argc, argv, &o,
                        " data epochs steps batch lr seed threads out resume quiet strategy profile checkpoint-every ");
    if (rc) return rc;
    if ((rc = help_or_usage(&o, train_help, o.file != NULL)) >= 0) return rc;
    lam_model_overrides ov = lam_model_overrides_none();
    ov.data_path = o.data;
    ov.steps = o.steps;
    ov.epochs = o.epochs;
    ov.batch = o.batch;
    ov.lr = o.lr;
    ov.seed = o.seed;
    ov.strategy = o.strategy;
    lam_model *m = NULL;
    char *report = NULL;
    lam_dataset *tr = NULL, *va = NULL, *te = NULL;
    lam_metrics mt = {0};
    lam_csv_report rep = {0};
    class_names cn = {0};
    saved_signals sigs = {0};
    bool interrupted = false;
    char out_dir[PATH_MAX];
    if (!run_dir(&o, out_dir, sizeof out_dir)) {
        fprintf(stderr, "lamina: error: the run folder name is too long\n");
        return EXIT_FAILURE;
    }
    lam_status s = lam_model_load(o.file, &ov, &m);
    if (s != LAM_OK) return fail(s);
    bool semi = m->train.labelled_fraction < 1.0;
    if (o.checkpoint_every && (m->train.strategy != LAM_STRATEGY_END_TO_END || semi)) {
        fprintf(stderr, "lamina: --checkpoint-every needs end_to_end training (this is %s%s): a layer-wise "
                        "strategy writes its checkpoint after each stage\n",
                lam_strategy_name(m->train.strategy), semi ? ", semi-supervised" : "");
        lam_model_free(m);
        return EXIT_USAGE;
    }
    if ((s = lam_model_prepare_data(m, &tr, &va, &te, &rep)) != LAM_OK) goto out;
    if (mkdir_p(out_dir) != 0) {
        s = lam_fail(LAM_ERR_IO, "cannot create the run folder %s: %s", out_dir, strerror(errno));
        goto out;
    }
    int stale = remove_stale_temporaries(out_dir);
    if (stale && !o.quiet)
        fprintf(stderr, "lamina: removed %d temporary file%s left in %s by an interrupted checkpoint write\n", stale,
                stale > 1 ? "s" : "", out_dir);
    char buf[16384];
    if (tr->ids)
        printf("data: %s (%s): %lld %s of %lld tokens", m->data.path, lam_data_format_name(m->data.format),
               (long long)rep.rows_kept, tr->next_token ? "windows" : "texts", (long long)tr->nfeat);
    else
        printf("data: %s: %lld rows x %lld features", m->data.path, (long long)rep.rows_kept, (long long)tr->nfeat);
    if (tr->task == LAM_TASK_CLASSIFICATION && !tr->next_token) printf(", %d classes", (int)tr->nclasses);
    if (rep.rows_dropped) printf(", %lld rows with missing values dropped", (long long)rep.rows_dropped);
    if (rep.values_imputed) printf(", %lld missing values imputed with column means", (long long)rep.values_imputed);
    printf("; train %lld, validation %lld, test %lld\n", (long long)tr->n, (long long)(va ? va->n : 0),
           (long long)(te ? te->n : 0));
    if ((s = lam_model_compile(m, m->train.batch)) != LAM_OK) goto out;
    print_description(m);
    /* from here SIGINT / SIGTERM stop training cleanly (a semi-supervised
     * run cannot resume mid-way: it keeps the default) */
    if (!semi) catch_stop_signals(&sigs);
    if (m->train.steps > 0)
        printf("training: %s, %s lr %g, batch %d, %lld steps, %d threads\n", lam_strategy_name(m->train.strategy),
               lam_optim_kind_name(m->train.optimizer), m->train.group.lr, m->train.batch, (long long)m->train.steps,
               lam_get_threads());
    else
        printf("training: %s, %s lr %g, batch %d, %d epochs, %d threads\n", lam_strategy_name(m->train.strategy),
               lam_optim_kind_name(m->train.optimizer), m->train.group.lr, m->train.batch, m->train.epochs,
               lam_get_threads());
    fflush(stdout);
    char ckpt[PATH_MAX + 32], model_path[PATH_MAX + 32], csv_path[PATH_MAX + 32], report_path[PATH_MAX + 32];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", out_dir);
    snprintf(model_path, sizeof model_path, "%s/model.safetensors", out_dir);
    snprintf(csv_path, sizeof csv_path, "%s/metrics.csv", out_dir);
    snprintf(report_path, sizeof report_path, "%s/report.txt", out_dir);
    progress pg = {isatty(2) != 0, o.quiet, 0};
    lam_fit_hooks hk = {.on_batch = on_batch,
                        .on_epoch = on_epoch,
                        .user = &pg,
                        .checkpoint_path = ckpt,
                        .resume_path = o.resume,
                        .csv_log_path = csv_path,
                        .should_stop = semi ? NULL : should_stop,
                        .checkpoint_every = o.checkpoint_every};
    if (!o.resume) remove(csv_path); /* a fresh run starts a fresh log */
    if (o.profile) lam_graph_set_profiling(m->g, true);
    lam_train_result tres;
    if (m->train.labelled_fraction < 1.0) {
        lam_semi_report sr;
        if ((s = lam_train_semi(m, tr, va, te, &hk, &sr)) != LAM_OK) goto out;
        tres = sr.train;
        printf("semi-supervised: %lld labelled, %lld unlabelled training rows; labelled only: test accuracy %.4f\n",
               (long long)sr.n_labelled, (long long)sr.n_unlabelled, sr.labelled_only_accuracy);
        for (int i = 0; i < sr.rounds; i++)
            printf("  round %d: %lld pseudo-labels (top probability >= %g), %.2f%% of them right; test accuracy %.4f\n",
                   i + 1, (long long)sr.round[i].n_pseudo, m->train.pseudo_threshold,
                   sr.round[i].n_pseudo ? 100.0 * (double)sr.round[i].n_correct / (double)sr.round[i].n_pseudo : 0.0,
                   sr.round[i].test_accuracy);
    } else if ((s = lam_train_model(m, tr, va, &hk, &tres)) != LAM_OK) goto out;
    restore_signals(&sigs);
    if (stop_signal_received()) { /* exit 3: the checkpoint holds the state; a resume goes on */
        const char *sig = stop_signal_received() == SIGINT ? "SIGINT" : "SIGTERM";
        interrupted = true;
        if (m->train.strategy == LAM_STRATEGY_END_TO_END && tres.n_stages == 1 && tres.stage[0].fit.interrupted) {
            fprintf(stderr,
                    "lamina: %s: training stopped after step %llu (%d epochs complete); the state is in %s\n"
                    "lamina: continue with: lamina train %s --resume %s (and the same options)\n",
                    sig, (unsigned long long)tres.stage[0].fit.total_steps, tres.stage[0].fit.epochs_run, ckpt,
                    o.file, ckpt);
            goto out;
        }
        if (m->train.strategy != LAM_STRATEGY_END_TO_END) {
            if (access(ckpt, F_OK) == 0)
                fprintf(stderr,
                        "lamina: %s: training stopped; %s holds the stages completed so far\n"
                        "lamina: continue with: lamina train %s --resume %s (and the same options; the interrupted "
                        "stage starts again)\n",
                        sig, ckpt, o.file, ckpt);
            else
                fprintf(stderr, "lamina: %s: training stopped in its first stage: there is no checkpoint to resume\n", sig);
            goto out;
        }
        /* the signal came as training ended: keep the model, skip the evaluation */
        if ((s = lam_checkpoint_save(m, NULL, NULL, model_path)) == LAM_OK)
            fprintf(stderr, "lamina: %s: training had finished: saved %s, evaluation skipped\n", sig, model_path);
        goto out;
    }
    if ((s = lam_checkpoint_save(m, NULL, NULL, model_path)) != LAM_OK) goto out;
    int epochs_run = 0;
    for (int i = 0; i < tres.n_stages; i++) epochs_run += tres.stage[i].epochs_run;
    if (o.profile) {
        lam_graph_profile_report(m->g, buf, sizeof buf);
        printf("time per op (training steps of the model's own graph):\n%s", buf);
    }
    if (tres.n_stages > 1) {
        printf("%s: %d stages\n  %-44s %12s %7s %5s %9s\n", lam_strategy_name(m->train.strategy), tres.n_stages,
               "stage", "params", "epochs", "best", "seconds");
        for (int i = 0; i < tres.n_stages; i++)
            printf("  %-44s %12zu %7d %5d %9.2f\n", tres.stage[i].name, tres.stage[i].params_updated,
                   tres.stage[i].epochs_run, tres.stage[i].best_epoch, tres.stage[i].seconds);
    }
    printf("trained %d epochs in %.2f s (%.4f s/epoch); best epoch %d%s\n", epochs_run, tres.seconds,
           tres.seconds / (epochs_run ? epochs_run : 1), tres.best_epoch, tres.n_stages > 1 ? " (of the last stage)" : "");
    if (tres.n_stages > 0 && (m->tokens || m->sample.ndim == 2)) {
        /* sequence models: throughput as the peer benchmarks measure it */
        const lam_fit_result *fr = &tres.stage[tres.n_stages - 1].fit;
        double per = m->tokens ? (double)m->sample.d[0] : 1.0,
               B = (double)m->train.batch * (m->train.accumulate > 1 ? m->train.accumulate : 1);
        const char *unit = m->tokens ? "tokens" : "samples";
        printf("steps %llu: training %s/s %.0f (median step %.2f ms after 5 warm-up steps; %.0f over the whole run); "
               "final loss %.4f (mean of the last 10 steps %.4f)\n",
               (unsigned long long)fr->steps, unit, fr->step_median_s > 0 ? B * per / fr->step_median_s : 0.0,
               1e3 * fr->step_median_s, fr->seconds > 0 ? (double)fr->samples * per / fr->seconds : 0.0, fr->last_loss,
               fr->last10_loss);
    }
    if (m->next_token && !te) { /* a language model on all its text: nothing held out to score */
        printf("saved %s (and checkpoint.safetensors, metrics.csv); lamina generate %s --prompt TEXT writes text\n",
               model_path, model_path);
        printf("peak memory: %.1f MiB measured (resident set)\n", peak_rss_mib());
        goto out;
    }
    const lam_dataset *evs = te ? te : tr;
    if ((s = lam_evaluate(m, evs, &mt)) != LAM_OK) goto out;
    if ((s = class_names_make((const char *const *)evs->class_names, evs->nclasses, mt.nclasses, &cn)) != LAM_OK)
        goto out;
    const char *which = te ? "test" : "training-set";
    report = metrics_text(&mt, (const char *const *)cn.v);
    printf("%s results:\n%s", which, report ? report : "");
    if (te && m->baselines && m->baselines->majority) {
        char num[16];
        int mc = m->baselines->majority_class;
        snprintf(num, sizeof num, "%d", mc);
        printf("baseline on the test part: always '%s' (the most frequent training class): accuracy %.4f, macro F1 %.4f\n",
               cn.v && mc < cn.k ? cn.v[mc] : num, m->baselines->majority_accuracy, m->baselines->majority_macro_f1);
    }
    if (te && m->baselines && m->baselines->persistence)
        printf("baseline on the test part: persistence (the next value is the last one seen): MAE %.4f, RMSE %.4f\n",
               m->baselines->persistence_mae, m->baselines->persistence_rmse);
    FILE *f = fopen(report_path, "w");
    if (!f) {
        s = lam_fail(LAM_ERR_IO, "%s: cannot write the report: %s", report_path, strerror(errno));
        goto out;
    }
    fprintf(f, "model %s, data %s, strategy %s, %d epochs\n%s results:\n%s", o.file,
            m->data.path ? m->data.path : lam_data_format_name(m->data.format), lam_strategy_name(m->train.strategy),
            epochs_run, which, report ? report : "");
    if (fclose(f) != 0) {
        s = lam_fail(LAM_ERR_IO, "%s: write error", report_path);
        goto out;
    }
    printf("saved %s (and checkpoint.safetensors, metrics.csv, report.txt)\n", model_path);
    printf("peak memory: %.1f MiB measured (resident set)\n", peak_rss_mib());
out:
    restore_signals(&sigs);
    free(report);
    class_names_free(&cn);
    lam_metrics_free(&mt);
    lam_csv_report_clear(&rep);
    lam_dataset_free(tr);
    lam_dataset_free(va);
    lam_dataset_free(te);
    lam_model_free(m);
    return s != LAM_OK ? fail(s) : interrupted ? EXIT_INTERRUPTED : 0;
}

/* ---- inspect --------------------------------------------------------------------------- */

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
    if ((rc = help_or_usage(&o, inspect_help, o.file != NULL)) >= 0) return rc;
    lam_model *m;
    lam_train_state ts;
    bool ck = is_checkpoint(o.file);
    lam_status s = ck ? lam_checkpoint_load(o.file, &m, &ts) : lam_model_load(o.file, NULL, &m);
    if (s != LAM_OK) return fail(s);
    if (o.batch) m->train.batch = o.batch;
    if ((s = lam_model_compile(m, m->train.batch)) == LAM_OK) {
        print_description(m);
        print_memory_estimate(m);
        if (ck && ts.epoch > 0)
            printf("training state: %d epochs, %llu steps\n", ts.epoch, (unsigned long long)ts.step);
        else if (ck)
            printf("trained weights (no training state)\n");
    }
    lam_model_free(m);
    return s == LAM_OK ? 0 : fail(s);
}

static const struct command {
    const char *name;
    int (*run)(int argc, char **argv);
} commands[] = {
    {"train", cmd_train},
    {"eval", cmd_eval},
    {"predict", cmd_predict},
    {"inspect", cmd_inspect},
    {"compare", cmd_compare},
    {"encode", cmd_encode},
    {"generate", cmd_generate},
};

int main(int argc, char **argv)
{
    if (argc < 2) return fputs(main_help, stderr), EXIT_USAGE;
    const char *cmd = argv[1];
    int ncmd = (int)(sizeof commands / sizeof commands[0]);
    if (!strcmp(cmd, "help") && argc > 2) { /* lamina help COMMAND */
        for (int i = 0; i < ncmd; i++)
            if (!strcmp(argv[2], commands[i].name)) {
                char help[] = "--help";
                return commands[i].run(1, (char *[]){help});
            }
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) return fputs(main_help, stdout), 0;
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) return printf("lamina %s\n", LAMINA_VERSION), 0;
    for (int i = 0; i < ncmd; i++)
        if (!strcmp(cmd, commands[i].name)) return commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "lamina: unknown command '%s'\n%s", cmd, main_help);
    return EXIT_USAGE;
}
