/* Lamina computation graphs: build nodes with the op builders, compile once
 * (shape inference with the real batch size, memory plan), then run forward
 * and backward any number of times without allocating.
 *
 * Builders return NULL on error and record the first error in the graph
 * ("sticky": later builders given NULL also return NULL); lam_graph_compile
 * reports it.  Shapes carry the batch as their first dimension (B,C / B,T,C /
 * B,C,H,W); builders run with B = 1 and compile re-infers with max_batch. */
#ifndef LAMINA_GRAPH_H
#define LAMINA_GRAPH_H

#include "lamina/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lam_graph lam_graph;
typedef struct lam_node lam_node;

/* Activation applied in the epilogue of fused ops, and by name in model files. */
typedef enum lam_act {
    LAM_ACT_NONE = 0,
    LAM_ACT_RELU,
    LAM_ACT_SIGMOID,
    LAM_ACT_TANH,
    LAM_ACT_GELU,      /* exact: x Phi(x) */
    LAM_ACT_GELU_TANH, /* torch's approximate="tanh" */
    LAM_ACT_SILU,      /* x sigmoid(x) (swish) */
    LAM_ACT_COUNT_
} lam_act;
const char *lam_act_name(lam_act a);                   /* "none", "relu", ... */
bool lam_act_from_name(const char *name, lam_act *out); /* false if unknown */

/* Parameter initialisers.  `fan_in` / `fan_out` are taken from the shape:
 * [out, in, ...] like PyTorch (receptive field = product of the rest). */
typedef enum lam_init_kind {
    LAM_INIT_ZEROS = 0,
    LAM_INIT_ONES,
    LAM_INIT_UNIFORM,         /* U(-a, a) with a = init.a */
    LAM_INIT_NORMAL,          /* N(0, a^2) */
    LAM_INIT_TORCH_DEFAULT,   /* U(-1/sqrt(fan_in), 1/sqrt(fan_in)): torch Linear/Conv */
    LAM_INIT_XAVIER_UNIFORM,  /* Glorot: U(-b, b), b = sqrt(6/(fan_in+fan_out)) (Keras) */
    LAM_INIT_HE_NORMAL,       /* N(0, 2/fan_in) */
    LAM_INIT_SINUSOIDAL,      /* a [T, C] position table: sin(t w_i) at column 2i, cos(t w_i)
                               * at 2i + 1, w_i = 10000^(-2i/C) (Vaswani et al.) */
    LAM_INIT_COUNT_
} lam_init_kind;
typedef struct lam_init {
    lam_init_kind kind;
    float a;
    int64_t fan_in; /* 0: derive from the shape; set for biases (torch uses the weight's) */
} lam_init;
const char *lam_init_name(lam_init_kind k);
bool lam_init_from_name(const char *name, lam_init_kind *out);

/* A parameter as the graph registers it.  Values and gradients live in two flat
 * arrays owned by the graph, at `offset`; `layer` groups the parameters of one
 * layer (for per-layer optimisation and freezing). */
typedef struct lam_param_info {
    const char *name;   /* "fc1.weight" */
    lam_shape shape;
    size_t offset;      /* into lam_graph_params() / lam_graph_grads() */
    size_t numel;
    lam_init init;
    int layer;          /* index of the layer that created it, -1 if none */
    bool trainable;     /* false: frozen, no gradient work, no update */
    bool buffer;        /* a buffer (running statistics): never trainable */
    int64_t zero_row;   /* row set to zero after initialisation (an embedding's padding row), or -1 */
} lam_param_info;

/* ---- graph lifetime and errors ------------------------------------------ */

/* A new empty graph; `seed` seeds parameter initialisation and dropout. */
lam_graph *lam_graph_new(uint64_t seed);
void lam_graph_free(lam_graph *g);
/* The first error recorded while building or compiling (LAM_OK if none),
 * and its message ("dense fc2: input has shape [1, 50], expected ..."). */
lam_status lam_graph_status(const lam_graph *g);
const char *lam_graph_error(const lam_graph *g);
/* Record an error in the graph (the first one sticks) and in this thread's
 * last error; returns the graph's status.  For layer builders. */
lam_status lam_graph_fail(lam_graph *g, lam_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- leaves ------------------------------------------------------------- */

/* A float input of per-sample shape `sample` (the batch is prepended). */
lam_node *lam_input(lam_graph *g, const char *name, lam_shape sample);
/* Integer class labels, shape [B]. */
lam_node *lam_input_labels(lam_graph *g, const char *name);
/* An int32 input of per-sample shape `sample`: token ids [B, T], next-token
 * labels [B, T], sequence lengths [B] (sample = []).  Fill it through
 * lam_node_ids.  Ops that take floats reject it (an embedding turns ids into
 * vectors). */
lam_node *lam_input_ids(lam_graph *g, const char *name, lam_shape sample);
/* A named trainable parameter with a fixed shape (no batch dimension). */
lam_node *lam_param(lam_graph *g, const char *name, lam_shape shape, lam_init init);
/* Set row `row` (along the first dimension) of a parameter to zero when it
 * is initialised, after drawing the rest (torch.nn.Embedding's padding_idx).
 * For layer builders; call before compile. */
lam_status lam_param_zero_row(lam_graph *g, lam_node *param, int64_t row);
/* A named buffer: stored and checkpointed like a parameter, never trained
 * (BatchNorm's running statistics). */
lam_node *lam_buffer(lam_graph *g, const char *name, lam_shape shape, lam_init init);

/* ---- ops ------------------------------------------------------------------ */

/* op(a) x op(b) on the last two dims; a [B, M, K] or [M, K]; b [K, N]. */
lam_node *lam_matmul(lam_graph *g, lam_node *a, lam_node *b, bool trans_a, bool trans_b);
/* Fused dense: act(x W^T + b); x [B, in], W [out, in], b [out] or NULL. */
lam_node *lam_dense_op(lam_graph *g, lam_node *x, lam_node *w, lam_node *b, lam_act act);
lam_node *lam_add(lam_graph *g, lam_node *a, lam_node *b);      /* same shapes */
lam_node *lam_mul(lam_graph *g, lam_node *a, lam_node *b);      /* same shapes */
lam_node *lam_bias_add(lam_graph *g, lam_node *x, lam_node *b); /* x [..., C] + b [C] */
lam_node *lam_relu(lam_graph *g, lam_node *x);
lam_node *lam_sigmoid(lam_graph *g, lam_node *x);
lam_node *lam_tanh(lam_graph *g, lam_node *x);
lam_node *lam_gelu(lam_graph *g, lam_node *x);     /* exact erf form, as torch */
lam_node *lam_gelu_tanh(lam_graph *g, lam_node *x); /* torch's approximate="tanh" */
lam_node *lam_silu(lam_graph *g, lam_node *x);     /* x sigmoid(x) */
/* SwiGLU: x [..., 2H] = [a | b] -> silu(a) * b [..., H] (LLaMA's MLP gate,
 * with its gate and up projections as one Linear(C, 2H)). */
lam_node *lam_swiglu(lam_graph *g, lam_node *x);
lam_node *lam_softmax(lam_graph *g, lam_node *x);  /* over the last dimension */
lam_node *lam_sum(lam_graph *g, lam_node *x);      /* all elements to a scalar (a loss of your own) */
lam_node *lam_activation(lam_graph *g, lam_node *x, lam_act act); /* NONE: x */
/* Inverted dropout with drop probability p in [0, 1); identity in inference. */
lam_node *lam_dropout(lam_graph *g, lam_node *x, float p);
/* Spatial dropout: whole channels of [B, C, ...] dropped together. */
lam_node *lam_dropout2d(lam_graph *g, lam_node *x, float p);

/* How a convolution is computed.  Every algorithm gives the same function;
 * they differ in speed, memory and rounding. */
typedef enum lam_conv_algo {
    LAM_CONV_AUTO = 0,    /* Winograd F(4x4, 3x3) where it applies (3x3, stride 1,
                           * dilation 1) and both channel counts are >= 8; direct for
                           * a first layer (input a graph input, 16 <= C*KH*KW <= 32,
                           * stride 1, dilation 1); else im2col */
    LAM_CONV_IM2COL,      /* im2col + one GEMM over the batch: any geometry */
    LAM_CONV_WINOGRAD_F2, /* Winograd F(2x2, 3x3): 2.25x fewer multiplies, float error
                           * close to im2col's; 3x3, stride 1, dilation 1 only */
    LAM_CONV_WINOGRAD_F4, /* Winograd F(4x4, 3x3): 4x fewer multiplies, about 10x
                           * the rounding error of im2col (~4e-6 of the largest value) */
    LAM_CONV_DIRECT,      /* direct loops for few input channels (C*KH*KW <= 64),
                           * stride 1, dilation 1; its input gradient is slow */
    LAM_CONV_ALGO_COUNT_
} lam_conv_algo;

/* 2-D convolution, NCHW: x [B, C, H, W], w [OC, C, KH, KW], b [OC] or NULL,
 * with a fused activation.  Output [B, OC, OH, OW],
 * OH = (H + 2 pad_h - dil_h (KH - 1) - 1) / stride_h + 1.  A Winograd
 * algorithm on a geometry it cannot do is an error (LAM_ERR_ARG). */
typedef struct lam_conv2d_args {
    int stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
    lam_act act;
    lam_conv_algo algo;
} lam_conv2d_args;
lam_conv2d_args lam_conv2d_args_defaults(void); /* stride 1, pad 0, dilation 1, no act, auto */
lam_node *lam_conv2d_op(lam_graph *g, lam_node *x, lam_node *w, lam_node *b, const lam_conv2d_args *a);

/* Pooling windows, NCHW; output (H + 2 pad - k) / stride + 1 (floor). */
typedef struct lam_pool2d_args {
    int kh, kw, stride_h, stride_w, pad_h, pad_w;
} lam_pool2d_args;
lam_pool2d_args lam_pool2d_args_square(int k, int stride); /* k x k window, no padding */
lam_node *lam_maxpool2d(lam_graph *g, lam_node *x, const lam_pool2d_args *a);
lam_node *lam_avgpool2d(lam_graph *g, lam_node *x, const lam_pool2d_args *a); /* padding counted */
lam_node *lam_global_avgpool(lam_graph *g, lam_node *x); /* [B, C, H, W] -> [B, C] */

/* Batch normalisation over channels of [B, C] or [B, C, H, W]: gamma, beta
 * trainable [C]; running_mean, running_var buffers [C] (lam_buffer), updated
 * by training forwards: running = (1 - momentum) running + momentum batch. */
lam_node *lam_batchnorm_op(lam_graph *g, lam_node *x, lam_node *gamma, lam_node *beta, lam_node *running_mean,
                           lam_node *running_var, float eps, float momentum);

/* Reshape each sample to `sample` (same element count); flatten to one dim. */
lam_node *lam_reshape(lam_graph *g, lam_node *x, lam_shape sample);
lam_node *lam_flatten(lam_graph *g, lam_node *x);

/* Embedding lookup: ids [B, ...] (int32, from lam_input_ids) select rows of
 * w [vocab, dim]: output [B, ..., dim].  An id outside 0..vocab-1 makes the
 * forward pass fail (LAM_ERR_ARG naming the batch row and position).  The
 * row padding_idx (>= 0; -1 for none) receives no gradient. */
lam_node *lam_embedding_op(lam_graph *g, lam_node *ids, lam_node *w, int padding_idx);

/* Recurrent cells, with PyTorch's equations, gate order and two bias
 * vectors (so weights move between the two unchanged):
 *   RNN:  h' = act(W_ih x + b_ih + W_hh h + b_hh), act tanh or ReLU
 *   LSTM: gates i, f, g, o (rows [0,H), [H,2H), [2H,3H), [3H,4H) of the
 *         weights); c' = f c + i g, h' = o tanh(c')
 *   GRU:  gates r, z, n; n = tanh(W_in x + b_in + r (W_hn h + b_hn)),
 *         h' = (1 - z) n + z h */
typedef enum lam_rnn_cell {
    LAM_RNN_TANH = 0,
    LAM_RNN_RELU,
    LAM_RNN_LSTM,
    LAM_RNN_GRU,
    LAM_RNN_CELL_COUNT_
} lam_rnn_cell;
const char *lam_rnn_cell_name(lam_rnn_cell c); /* "rnn_tanh", "rnn_relu", "lstm", "gru" */
int lam_rnn_cell_gates(lam_rnn_cell c);       /* G: 1, 1, 4, 3 */

typedef struct lam_rnn_args {
    lam_rnn_cell cell;
    bool bidirectional; /* a second direction reads the sequence backwards */
    bool last_only;     /* output each direction's final state [B, D*H]
                         * instead of the whole sequence */
} lam_rnn_args;

/* One recurrent layer over a whole sequence, forward and backward through
 * time in one op.  x [B, T, I].  For each direction d (D = 1 or 2):
 * w_ih[d] [G*H, I], w_hh[d] [G*H, H], and b_ih[d], b_hh[d] [G*H] (both NULL
 * for no bias).  h0, c0 (LSTM only): initial states [B, D, H], or NULL for
 * zeros.  lengths: int32 [B] (lam_input_ids), each in 1..T, or NULL: steps
 * at or after a sample's length neither change its state nor produce output
 * (zeros there) nor receive gradient, and the reverse direction starts at
 * its last real step, as with torch's packed sequences.
 * Output [B, T, D*H] (directions side by side, forward first, as torch), or
 * [B, D*H] with last_only.  Extra outputs (lam_node_output): 0 = the final
 * hidden states h_n [B, D, H], 1 = the final cell states c_n [B, D, H]
 * (LSTM).  Weights are given as arrays of D nodes.  Results are the same for
 * any thread count. */
lam_node *lam_rnn_op(lam_graph *g, lam_node *x, lam_node *const *w_ih, lam_node *const *w_hh, lam_node *const *b_ih,
                     lam_node *const *b_hh, lam_node *h0, lam_node *c0, lam_node *lengths, const lam_rnn_args *a);

/* Losses: scalar outputs, mean over the batch (and elements). */
lam_node *lam_mse_loss(lam_graph *g, lam_node *pred, lam_node *target);
/* logits [B, K] (or [B, T, K] with labels [B, T]), int labels from
 * lam_input_labels / lam_input_ids; mean of -log softmax over all rows. */
lam_node *lam_softmax_ce_loss(lam_graph *g, lam_node *logits, lam_node *labels);
/* Binary cross-entropy with logits; target same shape as logits, in [0,1]. */
lam_node *lam_bce_logits_loss(lam_graph *g, lam_node *logits, lam_node *target);

/* Extra output k of node n (an LSTM's final states, attention weights: see
 * the op's builder for what k means).  The same node is returned when asked
 * twice.  Extra outputs nobody asked for cost nothing. */
lam_node *lam_node_output(lam_graph *g, lam_node *n, int k);

/* ---- attention and sequence pooling (src/ops/attention.c, seqpool.c) ---- */

/* How attention scores a query q_i against a key k_j:
 *   DOT       Luong dot:       s = q.k              (Dq = D)
 *   GENERAL   Luong general:   s = q^T W k          W [Dq, D]
 *   ADDITIVE  Bahdanau concat: s = v . tanh(Wq q + Wk k)
 *                              Wq [A, Dq], Wk [A, D], v [A] */
typedef enum lam_attn_score {
    LAM_ATTN_DOT = 0,
    LAM_ATTN_GENERAL,
    LAM_ATTN_ADDITIVE,
    LAM_ATTN_SCORE_COUNT_
} lam_attn_score;
const char *lam_attn_score_name(lam_attn_score s); /* "dot", "general", "additive" */
bool lam_attn_score_from_name(const char *name, lam_attn_score *out); /* false if unknown */

/* Attention of queries over a sequence that serves as keys and values, in
 * one op with its own backward.  q [B, Tq, Dq], or [Tq, Dq] without a
 * batch for a query shared by every sample (a learned query; its gradient
 * sums over the batch; a batched [B, Dq] is an error: reshape it to
 * [B, 1, Dq]); kv [B, Tk, D].  The weights of `score` are given (w for GENERAL;
 * wq, wk, v for ADDITIVE); the others must be NULL.  Every score is
 * multiplied by `scale` (finite; 1 for none, 1/sqrt(D) for scaled dot).
 * lengths: int32 [B] (lam_input_ids) or NULL: key positions j >= lengths[b]
 * get weight exactly 0 and no gradient, and their values change nothing
 * (they must be finite: the additive key projection runs over every
 * position and its weight gradient multiplies them by 0); a length of 0 or
 * above Tk makes the pass fail (LAM_ERR_ARG naming the batch row).
 * a_ij = softmax_j(s_ij) (stable: the row maximum is subtracted); output
 * context [B, Tq, D] = sum_j a_ij kv_j.  Extra output 0 (lam_node_output) is
 * the weights a [B, Tq, Tk]; it can take a gradient too.  Results are the
 * same for any thread count. */
lam_node *lam_attention_op(lam_graph *g, lam_node *q, lam_node *kv, lam_node *lengths, lam_attn_score score,
                           lam_node *w, lam_node *wq, lam_node *wk, lam_node *v, float scale);

/* How lam_seq_pool reduces the time axis. */
typedef enum lam_seq_pool_mode {
    LAM_SEQ_POOL_MEAN = 0, /* mean over the real steps */
    LAM_SEQ_POOL_MAX,      /* maximum over the real steps (gradient to the first maximum) */
    LAM_SEQ_POOL_SUM,      /* sum over the real steps */
    LAM_SEQ_POOL_LAST,     /* step lengths[b] - 1, or T - 1 without lengths */
    LAM_SEQ_POOL_FIRST,    /* step 0 */
    LAM_SEQ_POOL_MODE_COUNT_
} lam_seq_pool_mode;
const char *lam_seq_pool_mode_name(lam_seq_pool_mode m); /* "mean", "max", "sum", "last", "first" */
bool lam_seq_pool_mode_from_name(const char *name, lam_seq_pool_mode *out);

/* Pool x [B, T, C] over time into [B, C].  lengths: int32 [B] or NULL; steps
 * t >= lengths[b] are ignored (no value read, no gradient); a length of 0 or
 * above T makes the pass fail (LAM_ERR_ARG naming the batch row). */
lam_node *lam_seq_pool(lam_graph *g, lam_node *x, lam_node *lengths, lam_seq_pool_mode mode);

/* ---- transformer ops (src/ops/layernorm.c, mha.c, embed.c) -------------- */

/* Layer normalisation over the last dimension of x [B, ..., C]
 * (torch.nn.LayerNorm(C)): (x - mean) / sqrt(var + eps) * w + b with the
 * biased variance; w [C]; b [C] or NULL. */
lam_node *lam_layernorm_op(lam_graph *g, lam_node *x, lam_node *w, lam_node *b, float eps);
/* RMS normalisation (torch.nn.RMSNorm(C)): x / sqrt(mean(x^2) + eps) * w. */
lam_node *lam_rmsnorm_op(lam_graph *g, lam_node *x, lam_node *w, float eps);

typedef struct lam_mha_args {
    int heads;         /* query heads NH (required) */
    int kv_heads;      /* key/value heads, dividing NH (0: = heads) */
    int head_size;     /* HS (required) */
    bool causal;       /* query i sees keys j <= i */
    float scale;       /* multiplies the scores; 0: 1/sqrt(HS) */
    float dropout;     /* attention dropout (training only): each probability is zeroed
                        * with this chance and the rest scaled by 1/(1 - dropout) (0) */
} lam_mha_args;

/* Multi-head scaled dot-product attention in one op with its own backward:
 * qkv [B, T, (NH + 2 NKV) HS] holds the query heads, then the key heads,
 * then the value heads (one Linear(C, 3C) split as nanoGPT does); query head
 * h reads key/value head h / (NH / NKV) (grouped-query attention when NKV <
 * NH).  softmax(q k^T scale) v per head, output [B, T, NH HS] with the heads
 * side by side (torch's transpose(1, 2).reshape).  lengths: int32 [B] or
 * NULL; keys j >= lengths[b] are masked (a length outside 1..T makes the pass
 * fail, naming the batch row).  No T x T matrix is stored: backward
 * recomputes the probabilities from the saved row log-sum-exp.  The same
 * bits for any thread count. */
lam_node *lam_mha_op(lam_graph *g, lam_node *qkv, lam_node *lengths, const lam_mha_args *a);

/* x [B, T, C] + table[t] at every position t: table [Tmax, C], T <= Tmax
 * (GPT's learned position embedding, or a fixed table as a buffer). */
lam_node *lam_pos_embed_op(lam_graph *g, lam_node *x, lam_node *table);
/* The same at positions start[b] + t (start: int32 [B]; inference only):
 * a decoding step later in the sequence. */
lam_node *lam_pos_embed_op_at(lam_graph *g, lam_node *x, lam_node *table, lam_node *start);

typedef struct lam_rope_args {
    int heads, kv_heads, head_size; /* as lam_mha_args (kv_heads 0: = heads); head_size even */
    float theta;                    /* frequency base; 0: 10000 */
} lam_rope_args;

/* Rotary position embedding (RoPE) of the query and key heads of a packed
 * qkv [B, T, (NH + 2 NKV) HS] (lam_mha_op's input; the value heads pass
 * through), with HF LLaMA's "rotate_half" pairing: for i < HS/2 the pair
 * (x_i, x_{i+HS/2}) at position p turns by p / theta^(2i/HS).  Positions are
 * 0 .. T-1, or start[b] + t (start: int32 [B] or NULL; a decoding step). */
lam_node *lam_rope_op(lam_graph *g, lam_node *qkv, lam_node *start, const lam_rope_args *a);

/* A decoding step of lam_mha_op with a key/value cache (inference only):
 * kcache [B, NKV HS, CAP] (keys transposed) and vcache [B, CAP, NKV HS] are
 * inputs whose contents the op updates: the step's T new keys and values
 * are written at positions pos[b] .. pos[b] + T - 1 (pos: int32 [B]; the
 * pass fails if they do not fit), and its queries attend over positions
 * 0 .. their own.  So a new token costs one row of attention, and the
 * outputs are bitwise those of the uncached op over the whole prefix. */
lam_node *lam_mha_op_cached(lam_graph *g, lam_node *qkv, lam_node *kcache, lam_node *vcache, lam_node *pos,
                            const lam_mha_args *a);

/* ---- activation recomputation ------------------------------------------- */

/* The nodes built between begin and end form a segment (a Transformer
 * block, say) whose intermediate values are not kept from forward to
 * backward: a training plan holds only its inputs and its output (the last
 * node built), and backward runs the segment's forward again, with the
 * dropout RNG as it was, just before the segment's own backward.  The same
 * bits as without recomputation, for about one more forward pass of the
 * segment; the activation memory of all but one segment is saved.  Every
 * node of a segment other than its output must be read only inside it
 * (compile fails otherwise); segments do not nest, and BatchNorm (whose
 * forward updates running statistics) cannot be in one.
 * lam_compile_opts.no_recompute plans as if there were no segments. */
int lam_graph_begin_recompute(lam_graph *g);            /* the segment's index, or -1 */
lam_status lam_graph_end_recompute(lam_graph *g);

/* ---- compile and run ---------------------------------------------------- */

typedef struct lam_compile_opts {
    int max_batch;  /* largest batch run later (default 32) */
    bool training;  /* plan for backward too (default true) */
    bool no_reuse;  /* give every tensor its own memory (for testing the planner) */
    bool no_recompute; /* keep every value for backward, ignoring recomputation segments */
} lam_compile_opts;
lam_compile_opts lam_compile_opts_defaults(void);

/* Infer shapes at max_batch, plan memory, allocate parameters (initialised
 * from the seed, in registration order), gradients and the activation buffer.
 * Returns the sticky build error if there is one.  May be called again to
 * re-plan (for example for a larger batch); parameter values are kept. */
lam_status lam_graph_compile(lam_graph *g, const lam_compile_opts *opts);

/* Run the forward pass for `batch` rows (1..max_batch).  `training` turns on
 * dropout (and batch statistics later).  Fill inputs first. */
lam_status lam_graph_forward(lam_graph *g, int batch, bool training);
/* Run only the nodes that `target` depends on (inference without the loss,
 * whose label inputs need not be filled). */
lam_status lam_graph_forward_to(lam_graph *g, lam_node *target, int batch, bool training);
/* Zero the gradients of all trainable parameters. */
void lam_graph_zero_grad(lam_graph *g);
/* Backpropagate from the scalar `loss` (seeded with 1), accumulating into the
 * parameter gradients.  Needs a training compile and a preceding forward. */
lam_status lam_graph_backward(lam_graph *g, lam_node *loss);
/* Backpropagate from any node, seeding its gradient with `seed` (as many
 * floats as the node has at the current batch), like torch's y.backward(g). */
lam_status lam_graph_backward_seed(lam_graph *g, lam_node *node, const float *seed);

/* ---- inspection ----------------------------------------------------------- */

/* The node's current shape (batch = the last run's, or max_batch). */
lam_shape lam_node_shape(const lam_node *n);
/* The shape of one sample: lam_node_shape without its leading batch
 * dimension, for nodes that have one (inputs and what is computed from
 * them); a parameter's or a reduced loss's whole shape otherwise. */
lam_shape lam_node_sample_shape(const lam_node *n);
const char *lam_node_name(const lam_node *n);
const char *lam_node_op_name(const lam_node *n);
/* The node's k-th input (NULL when k is out of range). */
lam_node *lam_node_input(const lam_node *n, int k);
/* The node's value buffer (after compile): write inputs here, read outputs.
 * Labels nodes hold int32.  Input buffers keep their contents across runs;
 * other nodes' buffers are reused by the memory plan, so read an
 * intermediate value right after the forward pass (outputs and nodes marked
 * with lam_graph_mark_output stay readable after backward too). */
float *lam_node_data(const lam_node *n);
int32_t *lam_node_labels(const lam_node *n);
int32_t *lam_node_ids(const lam_node *n); /* int32 nodes (lam_input_ids); = lam_node_labels */
lam_dtype lam_node_dtype(const lam_node *n);
/* The node's gradient buffer after backward (NULL if it has none). */
float *lam_node_grad(const lam_node *n);
/* Name a node (copied); names must be unique within a graph. */
lam_status lam_node_set_name(lam_graph *g, lam_node *n, const char *name);
/* Keep this node's value readable after backward (outputs with no consumers
 * are kept anyway).  Call before compile. */
void lam_graph_mark_output(lam_graph *g, lam_node *n);
/* Find a node by name (NULL if absent). */
lam_node *lam_graph_node(const lam_graph *g, const char *name);
int lam_graph_node_count(const lam_graph *g);
lam_node *lam_graph_node_at(const lam_graph *g, int i);

size_t lam_graph_param_count(const lam_graph *g);
const lam_param_info *lam_graph_param_at(const lam_graph *g, size_t i);
const lam_param_info *lam_graph_param_find(const lam_graph *g, const char *name);
size_t lam_graph_param_total(const lam_graph *g);  /* floats in all parameters */
float *lam_graph_params(lam_graph *g);             /* after compile */
float *lam_graph_grads(lam_graph *g);
/* Freeze (false) or unfreeze a parameter: frozen parameters get no gradient. */
lam_status lam_graph_set_trainable(lam_graph *g, const char *param_name, bool trainable);
/* Layer bookkeeping used by the nn builders: parameters registered after
 * lam_graph_begin_layer belong to that layer until the next call. */
int lam_graph_begin_layer(lam_graph *g, const char *name);
int lam_graph_layer_count(const lam_graph *g);
const char *lam_graph_layer_name(const lam_graph *g, int layer);
void lam_graph_set_layer_trainable(lam_graph *g, int layer, bool trainable);

/* Planned memory: bytes of the activation/gradient arena, scratch, params
 * (values + gradients) after compile. */
typedef struct lam_mem_plan {
    size_t arena_bytes;      /* activations, their gradients, saved tensors */
    size_t arena_no_recompute_bytes; /* the same planned without activation recomputation */
    size_t arena_naive_bytes;/* what one buffer per tensor would need */
    size_t scratch_bytes;
    size_t param_bytes;      /* parameters + their gradients */
} lam_mem_plan;
lam_mem_plan lam_graph_mem_plan(const lam_graph *g);
/* Forward FLOPs of one sample (multiply-add = 2), from the op definitions. */
double lam_graph_flops_per_sample(const lam_graph *g);

/* Per-op timing: when on, forward and backward time each node (wall clock)
 * and lam_graph_profile_report prints the nodes by total time. */
void lam_graph_set_profiling(lam_graph *g, bool on);
/* Check every op's output (forward) and every input gradient it writes
 * (backward) for NaN and infinity as the pass runs: the first op to produce
 * one stops the pass with LAM_ERR_NUMERIC naming the node, its op and the
 * element.  Off by default (it reads every tensor once more); a trainer
 * turns it on to re-run a step whose loss or gradients were not finite. */
void lam_graph_set_check_finite(lam_graph *g, bool on);
/* Call fn(user, id) during backward right after node `id`'s gradients are
 * written (ids fall as backward runs; a parameter's gradient is final once
 * its consumer with the lowest id is done): a data-parallel trainer starts
 * summing the gradients that are complete while backward goes on.  NULL
 * removes it.  fn must not run the graph. */
void lam_graph_set_backward_hook(lam_graph *g, void (*fn)(void *user, int node), void *user);
/* Data parallel with synchronised statistics: ops whose training forward
 * and backward need sums over the whole global batch (BatchNorm) add their
 * per-rank sums with sum(user, buf, n), which must sum n doubles over the
 * ranks in place, the same on every rank.  NULL: each process alone (the
 * default; per-rank statistics under data parallelism). */
void lam_graph_set_reducer(lam_graph *g, lam_status (*sum)(void *user, double *buf, size_t n), void *user);
/* The id of a node: its position in the graph, lam_graph_node_at(g, id). */
int lam_node_id(const lam_node *n);
void lam_graph_profile_report(const lam_graph *g, char *buf, size_t n);

/* The RNG used for dropout masks (saved in checkpoints for exact resume). */
lam_rng *lam_graph_rng(lam_graph *g);

#ifdef __cplusplus
}
#endif
#endif
