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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"


static bool json_mode; /* --json given, or not rank 0: say() prints nothing */
/* The communicator of this process (lam_dist_init): MPI_COMM_WORLD under
 * mpirun / srun in an MPI build, else one process. */
static lam_comm *world;

int say(const char *fmt, ...)
{
    if (json_mode) return 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int put_json(lam_json_buf *b)
{
    lam_json_buf_puts(b, "}\n");
    int rc = 0;
    if (b->status != LAM_OK) rc = fail(b->status);
    else if (lam_comm_rank(world) == 0) fputs(b->data, stdout);
    lam_json_buf_free(b);
    return rc;
}

/* Report the library's message for s (or the status name when the library
 * left none) and return the failure exit code. */
int fail(lam_status s)
{
    const char *msg = lam_last_error();
    char who[48] = "";
    if (lam_comm_size(world) > 1) snprintf(who, sizeof who, " (rank %d of %d)", lam_comm_rank(world), lam_comm_size(world));
    fprintf(stderr, "lamina: %serror%s:%s %s\n", color(stderr, COLOR_ERROR), who, color(stderr, COLOR_OFF),
            msg && msg[0] ? msg : lam_status_str(s));
    return EXIT_FAILURE;
}

/* Colours only on a terminal, and never with NO_COLOR set to anything
 * non-empty (no-color.org) or TERM=dumb. */
const char *color(FILE *f, const char *code)
{
    static int on[3] = {-1, -1, -1}; /* per stream: stdin, stdout, stderr */
    int fd = fileno(f);
    if (fd < 1 || fd > 2) return "";
    if (on[fd] < 0) {
        const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
        on[fd] = isatty(fd) && !(nc && *nc) && !(term && !strcmp(term, "dumb"));
    }
    return on[fd] ? code : "";
}

/* ---- help ---------------------------------------------------------------------- */

static const char *const eval_help =
    "usage: lamina eval CKPT --data PATH [--threads N] [--json]\n"
    "Evaluate a trained model on a labelled data file with the training data's column\n"
    "layout: loss, accuracy, per-class precision/recall/F1 and the confusion matrix (or\n"
    "MSE/MAE/R2 for regression).  Class labels are mapped as in training.\n"
    "Text and time-series models read --data (default: the model file's [data] path) as\n"
    "their model file says and evaluate its test part, split as in training (all of it\n"
    "when test_split = 0); a language model reports loss, perplexity and accuracy.\n"
    "  --data PATH     data file (CSV, plain or .gz; or NumPy: FILE.npz with arrays x and y,\n"
    "                  or x_test and y_test), or a text model's text\n"
    "  --threads N     kernel threads (default: all cores)\n"
    "  --json          print the results as one JSON document on standard output\n";
static const char *const predict_help =
    "usage: lamina predict CKPT --data PATH [--out FILE] [--threads N] [--json]\n"
    "Write a CSV with a header and one row per input row: the predicted class (its\n"
    "name when the training labels were names) and the class probabilities p0, p1, ...\n"
    "(p1 alone for a binary model; the predicted values y0, y1, ... for regression).\n"
    "The data file holds either the features only or the training data's columns (the\n"
    "label/target columns are then ignored); the first row decides which.\n"
    "Text and time-series models predict the test part of --data (default: the model\n"
    "file's [data] path), read and split as in training; each row also gets the true\n"
    "class and the text of the sample.\n"
    "  --data PATH     data file (CSV, plain or .gz; FILE.npy or FILE.npz of features: array x,\n"
    "                  x_test or its only array), or a text model's text\n"
    "  --out FILE      output file (default: standard output); FILE.npy: the probabilities\n"
    "                  (or values) as a float32 [rows, outputs] array; FILE.npz: also the\n"
    "                  predicted classes (arrays probabilities / values, predicted)\n"
    "  --attention     also write the weights of the model's attention layer: one column\n"
    "                  per position, a0, a1, ... (what the model looked at)\n"
    "  --json          with --out: print a summary (rows, columns, file) as one JSON\n"
    "                  document on standard output\n"
    "  --threads N     kernel threads (default: all cores)\n";
static const char *const inspect_help =
    "usage: lamina inspect CFG|CKPT [--batch N] [--json]\n"
    "Print the resolved model of a model file or checkpoint (*.safetensors): layers,\n"
    "output shapes, parameter counts, FLOPs and the memory planned for a batch.\n"
    "  --batch N       batch size to plan memory for (default: [train] batch)\n"
    "  --json          the same as one JSON document on standard output\n";
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
    "  report RUN_DIR write a run folder's report.html (curves, confusion matrix, model, timings)\n"
    "  export CKPT    write a checkpoint's weights as a NumPy .npz archive\n"
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
    say("%s", buf);
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
    if (buf) say("%s", buf);
    free(buf);
}

/* The estimate of lam_model_memory_estimate, one line; returns the total. */
size_t print_memory_estimate(lam_model *m)
{
    lam_mem_estimate e;
    if (lam_model_memory_estimate(m, &e) != LAM_OK) return 0;
    if (e.data_known)
        say("  estimated peak memory of training: %.1f MiB (data %.1f + reading %.1f, graph %.1f, optimiser %.1f, "
               "trainer %.1f, runtime)\n",
               mib(e.total_bytes), mib(e.data_bytes), mib(e.read_bytes), mib(e.graph_bytes), mib(e.optim_bytes),
               mib(e.fit_bytes));
    else
        say("  estimated peak memory of training: %.1f MiB plus the data set (graph %.1f, optimiser %.1f, trainer "
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
            !strcmp(name, "--no-cache") || !strcmp(name, "--json") || !strcmp(name, "--compress")) {
            if (eq) {
                fprintf(stderr, "lamina: %s takes no value\n", name);
                return EXIT_USAGE;
            }
            if (!strcmp(name, "--quiet")) o->quiet = true;
            else if (!strcmp(name, "--profile")) o->profile = true;
            else if (!strcmp(name, "--no-cache")) o->no_cache = true;
            else if (!strcmp(name, "--json")) o->json = json_mode = true;
            else if (!strcmp(name, "--compress")) o->compress = true;
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
        } else if (!strcmp(name, "--timeout")) {
            if (!parse_double(name, v, 0, 1e7, &o->timeout)) return EXIT_USAGE;
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
lam_status class_names_make(const char *const *names, int n, int k, class_names *out)
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

void class_names_free(class_names *c)
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
                "lamina: %swarning:%s the class labels of %s are numbered in sorted order (%s = 0, ...); this "
                "matches training only if the training data had exactly these classes (the checkpoint does "
                "not store class names, and %s)\n",
                color(stderr, COLOR_WARN), color(stderr, COLOR_OFF), path, ds->class_names[0], cm->why);
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
    if (is_numpy_path(path)) return load_numpy_data(m, path, with_outputs, ds);
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

/* eval's results: the text, or under --json {"command": "eval",
 * "checkpoint", "data", "rows", "results": lam_metrics_json's object} */
int print_evaluation(const char *ckpt, const char *data, int64_t rows, const char *unit, const lam_metrics *mt,
                     const char *const *class_names)
{
    if (!json_mode) {
        printf("%s: %lld %s\n", data, (long long)rows, unit);
        print_metrics(mt, class_names);
        return 0;
    }
    char *js = NULL;
    lam_status s = lam_metrics_json(mt, class_names, &js);
    if (s != LAM_OK) return fail(s);
    lam_json_buf b = {0};
    lam_json_buf_puts(&b, "{");
    lam_json_put_str(&b, "command", "eval");
    lam_json_put_str(&b, "checkpoint", ckpt);
    lam_json_put_str(&b, "data", data);
    lam_json_put_int(&b, "rows", rows);
    lam_json_put_raw(&b, "results", js);
    lam_free(js);
    return put_json(&b);
}

static int cmd_eval(int argc, char **argv)
{
    cli_opts o;
    int rc = parse_opts(argc, argv, &o, " data threads json ");
    if (rc) return rc;
    if ((rc = help_or_usage(&o, eval_help, o.file != NULL)) >= 0) return rc;
    rc = 0; /* help_or_usage said go on (-1) */
    lam_model *m;
    lam_dataset *ds = NULL;
    lam_metrics mt = {0};
    class_map cm;
    class_names cn = {0};
    lam_status s = lam_checkpoint_load(o.file, &m, NULL);
    if (s != LAM_OK) return fail(s);
    if (is_sequence_model(m)) return seq_eval(m, o.file, o.data);
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
    rc = print_evaluation(o.file, o.data, ds->n, "rows", &mt, (const char *const *)cn.v);
out:
    class_names_free(&cn);
    class_map_free(&cm);
    lam_metrics_free(&mt);
    lam_dataset_free(ds);
    lam_model_free(m);
    return s == LAM_OK ? rc : fail(s);
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

int print_prediction_summary(const cli_opts *o, int64_t rows, int columns)
{
    lam_json_buf b = {0};
    lam_json_buf_puts(&b, "{");
    lam_json_put_str(&b, "command", "predict");
    lam_json_put_str(&b, "checkpoint", o->file);
    lam_json_put_str(&b, "data", o->data);
    lam_json_put_str(&b, "out", o->out);
    lam_json_put_int(&b, "rows", rows);
    lam_json_put_int(&b, "outputs", columns);
    return put_json(&b);
}

static int cmd_predict(int argc, char **argv)
{
    cli_opts o;
    int rc = parse_opts(argc, argv, &o, " data out threads attention json ");
    if (rc) return rc;
    if ((rc = help_or_usage(&o, predict_help, o.file != NULL && (o.out || !o.json))) >= 0) {
        if (rc == EXIT_USAGE && o.json && !o.out) fprintf(stderr, "lamina: predict --json needs --out FILE\n");
        return rc;
    }
    rc = 0;
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
        fprintf(stderr, "lamina: %snote:%s predicted classes are written as indices: %s\n", color(stderr, COLOR_WARN),
                color(stderr, COLOR_OFF), cm.why);
    pred = lam_calloc((size_t)ds->n * (size_t)m->nout, sizeof(float));
    if (!pred) {
        s = LAM_ERR_NOMEM;
        goto out;
    }
    if ((s = lam_predict(m, ds, pred)) != LAM_OK) goto out;
    if (o.out && is_numpy_path(o.out)) {
        if ((s = write_numpy_outputs(o.out, m, pred, ds->n, m->nout, "predictions")) == LAM_OK)
            rc = o.json ? print_prediction_summary(&o, ds->n, m->nout)
                        : (fprintf(stderr, "lamina: wrote %lld predictions to %s\n", (long long)ds->n, o.out), 0);
        goto out;
    }
    if (o.out && !(f = fopen(o.out, "w"))) {
        f = stdout;
        s = lam_fail(LAM_ERR_IO, "%s: cannot write the predictions: %s", o.out, strerror(errno));
        goto out;
    }
    write_predictions(f, m, pred, ds->n, &cm);
    if (f != stdout && fclose(f) != 0) s = lam_fail(LAM_ERR_IO, "%s: write error", o.out);
    else if (f == stdout && fflush(stdout) != 0) s = lam_fail(LAM_ERR_IO, "standard output: write error");
    if (s == LAM_OK && o.out && !o.json) fprintf(stderr, "lamina: wrote %lld predictions to %s\n", (long long)ds->n, o.out);
    if (s == LAM_OK && o.json) rc = print_prediction_summary(&o, ds->n, m->nout);
out:
    class_map_free(&cm);
    lam_free(pred);
    lam_dataset_free(ds);
    lam_model_free(m);
    return s == LAM_OK ? rc : fail(s);
}

/* ---- inspect --------------------------------------------------------------------------- */

static bool is_checkpoint(const char *path)
{
    size_t n = strlen(path);
    return n > 12 && !strcmp(path + n - 12, ".safetensors");
}

/* inspect --json: {"command": "inspect", "file", "model": lam_model_json's
 * object, "memory_estimate": {bytes...}, "training_state": {"epochs",
 * "steps"} or null} */
static int inspect_json(lam_model *m, const char *file, bool ck, const lam_train_state *ts)
{
    char *js = NULL;
    lam_status s = lam_model_json(m, &js);
    if (s != LAM_OK) return fail(s);
    lam_json_buf b = {0};
    lam_json_buf_puts(&b, "{");
    lam_json_put_str(&b, "command", "inspect");
    lam_json_put_str(&b, "file", file);
    lam_json_put_raw(&b, "model", js);
    lam_free(js);
    lam_mem_estimate e;
    if (lam_model_memory_estimate(m, &e) == LAM_OK) {
        lam_json_key(&b, "memory_estimate");
        lam_json_buf_puts(&b, "{");
        lam_json_put_int(&b, "total", (int64_t)e.total_bytes);
        if (e.data_known) {
            lam_json_put_int(&b, "data", (int64_t)e.data_bytes);
            lam_json_put_int(&b, "reading", (int64_t)e.read_bytes);
        }
        lam_json_put_int(&b, "graph", (int64_t)e.graph_bytes);
        lam_json_put_int(&b, "optimizer", (int64_t)e.optim_bytes);
        lam_json_put_int(&b, "trainer", (int64_t)e.fit_bytes);
        lam_json_put_bool(&b, "data_known", e.data_known);
        lam_json_buf_puts(&b, "}");
    }
    if (ck && ts->epoch > 0) {
        lam_json_key(&b, "training_state");
        lam_json_buf_puts(&b, "{");
        lam_json_put_int(&b, "epochs", ts->epoch);
        lam_json_put_int(&b, "steps", (int64_t)ts->step);
        lam_json_buf_puts(&b, "}");
    } else {
        lam_json_put_raw(&b, "training_state", NULL);
    }
    return put_json(&b);
}

static int cmd_inspect(int argc, char **argv)
{
    cli_opts o;
    int rc = parse_opts(argc, argv, &o, " batch json ");
    if (rc) return rc;
    if ((rc = help_or_usage(&o, inspect_help, o.file != NULL)) >= 0) return rc;
    rc = 0; /* help_or_usage said go on (-1) */
    lam_model *m;
    lam_train_state ts;
    bool ck = is_checkpoint(o.file);
    lam_status s = ck ? lam_checkpoint_load(o.file, &m, &ts) : lam_model_load(o.file, NULL, &m);
    if (s != LAM_OK) return fail(s);
    if (o.batch) m->train.batch = o.batch;
    if ((s = lam_model_compile(m, m->train.batch)) == LAM_OK && o.json) {
        rc = inspect_json(m, o.file, ck, &ts);
    } else if (s == LAM_OK) {
        rc = 0;
        print_description(m);
        print_memory_estimate(m);
        if (ck && ts.epoch > 0)
            printf("training state: %d epochs, %llu steps\n", ts.epoch, (unsigned long long)ts.step);
        else if (ck)
            printf("trained weights (no training state)\n");
    }
    lam_model_free(m);
    return s == LAM_OK ? rc : fail(s);
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
    {"report", cmd_report},
    {"export", cmd_export},
};

/* The command line as typed, each argument quoted for a POSIX shell where it
 * needs it: what run reports give as the command that reproduces a run. */
static char command_line_buf[8192];
const char *command_line(void) { return command_line_buf; }

static void keep_command_line(int argc, char **argv)
{
    size_t k = 0, n = sizeof command_line_buf;
    for (int i = 0; i < argc && k < n; i++) {
        const char *a = argv[i];
        bool plain = *a != 0;
        for (const char *p = a; *p && plain; p++)
            plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=,+-@%", *p) != NULL;
        if (i) command_line_buf[k++] = ' ';
        if (plain) {
            k += (size_t)snprintf(command_line_buf + k, k < n ? n - k : 0, "%s", a);
            continue;
        }
        if (k < n) command_line_buf[k++] = '\'';
        for (const char *p = a; *p && k + 5 < n; p++) {
            if (*p == '\'') { /* ' -> '\'' */
                memcpy(command_line_buf + k, "'\\''", 4);
                k += 4;
            } else {
                command_line_buf[k++] = *p;
            }
        }
        if (k < n) command_line_buf[k++] = '\'';
    }
    command_line_buf[k < n ? k : n - 1] = 0;
}

lam_comm *cli_comm(void) { return world; }

static int run_command(int argc, char **argv);

int main(int argc, char **argv)
{
    lam_status s = lam_dist_init(&argc, &argv, &world);
    if (s != LAM_OK) return fail(s);
    if (lam_comm_rank(world) > 0) json_mode = true; /* only rank 0 prints results */
    int rc = run_command(argc, argv);
    lam_dist_finalize(world);
    return rc;
}

static int run_command(int argc, char **argv)
{
    if (argc < 2) return fputs(main_help, stderr), EXIT_USAGE;
    keep_command_line(argc, argv);
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
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        if (lam_dist_compiled())
            printf("lamina %s (MPI: %s)\n", LAMINA_VERSION, lam_dist_mpi_version());
        else
            printf("lamina %s (no MPI: make MPI=1 builds data-parallel training over Open MPI)\n", LAMINA_VERSION);
        return 0;
    }
    for (int i = 0; i < ncmd; i++)
        if (!strcmp(cmd, commands[i].name)) return commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "lamina: unknown command '%s'\n%s", cmd, main_help);
    return EXIT_USAGE;
}
