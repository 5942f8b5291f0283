/* Lamina data layer, tabular part: the in-memory data set (features plus class
 * labels or regression targets), the CSV reader (plain or gzip), feature
 * scaling, one-hot encoding, seeded train/test splits and the batch loader
 * whose state goes into checkpoints.  Depends on base and tensor only.
 *
 * Conventions: row-major float features x[n, nfeat]; class labels are int32 in
 * [0, nclasses); every object is created by a function of this header and
 * released by its _free function; fallible functions return lam_status and
 * leave a message in lam_last_error(). */
#ifndef LAMINA_DATA_H
#define LAMINA_DATA_H

#include "lamina/base.h"
#include "lamina/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- data set ----------------------------------------------------------- */

typedef enum lam_task {
    LAM_TASK_CLASSIFICATION = 0, /* int32 labels in [0, nclasses) */
    LAM_TASK_REGRESSION,         /* float targets y[n, ntargets] */
} lam_task;

/* Name of a task: "classification" / "regression"; never NULL. */
const char *lam_task_name(lam_task t);

/* Row-count limit of a data set: samples are indexed with uint32 (loader
 * permutations, splits). */
#define LAM_DATASET_MAX_ROWS ((int64_t)UINT32_MAX)

/* A data set in memory.  The struct is public so that trainers can read the
 * arrays directly; all pointers are owned by the data set and released by
 * lam_dataset_free.  Change the contents of x / labels / y freely, but not the
 * pointers or sizes (use the functions below to make new data sets). */
typedef struct lam_dataset {
    lam_task task;
    int64_t n;              /* samples (rows) */
    int64_t nfeat;          /* features per sample */
    lam_shape sample_shape; /* shape of one sample: [nfeat] for tables, [C,H,W]
                               for images; its element count is nfeat */
    float *x;               /* [n, nfeat], row-major */
    int32_t *labels;        /* [n], classification only (else NULL) */
    int32_t nclasses;       /* classification: number of classes (>= 1) */
    float *y;               /* [n, ntargets], regression only (else NULL) */
    int32_t ntargets;       /* regression: targets per sample (>= 1) */
    char **feature_names;   /* [nfeat] or NULL (no header) */
    char **class_names;     /* [nclasses] or NULL: the labels were the integers
                               0..K-1 themselves */
    char **target_names;    /* [ntargets] or NULL */

    /* Token data (text, see lamina/text.h).  When ids is non-NULL the
     * features are token ids and x is NULL: row i is the nfeat ids at
     * ids + i * ids_stride, each in [0, vocab).  ids_stride == nfeat (or
     * nfeat + 1 with next_token) for rows of their own; a smaller stride
     * makes windows that overlap in one token stream (a corpus cut into
     * language-modelling windows shares one buffer instead of a copy per
     * window).  sample_shape is [nfeat]. */
    int32_t *ids;
    int64_t ids_len;        /* ids allocated: (n - 1) * ids_stride + nfeat (+ 1) */
    int64_t ids_stride;
    int32_t vocab;          /* size of the vocabulary the ids index */
    int32_t *lengths;       /* [n] real tokens of row i (1..nfeat), after them
                               padding; NULL: every row is full */
    /* Language modelling: the targets of row i are its next tokens, the
     * nfeat ids at ids + i * ids_stride + 1.  task is classification with
     * nclasses = vocab, and labels is NULL. */
    bool next_token;
} lam_dataset;

/* Allocate a zero-filled data set of n samples with nfeat features and `nout`
 * outputs: the number of classes for classification, the number of targets
 * for regression.  Names are NULL; sample_shape is [nfeat].  Readers (CSV,
 * IDX, ...) and programs that build data in code start here.
 * Errors: LAM_ERR_ARG (n < 0 or above LAM_DATASET_MAX_ROWS, nfeat < 1,
 * nout < 1, out NULL), LAM_ERR_NOMEM.  On error *out is NULL. */
lam_status lam_dataset_new(lam_task task, int64_t n, int64_t nfeat, int32_t nout,
                           lam_dataset **out);

/* A zero-filled token data set (see the `ids` fields above): n rows of
 * nfeat ids in [0, vocab), ids_stride = nfeat, with nclasses classes
 * (labels [n]); or, with next_token, the language-modelling layout
 * (ids_stride = nfeat + 1, labels NULL, nclasses = vocab; the nclasses
 * argument is ignored).  with_lengths allocates lengths, each set to nfeat.
 * x is NULL; task is classification.  The caller owns *out.
 * Errors: LAM_ERR_ARG (n outside [0, LAM_DATASET_MAX_ROWS], nfeat outside
 * [1, INT32_MAX], vocab < 1, nclasses < 1 without next_token, out NULL),
 * LAM_ERR_NOMEM.  On error *out is NULL. */
lam_status lam_dataset_new_ids(int64_t n, int64_t nfeat, int32_t vocab, int32_t nclasses, bool next_token,
                               bool with_lengths, lam_dataset **out);

/* A data set copied from caller arrays (for programs and language bindings
 * whose data is already in memory): x [n, nfeat] row-major features, and
 * either labels [n] (classification: each in [0, nclasses); nclasses 0: the
 * largest label + 1) or y [n, ntargets] (regression), or neither (features
 * only, for prediction: task regression with no targets, as lam_csv_read's
 * features_only).  sample_shape is [nfeat].  Every value is checked
 * (lam_dataset_check).  The caller owns *out.
 * Errors: LAM_ERR_ARG (n outside [1, LAM_DATASET_MAX_ROWS], nfeat < 1, NULL
 * x or out, both labels and y, ntargets < 1 with y, nclasses < 0),
 * LAM_ERR_FORMAT (a label out of range or negative, a value that is not
 * finite, naming the row), LAM_ERR_NOMEM.  On error *out is NULL. */
lam_status lam_dataset_from_arrays(const float *x, int64_t n, int64_t nfeat, const int32_t *labels, int32_t nclasses,
                                   const float *y, int32_t ntargets, lam_dataset **out);

/* Release a data set and everything it owns; NULL is a no-op. */
void lam_dataset_free(lam_dataset *ds);

/* Replace the feature / class / target names with copies of `names` (an array
 * of nfeat / nclasses / ntargets strings); names == NULL removes them.
 * Errors: LAM_ERR_ARG (a NULL entry, class names on a regression set, target
 * names on a classification set), LAM_ERR_NOMEM (the old names are kept). */
lam_status lam_dataset_set_feature_names(lam_dataset *ds, const char *const *names);
lam_status lam_dataset_set_class_names(lam_dataset *ds, const char *const *names);
lam_status lam_dataset_set_target_names(lam_dataset *ds, const char *const *names);

/* Declare the shape of one sample (e.g. [1, 8, 8] for the digits images).
 * Errors: LAM_ERR_SHAPE if its element count is not nfeat. */
lam_status lam_dataset_set_sample_shape(lam_dataset *ds, lam_shape shape);

/* Check the invariants a data set built by hand may break: every label in
 * [0, nclasses), every feature and target finite; for token sets also the
 * ids layout (n rows at ids_stride fit in ids_len), every id a row reads
 * (its nfeat ids, plus the next token with next_token) in [0, vocab),
 * lengths in [1, nfeat], and next_token sets without labels and with
 * nclasses = vocab.
 * Errors: LAM_ERR_FORMAT naming the first offending row and column. */
lam_status lam_dataset_check(const lam_dataset *ds);

/* New data set made of rows idx[0..m-1] of ds, in that order (repeats
 * allowed); idx == NULL takes all rows (a deep copy).  Names, nclasses and the
 * sample shape are copied.  Token rows are copied into rows of their own:
 * ids_stride = nfeat, or nfeat + 1 with next_token (each row keeps its window
 * and its next token), with their lengths and labels; vocab and next_token
 * are kept.  The caller owns *out (lam_dataset_free).
 * Errors: LAM_ERR_ARG (an index >= n, NULL ds/out), LAM_ERR_NOMEM. */
lam_status lam_dataset_subset(const lam_dataset *ds, const uint32_t *idx, int64_t m,
                              lam_dataset **out);

/* Number of samples of each class into counts[nclasses] (caller's array).
 * Errors: LAM_ERR_ARG on a regression set or a set without per-row labels
 * (next_token sets), LAM_ERR_FORMAT on a label out of range. */
lam_status lam_dataset_class_counts(const lam_dataset *ds, int64_t *counts);

/* ---- CSV reader ----------------------------------------------------------- */

typedef enum lam_csv_header {
    LAM_CSV_HEADER_AUTO = 0, /* header if the first row looks like names (below) */
    LAM_CSV_HEADER_YES,
    LAM_CSV_HEADER_NO,
} lam_csv_header;

typedef enum lam_missing {
    LAM_MISSING_ERROR = 0, /* a missing value is a LAM_ERR_FORMAT */
    LAM_MISSING_DROP,      /* rows with any missing value are dropped */
    LAM_MISSING_MEAN,      /* missing features get the column mean (of the
                              values present); a missing label/target is an error */
} lam_missing;

/* A column of a CSV file: by header name when `name` is non-NULL, else by
 * index (0-based; negative counts from the end, -1 is the last column). */
typedef struct lam_csv_col {
    int index;
    const char *name;
} lam_csv_col;

/* "3" / "-1" -> by index, anything else -> by name (pointing into s).  For
 * command lines and model files. */
lam_csv_col lam_csv_col_parse(const char *s);

typedef struct lam_csv_opts {
    char delimiter;              /* ','; '\t', ';', ' ' ... (not '"', CR, LF, NUL) */
    lam_csv_header header;       /* AUTO */
    lam_task task;               /* CLASSIFICATION */
    lam_csv_col label;           /* classification: {-1, NULL}, the last column */
    const lam_csv_col *targets;  /* regression: target columns; NULL: the last */
    int ntargets;
    const lam_csv_col *ignore;   /* columns that are neither features nor outputs */
    int nignore;
    lam_missing missing;         /* ERROR */
    /* Class mapping for files read after the training file (test sets):
     * class_names != NULL: labels must be one of these nclasses strings and map
     * to their position; else nclasses > 0: labels must be integers in
     * [0, nclasses); else (default) the mapping is inferred (below). */
    const char *const *class_names;
    int32_t nclasses;
    int32_t max_classes;         /* inferred classes above this are an error
                                    (a regression column read as labels); 10000 */
    size_t max_line;             /* longest accepted record in bytes; 1 MiB */
    /* Features only (files to predict on): every column not in `ignore` is a
     * feature, and label, targets and the class options are not used.  The
     * data set has no outputs: labels and y are NULL, nclasses and ntargets
     * are 0, and task is LAM_TASK_REGRESSION (with no targets, so that every
     * data-set function sees "no labels" rather than a NULL label array).
     * Such a set feeds lam_predict and the scalers; split, subset and class
     * counts reject it.  false. */
    bool features_only;
} lam_csv_opts;

lam_csv_opts lam_csv_opts_defaults(void);

/* What the reader found.  Owns per_column arrays: release with
 * lam_csv_report_clear. */
typedef struct lam_csv_report {
    int64_t rows;          /* data rows in the file (no header, no blank lines) */
    int64_t rows_kept;     /* = ds->n */
    int64_t rows_dropped;  /* LAM_MISSING_DROP */
    int64_t values_imputed;/* LAM_MISSING_MEAN, all columns */
    int ncols;             /* fields per row */
    bool header;           /* the first row was taken as column names */
    bool gzip;             /* the file was gzip-compressed */
    /* [ncols], indexed by file column: missing values found in each column.
     * Under MEAN all of them were imputed, under DROP their rows were dropped.*/
    int64_t *missing_per_col;
} lam_csv_report;

/* Release the report's arrays and zero it; safe on a zeroed report. */
void lam_csv_report_clear(lam_csv_report *r);

/* One-line summary, e.g. "1797 rows x 65 columns (gzip, no header); 0 dropped,
 * 0 imputed", into buf; returns buf. */
char *lam_csv_report_str(const lam_csv_report *r, char *buf, size_t n);

/* Read a CSV file, plain or gzip-compressed (detected from the content), into
 * a new data set.
 *
 * Fields: separated by opts->delimiter; RFC 4180 quoting ("a,b", "" for a
 * quote, line breaks inside quotes); spaces and tabs around fields are
 * trimmed; CRLF, LF or CR line ends; blank lines are skipped; a UTF-8 BOM is
 * skipped.  Numbers are parsed with strtod (C locale assumed) and must be
 * finite and in float range.  Missing values: an empty field, NA, N/A, NaN
 * (any case) or "?".
 *
 * Header: AUTO takes the first row as names when a column is selected by
 * name, or when a feature/target field of the first row is not a number, or
 * when its label is not a number but the second row's label is.
 *
 * Columns: every column that is not the label / a target / ignored is a
 * feature.  Classification labels: if the distinct label values are exactly
 * the integers 0..K-1 they are used as they are (class_names NULL);
 * otherwise the distinct values are sorted (numerically when all are
 * numbers, else bytewise) and numbered 0..K-1, and class_names keeps them.
 *
 * Ownership: the caller owns *out (lam_dataset_free) and, when report is
 * non-NULL, the report's arrays (lam_csv_report_clear).  opts may be NULL
 * (defaults).  On error *out is NULL and the report holds nothing.
 *
 * Errors: LAM_ERR_ARG (bad options, a column index out of range or a name not
 * in the header), LAM_ERR_IO (open/read failed), LAM_ERR_FORMAT (empty file,
 * no data rows, wrong number of fields, a non-numeric feature, a missing
 * value or label, an unterminated quote, a record longer than max_line,
 * corrupt gzip data; the message gives path:line:column, what was found and
 * a hint), LAM_ERR_NOMEM. */
lam_status lam_csv_read(const char *path, const lam_csv_opts *opts, lam_dataset **out,
                        lam_csv_report *report);

/* Number of fields in the first non-blank record of a CSV file (the header
 * row when there is one), split with opts->delimiter (opts may be NULL).
 * Reads only that record: for choosing how to read a file whose layout can
 * vary, e.g. features only or features plus the label column.
 * Errors: LAM_ERR_ARG (NULL path/ncols, bad delimiter), LAM_ERR_IO,
 * LAM_ERR_FORMAT (empty file, malformed first record, corrupt gzip),
 * LAM_ERR_NOMEM. */
lam_status lam_csv_count_columns(const char *path, const lam_csv_opts *opts, int *ncols);

/* The class mapping lam_csv_read infers for this file and these options,
 * found without parsing the features (so it is cheap even for big files):
 * *names receives the *nclasses class strings in index order, or NULL when
 * the labels are the integers 0..K-1 themselves.  opts->task must be
 * classification; opts->class_names, nclasses and features_only are ignored.
 * Rows are dropped for missing values as lam_csv_read would drop them.  Use it
 * to read a test file with the training file's classes (pass the result as
 * opts->class_names / nclasses).  Release with lam_csv_names_free.
 * Errors: as lam_csv_read (LAM_ERR_ARG for a regression task). */
lam_status lam_csv_read_classes(const char *path, const lam_csv_opts *opts, char ***names,
                                int32_t *nclasses);

/* Free an array of n strings from lam_csv_read_classes; NULL is a no-op. */
void lam_csv_names_free(char **names, int32_t n);

/* ---- transforms --------------------------------------------------------- */

typedef enum lam_scaler_kind {
    LAM_SCALER_STANDARD = 0, /* shift = mean, scale = population std (ddof 0) */
    LAM_SCALER_MINMAX,       /* shift = min,  scale = max - min: into [0, 1] */
} lam_scaler_kind;

/* Per-column affine transform  x' = (x - shift[j]) / scale[j],  with
 * scale[j] = 1 for constant columns (like scikit-learn's StandardScaler and
 * MinMaxScaler).  shift/scale are the numbers to store in a checkpoint. */
typedef struct lam_scaler lam_scaler;

/* Fit on the features of ds (fit on the training part only).
 * Errors: LAM_ERR_ARG (no rows, non-finite value), LAM_ERR_NOMEM. */
lam_status lam_scaler_fit(lam_scaler_kind kind, const lam_dataset *ds, lam_scaler **out);

/* Fit on any row-major matrix m[n, ncols] (e.g. regression targets).
 * Errors as lam_scaler_fit. */
lam_status lam_scaler_fit_rows(lam_scaler_kind kind, const float *m, int64_t n, int64_t ncols,
                               lam_scaler **out);

/* Rebuild a scaler from saved vectors shift[ncols], scale[ncols] (copied).
 * Errors: LAM_ERR_ARG (ncols < 1, a scale that is zero or not finite, a
 * non-finite shift), LAM_ERR_NOMEM. */
lam_status lam_scaler_from_params(lam_scaler_kind kind, const float *shift, const float *scale,
                                  int64_t ncols, lam_scaler **out);

/* Borrow the scaler's vectors (valid until lam_scaler_free); any out pointer
 * may be NULL. */
void lam_scaler_params(const lam_scaler *s, const float **shift, const float **scale,
                       int64_t *ncols);
lam_scaler_kind lam_scaler_get_kind(const lam_scaler *s);

/* Transform ds->x in place.  Errors: LAM_ERR_SHAPE if ds->nfeat differs. */
lam_status lam_scaler_apply(const lam_scaler *s, lam_dataset *ds);

/* Transform / undo on rows m[n, ncols] in place; allocates nothing (usable in
 * a prediction step).  Errors: LAM_ERR_SHAPE if ncols differs. */
lam_status lam_scaler_transform(const lam_scaler *s, float *m, int64_t n, int64_t ncols);
lam_status lam_scaler_inverse(const lam_scaler *s, float *m, int64_t n, int64_t ncols);

void lam_scaler_free(lam_scaler *s);

/* One-hot encode labels[n] into out[n, nclasses] (caller's buffer, fully
 * written); allocates nothing.  Errors: LAM_ERR_ARG on a label outside
 * [0, nclasses) (naming its index). */
lam_status lam_onehot(const int32_t *labels, int64_t n, int32_t nclasses, float *out);

/* ---- train / test split --------------------------------------------------- */

typedef struct lam_split_opts {
    double test_fraction; /* 0.25; the second part gets ceil(test_fraction * n) rows */
    uint64_t seed;        /* 0 */
    bool stratify;        /* keep class proportions (classification only); false */
} lam_split_opts;

lam_split_opts lam_split_opts_defaults(void);

/* Split ds into two new data sets: rows are permuted with a lam_rng seeded by
 * opts->seed; *test gets the first ceil(test_fraction * n) rows of the
 * permutation and *train the rest, in permutation order (scikit-learn's
 * ShuffleSplit rule).  Stratified: each class contributes its share of test
 * rows (largest remainders, ties to the lower class), then both parts are
 * shuffled.  For a validation split, split the training part again.  The same
 * seed gives the same split, bit for bit, on every platform.
 * Errors: LAM_ERR_ARG (fraction outside (0, 1), a part would be empty,
 * stratify on a regression or next-token set), LAM_ERR_NOMEM.  On error both outputs are
 * NULL. */
lam_status lam_dataset_split_ex(const lam_dataset *ds, const lam_split_opts *opts,
                                lam_dataset **train, lam_dataset **test);

/* lam_dataset_split_ex without stratification. */
lam_status lam_dataset_split(const lam_dataset *ds, double test_fraction, uint64_t seed,
                             lam_dataset **train, lam_dataset **test);

/* ---- batch loader --------------------------------------------------------- */

typedef struct lam_loader_opts {
    int batch_size; /* 32 */
    bool shuffle;   /* true: a fresh permutation every epoch */
    bool drop_last; /* false: the last batch of an epoch may be smaller */
    uint64_t seed;  /* 0 */
} lam_loader_opts;

lam_loader_opts lam_loader_opts_defaults(void);

/* Everything needed to resume a loader exactly (plain data, for checkpoints).
 * The permutation of the current epoch is rebuilt from epoch_rng. */
typedef struct lam_loader_state {
    lam_rng epoch_rng; /* RNG state at the start of the epoch, before its shuffle */
    uint64_t epoch;    /* epochs completed */
    uint64_t pos;      /* samples of this epoch already served */
    uint64_t n;        /* data-set size, checked on restore */
} lam_loader_state;

/* Batches over a data set.  Borrows ds, which must outlive the loader and keep
 * its size.  All memory is allocated here: lam_loader_next allocates nothing.
 * Errors: LAM_ERR_ARG (ds with no rows, batch_size < 1), LAM_ERR_NOMEM. */
typedef struct lam_loader lam_loader;
lam_status lam_loader_new(const lam_dataset *ds, const lam_loader_opts *opts, lam_loader **out);
void lam_loader_free(lam_loader *l);

/* Gather the next batch into caller buffers: xbuf[batch_size, nfeat],
 * labels[batch_size] (classification) or ybuf[batch_size, ntargets]
 * (regression); any buffer may be NULL to skip it (a token data set has no
 * float features: xbuf is not written; gather its ids from the indices of
 * lam_loader_next_indices).  *batch_n receives the rows
 * written.  Returns false at the end of the epoch (nothing written, *batch_n
 * = 0) and moves to the next epoch, so `while (lam_loader_next(...))` is one
 * epoch.  Allocates nothing. */
bool lam_loader_next(lam_loader *l, float *xbuf, int32_t *labels, float *ybuf, int *batch_n);

/* As lam_loader_next, but only the sample indices of the batch, idx[batch_size]. */
bool lam_loader_next_indices(lam_loader *l, uint32_t *idx, int *batch_n);

/* Batches in one epoch (with drop_last taken into account). */
int64_t lam_loader_num_batches(const lam_loader *l);
/* Epochs completed so far. */
uint64_t lam_loader_epoch(const lam_loader *l);

/* Save / restore the position for exact resume: after set_state the loader
 * yields the same batches as the loader whose state was saved.
 * Errors (set): LAM_ERR_ARG if state->n differs from the data set's size or
 * pos > n.  get_state cannot fail. */
void lam_loader_get_state(const lam_loader *l, lam_loader_state *st);
lam_status lam_loader_set_state(lam_loader *l, const lam_loader_state *st);

/* ==== Image data (src/data/idx.c, cifar.c, image.c) ========================
 * Readers for the IDX format (MNIST, Fashion-MNIST) and the CIFAR-10/100
 * binary format, plain or gzip-compressed (zlib decides from the content), and
 * seeded augmentation of NCHW image batches.  Image data sets are ordinary
 * classification lam_datasets whose sample_shape is [C, H, W] and whose x
 * holds each sample's C*H*W pixels in channel-major (NCHW) order.
 *
 * Readers validate every header field before allocating anything sized by it,
 * and never allocate more than the data actually present can fill: a header
 * that declares gigabytes in a tiny file fails fast with little memory used. */

/* ---- IDX files ---------------------------------------------------------------- */

/* Element type codes of the IDX format (the third magic byte). */
typedef enum lam_idx_type {
    LAM_IDX_U8 = 0x08,  /* unsigned byte */
    LAM_IDX_I8 = 0x09,  /* signed byte */
    LAM_IDX_I16 = 0x0B, /* big-endian int16 */
    LAM_IDX_I32 = 0x0C, /* big-endian int32 */
    LAM_IDX_F32 = 0x0D, /* big-endian IEEE float */
    LAM_IDX_F64 = 0x0E, /* big-endian IEEE double */
} lam_idx_type;

#define LAM_IDX_MAX_DIMS 4
/* Largest element count accepted in one IDX file (2^31). */
#define LAM_IDX_MAX_ELEMS ((int64_t)1 << 31)

/* Name ("u8", "i8", "i16", "i32", "f32", "f64", or "?") and element size in
 * bytes (0 for an unknown code) of an IDX type. */
const char *lam_idx_type_name(lam_idx_type t);
size_t lam_idx_type_size(lam_idx_type t);

/* An IDX array in memory.  data holds numel elements of `type` in host byte
 * order (uint8_t, int8_t, int16_t, int32_t, float or double), row-major over
 * dims[0..ndim-1].  Owned by the struct; release with lam_idx_free. */
typedef struct lam_idx {
    lam_idx_type type;
    int ndim;                       /* 1..LAM_IDX_MAX_DIMS */
    int64_t dims[LAM_IDX_MAX_DIMS]; /* each >= 1; unused entries 0 */
    int64_t numel;                  /* product of dims, <= LAM_IDX_MAX_ELEMS */
    void *data;
    bool gzip;                      /* the file was gzip-compressed */
} lam_idx;

/* Read an IDX file (plain or gzip) into a new lam_idx.
 * Format: two zero bytes, the type code, the number of dimensions (1..4), the
 * dimensions as big-endian uint32, then the elements, big-endian, and nothing
 * after them.  Every rule is checked: the magic, the type code, ndim, each
 * dimension >= 1, their product <= LAM_IDX_MAX_ELEMS (no overflow), and the
 * data length exactly equal to what the header declares (for plain files
 * from the file size before any allocation; for gzip files while streaming,
 * with the buffer grown only as decompressed data arrives).
 * Ownership: the caller owns *out (lam_idx_free); on error *out is NULL.
 * Errors: LAM_ERR_ARG (NULL argument), LAM_ERR_IO (open/read failed),
 * LAM_ERR_FORMAT (any rule above, corrupt gzip data; the message gives the
 * path, the byte offset (in the uncompressed stream for gzip files), what
 * was found and a hint), LAM_ERR_NOMEM. */
lam_status lam_idx_read(const char *path, lam_idx **out);

/* Release an IDX array; NULL is a no-op. */
void lam_idx_free(lam_idx *m);

/* Read and check only the header of an IDX file: out gets type, ndim, dims
 * and numel, data = NULL.  Cheap (for memory estimates).  Errors: as
 * lam_idx_read's header checks. */
lam_status lam_idx_peek(const char *path, lam_idx *out);

/* Options of lam_dataset_from_idx. */
typedef struct lam_idx_opts {
    bool raw;              /* false: u8 pixels are divided by 255 into [0, 1];
                              true: values are kept as stored.  Other element
                              types are always kept as stored. */
    int32_t nclasses;      /* 0: max label + 1; > 0: labels must be below it */
    int32_t max_classes;   /* inferred nclasses above this is an error; 10000 */
    const char *const *class_names; /* NULL, or nclasses names (needs nclasses > 0) */
} lam_idx_opts;

lam_idx_opts lam_idx_opts_defaults(void);

/* Make a classification data set from an IDX image file and an IDX label
 * file.  Images: [N, H, W] gives sample_shape [1, H, W]; [N, C, H, W] gives
 * [C, H, W]; [N, F] gives [F].  Labels: a 1-D integer file (u8, i8, i16 or
 * i32) of exactly N entries, each >= 0 (and < opts->nclasses when given).
 * Both headers are read and checked against each other before any data is
 * read; labels are checked before the images are read.  Float images must be
 * finite and in float range.  opts may be NULL (defaults).
 * Ownership: the caller owns *out (lam_dataset_free); on error *out is NULL.
 * Errors: as lam_idx_read, plus LAM_ERR_FORMAT for the rules above (naming
 * the file, the byte offset and the item), LAM_ERR_ARG for bad options. */
lam_status lam_dataset_from_idx(const char *images_path, const char *labels_path,
                                const lam_idx_opts *opts, lam_dataset **out);

/* Default directory of lam_fashion_mnist_load (Debian's dataset-fashion-mnist). */
#define LAM_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

/* Load Fashion-MNIST from `dir` (NULL: LAM_FASHION_MNIST_DIR): the files
 * train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte
 * and t10k-labels-idx1-ubyte, each plain or with a .gz suffix.  Gives data
 * sets with sample_shape [1, 28, 28], x in [0, 1], 10 classes and the class
 * names (T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker,
 * Bag, Ankle boot).  Either of train / test may be NULL to load only the
 * other part.
 * Ownership: the caller owns the data sets; on error both are NULL.
 * Errors: LAM_ERR_IO when a file is missing (the message names it and says
 * to `apt-get install dataset-fashion-mnist` or pass `--data DIR`), the
 * errors of lam_dataset_from_idx, LAM_ERR_ARG (both outputs NULL, path too
 * long). */
lam_status lam_fashion_mnist_load(const char *dir, lam_dataset **train, lam_dataset **test);
/* Sample counts of the Fashion-MNIST parts in `dir` (NULL: the default) from
 * the file headers alone; either pointer may be NULL.  Errors: as load. */
lam_status lam_fashion_mnist_peek(const char *dir, int64_t *n_train, int64_t *n_test);

/* ---- CIFAR binary files ---------------------------------------------------------- */

typedef enum lam_cifar_variant {
    LAM_CIFAR_10 = 0,     /* records: 1 label byte + 3072 pixels; 10 classes */
    LAM_CIFAR_100_FINE,   /* records: coarse, fine label bytes + 3072 pixels;
                             the fine label, 100 classes */
    LAM_CIFAR_100_COARSE, /* the same records; the coarse label, 20 classes */
} lam_cifar_variant;

/* Read CIFAR binary files (data_batch_1.bin ... or train.bin / test.bin),
 * plain or gzip, concatenated in the order given, into one data set with
 * sample_shape [3, 32, 32] (R, G and B planes of 32x32 row-major pixels, as
 * stored), x in [0, 1] and the standard class names.  Each file must hold at
 * least one record and a whole number of them; every label byte must be in
 * range (for CIFAR-100 both the coarse < 20 and the fine < 100).
 * Ownership: the caller owns *out (lam_dataset_free); on error *out is NULL.
 * Errors: LAM_ERR_ARG (npaths < 1, a NULL path, unknown variant), LAM_ERR_IO,
 * LAM_ERR_FORMAT (empty file; a partial record, with the byte offset where
 * it starts; a label out of range, with its byte offset; corrupt gzip),
 * LAM_ERR_NOMEM. */
lam_status lam_cifar_read(const char *const *paths, int npaths, lam_cifar_variant variant,
                          lam_dataset **out);

/* ---- image transforms ------------------------------------------------------- */
/* All transforms work on NCHW float images (one sample is C*H*W floats,
 * channel-major), allocate nothing and draw random numbers only from the
 * lam_rng they are given, serially in a documented order: the same seed gives
 * the same bits. */

/* dst[c, y, x] = src[c, y - dy, x - dx], zero where that falls outside the
 * image (positive dy moves content down, positive dx right).  src and dst are
 * [C, H, W] and must not overlap. */
void lam_image_shift(const float *src, float *dst, int C, int H, int W, int dy, int dx);

/* Mirror x[C, H, W] left-right in place. */
void lam_image_flip_h(float *x, int C, int H, int W);

/* Random crop with zero padding, in place on x[C, H, W]: conceptually pad by
 * `pad` zeros on every side and cut an H x W window at offset (oy, ox), each
 * uniform in [0, 2*pad] (drawn oy then ox): a shift by (pad-oy, pad-ox).
 * tmp: caller scratch of C*H*W floats.  pad 0 draws nothing and is the
 * identity. */
void lam_image_random_crop(float *x, int C, int H, int W, int pad, lam_rng *rng, float *tmp);

/* Random translation in place on x[C, H, W] by (dy, dx), each uniform in
 * [-k, k] (drawn dy then dx), zero fill.  tmp: C*H*W floats of scratch. */
void lam_image_random_shift(float *x, int C, int H, int W, int k, lam_rng *rng, float *tmp);

/* Mirror x[C, H, W] left-right with probability 0.5 (one draw). */
void lam_image_random_flip(float *x, int C, int H, int W, lam_rng *rng);

/* x[i] += std * N(0, 1) for i in [0, n), drawn in index order. */
void lam_image_add_noise(float *x, size_t n, float std, lam_rng *rng);

/* x[i] /= 255 for i in [0, n): 0..255 pixel values into [0, 1]. */
void lam_image_scale255(float *x, size_t n);

/* Per-channel mean and population standard deviation (computed in double) of
 * x[N, C, HW] into mean[C], std[C]; a constant channel gets std 1 (so that
 * standardising it only centres it).
 * Errors: LAM_ERR_ARG (N < 1, C < 1, HW < 1, NULL pointer, a non-finite
 * value, naming its sample and channel). */
lam_status lam_image_channel_stats(const float *x, int64_t N, int C, int64_t HW, float *mean,
                                   float *std);

/* lam_image_channel_stats over an image data set: C = sample_shape.d[0],
 * HW = the rest.  Fit it on the training part only.
 * Errors: LAM_ERR_SHAPE unless sample_shape has 3 dims ([C, H, W]), else as
 * lam_image_channel_stats. */
lam_status lam_dataset_channel_stats(const lam_dataset *ds, float *mean, float *std);

/* x[b, c, :] = (x[b, c, :] - mean[c]) / std[c] in place on x[B, C, HW]. */
void lam_image_standardize(float *x, int64_t B, int C, int64_t HW, const float *mean,
                           const float *std);

/* Augmentation of a batch.  Each flag turns one transform on; the defaults
 * (lam_augment_defaults) turn everything off and give the parameters common
 * values.  Per sample, in batch order, the transforms run in this order:
 *   1. scale255      x /= 255
 *   2. crop          lam_image_random_crop(crop_pad)     draws oy, ox
 *   3. shift         lam_image_random_shift(shift_max)   draws dy, dx
 *   4. flip          lam_image_random_flip               draws 1 number
 *   5. noise         lam_image_add_noise(noise_std)      draws C*H*W normals
 *   6. standardize   (x - mean[c]) / std[c]              draws nothing
 * (crop_pad 0, shift_max 0 and noise_std 0 draw nothing and change nothing)
 * so noise is in pixel units and the padding of crop and shift is zero before
 * standardisation (it becomes -mean/std after it, as in torchvision's usual
 * pipeline of crop -> flip -> normalize). */
typedef struct lam_augment {
    bool scale255;
    bool crop;        int crop_pad;    /* 4 (CIFAR's usual) */
    bool shift;       int shift_max;   /* 2 */
    bool flip;                         /* probability 0.5 */
    bool noise;       float noise_std; /* 0.05 */
    bool standardize;
    const float *mean;                 /* [C], borrowed; NULL */
    const float *std;                  /* [C], borrowed, each > 0; NULL */
} lam_augment;

lam_augment lam_augment_defaults(void);

/* Apply a in place to the batch x[B, C, H, W], drawing from rng as described
 * above.  tmp: caller scratch of C*H*W floats (may be NULL when neither crop
 * nor shift is on).  Allocates nothing; a NULL a is the identity.
 * Errors: LAM_ERR_ARG (B < 0, C/H/W < 1, NULL x or rng, crop_pad or
 * shift_max outside [0, 65535], noise_std negative or not finite,
 * standardize without mean/std or with a std that is not finite and > 0, NULL
 * tmp when needed); x is untouched then. */
lam_status lam_augment_batch(const lam_augment *a, float *x, int B, int C, int H, int W,
                             lam_rng *rng, float *tmp);

#ifdef __cplusplus
}
#endif
#endif
