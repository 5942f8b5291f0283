/* lamina compare and lamina encode: the layer-wise learning commands. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const compare_help =
    "usage: lamina compare CFG [--strategies LIST] [--data PATH] [--epochs N] [--seed N] [--threads N]\n"
    "                      [--out DIR] [--quiet] [--json]\n"
    "Train the model file once per strategy, from the same seed on the same split, and\n"
    "print one table: test accuracy, macro F1, training seconds, parameters updated per\n"
    "stage and best epoch.  LIST is comma-separated, default\n"
    "end_to_end,layerwise_supervised,layerwise_autoencoder.  The table is also written\n"
    "to DIR/compare.txt and DIR/compare.csv (DIR default runs/NAME-compare).  --json\n"
    "prints the rows as one JSON document on standard output instead of the table.\n";

static const char *const encode_help =
    "usage: lamina encode CKPT --data PATH --out FILE [--layer NAME] [--threads N] [--json]\n"
    "Write the codes a trained network gives each row of the data (dimensionality\n"
    "reduction with an autoencoder-trained network): one CSV row per input row, or a\n"
    "float32 [rows, code] array when FILE ends in .npy (.npz: the array \"codes\").  --data\n"
    "takes CSV or NumPy (FILE.npy, or FILE.npz with an array x).\n"
    "--layer names the layer whose output is the code (default: the last hidden\n"
    "layer, the input of the output layer).  --json prints a summary (rows, code size,\n"
    "layer, file) as one JSON document on standard output.\n";

#define MAX_CMP 8

/* "a,b,c" -> strategies */
static int parse_strategies(const char *list, lam_strategy_kind *k)
{
    int n = 0;
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(len < 63 ? len : 63), p);
        if (n == MAX_CMP || !lam_strategy_from_name(name, &k[n])) {
            fprintf(stderr, "lamina: %s: unknown strategy or too many (end_to_end, layerwise_supervised, "
                            "layerwise_autoencoder, stages; at most %d)\n", name, MAX_CMP);
            return -1;
        }
        n++;
        p += len;
        if (*p == ',') p++;
    }
    return n;
}

/* compare --json: {"command": "compare", "model_file", "out_dir", "rows":
 * [{"strategy", "results": lam_metrics_json's object, "seconds", "epochs",
 * "best_epoch", "stages": [{"name", "params_updated", "epochs_run"}]}]} */
static int print_compare_json(const char *file, const char *out_dir, const lam_compare_row *rows, int n)
{
    lam_json_buf b = {0};
    lam_json_buf_puts(&b, "{");
    lam_json_put_str(&b, "command", "compare");
    lam_json_put_str(&b, "model_file", file);
    lam_json_put_str(&b, "out_dir", out_dir);
    lam_json_key(&b, "rows");
    lam_json_buf_puts(&b, "[");
    for (int i = 0; i < n; i++) {
        const lam_compare_row *r = &rows[i];
        char *js = NULL;
        lam_status s = lam_metrics_json(&r->test, NULL, &js);
        if (s != LAM_OK) {
            lam_json_buf_free(&b);
            return fail(s);
        }
        int epochs = 0;
        for (int k = 0; k < r->train.n_stages; k++) epochs += r->train.stage[k].epochs_run;
        lam_json_buf_puts(&b, i ? ",{" : "{");
        lam_json_put_str(&b, "strategy", lam_strategy_name(r->strategy));
        lam_json_put_raw(&b, "results", js);
        lam_free(js);
        lam_json_put_double(&b, "seconds", r->train.seconds);
        lam_json_put_int(&b, "epochs", epochs);
        lam_json_put_int(&b, "best_epoch", r->train.best_epoch);
        lam_json_key(&b, "stages");
        lam_json_buf_puts(&b, "[");
        for (int k = 0; k < r->train.n_stages; k++) {
            lam_json_buf_puts(&b, k ? ",{" : "{");
            lam_json_put_str(&b, "name", r->train.stage[k].name);
            lam_json_put_int(&b, "params_updated", (int64_t)r->train.stage[k].params_updated);
            lam_json_put_int(&b, "epochs_run", r->train.stage[k].epochs_run);
            lam_json_buf_puts(&b, "}");
        }
        lam_json_buf_puts(&b, "]}");
    }
    lam_json_buf_puts(&b, "]");
    return put_json(&b);
}

static void write_table(FILE *f, const lam_compare_row *rows, int n, bool csv)
{
    if (csv) fprintf(f, "strategy,test_accuracy,macro_f1,test_loss,train_seconds,stages,params_updated_per_stage,epochs,best_epoch\n");
    else
        fprintf(f, "%-22s %9s %9s %9s %9s  %-36s %6s %5s\n", "strategy", "test acc", "macro F1", "loss", "train s",
                "params updated per stage", "epochs", "best");
    for (int i = 0; i < n; i++) {
        const lam_compare_row *r = &rows[i];
        char per[512] = "";
        int epochs = 0;
        for (int s = 0; s < r->train.n_stages; s++) {
            char one[32];
            snprintf(one, sizeof one, "%s%zu", s ? (csv ? " " : "/") : "", r->train.stage[s].params_updated);
            strncat(per, one, sizeof per - strlen(per) - 1);
            epochs += r->train.stage[s].epochs_run;
        }
        double acc = r->test.task == LAM_TASK_CLASSIFICATION ? r->test.accuracy : r->test.r2;
        double f1 = r->test.task == LAM_TASK_CLASSIFICATION ? r->test.macro_f1 : r->test.mse;
        if (csv)
            fprintf(f, "%s,%.6f,%.6f,%.6f,%.4f,%d,%s,%d,%d\n", lam_strategy_name(r->strategy), acc, f1, r->test.loss,
                    r->train.seconds, r->train.n_stages, per, epochs, r->train.best_epoch);
        else
            fprintf(f, "%-22s %9.4f %9.4f %9.4f %9.2f  %-36s %6d %5d\n", lam_strategy_name(r->strategy), acc, f1,
                    r->test.loss, r->train.seconds, per, epochs, r->train.best_epoch);
    }
    if (!csv && n && rows[0].test.task != LAM_TASK_CLASSIFICATION)
        fprintf(f, "(regression: the accuracy column is R2 and the F1 column MSE)\n");
}

int cmd_compare(int argc, char **argv)
{
    cli_opts o;
    int rc = parse_opts(argc, argv, &o, " strategies data epochs seed threads out quiet json ");
    if (rc) return rc;
    if ((rc = help_or_usage(&o, compare_help, o.file != NULL)) >= 0) return rc;
    rc = 0; /* help_or_usage said go on (-1) */
    lam_strategy_kind ks[MAX_CMP];
    int n = parse_strategies(o.strategies ? o.strategies : "end_to_end,layerwise_supervised,layerwise_autoencoder", ks);
    if (n <= 0) return EXIT_USAGE;
    char dir[PATH_MAX];
    cli_opts named = o;
    if (!o.out) {
        const char *base = strrchr(o.file, '/');
        base = base ? base + 1 : o.file;
        int len = (int)strcspn(base, ".");
        snprintf(dir, sizeof dir, "runs/%.*s-compare", len, base);
        named.out = dir;
    }
    char out_dir[PATH_MAX];
    if (!run_dir(&named, out_dir, sizeof out_dir) || mkdir_p(out_dir) != 0) {
        return fail(lam_fail(LAM_ERR_IO, "cannot create the run folder %s: %s", named.out, strerror(errno)));
    }
    lam_model_overrides ov = lam_model_overrides_none();
    ov.data_path = o.data;
    ov.epochs = o.epochs;
    ov.seed = o.seed;
    progress pg = {false, o.quiet, 0};
    lam_fit_hooks hk = {.on_epoch = on_epoch, .user = &pg};
    lam_compare_row rows[MAX_CMP];
    lam_status s = lam_compare(o.file, &ov, ks, n, &hk, rows);
    if (s != LAM_OK) return fail(s);
    say("compare %s (same seed, same split):\n", o.file);
    if (!o.json) write_table(stdout, rows, n, false);
    char path[PATH_MAX + 32];
    int ok = 1;
    snprintf(path, sizeof path, "%s/compare.txt", out_dir);
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "compare %s (same seed, same split)\n", o.file);
        write_table(f, rows, n, false);
        ok &= fclose(f) == 0;
    } else ok = 0;
    snprintf(path, sizeof path, "%s/compare.csv", out_dir);
    f = fopen(path, "w");
    if (f) {
        write_table(f, rows, n, true);
        ok &= fclose(f) == 0;
    } else ok = 0;
    if (!ok) {
        s = lam_fail(LAM_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        lam_compare_free(rows, n);
        return fail(s);
    }
    say("written to %s/compare.txt and compare.csv\n", out_dir);
    rc = o.json ? print_compare_json(o.file, out_dir, rows, n) : 0;
    lam_compare_free(rows, n);
    return rc;
}

static int encode_json(const cli_opts *o, const char *layer, int64_t rows, int64_t per)
{
    lam_json_buf b = {0};
    lam_json_buf_puts(&b, "{");
    lam_json_put_str(&b, "command", "encode");
    lam_json_put_str(&b, "checkpoint", o->file);
    lam_json_put_str(&b, "data", o->data);
    lam_json_put_str(&b, "out", o->out);
    lam_json_put_str(&b, "layer", layer);
    lam_json_put_int(&b, "rows", rows);
    lam_json_put_int(&b, "code_size", per);
    return put_json(&b);
}

int cmd_encode(int argc, char **argv)
{
    cli_opts o;
    int rc = parse_opts(argc, argv, &o, " data out layer threads json ");
    if (rc) return rc;
    if ((rc = help_or_usage(&o, encode_help, o.file && o.data && o.out)) >= 0) return rc;
    rc = 0; /* help_or_usage said go on (-1) */
    lam_model *m = NULL;
    lam_dataset *ds = NULL;
    float *codes = NULL;
    class_map cm = {0};
    lam_status s = lam_checkpoint_load(o.file, &m, NULL);
    if (s != LAM_OK) return fail(s);
    lam_node *code = o.layer ? lam_graph_node(m->g, o.layer) : lam_model_code_node(m);
    if (!code) {
        s = lam_fail(LAM_ERR_ARG, "%s: no layer named '%s' (see lamina inspect)", o.file, o.layer);
        goto out;
    }
    class_map_find(m, &cm);
    if ((s = load_data(m, o.data, false, &cm, &ds)) != LAM_OK) goto out;
    if ((s = lam_model_compile(m, m->train.batch)) != LAM_OK) goto out;
    lam_shape cs = lam_node_shape(code);
    int64_t per = lam_shape_numel(&cs) / (cs.d[0] ? cs.d[0] : 1);
    codes = lam_calloc((size_t)ds->n * (size_t)per, sizeof(float));
    if (!codes) {
        s = LAM_ERR_NOMEM;
        goto out;
    }
    if ((s = lam_encode(m, code, ds, codes)) != LAM_OK) goto out;
    if (is_numpy_path(o.out)) {
        if ((s = write_numpy_outputs(o.out, m, codes, ds->n, per, "codes")) != LAM_OK) goto out;
        if (!o.json)
            printf("wrote %lld codes of %lld values (layer %s) to %s\n", (long long)ds->n, (long long)per,
                   lam_node_name(code), o.out);
        else
            rc = encode_json(&o, lam_node_name(code), ds->n, per);
        goto out;
    }
    FILE *f = fopen(o.out, "w");
    if (!f) {
        s = lam_fail(LAM_ERR_IO, "%s: %s", o.out, strerror(errno));
        goto out;
    }
    for (int64_t j = 0; j < per; j++) fprintf(f, j ? ",c%lld" : "c%lld", (long long)j);
    fprintf(f, "\n");
    for (int64_t i = 0; i < ds->n; i++) {
        for (int64_t j = 0; j < per; j++) fprintf(f, j ? ",%.6g" : "%.6g", codes[i * per + j]);
        fprintf(f, "\n");
    }
    if (fclose(f) != 0) {
        s = lam_fail(LAM_ERR_IO, "%s: write error", o.out);
    } else if (o.json) {
        rc = encode_json(&o, lam_node_name(code), ds->n, per);
    } else {
        printf("wrote %lld codes of %lld values (layer %s) to %s\n", (long long)ds->n, (long long)per,
               lam_node_name(code), o.out);
    }
out:
    lam_free(codes);
    class_map_free(&cm);
    lam_dataset_free(ds);
    lam_model_free(m);
    return s == LAM_OK ? rc : fail(s);
}
