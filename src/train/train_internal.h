/* Internal glue between fit.c and checkpoint.c. */
#ifndef LAMINA_TRAIN_INTERNAL_H
#define LAMINA_TRAIN_INTERNAL_H

#include "lamina/train.h"

/* Return the status of a fallible call when it is not LAM_OK. */
#define TRY(x)                       \
    do {                             \
        lam_status s_ = (x);         \
        if (s_ != LAM_OK) return s_; \
    } while (0)

/* lam_checkpoint_save, also saving early stopping's best weights so far
 * (`best`: lam_graph_param_total floats, or NULL) as the tensor "fit.best". */
lam_status lam_checkpoint_write_(lam_model *m, const lam_optim *o, const lam_train_state *ts, const float *best,
                                 const char *path);
/* Load parameters, optimiser state and training state from a checkpoint into
 * an already built model (same model text) and optimiser, for exact resume;
 * the best weights into best (lam_graph_param_total floats) when the
 * checkpoint has them (*has_best). */
lam_status lam_checkpoint_resume_(const char *path, lam_model *m, lam_optim *o, lam_train_state *ts, float *best,
                                  bool *has_best);
/* Is the checkpoint at path one of m's run: the same model file text and the
 * same run settings (seed, batch, learning rate, strategy, data path, which
 * the command line can override)?  LAM_ERR_ARG naming the difference if not. */
lam_status lam_checkpoint_check_run_(const char *path, const lam_model *m);

/* Add the layers of the model file's layer sections to m->g after m->x and
 * set m->out (layers.c). */
lam_status lam_model_build_layers_(lam_model *m);
/* Build the layer sections [from, to) of m's model file into g after h;
 * *out = the last node.  Per-layer options are recorded when g is m->g. */
lam_status lam_build_sections_(lam_model *m, lam_graph *g, lam_node *h, int from, int to, lam_node **out);
/* The states of a generation graph: each recurrent layer gets inputs for
 * its initial states (in[k], [1, 1, H]) and exposes its final states
 * (out[k]); generating copies out into in after every step.  Each
 * Transformer block gets a key/value cache of `cap` positions (cache[k],
 * inputs its attention updates in place), read at the int32 position input
 * `pos` [1] that the generator sets before every step. */
#define LAM_MAX_STATE_LINKS 64
#define LAM_MAX_CACHES 256
typedef struct lam_state_links {
    int n;
    lam_node *in[LAM_MAX_STATE_LINKS], *out[LAM_MAX_STATE_LINKS];
    lam_node *pos; /* NULL: the model has no position-dependent layer */
    int cap;       /* positions a cache holds (the model's context) */
    int n_cache;
    lam_node *cache[LAM_MAX_CACHES];
} lam_state_links;
/* lam_build_sections_, building recurrent layers with exposed states when
 * states is non-NULL. */
lam_status lam_build_sections_ex_(lam_model *m, lam_graph *g, lam_node *h, int from, int to, lam_state_links *states,
                                  lam_node **out);
bool lam_section_is_layer_(const lam_model *m, int i);
bool lam_section_is_learnable_(const lam_model *m, int i); /* dense, conv2d */
/* The layer name section i gets (its `name`, or prefix + count). */
const char *lam_section_layer_name_(lam_model *m, int i, char *buf, size_t n);
/* Attach the target, loss and output marking to m->out (model.c). */
lam_status lam_model_attach_loss_(lam_model *m);
/* Sequence data (seqdata.c): the [data] keys of the text and time-series
 * formats; the vocabulary (from vocab_json, or built from the training part
 * of the text, which is kept for the data sets); the data sets; the
 * majority-class baseline (also for tables and images). */
lam_status lam_seq_data_opts_(lam_cfg *c, lam_cfg_section *s, lam_data_opts *d, const lam_shape *sample);
lam_status lam_seq_vocab_(lam_model *m, const char *vocab_json);
lam_status lam_seq_prepare_(lam_model *m, lam_dataset **train, lam_dataset **val, lam_dataset **test);
lam_status lam_baseline_majority_(lam_model *m, const lam_dataset *train, const lam_dataset *test);
void lam_text_cache_free_(struct lam_text_cache *tc);
/* Run m over the rows of ds in order, batch by batch (inference mode):
 * with targets the whole graph (loss included), else only what `to`
 * needs; after each batch fn(m, first_row, rows, user) (fit.c). */
lam_status lam_sweep_(lam_model *m, const lam_dataset *ds, bool targets, lam_node *to,
                      void (*fn)(lam_model *, int64_t, int, void *), void *user);
/* The same over rows [first, end) only. */
lam_status lam_sweep_rows_(lam_model *m, const lam_dataset *ds, int64_t first, int64_t end, bool targets, lam_node *to,
                           void (*fn)(lam_model *, int64_t, int, void *), void *user);

/* Data-parallel gradient sums (ddp.c): buckets of the gradient array summed
 * over the ranks of c while backward runs (the graph's backward hook), once
 * armed for a step's last backward; lam_ddp_finish_ starts the buckets left
 * and waits for all of them. */
typedef struct lam_ddp lam_ddp;
lam_status lam_ddp_new_(lam_model *m, lam_comm *c, size_t bucket_bytes, lam_ddp **out);
void lam_ddp_free_(lam_ddp *d);
void lam_ddp_arm_(lam_ddp *d, bool on);
void lam_ddp_on_node_(void *user, int id);
lam_status lam_ddp_finish_(lam_ddp *d);
int lam_ddp_buckets_(const lam_ddp *d);
/* Gradient buckets of about this many bytes (the last layers' first). */
#define LAM_DDP_BUCKET_BYTES ((size_t)1 << 20)
/* Create the optimiser lam_fit uses for m's trainable parameters (fit.c). */
lam_status lam_fit_make_optim_(lam_model *m, lam_optim **out);

#endif
