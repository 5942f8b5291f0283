/* NumPy files at the command line: eval, predict and encode read --data
 * FILE.npy / FILE.npz, predict and encode write --out FILE.npy / FILE.npz,
 * and lamina export writes a checkpoint's weights as an .npz archive
 * (include/lamina/npy.h does the formats). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "lamina/npy.h"

static const char *const export_help =
    "usage: lamina export CKPT --out FILE.npz [--compress] [--json]\n"
    "Write a checkpoint's weights as a NumPy archive: one array per parameter, named and\n"
    "shaped as in the checkpoint (fc1.weight [out, in], conv1.weight [OC, C, KH, KW], as\n"
    "PyTorch names and lays them out), float32, and the input scaler as scaler.shift /\n"
    "scaler.scale when the model has one.  numpy.load reads it:\n"
    "  w = numpy.load(\"weights.npz\"); w[\"fc1.weight\"].shape\n"
    "  --out FILE.npz   the archive to write (atomically)\n"
    "  --compress       deflate the members (as numpy.savez_compressed)\n"
    "  --json           print a summary (arrays, parameters, file) as one JSON document\n";

bool has_ext(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    return n > e && !strcmp(path + n - e, ext);
}

bool is_numpy_path(const char *path) { return path && (has_ext(path, ".npy") || has_ext(path, ".npz")); }

/* The features of an .npz for predict and encode: the array x, or x_test
 * (Keras's archives hold the test part there), or the only array. */
static lam_status npz_features(const char *path, lam_npy **x)
{
    lam_npz *z;
    lam_status s = lam_npz_open(path, &z);
    if (s != LAM_OK) return s;
    const char *name = lam_npz_find(z, "x") >= 0        ? "x"
                       : lam_npz_find(z, "x_test") >= 0 ? "x_test"
                       : lam_npz_count(z) == 1          ? lam_npz_name(z, 0)
                                                        : NULL;
    if (name) s = lam_npz_read(z, name, x);
    else
        s = lam_fail(LAM_ERR_FORMAT, "%s: no array x or x_test among its %zu arrays; hint: np.savez(path, x=features)",
                     path, lam_npz_count(z));
    lam_npz_close(z);
    return s;
}

lam_status load_numpy_data(lam_model *m, const char *path, bool with_outputs, lam_dataset **ds)
{
    *ds = NULL;
    lam_status s;
    lam_npy_data_opts o = lam_npy_data_opts_defaults();
    o.task = m->train.loss == LAM_LOSS_MSE ? LAM_TASK_REGRESSION : LAM_TASK_CLASSIFICATION;
    if (o.task == LAM_TASK_CLASSIFICATION) o.nclasses = m->train.loss == LAM_LOSS_BCE ? 2 : m->nout;
    if (with_outputs) { /* x and y (the test part when the archive has one) */
        if (!has_ext(path, ".npz"))
            return lam_fail(LAM_ERR_ARG, "%s: eval needs labels: an .npz archive with arrays x and y (or x_test "
                                         "and y_test); hint: np.savez(path, x=features, y=labels)", path);
        lam_dataset *train = NULL, *test = NULL;
        if ((s = lam_dataset_from_npz(path, &o, &train, &test)) != LAM_OK) return s;
        if (test) lam_dataset_free(train);
        *ds = test ? test : train;
    } else {
        lam_npy *x = NULL;
        s = has_ext(path, ".npz") ? npz_features(path, &x) : lam_npy_read(path, &x);
        if (s != LAM_OK) return s;
        int64_t n = x->ndim ? x->dims[0] : 0, nfeat = n ? x->numel / n : 0;
        float *f = lam_malloc((size_t)(x->numel ? x->numel : 1) * sizeof(float));
        if (!f) s = LAM_ERR_NOMEM;
        if (s == LAM_OK && (x->ndim < 1 || n < 1 || nfeat < 1))
            s = lam_fail(LAM_ERR_FORMAT, "%s: the features must be an array of shape [rows, ...] with at least one "
                                         "row and one value per row", path);
        if (s == LAM_OK) s = lam_npy_to_f32(x, f);
        if (s == LAM_OK) s = lam_dataset_from_arrays(f, n, nfeat, NULL, 0, NULL, 0, ds);
        lam_free(f);
        lam_npy_free(x);
        if (s != LAM_OK) return s;
    }
    if ((s = lam_model_prepare_inputs(m, *ds)) != LAM_OK) {
        lam_dataset_free(*ds);
        *ds = NULL;
        return lam_fail(s, "%s: %s", path, lam_last_error());
    }
    return LAM_OK;
}

lam_status write_numpy_outputs(const char *path, const lam_model *m, const float *out, int64_t n, int64_t k,
                               const char *what)
{
    int64_t dims[2] = {n, k};
    if (has_ext(path, ".npy")) return lam_npy_write(path, LAM_NPY_F4, 2, dims, out);
    bool cls = what && !strcmp(what, "predictions") && m->train.loss != LAM_LOSS_MSE;
    int64_t *best = NULL;
    if (cls) { /* the predicted class of each row beside the probabilities */
        if (!(best = lam_malloc((size_t)(n ? n : 1) * sizeof *best))) return LAM_ERR_NOMEM;
        for (int64_t i = 0; i < n; i++) {
            const float *p = out + i * k;
            int64_t b = k == 1 ? p[0] >= 0.5f : 0;
            for (int64_t j = 1; j < k; j++)
                if (p[j] > p[b]) b = j;
            best[i] = b;
        }
    }
    const char *name = !what || strcmp(what, "predictions") ? "codes" : cls ? "probabilities" : "values";
    lam_npz_entry e[2] = {{name, LAM_NPY_F4, 2, dims, out}, {"predicted", LAM_NPY_I8, 1, dims, best}};
    lam_status s = lam_npz_write(path, e, cls ? 2 : 1, false);
    lam_free(best);
    return s;
}

int cmd_export(int argc, char **argv)
{
    cli_opts o;
    int rc = parse_opts(argc, argv, &o, " out compress json ");
    if (rc) return rc;
    if ((rc = help_or_usage(&o, export_help, o.file && o.out)) >= 0) return rc;
    rc = 0; /* help_or_usage said go on (-1) */
    if (!has_ext(o.out, ".npz")) {
        fprintf(stderr, "lamina: export writes an .npz archive: --out FILE.npz\n");
        return EXIT_USAGE;
    }
    lam_model *m;
    lam_status s = lam_checkpoint_load(o.file, &m, NULL);
    if (s != LAM_OK) return fail(s);
    size_t np = lam_graph_param_count(m->g), n = 0, total = 0;
    lam_npz_entry *e = lam_calloc(np + 2, sizeof *e);
    int64_t *dims = lam_calloc((np + 2) * LAM_MAX_DIMS, sizeof *dims);
    const float *shift = NULL, *scale = NULL;
    int64_t nc = 0;
    if (!e || !dims) {
        s = LAM_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < np; i++, n++) {
        const lam_param_info *p = lam_graph_param_at(m->g, i);
        for (int d = 0; d < p->shape.ndim; d++) dims[n * LAM_MAX_DIMS + d] = p->shape.d[d];
        e[n] = (lam_npz_entry){p->name, LAM_NPY_F4, p->shape.ndim, dims + n * LAM_MAX_DIMS,
                               lam_graph_params(m->g) + p->offset};
        total += p->numel;
    }
    if (m->scaler) {
        lam_scaler_params(m->scaler, &shift, &scale, &nc);
        dims[n * LAM_MAX_DIMS] = dims[(n + 1) * LAM_MAX_DIMS] = nc;
        e[n] = (lam_npz_entry){"scaler.shift", LAM_NPY_F4, 1, dims + n * LAM_MAX_DIMS, shift};
        n++;
        e[n] = (lam_npz_entry){"scaler.scale", LAM_NPY_F4, 1, dims + n * LAM_MAX_DIMS, scale};
        n++;
    }
    if ((s = lam_npz_write(o.out, e, n, o.compress)) != LAM_OK) goto out;
    if (o.json) {
        lam_json_buf b = {0};
        lam_json_buf_puts(&b, "{");
        lam_json_put_str(&b, "command", "export");
        lam_json_put_str(&b, "checkpoint", o.file);
        lam_json_put_str(&b, "out", o.out);
        lam_json_put_int(&b, "arrays", (int64_t)n);
        lam_json_put_int(&b, "parameters", (int64_t)total);
        rc = put_json(&b);
    } else {
        printf("wrote %zu arrays (%zu parameters%s) to %s\n", n, total, m->scaler ? ", and the scaler" : "", o.out);
    }
out:
    lam_free(e);
    lam_free(dims);
    lam_model_free(m);
    return s == LAM_OK ? rc : fail(s);
}
