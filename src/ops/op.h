/* Internal op machinery: the node structure, typed op parameters, the op
 * definition (shape inference, forward, backward side by side) and the run
 * context handed to kernels.  Shared by src/ops (definitions) and src/graph
 * (building, planning, executing). */
#ifndef LAMINA_OPS_OP_H
#define LAMINA_OPS_OP_H

#include "lamina/graph.h"

#define LAM_MAX_INPUTS 12
/* Extra outputs of one op (an LSTM's final h and c states, attention
 * weights): each is read through an `output` node (lam_node_output). */
#define LAM_MAX_AUX 2

/* Activations whose backward reads the input (the pre-activation) rather
 * than the output: fused epilogues save it for them. */
static inline bool lam_act_reads_input(lam_act a)
{
    return a == LAM_ACT_GELU || a == LAM_ACT_GELU_TANH || a == LAM_ACT_SILU;
}

/* ---- typed op parameters ------------------------------------------------- */
typedef struct lam_no_params { char unused_; } lam_no_params;
typedef struct lam_matmul_params { bool trans_a, trans_b; } lam_matmul_params;
typedef struct lam_dense_params { lam_act act; } lam_dense_params;
typedef struct lam_dropout_params {
    float p;
    bool spatial; /* one draw per (sample, channel), shared over H, W */
} lam_dropout_params;
typedef struct lam_conv_params {
    int kh, kw, sh, sw, ph, pw, dh, dw; /* kernel, stride, padding, dilation */
    lam_act act;                        /* fused epilogue */
    lam_conv_algo algo;
} lam_conv_params;
typedef struct lam_pool_params {
    int kh, kw, sh, sw, ph, pw;
} lam_pool_params;
typedef struct lam_bn_params {
    float eps, momentum; /* running = (1 - momentum) running + momentum batch, as torch */
} lam_bn_params;
typedef struct lam_reshape_params {
    lam_shape sample; /* output shape of one sample */
} lam_reshape_params;
typedef struct lam_embedding_params {
    int padding_idx; /* row that gets no gradient, or -1 */
} lam_embedding_params;
typedef struct lam_rnn_params {
    lam_rnn_cell cell;
    bool bidir, last_only;
    /* which optional inputs the node has; inputs are x, then per direction
     * w_ih, w_hh (and b_ih, b_hh with bias), then h0, c0, lengths as present */
    bool bias, has_h0, has_c0, has_len;
} lam_rnn_params;
typedef struct lam_output_params {
    int k; /* which extra output of the input node */
} lam_output_params;
/* attention (attention.c): inputs q, kv, the score's weights, then lengths */
typedef struct lam_attention_params {
    lam_attn_score score;
    float scale;      /* multiplies every score */
    bool has_lengths; /* the last input is int32 lengths [B] */
} lam_attention_params;
/* layernorm, rmsnorm (layernorm.c): inputs x, weight [C], then (layernorm) bias [C] */
typedef struct lam_norm_params {
    float eps;
} lam_norm_params;
/* mha (mha.c): inputs qkv [B, T, (nh + 2 nkv) hs], then lengths; or, for
 * a decoding step with a key/value cache, qkv, kcache, vcache, pos */
typedef struct lam_mha_params {
    int nh, nkv, hs;  /* query heads, key/value heads (dividing nh), head size */
    bool causal;
    float scale;      /* multiplies every score (1/sqrt(hs) for scaled dot product) */
    bool has_lengths; /* input 1 is int32 lengths [B] */
    bool cached;      /* inputs 1, 2 are the caches, 3 the int32 positions [B] */
    float dropout;    /* attention dropout on the probabilities, in training (0) */
} lam_mha_params;
/* rope (rope.c): input qkv (as mha's), then optional int32 start [B] */
#define ROPE_MAX_HALF 1024
typedef struct lam_rope_params {
    int nh, nkv, hs; /* as mha's; hs even, hs / 2 <= ROPE_MAX_HALF */
    float theta;     /* base of the frequencies (10000) */
} lam_rope_params;
typedef struct lam_seq_pool_params {
    lam_seq_pool_mode mode;
    bool has_lengths; /* input 1 is int32 lengths [B] */
} lam_seq_pool_params;

typedef enum lam_op {
#define LAM_OP(E, n, P) LAM_OP_##E,
#include "ops.def"
#undef LAM_OP
    LAM_OP_COUNT_
} lam_op;

typedef union lam_op_params {
#define LAM_OP(E, n, P) P n;
#include "ops.def"
#undef LAM_OP
} lam_op_params;

/* ---- nodes -------------------------------------------------------------- */
struct lam_node {
    int id;
    lam_op op;
    lam_op_params p;
    int n_in;
    lam_node *in[LAM_MAX_INPUTS];
    const char *name;
    lam_dtype dtype;
    lam_shape shape;      /* current shape (batch = current batch) */
    bool has_batch;       /* shape.d[0] is the batch */
    int param;            /* index into the graph's parameters, or -1 */

    /* extra outputs (shape inference sets n_aux and their shapes); aux_node[k]
     * is the `output` node that holds output k, NULL while nobody asked */
    int n_aux;
    lam_shape aux_shape[LAM_MAX_AUX];
    lam_node *aux_node[LAM_MAX_AUX];

    /* set by shape inference for the current shape */
    size_t scratch_bytes; /* temporary space during forward or backward */
    size_t saved_bytes;   /* kept from forward to backward */

    /* memory plan (after compile) */
    float *val, *grad;
    void *saved;
    size_t val_off, grad_off, saved_off; /* in the arena; SIZE_MAX = none */
    /* activation recomputation: seg is the segment the node was built in
     * (-1: none); an inner node (inner_seg >= 0, read only inside its
     * segment, not its output) has a forward value and saved buffer, live
     * during forward only, and a second pair (r*) that the recomputation
     * writes and its backward reads */
    int seg, inner_seg;
    size_t rval_off, rsaved_off;
    float *fval, *rval;
    void *fsaved, *rsaved;
    int n_consumers;
    bool keep;            /* value stays readable after backward (an output) */
    /* set by compile (mark_relu_pool): a max pool that is the only reader of
     * a convolution with a fused ReLU applies the ReLU's mask to the gradient
     * it hands back (its winners are the conv's values), so the convolution
     * can skip its own pass over that gradient */
    bool pool_masks_relu;  /* on the pool; only when its planes have <= LAM_RELU_POOL_MAX_PLANE
                            * outputs (it masks one plane at a time on the stack) */
    bool dout_relu_masked; /* on the convolution */

    /* per-backward bookkeeping (arrays sized at compile, no allocation) */
    bool needs_grad, on_path;
    unsigned grad_epoch;  /* backward pass that last zeroed this node's grad */
    double fwd_s, bwd_s;  /* accumulated time when the graph is profiling */
    long fwd_n, bwd_n;
};

#define LAM_RELU_POOL_MAX_PLANE 4096

/* ---- run context -------------------------------------------------------- */
typedef struct lam_op_ctx {
    const lam_node *node;
    float *out, *dout;               /* dout: gradient of the output */
    float *in[LAM_MAX_INPUTS];       /* input values (int32_t for the int inputs of the
                                      * op's def, e.g. token ids, labels, lengths) */
    float *din[LAM_MAX_INPUTS];      /* input gradients to ACCUMULATE into; NULL = not needed */
    bool dout_masked;                /* dout already carries the fused ReLU's mask
                                      * (node->dout_relu_masked, and the pass did not
                                      * start at this node) */
    bool din_fresh[LAM_MAX_INPUTS];  /* din[k] not yet written in this backward pass and not
                                      * zeroed: the op must SET every element (only for the
                                      * inputs in its def's `fresh` mask) */
    /* extra outputs: aux[k] is written by forward (NULL: nobody reads output
     * k, skip it); daux[k] is its gradient in backward (NULL: zero) */
    float *aux[LAM_MAX_AUX];
    const float *daux[LAM_MAX_AUX];
    void *saved;                     /* saved_bytes, written in forward, read in backward */
    void *scratch;                   /* scratch_bytes, 64-byte aligned */
    float *gemm_ws;                  /* GEMM packing workspace */
    lam_rng *rng;
    bool training;
    bool frozen;   /* every trainable-kind parameter input is frozen: layers with
                    * state (BatchNorm) then run as in inference */
    int nthreads;
    /* Data parallel with synchronised statistics (lam_graph_set_reducer):
     * sums n doubles over the ranks in place; NULL: this process alone.
     * Called from the op's calling thread, outside parallel regions. */
    lam_status (*sum)(void *user, double *buf, size_t n);
    void *sum_user;
    /* An op that meets bad data at run time (a label out of range) records it
     * here; the executor stops and reports it.  Kernels never abort. */
    lam_status *status;
    char *errmsg;
    size_t errlen;
} lam_op_ctx;

/* Shape inference: read n->in[k]->shape (and p), set n->shape, n->dtype,
 * n->has_batch, n->scratch_bytes, n->saved_bytes.  On a mismatch write a
 * message into err (what and the shapes) and return LAM_ERR_SHAPE. */
typedef lam_status (*lam_infer_fn)(lam_node *n, char *err, size_t errlen);
typedef void (*lam_run_fn)(const lam_op_ctx *c);
typedef double (*lam_flops_fn)(const lam_node *n); /* forward FLOPs at the current shape */

typedef struct lam_op_def {
    const char *name;
    int min_in, max_in;
    lam_infer_fn infer;
    lam_run_fn forward;
    lam_run_fn backward; /* NULL: no gradient flows through this op */
    lam_flops_fn flops;  /* NULL: counted as zero */
    /* bit k: the backward can set input k's gradient instead of adding to it
     * (c->din_fresh[k]), which saves the executor zeroing it first */
    unsigned fresh;
    /* bit k: input k holds int32 (token ids, labels, lengths); every other
     * input must be f32.  Checked when the node is built.  Ops with optional
     * int inputs (sequence lengths) give int_inputs instead, which computes
     * the mask from the node's parameters and input count. */
    unsigned int_in;
    unsigned (*int_inputs)(const lam_op_params *p, int n_in);
} lam_op_def;

/* The table, indexed by lam_op. */
extern const lam_op_def *const lam_op_defs[LAM_OP_COUNT_];
const char *lam_op_name(lam_op op);

/* Helpers for op files. */
char *lam_shape_fmt(const lam_shape *s, char *buf, size_t n); /* = lam_shape_str */
int64_t lam_node_numel(const lam_node *n);
/* The most threads an op may run with: what scratch is sized for in infer
 * (the larger of the cores and OpenMP's current thread limit). */
int lam_ops_plan_threads(void);

#endif
