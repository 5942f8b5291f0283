/* Lamina training: models built from model files, fit / evaluate / predict,
 * metrics, checkpoints.  The library never prints: progress reaches the
 * caller through callbacks (the lamina command prints them). */
#ifndef LAMINA_TRAIN_H
#define LAMINA_TRAIN_H

#include "lamina/dist.h"
#include "lamina/config.h"
#include "lamina/data.h"
#include "lamina/graph.h"
#include "lamina/optim.h"
#include "lamina/text.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lam_loss_kind {
    LAM_LOSS_CROSS_ENTROPY = 0, /* softmax cross-entropy over class labels */
    LAM_LOSS_MSE,               /* regression */
    LAM_LOSS_BCE,               /* binary cross-entropy with logits, 0/1 targets */
    LAM_LOSS_COUNT_
} lam_loss_kind;

typedef enum lam_scale_kind {
    LAM_SCALE_NONE = 0,
    LAM_SCALE_STANDARD, /* per feature: mean 0, std 1 */
    LAM_SCALE_MINMAX,   /* per feature: into [0, 1] */
    LAM_SCALE_CHANNEL,  /* images: per channel mean 0, std 1 */
} lam_scale_kind;

typedef enum lam_data_format {
    LAM_DATA_CSV = 0,        /* path = a CSV file (plain or .gz) */
    LAM_DATA_IDX,            /* train_images, train_labels, test_images, test_labels */
    LAM_DATA_FASHION_MNIST,  /* path = directory (default Debian's dataset-fashion-mnist) */
    LAM_DATA_CIFAR10,        /* path = directory with data_batch_1..5.bin, test_batch.bin */
    LAM_DATA_CORPUS,         /* path = a text file or directory: language modelling windows */
    LAM_DATA_TEXT_CSV,       /* path = a CSV file with a label and a text column */
    LAM_DATA_TEXT_FILES,     /* path = a directory of documents labelled by file name, cut into windows */
    LAM_DATA_TIMESERIES,     /* path = a CSV file of time-ordered rows, cut into windows */
    LAM_DATA_NPY,            /* path = an .npz archive, or x, y (test_x, test_y) = .npy files */
    LAM_DATA_FORMAT_COUNT_
} lam_data_format;

/* Token data (text formats) is fed as int32 ids; the rest as floats. */
bool lam_data_format_is_text(lam_data_format f);

const char *lam_data_format_name(lam_data_format f); /* "csv", "idx", ... */

/* [data]: where the data comes from and how it is prepared. */
typedef struct lam_data_opts {
    lam_data_format format;
    const char *path;         /* CSV file or data directory */
    const char *train_images, *train_labels, *test_images, *test_labels; /* IDX */
    const char *npy_x, *npy_y, *npy_test_x, *npy_test_y; /* npy: .npy files (keys x, y, test_x, test_y) */
    lam_csv_opts csv;
    double test_split;        /* fraction held out for the final test (0.2) */
    uint64_t split_seed;      /* 42 */
    bool stratify;            /* false */
    lam_scale_kind scale;     /* STANDARD, fitted on the training part only */
    bool scale_target;        /* regression: standardise the targets on the training part;
                               * predictions and metrics are in the original units (time
                               * series: true; CSV: false) */
    /* text formats (see lamina/text.h): the vocabulary is built on the
     * training part only; each sample has [net] input tokens */
    lam_vocab_opts vocab;     /* tokenizer, min_freq, max_size, lowercase, pad, unk */
    bool follow_links;        /* corpus directories: follow symbolic links (true) */
    char label_sep;           /* text_files: a file's class is its name up to this ('-') */
    lam_csv_col text_col;     /* text_csv: the text column (default: the last) */
    int64_t stride;           /* corpus: window step (1); text_files: (the window) */
    /* timeseries: the window is [net] input's first dimension */
    lam_timeseries_opts ts;
    int64_t ts_nfeatures;
} lam_data_opts;

/* How a model is trained: all layers together, or layer by layer. */
typedef enum lam_strategy_kind {
    LAM_STRATEGY_END_TO_END = 0,
    LAM_STRATEGY_LAYERWISE_SUPERVISED, /* greedy: each hidden layer with a temporary head, then frozen */
    LAM_STRATEGY_LAYERWISE_AUTOENCODER, /* greedy unsupervised: each layer a denoising autoencoder */
    LAM_STRATEGY_STAGES,               /* the model file's [stage] sections */
    LAM_STRATEGY_COUNT_
} lam_strategy_kind;
const char *lam_strategy_name(lam_strategy_kind k);
bool lam_strategy_from_name(const char *name, lam_strategy_kind *out);

/* Which parameters weight decay applies to (a parameter-group rule). */
typedef enum lam_decay_rule {
    LAM_DECAY_ALL = 0,  /* every trainable parameter (torch's optimisers given model.parameters()) */
    LAM_DECAY_MATRICES, /* weight matrices and kernels only: no decay on biases, norm gains and
                         * embedding tables (token and position) -- the default for AdamW */
} lam_decay_rule;

/* [train]: the optimisation. */
typedef struct lam_train_opts {
    lam_strategy_kind strategy;
    int stage_epochs;         /* epochs of each greedy stage (default: epochs) */
    int fine_tune_epochs;     /* end-to-end epochs after greedy stages (default: epochs; 0 = none) */
    double fine_tune_lr;      /* learning rate of fine-tuning (default: lr) */
    double ae_noise;          /* denoising autoencoders: dropout rate on their input (0.1) */
    double labelled_fraction; /* < 1: semi-supervised, the rest of the training part unlabelled (1) */
    double pseudo_threshold;  /* pseudo-label where the top class probability is at least this (0.95) */
    int pseudo_rounds;        /* label-and-retrain rounds (1) */
    lam_loss_kind loss;
    lam_optim_kind optimizer;
    lam_param_group group;    /* lr, momentum, weight decay, betas, ... */
    lam_decay_rule decay;     /* where weight_decay applies (AdamW: matrices; others: all) */
    lam_schedule schedule;
    int epochs;               /* 10 */
    int batch;                /* 32; with accumulate, the micro-batch */
    int accumulate;           /* micro-batches per optimiser step, gradients summed (1) */
    double val_split;         /* fraction of the training part for validation (0) */
    int patience;             /* early stopping: epochs without improvement (0 = off) */
    double min_delta;         /* improvement needed to reset patience */
    double clip_norm;         /* clip gradients to this global norm (0 = off) */
    double lr_depth_decay;    /* layer lr = lr * decay^(learnable layers above it); 1 = off */
    bool shuffle;             /* true */
    bool sync_batchnorm;      /* data parallel: BatchNorm's training statistics over the global
                               * batch (summed over the ranks) instead of each rank's rows (false) */
    uint64_t seed;            /* batch order; defaults to [net] seed */
    int64_t steps;            /* > 0: stop after this many optimiser steps (the epochs
                               * then only bound the run); 0: train for the epochs */
} lam_train_opts;

/* One [stage] section: which layers train, for how long, how. */
typedef struct lam_stage_spec {
    const char *name;         /* "stage N" by default */
    const char *train;        /* "all" or comma-separated layer names */
    int epochs;
    double lr, momentum, weight_decay;
} lam_stage_spec;

/* Per-layer optimiser settings from a layer section (`lr`, `momentum`,
 * `weight_decay`); negative: inherit [train]'s. */
typedef struct lam_layer_opts {
    double lr, momentum, weight_decay;
} lam_layer_opts;

/* A model: the parsed model file, its graph and the nodes the trainer uses. */
typedef struct lam_model {
    lam_cfg *cfg;             /* owned; its text goes into checkpoints */
    lam_graph *g;
    lam_node *x;              /* input [B, sample...] */
    lam_node *target;         /* labels [B] (int) or targets [B, nout] */
    lam_node *out;            /* logits / predictions [B, nout] */
    lam_node *loss;
    lam_shape sample;         /* input shape of one sample */
    int nout;                 /* output width (classes for cross-entropy) */
    uint64_t seed;
    lam_data_opts data;
    lam_train_opts train;
    lam_scaler *scaler;       /* input scaling fitted on training data (owned), or NULL */
    lam_scaler *target_scaler; /* regression targets' scaling (owned), or NULL */
    lam_augment augment;      /* [augment]: applied to training batches (default: off) */
    lam_layer_opts *layer_opts; /* [graph layer count], owned */
    int n_layer_opts;
    char **class_names;       /* the training data's class names (owned), or NULL */
    int32_t n_class_names;
    lam_stage_spec *stages;   /* [stage] sections, owned */
    int n_stages;
    bool self_supervised;     /* the loss needs no targets from the data (autoencoder stages) */
    /* sequence models */
    bool tokens;              /* the input is int32 token ids (text formats) */
    bool next_token;          /* language modelling: labels [B, T], the next token of each position */
    lam_node *lengths;        /* int32 [B] real tokens of each sample (padded text), or NULL */
    lam_vocab *vocab;         /* text formats: the vocabulary (owned) */
    struct lam_text_cache *text; /* the text source read to build the vocabulary, kept for
                               * lam_model_prepare_data (owned, internal) */
    struct lam_baselines *baselines; /* filled by lam_model_prepare_data (owned), or NULL */
    bool borrowed_cfg;        /* a stage's temporary model: cfg and layer_opts belong to another */
    int compiled_batch;
    /* Data-parallel training (lamina/dist.h): when set to a communicator of
     * more than one rank, lam_fit trains every rank on its share of each
     * global batch and sums the gradients, lam_evaluate splits the rows and
     * sums the metrics, and rank 0 alone writes checkpoints and logs.
     * Borrowed (not freed with the model); NULL: this process alone. */
    lam_comm *comm;
} lam_model;

/* Command-line style overrides applied on top of the model file; zero/NULL
 * fields leave the file's value. */
typedef struct lam_model_overrides {
    const char *data_path;
    int epochs, batch;
    double lr;
    long long seed;           /* < 0: keep */
    const char *strategy;     /* a lam_strategy_name, or NULL */
    long long steps;          /* > 0: train for this many optimiser steps */
    /* text formats: the vocabulary as lam_vocab_to_json wrote it (a
     * checkpoint's), instead of building it from the data */
    const char *vocab_json;
} lam_model_overrides;
lam_model_overrides lam_model_overrides_none(void);

/* Build a model from a parsed model file (takes ownership of cfg, also on
 * error).  Every section and key is checked; errors carry line numbers. */
lam_status lam_model_from_cfg(lam_cfg *cfg, const lam_model_overrides *ov, lam_model **out);
/* Load and build from a file. */
lam_status lam_model_load(const char *path, const lam_model_overrides *ov, lam_model **out);
void lam_model_free(lam_model *m);
/* Compile for batches up to max_batch (training plan). */
lam_status lam_model_compile(lam_model *m, int max_batch);
/* Write a description: layers, output shapes, parameter counts, FLOPs and the
 * planned memory, into buf (truncated to n bytes, always terminated when
 * n > 0).  Returns the length of the whole description, as snprintf does:
 * call with (NULL, 0) to size a buffer. */
size_t lam_model_describe(lam_model *m, char *buf, size_t n);
/* The same facts as one JSON object (for programs, the CLI's --json and the
 * run report):
 *   {"model_file": "...", "input": [dims], "tokens": bool, "loss": "...",
 *    "optimizer": "...", "outputs": N (lam_predict's values per sample),
 *    "vocabulary": {"size": N, "tokenizer": "..."} (text models), "batch": B,
 *    "layers": [{"name", "op", "shape": [per sample], "params"}, ...],
 *    "parameters": N, "trainable": N, "flops_per_sample": F,
 *    "memory": {"activations", "activations_unplanned",
 *    "activations_without_recompute", "scratch", "parameters"} (bytes; once
 *    compiled)}
 * *out: NUL-terminated, allocated with lam_malloc (release with lam_free).
 * Errors: LAM_ERR_ARG (NULL), LAM_ERR_NOMEM. */
lam_status lam_model_json(lam_model *m, char **out);

const char *lam_loss_name(lam_loss_kind k);

/* What a training run of the model will hold in memory, from the compiled
 * plan, the optimiser kind and the data files' headers (no data is read). */
typedef struct lam_mem_estimate {
    bool data_known;       /* false for CSV and the sequence formats: their size is known only once read */
    size_t data_bytes;     /* data sets as floats (train + validation + test) */
    size_t read_bytes;     /* extra held while reading and splitting (peak) */
    size_t graph_bytes;    /* activations, scratch, parameters, gradients */
    size_t optim_bytes;    /* optimiser state */
    size_t fit_bytes;      /* the trainer's own buffers (best weights, ...) */
    size_t total_bytes;    /* estimated peak of the whole process */
} lam_mem_estimate;
/* The model must be compiled (lam_model_compile). */
lam_status lam_model_memory_estimate(lam_model *m, lam_mem_estimate *e);

/* ---- metrics ---------------------------------------------------------------- */

typedef struct lam_metrics {
    lam_task task;
    int64_t n;
    double loss;
    /* classification */
    int nclasses;
    double accuracy;
    int64_t *confusion;       /* [nclasses * nclasses], row = true class, col = predicted */
    double *precision, *recall, *f1; /* [nclasses] */
    int64_t *support;         /* [nclasses] */
    double macro_precision, macro_recall, macro_f1;
    /* regression (averaged over targets) */
    double mse, mae, r2;
} lam_metrics;
/* Allocate the per-class arrays for k classes (zeroed). */
lam_status lam_metrics_init(lam_metrics *m, lam_task task, int nclasses);
void lam_metrics_free(lam_metrics *m);
/* Fill precision/recall/F1/accuracy from the confusion matrix. */
void lam_metrics_finish_classification(lam_metrics *m);
/* Regression metrics of predictions p against targets t, [n, k] each. */
void lam_metrics_regression(lam_metrics *m, const float *p, const float *t, int64_t n, int k);
/* A readable report (accuracy, per-class P/R/F1, confusion matrix, or the
 * regression errors) into buf, truncated to n bytes; returns the whole
 * report's length, as snprintf does ((NULL, 0) sizes a buffer). */
size_t lam_metrics_report(const lam_metrics *m, const char *const *class_names, char *buf, size_t n);
/* The metrics as one JSON object: {"task": "classification", "n", "loss",
 * "accuracy", "macro_precision", "macro_recall", "macro_f1", "classes":
 * [{"name", "precision", "recall", "f1", "support"}, ...], "confusion":
 * [[...], ...] (rows: true class, columns: predicted)}; a language model
 * (no classes) {"task": "language_model", "n", "loss", "perplexity",
 * "accuracy"}; {"task": "regression", "n", "loss", "mse", "mae", "r2"}.
 * Class names default to the indices; NaN is null.  *out as lam_model_json.
 * Errors: LAM_ERR_ARG (NULL; a class name that is not UTF-8), LAM_ERR_NOMEM. */
lam_status lam_metrics_json(const lam_metrics *m, const char *const *class_names, char **out);

/* ---- fit / evaluate / predict ------------------------------------------------ */

typedef struct lam_epoch_log {
    int stage;                /* 1-based stage of a layer-wise strategy (1 for end to end) */
    const char *stage_name;
    int epoch;                /* 1-based, within the stage */
    int epochs;
    double train_loss, train_acc;   /* acc: NAN for regression */
    double val_loss, val_acc;       /* NAN when there is no validation set */
    double lr;
    double seconds;
    bool improved;            /* the monitored value improved (best so far) */
} lam_epoch_log;

typedef struct lam_batch_log {
    int epoch, epochs;
    int64_t batch, batches;   /* 1-based batch within the epoch */
    double loss;              /* running mean over the epoch */
    double elapsed;           /* seconds since the epoch began */
} lam_batch_log;

/* How the caller follows and steers lam_fit.  Zero-initialise and set what
 * is needed: every field may be NULL / 0.  The library installs no signal
 * handlers: a program that wants Ctrl-C to stop training cleanly sets a
 * flag (a volatile sig_atomic_t) in its own handler and returns it from
 * should_stop, as the lamina command does. */
typedef struct lam_fit_hooks {
    void (*on_batch)(const lam_batch_log *b, void *user);  /* after every optimiser step */
    /* after every epoch; return false to stop training there (the
     * checkpoint is still written), as a Keras callback would; a layer-wise
     * strategy stops altogether */
    bool (*on_epoch)(const lam_epoch_log *e, void *user);
    void *user;
    const char *checkpoint_path;  /* write the state here after every epoch (NULL: no) */
    const char *resume_path;      /* continue exactly from this checkpoint (NULL: no); with
                                   * csv_log_path, rows the checkpoint had not reached are
                                   * dropped from the log first */
    const char *csv_log_path;     /* append one row of metrics per epoch (NULL: no); a header
                                   * is written when the file is empty */
    int stage;                    /* set by lam_train_model for each stage's lam_fit */
    const char *stage_name;
    /* Checked after every optimiser step (and after each epoch's
     * validation); return true to stop there.  lam_fit then writes
     * checkpoint_path with the exact mid-epoch state (loader position,
     * RNGs, the epoch's running sums), so that resume_path continues as if
     * training had never stopped, and returns LAM_OK with res->interrupted
     * set.  A step that ends its epoch finishes the epoch first (validation,
     * on_epoch, the log row).  A layer-wise strategy stops altogether; its
     * checkpoint stays the last completed stage's. */
    bool (*should_stop)(void *user);
    /* > 0: also write checkpoint_path after every checkpoint_every-th
     * optimiser step of the run (steps counted from the start of training,
     * across resumes), mid-epoch with the loader's position: a process
     * killed at any moment loses at most this many steps.  Steps that end
     * an epoch get the epoch's checkpoint instead.  end_to_end only: the
     * layer-wise strategies checkpoint at stage boundaries. */
    int64_t checkpoint_every;
} lam_fit_hooks;

typedef struct lam_fit_result {
    uint64_t steps;           /* optimiser steps taken in this run */
    uint64_t total_steps;     /* optimiser steps since training began, a resumed checkpoint's included */
    int64_t samples;          /* samples trained on (tokens = samples * sequence length) */
    double step_median_s;     /* median step time after 5 warm-up steps (0 when fewer) */
    double step_wait_share;   /* data parallel: the share of those steps' time spent waiting
                               * on the other ranks (gradient sums, the step's sums); 0 else */
    double last_loss;         /* the last step's training loss */
    double last10_loss;       /* the mean of the last 10 steps' losses */
    int epochs_run;
    int best_epoch;           /* epoch whose weights the model holds at the end */
    double best_monitor;      /* its validation loss (or training loss without validation) */
    double seconds;           /* training time, evaluation excluded */
    bool stopped_early;
    bool stopped_by_hook;     /* on_epoch returned false, or should_stop true */
    bool interrupted;         /* should_stop returned true before training was done: the
                               * model holds the last step's weights (early stopping's best
                               * weights are not restored) and the checkpoint the state */
} lam_fit_result;

/* Train `m` on `train`, validating on `val` (may be NULL) each epoch; with
 * patience > 0 stops early and restores the best weights.  The dataset must
 * already be scaled.  No allocation inside a training step. */
lam_status lam_fit(lam_model *m, const lam_dataset *train, const lam_dataset *val, const lam_fit_hooks *hooks,
                   lam_fit_result *res);
/* Loss and metrics on a dataset (inference mode). */
lam_status lam_evaluate(lam_model *m, const lam_dataset *ds, lam_metrics *out);
/* Outputs for every row: [n, nout] logits/probabilities (softmax applied for
 * cross-entropy, sigmoid for BCE) into out. */
lam_status lam_predict(lam_model *m, const lam_dataset *ds, float *out);

/* ---- strategies ---------------------------------------------------------------- */

#define LAM_MAX_STAGES 64

typedef struct lam_stage_report {
    char name[96];            /* "fc1: supervised with a temporary head", "fine-tune", ... */
    size_t params_updated;    /* parameters the stage trained */
    int epochs_run, best_epoch;
    double seconds;           /* training time of the stage */
    double final_loss;        /* its last epoch's training loss */
    lam_fit_result fit;       /* everything lam_fit reported for the stage */
} lam_stage_report;

typedef struct lam_train_result {
    int n_stages;
    lam_stage_report stage[LAM_MAX_STAGES];
    double seconds;           /* all stages */
    int best_epoch;           /* of the last stage */
} lam_train_result;

/* Train m with its [train] strategy (end_to_end runs lam_fit once; the
 * layer-wise strategies run one lam_fit per stage, on temporary graphs that
 * share the model's parameters by name).  Multi-stage runs write
 * hooks->checkpoint_path at each stage boundary, and hooks->resume_path
 * resumes after the last completed stage (end_to_end: at the exact step the
 * checkpoint was written, mid-epoch too).  hooks->should_stop ends a
 * multi-stage run in its current stage, whose work is lost: a resume
 * repeats that stage from its start. */
lam_status lam_train_model(lam_model *m, const lam_dataset *train, const lam_dataset *val, const lam_fit_hooks *hooks,
                           lam_train_result *res);

/* One row of a strategy comparison (lam_compare). */
typedef struct lam_compare_row {
    lam_strategy_kind strategy;
    lam_metrics test;         /* on the test part (owned: lam_compare_free) */
    lam_train_result train;   /* stages, parameters updated, seconds, best epoch */
} lam_compare_row;

/* Train the model file at cfg_path once per strategy, each from the same
 * seed and on the same split, and evaluate each on the test part.  rows has
 * n entries; ov (may be NULL) applies to every run; hooks (may be NULL)
 * report progress.  Free with lam_compare_free. */
lam_status lam_compare(const char *cfg_path, const lam_model_overrides *ov, const lam_strategy_kind *strategies, int n,
                       const lam_fit_hooks *hooks, lam_compare_row *rows);
void lam_compare_free(lam_compare_row *rows, int n);

/* Codes of `code` (a node of m's graph, e.g. the last hidden layer) for every
 * row of ds, into out [n, per-sample size of code].  Inference mode. */
lam_status lam_encode(lam_model *m, lam_node *code, const lam_dataset *ds, float *out);
/* The default code node: the input of the model's output layer (its last
 * hidden representation). */
lam_node *lam_model_code_node(lam_model *m);

/* ---- semi-supervised: pseudo-labelling ------------------------------------------- */

#define LAM_MAX_PSEUDO_ROUNDS 16

typedef struct lam_pseudo_round {
    int64_t n_pseudo;         /* unlabelled rows given a pseudo-label */
    int64_t n_correct;        /* of those, how many match the hidden true label */
    double test_accuracy;     /* after retraining (NAN without a test set) */
} lam_pseudo_round;

typedef struct lam_semi_report {
    int64_t n_labelled, n_unlabelled;
    double labelled_only_accuracy;   /* test accuracy after training on the labelled part */
    int rounds;
    lam_pseudo_round round[LAM_MAX_PSEUDO_ROUNDS];
    lam_train_result train;          /* of the first training (labelled part only) */
} lam_semi_report;

/* Pseudo-labelling: hide the labels of (1 - labelled_fraction) of `train`
 * (a seeded stratified split), train on the labelled part with the model's
 * strategy, then per round label the unlabelled rows whose top probability
 * reaches pseudo_threshold and continue training on labelled + pseudo-labelled
 * rows.  The hidden labels are used only to report the pseudo-labels'
 * accuracy.  test (may be NULL) gives the accuracies in the report. */
lam_status lam_train_semi(lam_model *m, const lam_dataset *train, const lam_dataset *val, const lam_dataset *test,
                          const lam_fit_hooks *hooks, lam_semi_report *rep);

/* ---- data preparation ------------------------------------------------------------ */

/* Baselines that need no training, computed on the test part by
 * lam_model_prepare_data (m->baselines), to put a model's figures in
 * context. */
typedef struct lam_baselines {
    /* classification: always predict the training part's most frequent class */
    bool majority;
    int majority_class;
    double majority_accuracy, majority_macro_f1;
    /* forecasting (time series whose target is also a feature): the next
     * value is the last one seen */
    bool persistence;
    double persistence_mae, persistence_rmse;
    int64_t n_test;
} lam_baselines;

/* Read the model's [data] (CSV, IDX, Fashion-MNIST or CIFAR-10), split off
 * the test part (CSV: test_split; the image sets come with theirs), fit the
 * scaler on the training part (stored in m->scaler) and apply it to every
 * part; optionally split a validation part from the training part.  report
 * (CSV only) may be NULL. */
lam_status lam_model_prepare_data(lam_model *m, lam_dataset **train, lam_dataset **val, lam_dataset **test,
                                  lam_csv_report *report);
/* The same for data the caller already has (lam_dataset_from_arrays, a
 * reader of its own): `all` is checked against the model (features, classes
 * or targets; samples take the model's input shape), the test part split
 * off as [data] test_split says unless `test_in` is given, the validation
 * part as [train] validation_split says (when val is non-NULL), and the
 * model's scaler fitted on the training part and applied to every part.
 * Takes ownership of all and test_in, also on error.  Not for token data
 * (the text formats build their vocabulary from the model file's data).
 * Errors: LAM_ERR_ARG (NULL, token data, no labels or targets),
 * LAM_ERR_SHAPE (features or classes that do not fit the model),
 * LAM_ERR_NOMEM.  On error the outputs are NULL. */
lam_status lam_model_prepare_dataset(lam_model *m, lam_dataset *all, lam_dataset *test_in, lam_dataset **train,
                                     lam_dataset **val, lam_dataset **test);
/* Make data ready for lam_evaluate / lam_predict / lam_encode with a
 * trained model: its features must match the model's input; they take the
 * input's sample shape and the scaler fitted in training is applied, in
 * place.  Errors: LAM_ERR_ARG (NULL, token data), LAM_ERR_SHAPE. */
lam_status lam_model_prepare_inputs(const lam_model *m, lam_dataset *ds);

/* ---- checkpoints ------------------------------------------------------------------ */

/* Training state saved with a checkpoint for exact resume. */
typedef struct lam_train_state {
    int stage;                /* stages of a layer-wise strategy completed */
    int epoch;                /* epochs completed (of the current stage) */
    uint64_t step;            /* optimiser steps taken */
    int best_epoch, bad_epochs;
    double best_monitor;
    lam_loader_state loader;  /* batch order and the position in the current epoch */
    lam_rng dropout_rng;      /* the graph's RNG */
    lam_rng augment_rng;      /* augmentation draws */
    /* a checkpoint written mid-epoch (hooks.checkpoint_every, should_stop):
     * the running sums of the epoch in progress, so its logged loss and
     * accuracy, and early stopping on the training loss, come out as
     * without the stop; all zero at an epoch boundary */
    double epoch_loss_sum;    /* sum of batch loss x batch rows */
    int64_t epoch_correct, epoch_seen, epoch_batches;
} lam_train_state;

/* Save parameters (by name), the scaler, the model file text and, when `o` is
 * given, the optimiser state and training state.  Atomic (temp + fsync +
 * rename): a process killed at any moment leaves the previous file or the
 * new one, never a mix (an orphaned PATH.tmp.XXXXXX at worst). */
lam_status lam_checkpoint_save(lam_model *m, const lam_optim *o, const lam_train_state *ts, const char *path);
/* Rebuild the model from a checkpoint's model text and load its parameters
 * and scaler, checking names and shapes.  ts (may be NULL) receives the saved
 * training state. */
lam_status lam_checkpoint_load(const char *path, lam_model **out, lam_train_state *ts);

/* ---- generation -------------------------------------------------------------------- */

typedef struct lam_generate_opts {
    const char *prompt;       /* text to start from (may be empty) */
    size_t prompt_len;
    int tokens;               /* tokens to generate (100) */
    double temperature;       /* > 0: logits / temperature; 0: greedy (the most likely token) (1) */
    int top_k;                /* > 0: sample among the k most likely tokens only (0: all) */
    double top_p;             /* < 1: sample among the most likely tokens whose probabilities
                               * add up to top_p (nucleus sampling) (1) */
    uint64_t seed;            /* sampling seed (0) */
    const char *stop;         /* stop once the text generated ends with this string (NULL) */
    bool no_cache;            /* recompute the whole window (the last `context` tokens) for every
                               * token instead of carrying states and key/value caches (false):
                               * the reference the cache is checked and timed against */
} lam_generate_opts;
lam_generate_opts lam_generate_opts_defaults(void);

typedef struct lam_generate_stats {
    int64_t prompt_tokens, tokens; /* tokens read (a prompt cut to the context: its end), and generated */
    double prompt_s, generate_s; /* time reading the prompt, and generating */
} lam_generate_stats;

/* ---- run summaries and reports ---------------------------------------------- */

/* What a training run reports, for lam_run_summary_json.  Every pointer may
 * be NULL (that part is left out or null). */
typedef struct lam_run_info {
    const char *command;               /* the command line that reproduces the run */
    const char *run_dir;               /* where its files are */
    int64_t time;                      /* when (seconds since 1970, UTC); 0: now */
    const lam_dataset *train, *val, *test; /* the parts trained, validated and tested on */
    const lam_csv_report *data_report; /* rows read, dropped, imputed */
    const lam_train_result *result;    /* the training */
    bool interrupted;                  /* stopped by a signal before the end */
    int threads;                       /* 0: lam_get_threads() */
    const lam_metrics *metrics;        /* the evaluation */
    const char *const *class_names;    /* its class names (NULL: the indices) */
    const char *split;                 /* what it was evaluated on: "test" (default), "training" */
    double peak_rss_mib;               /* measured peak memory (0: not known) */
} lam_run_info;

/* The run summary as one JSON document (a run folder's results.json; the
 * CLI's train --json): {"format": "lamina-run", "version": 1, "lamina":
 * version, "command", "time" (ISO 8601 UTC), "run_dir", "model":
 * lam_model_json's object, "data": {"path", "format", "train",
 * "validation", "test", "features" or "tokens_per_sample", "classes" /
 * "targets", "vocabulary", "rows", "rows_dropped", "values_imputed"},
 * "training": {"strategy", "optimizer", "lr", "batch", "accumulate",
 * "epochs", "steps_budget", "seed", "threads", "ranks", "interrupted",
 * "comm_wait_seconds" (data parallel: rank 0's time blocked on the other
 * ranks over the whole run, start-up broadcast and evaluation included),
 * "comm_wait_share" (the share of its timed steps, after 5 warm-up steps,
 * spent waiting), "epochs_run",
 * "best_epoch", "steps", "seconds", "seconds_per_epoch", "stopped_early",
 * "median_step_seconds", "samples_per_second" or "tokens_per_second",
 * "final_loss", "final_loss_last10", "stages": [{"name", "params_updated",
 * "epochs_run", "best_epoch", "seconds", "final_loss"}]}, "results":
 * {"split", then lam_metrics_json's keys} or null, "baselines":
 * {"majority": {"class", "accuracy", "macro_f1"}, "persistence": {"mae",
 * "rmse"}} (when computed), "peak_rss_mib"}.  Keys whose part is missing
 * are left out.  *out: NUL-terminated, from lam_malloc (lam_free it).
 * Errors: LAM_ERR_ARG (NULL m, ri or out; text that is not UTF-8),
 * LAM_ERR_NOMEM. */
lam_status lam_run_summary_json(lam_model *m, const lam_run_info *ri, char **out);
/* lam_run_summary_json written to path atomically (lam_write_file_atomic). */
lam_status lam_run_write_summary(lam_model *m, const lam_run_info *ri, const char *path);

/* Train and report in one call, for programs and language bindings that
 * want the figures rather than the structs: train m on `train` with its
 * strategy (lam_train_model; val may be NULL, hooks may be NULL), evaluate
 * it on `test` (on `train` when test is NULL) and return the run summary
 * (lam_run_summary_json, without a command) in *json (lam_free it).
 * Errors: those of lam_train_model and lam_evaluate, LAM_ERR_NOMEM. */
lam_status lam_model_train_json(lam_model *m, const lam_dataset *train, const lam_dataset *val, const lam_dataset *test,
                                const lam_fit_hooks *hooks, char **json);
/* lam_evaluate's metrics as lam_metrics_json, class names from training
 * when the model has them.  *json: lam_free it. */
lam_status lam_evaluate_json(lam_model *m, const lam_dataset *ds, char **json);

/* ---- the HTML run report ----------------------------------------------------- */

/* Write run_dir/report.html from the run folder's results.json (the run
 * summary above) and metrics.csv (the per-epoch log): one self-contained
 * HTML5 file (inline CSS and SVG, no script, nothing fetched; light and dark
 * palettes; printable) with the command that reproduces the run, summary
 * cards, the curves of loss, accuracy, learning rate and epoch time per
 * epoch (training and validation; stage boundaries marked), the confusion
 * matrix as a heat map (up to 150 classes) with per-class precision /
 * recall / F1 / support and their averages (or MSE / RMSE / MAE / R², or
 * perplexity), the baselines, the model's layers, parameters, FLOPs and
 * planned memory, the data and its split, the training settings, stages
 * and timings.  Every string from the files is escaped.  The output depends
 * only on the two files (no clock, no locale), and is written atomically
 * (lam_write_file_atomic): readers see the old report or the new one.
 * metrics.csv is optional: without it, with another header or with rows
 * that do not parse (a line cut short by a killed process), the report
 * says so, draws what it could read and is still written.
 * Errors: LAM_ERR_ARG (NULL or empty run_dir); LAM_ERR_IO (results.json
 * missing or unreadable, metrics.csv present but unreadable, the report
 * not writable: the message names the file); LAM_ERR_FORMAT (results.json
 * is not JSON, lacks "format": "lamina-run", or a value the report uses has
 * the wrong type or range: the message names the key path and byte
 * offset); LAM_ERR_UNSUPPORTED (a summary version other than 1);
 * LAM_ERR_NOMEM.  On error no report.html is written or changed. */
lam_status lam_run_report_html(const char *run_dir);

/* Generate text with a trained language model (token input, next-token
 * cross-entropy, causal layers only: embedding, unidirectional recurrent
 * layers, causal Transformer blocks, normalisation, dense, dropout,
 * activations).  Recurrent states and the blocks' key/value caches are
 * carried from token to token: each prompt token and each generated token
 * costs one step of the network (for a Transformer, one row of attention
 * over the prefix).  A Transformer's context (the position table's rows) is
 * a hard limit: a longer prompt is cut to its last `context` tokens, and
 * when the caches are full they are rebuilt from the last half of the
 * context before generation goes on.  `emit` is
 * called with the text of each generated token as it is chosen (it may be
 * NULL).  The same seed gives the same text. */
lam_status lam_generate(lam_model *m, const lam_generate_opts *o, void (*emit)(const char *text, size_t len, void *user),
                        void *user, lam_generate_stats *st);

#ifdef __cplusplus
}
#endif
#endif
