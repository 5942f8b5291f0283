/* IDX reader (the MNIST / Fashion-MNIST format), plain or gzip through zlib:
 * header validation, exact-length data reading with allocation bounded by the
 * data actually present, big-endian decoding, the conversion of an image file
 * plus a label file into a classification lam_dataset, and the Fashion-MNIST
 * loader. */
#include "lamina/data.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "data/gzsrc.h"

const char *lam_idx_type_name(lam_idx_type t)
{
    switch (t) {
    case LAM_IDX_U8: return "u8";
    case LAM_IDX_I8: return "i8";
    case LAM_IDX_I16: return "i16";
    case LAM_IDX_I32: return "i32";
    case LAM_IDX_F32: return "f32";
    case LAM_IDX_F64: return "f64";
    }
    return "?";
}

size_t lam_idx_type_size(lam_idx_type t)
{
    switch (t) {
    case LAM_IDX_U8:
    case LAM_IDX_I8: return 1;
    case LAM_IDX_I16: return 2;
    case LAM_IDX_I32:
    case LAM_IDX_F32: return 4;
    case LAM_IDX_F64: return 8;
    }
    return 0;
}

void lam_idx_free(lam_idx *m)
{
    if (!m) return;
    lam_free(m->data);
    lam_free(m);
}

lam_idx_opts lam_idx_opts_defaults(void)
{
    return (lam_idx_opts){.raw = false, .nclasses = 0, .max_classes = 10000, .class_names = NULL};
}

/* ---- one open IDX file ------------------------------------------------------ */

typedef struct idx_file {
    lam_gzsrc src;
    lam_idx_type type;
    int ndim;
    int64_t dims[LAM_IDX_MAX_DIMS];
    int64_t numel;
    size_t esize;
    size_t hdr;    /* header bytes: 4 + 4 * ndim */
    size_t nbytes; /* data bytes the header declares */
} idx_file;

static char *dims_str(const idx_file *f, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < f->ndim && k < n; i++) {
        int w = snprintf(buf + k, n - k, "%s%lld", i ? " x " : "", (long long)f->dims[i]);
        if (w < 0) break;
        k += (size_t)w;
    }
    return buf;
}

static lam_status idx_truncated(const idx_file *f, uint64_t at, const char *what)
{
    return lam_fail(LAM_ERR_FORMAT,
                    "%s: truncated IDX file: ends at byte offset %llu%s inside the %s; hint: "
                    "the file is incomplete (interrupted download?), fetch it again",
                    f->src.path, (unsigned long long)at, f->src.gzip ? " (uncompressed)" : "",
                    what);
}

/* Open path and read and check its header.  On error nothing stays open. */
static lam_status idx_open(idx_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    lam_status st = lam_gzsrc_open(&f->src, path, "name the file inside it");
    if (st != LAM_OK) return st;
    unsigned char h[4 + 4 * LAM_IDX_MAX_DIMS];
    size_t got;
    if ((st = lam_gzsrc_read(&f->src, h, 4, &got)) != LAM_OK) goto fail;
    if (got < 4) {
        st = idx_truncated(f, got, "4-byte magic number");
        goto fail;
    }
    if (h[0] != 0 || h[1] != 0) {
        st = lam_fail(LAM_ERR_FORMAT,
                      "%s: byte offset 0: not an IDX file: magic number starts %02x %02x, "
                      "expected 00 00; hint: pass the IDX file (e.g. train-images-idx3-ubyte"
                      "[.gz]), not another format",
                      path, h[0], h[1]);
        goto fail;
    }
    f->type = (lam_idx_type)h[2];
    f->esize = lam_idx_type_size(f->type);
    if (f->esize == 0) {
        st = lam_fail(LAM_ERR_FORMAT,
                      "%s: byte offset 2: unknown IDX element type 0x%02x; hint: known types "
                      "are 0x08 (u8), 0x09 (i8), 0x0B (i16), 0x0C (i32), 0x0D (f32), "
                      "0x0E (f64)",
                      path, h[2]);
        goto fail;
    }
    f->ndim = h[3];
    if (f->ndim < 1 || f->ndim > LAM_IDX_MAX_DIMS) {
        st = lam_fail(LAM_ERR_FORMAT,
                      "%s: byte offset 3: %d dimensions; hint: Lamina reads IDX arrays of 1 "
                      "to %d dimensions",
                      path, f->ndim, LAM_IDX_MAX_DIMS);
        goto fail;
    }
    f->hdr = 4 + 4 * (size_t)f->ndim;
    if ((st = lam_gzsrc_read(&f->src, h + 4, f->hdr - 4, &got)) != LAM_OK) goto fail;
    if (got < f->hdr - 4) {
        st = idx_truncated(f, 4 + got, "dimension list");
        goto fail;
    }
    int64_t numel = 1;
    for (int i = 0; i < f->ndim; i++) {
        const unsigned char *p = h + 4 + 4 * i;
        int64_t d = (int64_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                              (uint32_t)p[2] << 8 | (uint32_t)p[3]);
        f->dims[i] = d;
        if (d == 0) {
            st = lam_fail(LAM_ERR_FORMAT,
                          "%s: byte offset %d: dimension %d is 0; hint: an IDX array must "
                          "hold at least one element",
                          path, 4 + 4 * i, i);
            goto fail;
        }
        /* numel <= LAM_IDX_MAX_ELEMS, so this test cannot overflow */
        if (d > LAM_IDX_MAX_ELEMS / numel) {
            st = lam_fail(LAM_ERR_FORMAT,
                          "%s: byte offset %d: dimension %d (%lld) makes the array larger "
                          "than %lld elements; hint: the header is corrupt or the file is "
                          "not an IDX file",
                          path, 4 + 4 * i, i, (long long)d, (long long)LAM_IDX_MAX_ELEMS);
            goto fail;
        }
        numel *= d;
    }
    f->numel = numel;
    if (!lam_mul_size((size_t)numel, f->esize, &f->nbytes)) {
        st = lam_fail(LAM_ERR_FORMAT, "%s: %lld elements of %zu bytes do not fit in memory",
                      path, (long long)numel, f->esize);
        goto fail;
    }
    /* plain regular file: its size must be exact, known before allocating */
    if (!f->src.gzip && f->src.fsize >= 0) {
        uint64_t want = (uint64_t)f->hdr + f->nbytes, have = (uint64_t)f->src.fsize;
        char dbuf[96];
        if (have < want) {
            st = lam_fail(LAM_ERR_FORMAT,
                          "%s: truncated IDX file: ends at byte offset %llu, but its header "
                          "declares %s %s elements, %llu bytes in all; hint: the file is "
                          "incomplete (interrupted download?), fetch it again",
                          path, (unsigned long long)have, dims_str(f, dbuf, sizeof dbuf),
                          lam_idx_type_name(f->type), (unsigned long long)want);
            goto fail;
        }
        if (have > want) {
            st = lam_fail(LAM_ERR_FORMAT,
                          "%s: %llu unexpected bytes after the data, from byte offset %llu "
                          "(the header declares %s %s elements); hint: the header and the "
                          "data do not agree: the file is corrupt",
                          path, (unsigned long long)(have - want), (unsigned long long)want,
                          dims_str(f, dbuf, sizeof dbuf), lam_idx_type_name(f->type));
            goto fail;
        }
    }
    return LAM_OK;
fail:
    lam_gzsrc_close(&f->src);
    return st;
}

/* Decode big-endian elements in place into host order. */
static void decode_be(unsigned char *b, size_t n, size_t esize)
{
    if (esize == 2) {
        for (size_t i = 0; i < n; i++) {
            unsigned char *p = b + 2 * i;
            uint16_t v = (uint16_t)(p[0] << 8 | p[1]);
            memcpy(p, &v, 2);
        }
    } else if (esize == 4) {
        for (size_t i = 0; i < n; i++) {
            unsigned char *p = b + 4 * i;
            uint32_t v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
            memcpy(p, &v, 4);
        }
    } else if (esize == 8) {
        for (size_t i = 0; i < n; i++) {
            unsigned char *p = b + 8 * i;
            uint64_t v = 0;
            for (int k = 0; k < 8; k++) v = v << 8 | p[k];
            memcpy(p, &v, 8);
        }
    }
}

/* Read the data of an open file, exactly f->nbytes and nothing after them,
 * into a new buffer (host byte order).  Closes nothing. */
static lam_status idx_read_data(idx_file *f, void **out)
{
    *out = NULL;
    unsigned char *buf;
    size_t have;
    lam_status st = lam_gzsrc_read_exact(&f->src, f->nbytes, &buf, &have);
    if (st != LAM_OK) return st;
    if (have < f->nbytes) {
        lam_free(buf);
        return idx_truncated(f, f->hdr + have, "data");
    }
    unsigned char extra;
    size_t got;
    if ((st = lam_gzsrc_read(&f->src, &extra, 1, &got)) != LAM_OK) {
        lam_free(buf);
        return st;
    }
    if (got) {
        char dbuf[96];
        lam_free(buf);
        return lam_fail(LAM_ERR_FORMAT,
                        "%s: unexpected bytes after the data, at byte offset %llu%s; the "
                        "header declares %s %s elements; hint: the header and the data do not "
                        "agree: the file is corrupt",
                        f->src.path, (unsigned long long)(f->hdr + f->nbytes),
                        f->src.gzip ? " (uncompressed)" : "", dims_str(f, dbuf, sizeof dbuf),
                        lam_idx_type_name(f->type));
    }
    decode_be(buf, (size_t)f->numel, f->esize);
    *out = buf;
    return LAM_OK;
}

lam_status lam_idx_read(const char *path, lam_idx **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_idx_read: out is NULL");
    *out = NULL;
    if (!path) return lam_fail(LAM_ERR_ARG, "lam_idx_read: path is NULL");
    idx_file f;
    lam_status st = idx_open(&f, path);
    if (st != LAM_OK) return st;
    lam_idx *m = lam_calloc(1, sizeof *m);
    if (!m) {
        lam_gzsrc_close(&f.src);
        return LAM_ERR_NOMEM;
    }
    st = idx_read_data(&f, &m->data);
    lam_gzsrc_close(&f.src);
    if (st != LAM_OK) {
        lam_idx_free(m);
        return st;
    }
    m->type = f.type;
    m->ndim = f.ndim;
    memcpy(m->dims, f.dims, sizeof m->dims);
    m->numel = f.numel;
    m->gzip = f.src.gzip;
    *out = m;
    return LAM_OK;
}

lam_status lam_idx_peek(const char *path, lam_idx *out)
{
    if (!out || !path) return lam_fail(LAM_ERR_ARG, "lam_idx_peek: NULL argument");
    memset(out, 0, sizeof *out);
    idx_file f;
    lam_status st = idx_open(&f, path);
    if (st != LAM_OK) return st;
    lam_gzsrc_close(&f.src);
    out->type = f.type;
    out->ndim = f.ndim;
    memcpy(out->dims, f.dims, sizeof out->dims);
    out->numel = f.numel;
    out->gzip = f.src.gzip;
    return LAM_OK;
}

/* ---- IDX -> data set ---------------------------------------------------------- */

static bool is_int_type(lam_idx_type t)
{
    return t == LAM_IDX_U8 || t == LAM_IDX_I8 || t == LAM_IDX_I16 || t == LAM_IDX_I32;
}

static int64_t int_at(const void *data, lam_idx_type t, size_t i)
{
    switch (t) {
    case LAM_IDX_U8: return ((const uint8_t *)data)[i];
    case LAM_IDX_I8: return ((const int8_t *)data)[i];
    case LAM_IDX_I16: return ((const int16_t *)data)[i];
    case LAM_IDX_I32: return ((const int32_t *)data)[i];
    default: break;
    }
    LAM_ASSERT(!"int_at: not an integer type");
    return 0;
}

/* Check the label values; nclasses > 0 bounds them, else *nclasses becomes
 * max + 1 (bounded by max_classes). */
static lam_status check_labels(const idx_file *lf, const void *data, int32_t *nclasses,
                               int32_t max_classes)
{
    int64_t bound = *nclasses > 0 ? *nclasses : max_classes, maxv = 0;
    for (int64_t i = 0; i < lf->numel; i++) {
        int64_t v = int_at(data, lf->type, (size_t)i);
        if (v < 0 || v >= bound) {
            unsigned long long off = (unsigned long long)(lf->hdr + (size_t)i * lf->esize);
            if (*nclasses > 0)
                return lam_fail(LAM_ERR_FORMAT,
                                "%s: byte offset %llu%s: label %lld of item %lld is outside "
                                "[0, %d); hint: the labels do not belong to this data set, or "
                                "pass the right number of classes",
                                lf->src.path, off, lf->src.gzip ? " (uncompressed)" : "",
                                (long long)v, (long long)i, (int)*nclasses);
            return lam_fail(LAM_ERR_FORMAT,
                            "%s: byte offset %llu%s: label %lld of item %lld is %s; hint: "
                            "class labels are integers in [0, %d) (raise max_classes for "
                            "more classes)",
                            lf->src.path, off, lf->src.gzip ? " (uncompressed)" : "",
                            (long long)v, (long long)i, v < 0 ? "negative" : "too large",
                            (int)max_classes);
        }
        if (v > maxv) maxv = v;
    }
    if (*nclasses == 0) *nclasses = (int32_t)(maxv + 1);
    return LAM_OK;
}

/* Raw image elements into floats; non-finite or out-of-float-range values
 * are format errors. */
static lam_status convert_images(const idx_file *f, const void *data, bool raw, int64_t per,
                                 float *x)
{
    size_t n = (size_t)f->numel;
    switch (f->type) {
    case LAM_IDX_U8: {
        const uint8_t *s = data;
        if (raw)
            for (size_t i = 0; i < n; i++) x[i] = (float)s[i];
        else
            for (size_t i = 0; i < n; i++) x[i] = (float)s[i] / 255.0f;
        return LAM_OK;
    }
    case LAM_IDX_I8:
    case LAM_IDX_I16:
    case LAM_IDX_I32:
        for (size_t i = 0; i < n; i++) x[i] = (float)int_at(data, f->type, i);
        return LAM_OK;
    case LAM_IDX_F32:
    case LAM_IDX_F64:
        for (size_t i = 0; i < n; i++) {
            double v = f->type == LAM_IDX_F32 ? (double)((const float *)data)[i]
                                              : ((const double *)data)[i];
            if (!isfinite(v) || fabs(v) > FLT_MAX)
                return lam_fail(LAM_ERR_FORMAT,
                                "%s: byte offset %llu%s: element %lld of sample %lld is %g; "
                                "hint: image values must be finite floats",
                                f->src.path, (unsigned long long)(f->hdr + i * f->esize),
                                f->src.gzip ? " (uncompressed)" : "",
                                (long long)((int64_t)i % per), (long long)((int64_t)i / per),
                                v);
            x[i] = (float)v;
        }
        return LAM_OK;
    }
    LAM_ASSERT(!"convert_images: unknown type");
    return LAM_ERR_ARG;
}

/* Check the two headers against each other (nothing read or allocated yet). */
static lam_status check_pair(const idx_file *im, const idx_file *lf)
{
    if (im->ndim < 2)
        return lam_fail(LAM_ERR_FORMAT,
                        "%s: byte offset 3: an image file needs 2 to 4 dimensions ([N, F], "
                        "[N, H, W] or [N, C, H, W]), found 1; hint: were the image and label "
                        "files swapped?",
                        im->src.path);
    if (lf->ndim != 1)
        return lam_fail(LAM_ERR_FORMAT,
                        "%s: byte offset 3: a label file has 1 dimension, found %d; hint: were "
                        "the image and label files swapped?",
                        lf->src.path, lf->ndim);
    if (!is_int_type(lf->type))
        return lam_fail(LAM_ERR_FORMAT,
                        "%s: byte offset 2: labels of type %s; hint: class labels must be "
                        "integers (u8, i8, i16 or i32)",
                        lf->src.path, lam_idx_type_name(lf->type));
    if (lf->dims[0] != im->dims[0])
        return lam_fail(LAM_ERR_FORMAT,
                        "%s: byte offset 4: %lld labels, but %s holds %lld images; hint: use "
                        "the label file that belongs to the image file (train with train, "
                        "test with test)",
                        lf->src.path, (long long)lf->dims[0], im->src.path,
                        (long long)im->dims[0]);
    return LAM_OK;
}

lam_status lam_dataset_from_idx(const char *images_path, const char *labels_path,
                                const lam_idx_opts *opts, lam_dataset **out)
{
    if (!out) return lam_fail(LAM_ERR_ARG, "lam_dataset_from_idx: out is NULL");
    *out = NULL;
    lam_idx_opts o = opts ? *opts : lam_idx_opts_defaults();
    if (!images_path || !labels_path)
        return lam_fail(LAM_ERR_ARG, "lam_dataset_from_idx: needs an image and a label path");
    if (o.nclasses < 0 || o.max_classes < 1 || (o.class_names && o.nclasses < 1))
        return lam_fail(LAM_ERR_ARG,
                        "lam_dataset_from_idx: nclasses = %d, max_classes = %d; hint: "
                        "nclasses >= 0 (0 infers it), max_classes >= 1, and class_names "
                        "need nclasses",
                        (int)o.nclasses, (int)o.max_classes);
    idx_file im, lf;
    lam_status st = idx_open(&im, images_path);
    if (st != LAM_OK) return st;
    if ((st = idx_open(&lf, labels_path)) != LAM_OK) {
        lam_gzsrc_close(&im.src);
        return st;
    }
    void *lab = NULL, *pix = NULL;
    lam_dataset *ds = NULL;
    int32_t nclasses = o.nclasses;
    int64_t n = im.dims[0], per = im.numel / n;
    if ((st = check_pair(&im, &lf)) != LAM_OK) goto done;
    if ((st = idx_read_data(&lf, &lab)) != LAM_OK) goto done;
    if ((st = check_labels(&lf, lab, &nclasses, o.max_classes)) != LAM_OK) goto done;
    if ((st = idx_read_data(&im, &pix)) != LAM_OK) goto done;
    if ((st = lam_dataset_new(LAM_TASK_CLASSIFICATION, n, per, nclasses, &ds)) != LAM_OK)
        goto done;
    if ((st = convert_images(&im, pix, o.raw, per, ds->x)) != LAM_OK) goto done;
    for (int64_t i = 0; i < n; i++) ds->labels[i] = (int32_t)int_at(lab, lf.type, (size_t)i);
    lam_shape shape = im.ndim == 2   ? lam_shape1(im.dims[1])
                      : im.ndim == 3 ? lam_shape3(1, im.dims[1], im.dims[2])
                                     : lam_shape3(im.dims[1], im.dims[2], im.dims[3]);
    if ((st = lam_dataset_set_sample_shape(ds, shape)) != LAM_OK) goto done;
    if (o.class_names && (st = lam_dataset_set_class_names(ds, o.class_names)) != LAM_OK)
        goto done;
done:
    lam_gzsrc_close(&im.src);
    lam_gzsrc_close(&lf.src);
    lam_free(lab);
    lam_free(pix);
    if (st != LAM_OK) {
        lam_dataset_free(ds);
        return st;
    }
    *out = ds;
    return LAM_OK;
}

/* ---- Fashion-MNIST ------------------------------------------------------------ */

static const char *const fashion_classes[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot",
};

/* dir/name or dir/name.gz, whichever exists (the plain file first). */
static lam_status find_file(const char *dir, const char *name, char *buf, size_t n)
{
    struct stat sb;
    int w = snprintf(buf, n, "%s/%s", dir, name);
    if (w < 0 || (size_t)w + 3 >= n)
        return lam_fail(LAM_ERR_ARG, "Fashion-MNIST: directory path too long: %s", dir);
    if (stat(buf, &sb) == 0) return LAM_OK;
    memcpy(buf + w, ".gz", 4);
    if (stat(buf, &sb) == 0) return LAM_OK;
    return lam_fail(LAM_ERR_IO,
                    "Fashion-MNIST: %s/%s(.gz) not found; hint: apt-get install "
                    "dataset-fashion-mnist (installs to %s), or pass --data DIR with "
                    "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte "
                    "and t10k-labels-idx1-ubyte (plain or .gz)",
                    dir, name, LAM_FASHION_MNIST_DIR);
}

static lam_status fashion_part(const char *dir, const char *prefix, lam_dataset **out)
{
    char ip[4096], lp[4096], in[64], ln[64];
    snprintf(in, sizeof in, "%s-images-idx3-ubyte", prefix);
    snprintf(ln, sizeof ln, "%s-labels-idx1-ubyte", prefix);
    lam_status st;
    if ((st = find_file(dir, in, ip, sizeof ip)) != LAM_OK) return st;
    if ((st = find_file(dir, ln, lp, sizeof lp)) != LAM_OK) return st;
    lam_idx_opts o = lam_idx_opts_defaults();
    o.nclasses = 10;
    o.class_names = fashion_classes;
    return lam_dataset_from_idx(ip, lp, &o, out);
}

lam_status lam_fashion_mnist_peek(const char *dir, int64_t *n_train, int64_t *n_test)
{
    if (!dir) dir = LAM_FASHION_MNIST_DIR;
    int64_t *n[2] = {n_train, n_test};
    static const char *const prefix[2] = {"train", "t10k"};
    for (int k = 0; k < 2; k++) {
        char ip[4096], in[64];
        snprintf(in, sizeof in, "%s-images-idx3-ubyte", prefix[k]);
        lam_status st = find_file(dir, in, ip, sizeof ip);
        lam_idx h;
        if (st == LAM_OK) st = lam_idx_peek(ip, &h);
        if (st != LAM_OK) return st;
        if (n[k]) *n[k] = h.dims[0];
    }
    return LAM_OK;
}

lam_status lam_fashion_mnist_load(const char *dir, lam_dataset **train, lam_dataset **test)
{
    if (train) *train = NULL;
    if (test) *test = NULL;
    if (!train && !test)
        return lam_fail(LAM_ERR_ARG, "lam_fashion_mnist_load: train and test are both NULL");
    if (!dir) dir = LAM_FASHION_MNIST_DIR;
    lam_dataset *tr = NULL, *te = NULL;
    lam_status st = LAM_OK;
    if (train) st = fashion_part(dir, "train", &tr);
    if (st == LAM_OK && test) st = fashion_part(dir, "t10k", &te);
    if (st != LAM_OK) {
        lam_dataset_free(tr);
        lam_dataset_free(te);
        return st;
    }
    if (train) *train = tr;
    if (test) *test = te;
    return LAM_OK;
}
