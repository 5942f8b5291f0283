/* Lamina optimisers: SGD (momentum, Nesterov), Adam, AdamW, RMSprop and
 * Adagrad over flat float arrays, with parameter groups that carry their own
 * hyper-parameters, learning-rate schedules and gradient clipping.
 *
 * The graph layer owns the parameter and gradient arrays (`total` floats each)
 * and describes them as spans; the optimiser owns only its state (moments),
 * allocated once at creation.  The update formulas follow torch.optim 1.13
 * term for term (bias correction, where eps is added, SGD's first-step
 * momentum buffer, AdamW's decoupled decay).  Depends on base only. */
#ifndef LAMINA_OPTIM_H
#define LAMINA_OPTIM_H

#include "lamina/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- kinds and hyper-parameters ----------------------------------------- */

typedef enum lam_optim_kind {
    LAM_OPTIM_SGD = 0,  /* plain gradient descent, momentum, Nesterov */
    LAM_OPTIM_ADAM,     /* Adam, L2 weight decay added to the gradient */
    LAM_OPTIM_ADAMW,    /* Adam with decoupled weight decay */
    LAM_OPTIM_RMSPROP,  /* RMSprop, optionally centered and with momentum */
    LAM_OPTIM_ADAGRAD,  /* Adagrad with lr decay */
    LAM_OPTIM_COUNT_
} lam_optim_kind;

/* Lower-case name of a kind ("sgd", "adam", "adamw", "rmsprop", "adagrad");
 * "?" for an invalid value, never NULL. */
const char *lam_optim_kind_name(lam_optim_kind kind);

/* Parse a kind name (case-insensitive); false (and *out untouched) if unknown. */
bool lam_optim_kind_from_name(const char *name, lam_optim_kind *out);

/* Hyper-parameters of one parameter group.  Doubles, like PyTorch's Python
 * floats: derived constants (1 - beta1, bias corrections, lr / (1 - beta1^t))
 * are formed in double and rounded to float once, as torch does.  Fields a
 * kind does not use are ignored by it. */
typedef struct lam_param_group {
    double lr;            /* learning rate (>= 0); multiplied by lr_factor each step */
    double momentum;      /* SGD momentum, and RMSprop momentum (>= 0) */
    double dampening;     /* SGD dampening */
    bool nesterov;        /* SGD Nesterov (needs momentum > 0 and dampening 0) */
    double weight_decay;  /* L2 (>= 0): added to the gradient (wd * w) for SGD,
                           * Adam, RMSprop, Adagrad; decoupled for AdamW
                           * (w *= 1 - lr * wd before the Adam update) */
    double l1;            /* L1 (>= 0): adds l1 * sign(w) to the gradient, all kinds */
    double beta1, beta2;  /* Adam/AdamW moment decay rates, in [0, 1) */
    double eps;           /* > 0; added to the denominator after the sqrt */
    double alpha;         /* RMSprop smoothing constant, in [0, 1] */
    bool centered;        /* RMSprop: normalise by the centred second moment */
    double lr_decay;      /* Adagrad: lr / (1 + (t - 1) * lr_decay), >= 0 */
    double initial_accumulator_value; /* Adagrad: starting value of "sum", >= 0 */
    bool amsgrad;         /* Adam/AdamW: use the running max of exp_avg_sq */
    bool frozen;          /* no update at all: params, state and step untouched */
} lam_param_group;

/* torch.optim's defaults for a kind (SGD has no torch default lr; we use
 * 0.01).  Adam 1e-3/(0.9,0.999)/1e-8, AdamW the same with weight_decay 1e-2,
 * RMSprop lr 1e-2, alpha 0.99, eps 1e-8, Adagrad lr 1e-2, eps 1e-10. */
lam_param_group lam_param_group_defaults(lam_optim_kind kind);

/* Check a group's hyper-parameters for `kind` the way torch's constructors do
 * (plus eps > 0 and alpha <= 1).  LAM_ERR_ARG with a message naming the
 * group index and the field when one is out of range. */
lam_status lam_param_group_check(lam_optim_kind kind, const lam_param_group *g, int index);

/* A contiguous run of parameters inside the flat arrays, e.g. one layer's
 * weight.  `group` indexes the group array.  Spans must not overlap;
 * elements outside every span are never touched. */
typedef struct lam_param_span {
    const char *name;  /* for messages only; not kept */
    size_t offset;     /* first element in params/grads/state */
    size_t numel;
    int group;
} lam_param_span;

/* ---- the optimiser ------------------------------------------------------ */

typedef struct lam_optim lam_optim;

/* Create an optimiser over `total` floats.  Copies spans (without names) and
 * groups; allocates the state arrays the kind and groups need, once, zeroed
 * (Adagrad's "sum" starts at each group's initial_accumulator_value).
 * Errors: LAM_ERR_ARG for bad hyper-parameters, a span outside [0, total),
 * overlapping spans or a bad group index; LAM_ERR_NOMEM.  The caller frees
 * *out with lam_optim_free; *out is NULL on error. */
lam_status lam_optim_create(lam_optim_kind kind, size_t total, const lam_param_span *spans,
                            size_t nspans, const lam_param_group *groups, int ngroups,
                            lam_optim **out);

/* lam_optim_create returning the optimiser, or NULL with the error recorded
 * (lam_last_error()). */
lam_optim *lam_optim_new(lam_optim_kind kind, size_t total, const lam_param_span *spans,
                         size_t nspans, const lam_param_group *groups, int ngroups);

/* Free an optimiser and its state; NULL is fine. */
void lam_optim_free(lam_optim *o);

/* One update of every span of every non-frozen group: params -= f(grads,
 * state).  Every group's lr is multiplied by lr_factor (how schedules apply;
 * must be finite and >= 0).  Allocates nothing; elementwise, so results are
 * bitwise the same for any thread count (OpenMP only for spans of >= 32k
 * elements).  params and grads hold `total` floats each and must not
 * overlap.  Errors: LAM_ERR_ARG (NULL arrays, bad lr_factor) before
 * anything is touched. */
lam_status lam_optim_step(lam_optim *o, float *params, const float *grads, float lr_factor);

/* Accessors; a NULL optimiser reads as empty (LAM_OPTIM_COUNT_ / 0). */
lam_optim_kind lam_optim_get_kind(const lam_optim *o);
size_t lam_optim_total(const lam_optim *o);
int lam_optim_ngroups(const lam_optim *o);

/* Group i's hyper-parameters (read-only; NULL if i is out of range). */
const lam_param_group *lam_optim_group(const lam_optim *o, int i);

/* Replace group i's hyper-parameters (e.g. a trainer's new lr or momentum for
 * a stage, or freezing a group).  Checked like at creation.  If the new
 * settings need a state buffer the optimiser does not have yet (SGD momentum
 * switched on, RMSprop centered, amsgrad), it is allocated here, zeroed —
 * never inside lam_optim_step.  Errors: LAM_ERR_ARG, LAM_ERR_NOMEM (group
 * unchanged on error). */
lam_status lam_optim_set_group(lam_optim *o, int i, const lam_param_group *g);

/* Number of spans, and span i as stored (sorted by offset; name NULL).
 * lam_optim_span_at: LAM_ERR_ARG if i is out of range. */
size_t lam_optim_nspans(const lam_optim *o);
lam_status lam_optim_span_at(const lam_optim *o, size_t i, lam_param_span *out);

/* Bytes of optimiser state currently allocated (for memory reports). */
size_t lam_optim_state_bytes(const lam_optim *o);

/* ---- steps and state (checkpoints, exact resume) ------------------------ */

/* Steps are counted per group: a group's counter advances on each
 * lam_optim_step in which it is not frozen, and drives Adam's bias
 * correction and Adagrad's lr decay.  This is PyTorch's per-parameter count
 * (a parameter without a gradient is skipped); without frozen stages every
 * group's count equals the global count of lam_optim_step calls. */

/* Number of lam_optim_step calls so far. */
uint64_t lam_optim_get_step(const lam_optim *o);
/* Set the global count and every group's count to `step`. */
void lam_optim_set_step(lam_optim *o, uint64_t step);
/* Group i's step count (0 if i is out of range). */
uint64_t lam_optim_group_get_step(const lam_optim *o, int i);
/* Set group i's step count; LAM_ERR_ARG if i is out of range. */
lam_status lam_optim_group_set_step(lam_optim *o, int i, uint64_t step);

/* One named state buffer.  `data` has `numel` (= total) floats laid out like
 * the params; `initialised` has one flag per group, set once the group has
 * written the buffer (SGD's momentum_buffer is "None" until then: its first
 * step copies the gradient in).  Both pointers are writable, to restore. */
typedef struct lam_optim_state {
    const char *name;  /* "momentum_buffer", "exp_avg", "exp_avg_sq",
                        * "max_exp_avg_sq", "square_avg", "grad_avg", "sum" */
    float *data;
    size_t numel;
    uint8_t *initialised;
    int ngroups;
} lam_optim_state;

/* Number of state buffers currently allocated (0..3). */
int lam_optim_state_count(const lam_optim *o);

/* Describe state buffer i (0 <= i < count), in a fixed order per kind.
 * LAM_ERR_ARG if i is out of range. */
lam_status lam_optim_state_at(lam_optim *o, int i, lam_optim_state *out);

/* Index of the buffer called `name`, or -1. */
int lam_optim_state_find(const lam_optim *o, const char *name);

/* Restore a buffer by name from `numel` (= total) floats and, if not NULL,
 * ngroups initialised flags (NULL: all set).  A buffer this kind knows but
 * has not allocated (e.g. a checkpoint taken after momentum was switched on)
 * is allocated.  Errors: LAM_ERR_ARG (unknown name for this kind, wrong
 * numel), LAM_ERR_NOMEM. */
lam_status lam_optim_state_set(lam_optim *o, const char *name, const float *data, size_t numel,
                               const uint8_t *initialised);

/* ---- gradient clipping -------------------------------------------------- */

/* Like torch.nn.utils.clip_grad_norm_: the L2 norm of the gradients of all
 * spans together (summed in double, in a fixed order: deterministic), and if
 * max_norm / (norm + 1e-6) < 1 the gradients are scaled by that factor.  The
 * norm is written to *total_norm (may be NULL).  spans == NULL with nspans 0
 * means the whole array.  A non-finite norm is returned and the gradients are
 * left as they are.  Errors: LAM_ERR_ARG (span outside total, max_norm < 0). */
lam_status lam_clip_grad_norm(float *grads, size_t total, const lam_param_span *spans,
                              size_t nspans, double max_norm, double *total_norm);

/* Like torch.nn.utils.clip_grad_value_: clamp each gradient to [-v, v]
 * (NaN stays NaN).  spans as above.  Errors: LAM_ERR_ARG (v < 0, bad span). */
lam_status lam_clip_grad_value(float *grads, size_t total, const lam_param_span *spans,
                               size_t nspans, float clip_value);

/* lam_clip_grad_norm over the optimiser's spans of non-frozen groups (the
 * trainable parameters). */
lam_status lam_optim_clip_grad_norm(const lam_optim *o, float *grads, double max_norm,
                                    double *total_norm);

/* lam_clip_grad_value over the optimiser's spans of non-frozen groups. */
lam_status lam_optim_clip_grad_value(const lam_optim *o, float *grads, float clip_value);

/* ---- learning-rate schedules -------------------------------------------- */

typedef enum lam_schedule_kind {
    LAM_SCHEDULE_CONSTANT = 0, /* 1 */
    LAM_SCHEDULE_STEP,         /* StepLR: gamma^floor(t / step_size) */
    LAM_SCHEDULE_MULTISTEP,    /* MultiStepLR: gamma^(milestones <= t) */
    LAM_SCHEDULE_EXPONENTIAL,  /* ExponentialLR: gamma^t */
    LAM_SCHEDULE_COSINE,       /* CosineAnnealingLR, closed form, held at eta_min after t_max */
    LAM_SCHEDULE_COUNT_
} lam_schedule_kind;

#define LAM_SCHEDULE_MAX_MILESTONES 16

/* A schedule: a factor on every group's lr as a function of t, the number of
 * steps or epochs done (per_step says which; the trainer counts).  An
 * optional linear warm-up (LinearLR from warmup_start_factor to 1 over
 * `warmup` units) comes first and then hands over to the main schedule,
 * which restarts its count at 0 (SequentialLR). */
typedef struct lam_schedule {
    lam_schedule_kind kind;
    bool per_step;            /* true: t counts optimiser steps; false: epochs */
    long step_size;           /* STEP: units between decays (>= 1) */
    double gamma;             /* STEP, MULTISTEP, EXPONENTIAL: decay factor (> 0) */
    int n_milestones;         /* MULTISTEP: increasing milestones */
    long milestones[LAM_SCHEDULE_MAX_MILESTONES];
    long t_max;               /* COSINE: period; 0 = unset, the trainer fills in
                               * the run length (until then the factor is 1) */
    double eta_min;           /* COSINE: final factor, a fraction of the base lr */
    long warmup;              /* warm-up length in units (0: none) */
    double warmup_start_factor; /* in [0, 1]; LinearLR's default 1/3 */
} lam_schedule;

/* Defaults for a kind: per_epoch, step_size 30, gamma 0.1 (EXPONENTIAL 0.95),
 * no milestones, t_max 0 (unset), eta_min 0, no warm-up, start factor 1/3. */
lam_schedule lam_schedule_defaults(lam_schedule_kind kind);

/* The lr factor after t units (t < 0 counts as 0).  Total: never NaN for a
 * schedule that passes lam_schedule_check. */
float lam_schedule_factor(const lam_schedule *s, long t);

/* Validate a schedule: LAM_ERR_ARG with a message for a bad field. */
lam_status lam_schedule_check(const lam_schedule *s);

/* Parse a schedule name (case-insensitive) into defaults for that kind:
 * "constant", "step", "multistep", "exponential", "cosine", and each with a
 * "warmup_" prefix ("warmup_cosine", ...; plain "warmup" = "warmup_constant"),
 * which sets warmup to 5 units until the caller overrides it.  False (and
 * *out untouched) if unknown. */
bool lam_schedule_from_name(const char *name, lam_schedule *out);

/* The name lam_schedule_from_name would parse back into s's kind and
 * warm-up ("warmup_cosine" when warmup > 0); never NULL. */
const char *lam_schedule_name(const lam_schedule *s);

#ifdef __cplusplus
}
#endif
#endif
