/* Shared pieces of the lamina command: options, messages, progress output,
 * run folders and data loading for trained models. */
#ifndef LAMINA_CLI_H
#define LAMINA_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "io/json.h" /* the library's JSON writer, for --json */
#include "lamina/lamina.h"

#define EXIT_USAGE 2
/* lamina train stopped by SIGINT or SIGTERM after a step: the checkpoint
 * holds the state and --resume continues (see train_help). */
#define EXIT_INTERRUPTED 3

typedef struct cli_opts {
    const char *file;          /* CFG or CKPT */
    const char *data, *out, *resume;
    const char *strategy, *strategies, *layer;
    int epochs, batch, threads;
    double lr;
    long long seed;            /* < 0: not given */
    long long steps;           /* 0: not given */
    long long checkpoint_every; /* 0: not given */
    bool quiet, help, profile, attention, no_cache;
    bool json;                 /* --json: standard output is one JSON document */
    bool compress;             /* export --compress */
    double timeout;            /* train --timeout: seconds to wait for the other ranks (0: not given) */
    /* generate */
    const char *prompt, *stop;
    int tokens, top_k;         /* tokens < 0: not given */
    double temperature, top_p; /* < 0: not given */
} cli_opts;

/* Human-readable results go through say(): to standard output, or nowhere
 * under --json, where standard output is one JSON document (put_json) and
 * nothing else.  Errors and progress are on standard error either way. */
int say(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* Close the JSON object being built in b ('}' is appended), print it on one
 * line to standard output and free b; 0, or EXIT_FAILURE when b ran out of
 * memory or held text that is not UTF-8. */
int put_json(lam_json_buf *b);

/* `code` when f (stdout or stderr) is a terminal and colours are wanted
 * (NO_COLOR unset or empty, TERM not dumb), else "". */
const char *color(FILE *f, const char *code);
#define COLOR_ERROR "\033[1;31m"
#define COLOR_WARN "\033[33m"
#define COLOR_GOOD "\033[32m"
#define COLOR_DIM "\033[2m"
#define COLOR_OFF "\033[0m"

/* The communicator of this process (main.c): under mpirun every rank runs
 * the command; rank 0 alone prints results and writes files. */
lam_comm *cli_comm(void);

/* Print the library's message for s; returns EXIT_FAILURE. */
int fail(lam_status s);
/* Parse a command's options; `allowed` lists its long options as
 * " name name ... ".  Returns 0 or EXIT_USAGE (message printed). */
int parse_opts(int argc, char **argv, cli_opts *o, const char *allowed);
/* Help to stdout (0) when asked, usage to stderr (EXIT_USAGE) when !ok; -1 to go on. */
int help_or_usage(const cli_opts *o, const char *help, bool ok);

/* Progress: a line with ETA on a terminal, one line per epoch otherwise. */
typedef struct progress {
    bool tty, quiet;
    int width;      /* characters of the progress line on screen (0: none) */
} progress;
void on_batch(const lam_batch_log *b, void *user);
bool on_epoch(const lam_epoch_log *e, void *user);

/* SIGINT / SIGTERM during lamina train (interrupt.c).  catch_stop_signals
 * installs handlers (not over a signal ignored at start) that make
 * should_stop, lam_fit's hook, return true from the first signal on; a
 * second signal ends the process as by default.  restore_signals puts the
 * previous handlers back. */
typedef struct saved_signals {
    bool set;
    struct sigaction intr, term;
} saved_signals;
void catch_stop_signals(saved_signals *old);
void restore_signals(saved_signals *old);
bool should_stop(void *user);
int stop_signal_received(void); /* the signal that asked to stop, 0: none */
/* Remove the NAME.safetensors.tmp.XXXXXX files killed writes left in dir;
 * returns how many. */
int remove_stale_temporaries(const char *dir);

/* mkdir -p; -1 with errno on failure. */
int mkdir_p(const char *dir);
/* The run folder: --out, or runs/<model file name without extension>. */
bool run_dir(const cli_opts *o, char *buf, size_t n);

double mib(size_t b);
size_t print_memory_estimate(lam_model *m);
/* lam_model_describe / lam_metrics_report to stdout, whatever their length */
void print_description(lam_model *m);
void print_metrics(const lam_metrics *mt, const char *const *class_names);
char *metrics_text(const lam_metrics *mt, const char *const *class_names); /* malloc'd; NULL: out of memory */
double peak_rss_mib(void);
/* The command line as typed, quoted for a POSIX shell (main.c). */
const char *command_line(void);

/* How a checkpoint's class labels map to indices (from its training data). */
typedef struct class_map {
    bool known;
    char **names;   /* NULL: the labels were the integers 0..K-1 themselves */
    int32_t n;
    char why[512];
} class_map;
void class_map_find(const lam_model *m, class_map *cm);
void class_map_free(class_map *cm);
/* Read a data file for a trained model: its layout, its scaler applied;
 * with_outputs: the label/target column must be there. */
lam_status load_data(lam_model *m, const char *path, bool with_outputs, const class_map *cm, lam_dataset **ds);

/* Class names for reports: `names` (n of them, may be NULL) padded to k
 * entries with the class indices; v is NULL when names is.  Release with
 * class_names_free. */
typedef struct class_names {
    char **v;
    int k;
} class_names;
lam_status class_names_make(const char *const *names, int n, int k, class_names *out);
void class_names_free(class_names *c);

int cmd_train(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_export(int argc, char **argv);

/* NumPy files (arrays.c).  FILE.npy / FILE.npz as eval's, predict's and
 * encode's --data: the model's scaler applied (with_outputs: an .npz with x
 * and y, or x_test and y_test); as predict's and encode's --out: float32
 * [rows, outputs] (an .npz: "probabilities" and int64 "predicted" for a
 * classifier, "values" for regression, "codes" for encode). */
bool has_ext(const char *path, const char *ext);
bool is_numpy_path(const char *path);
lam_status load_numpy_data(lam_model *m, const char *path, bool with_outputs, lam_dataset **ds);
lam_status write_numpy_outputs(const char *path, const lam_model *m, const float *out, int64_t n, int64_t k,
                               const char *what);
int cmd_compare(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_generate(int argc, char **argv);

/* Write s as one CSV field (quoted when it must be). */
void put_field(FILE *f, const char *s);

/* Text and time-series models (seqcmd.c): evaluate and predict the test part
 * of their own data (opts->data overriding the path); both free m. */
bool is_sequence_model(const lam_model *m);
int seq_eval(lam_model *m, const char *ckpt, const char *data);
/* eval's results as text, or as JSON under --json; 0 or EXIT_FAILURE */
int print_evaluation(const char *ckpt, const char *data, int64_t rows, const char *unit, const lam_metrics *mt,
                     const char *const *class_names);
int seq_predict(lam_model *m, const cli_opts *o);
/* predict --json: {"command": "predict", "checkpoint", "data", "out",
 * "rows", "outputs"} on standard output */
int print_prediction_summary(const cli_opts *o, int64_t rows, int columns);

#endif
