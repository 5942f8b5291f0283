/* Lamina layers: functions that add nodes to a graph and register named
 * parameters ("fc1.weight", "fc1.bias") under one layer, so that the layer
 * can be frozen or given its own optimiser hyper-parameters. */
#ifndef LAMINA_NN_H
#define LAMINA_NN_H

#include "lamina/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lam_dense_opts {
    int units;           /* output features (required, > 0) */
    lam_act act;         /* fused activation (default none) */
    bool bias;           /* default true */
    lam_init_kind init;  /* weight init (default LAM_INIT_TORCH_DEFAULT, as torch.nn.Linear) */
    float init_a;        /* for LAM_INIT_NORMAL the std, for LAM_INIT_UNIFORM the bound (default 0.02);
                          * with either, the bias starts at zero */
    lam_node *tied;      /* NULL, or an existing parameter [units, in] used as the weight (weight
                          * tying: an embedding table as the output layer, its gradient the sum
                          * of both uses); the layer then makes only its bias */
} lam_dense_opts;
lam_dense_opts lam_dense_opts_defaults(int units, lam_act act);

/* Fully connected layer y = act(x W^T + b) on the last dimension of x.
 * W is [units, in], b [units].  The output node is named `name`.
 * Returns NULL on error (recorded in the graph). */
lam_node *lam_nn_dense(lam_graph *g, lam_node *x, const char *name, const lam_dense_opts *o);

/* ---- convolution ---------------------------------------------------------- */

typedef enum lam_padding {
    LAM_PAD_VALID = 0, /* no padding */
    LAM_PAD_SAME,      /* output size = input size (stride 1, odd effective kernel) */
    LAM_PAD_EXPLICIT,  /* pad_h, pad_w zeros on each side */
} lam_padding;

typedef struct lam_conv2d_opts {
    int filters;              /* output channels (required, > 0) */
    int kh, kw;               /* kernel size */
    int stride_h, stride_w;   /* 1 */
    lam_padding padding;      /* VALID */
    int pad_h, pad_w;         /* for EXPLICIT */
    int dil_h, dil_w;         /* dilation, 1 */
    lam_act act;              /* fused activation */
    bool bias;                /* true */
    lam_init_kind init;       /* LAM_INIT_TORCH_DEFAULT, as torch.nn.Conv2d */
    lam_conv_algo algo;       /* LAM_CONV_AUTO */
} lam_conv2d_opts;
lam_conv2d_opts lam_conv2d_opts_defaults(int filters, int kernel, lam_act act);

/* Conv2D layer on x [B, C, H, W]: weight NAME.weight [filters, C, kh, kw],
 * bias NAME.bias [filters].  Output node named `name`. */
lam_node *lam_nn_conv2d(lam_graph *g, lam_node *x, const char *name, const lam_conv2d_opts *o);

typedef struct lam_batchnorm_opts {
    float eps;      /* 1e-5 */
    float momentum; /* 0.1 (torch's convention) */
} lam_batchnorm_opts;
lam_batchnorm_opts lam_batchnorm_opts_defaults(void);

/* BatchNorm over the channels of [B, C] or [B, C, H, W]: NAME.weight (gamma,
 * ones), NAME.bias (beta, zeros), buffers NAME.running_mean (zeros) and
 * NAME.running_var (ones), as torch names them. */
lam_node *lam_nn_batchnorm(lam_graph *g, lam_node *x, const char *name, const lam_batchnorm_opts *o);

/* ---- sequences ------------------------------------------------------------ */

typedef struct lam_embedding_opts {
    int vocab;            /* rows (required, > 0) */
    int dim;              /* vector size (required, > 0) */
    int padding_idx;      /* row kept at zero that receives no gradient, or -1 (default) */
    float init_std;       /* weights drawn N(0, init_std^2); default 1 (torch), GPTs use 0.02 */
} lam_embedding_opts;
lam_embedding_opts lam_embedding_opts_defaults(int vocab, int dim);

/* Embedding layer on int32 ids [B, ...]: weight NAME.weight [vocab, dim],
 * initialised N(0, init_std^2) with the padding row zero (torch.nn.Embedding).
 * Output [B, ..., dim], named `name`. */
lam_node *lam_nn_embedding(lam_graph *g, lam_node *ids, const char *name, const lam_embedding_opts *o);

#define LAM_RNN_MAX_LAYERS 16

typedef struct lam_rnn_opts {
    lam_rnn_cell cell;
    int units;            /* hidden size H (required, > 0) */
    int layers;           /* stacked layers (1) */
    bool bidirectional;   /* false */
    bool bias;            /* true */
    float dropout;        /* dropout on the outputs of every layer but the last (0), as torch */
    bool last_only;       /* output the last layer's final states [B, D*H] instead of
                           * its whole sequence [B, T, D*H] (false) */
} lam_rnn_opts;
lam_rnn_opts lam_rnn_opts_defaults(lam_rnn_cell cell, int units);

/* A stack of recurrent layers (torch.nn.RNN / LSTM / GRU with
 * batch_first=True) on x [B, T, I]: parameters NAME.weight_ih_l{k},
 * NAME.weight_hh_l{k}, NAME.bias_ih_l{k}, NAME.bias_hh_l{k}, and the same
 * with a "_reverse" suffix for the second direction (torch's names and
 * shapes), initialised U(-1/sqrt(H), 1/sqrt(H)) as torch does.  lengths:
 * int32 [B] or NULL (see lam_rnn_op).  h0 / c0: arrays of `layers` initial
 * states [B, D, H] (entries may be NULL), or NULL for zeros.  layer_nodes
 * (NULL or an array of `layers`) receives each layer's op node, whose extra
 * outputs are its final states (lam_node_output: 0 = h_n, 1 = c_n).  The
 * output is named `name`; one graph layer holds all the parameters. */
lam_node *lam_nn_rnn(lam_graph *g, lam_node *x, lam_node *lengths, const char *name, const lam_rnn_opts *o,
                     lam_node *const *h0, lam_node *const *c0, lam_node **layer_nodes);

/* ---- attention and sequence pooling (src/nn/attention.c) ---------------- */

typedef struct lam_attention_opts {
    lam_attn_score score; /* default LAM_ATTN_ADDITIVE */
    int units;            /* A, the additive score's hidden size (default 64; others ignore it) */
    bool scaled;          /* multiply every score by 1/sqrt(D) (scaled dot product); default false */
} lam_attention_opts;
/* score, units 64, not scaled. */
lam_attention_opts lam_attention_opts_defaults(lam_attn_score score);

/* Attention of `query` [B, Tq, Dq] (or [Tq, Dq], shared) over `values`
 * [B, Tk, D], which serve as keys and values: context [B, Tq, D] (see
 * lam_attention_op).  Parameters, initialised like torch.nn.Linear without
 * bias (U(-1/sqrt(fan_in), 1/sqrt(fan_in))):
 *   general:  NAME.weight [Dq, D]            (s = q^T W k)
 *   additive: NAME.query_proj [A, Dq], NAME.key_proj [A, D], NAME.v [A]
 *             (s = v . tanh(query_proj q + key_proj k))
 * dot has none and needs Dq = D.  lengths: int32 [B] or NULL.  The op node
 * is named NAME; its weights [B, Tq, Tk] are lam_node_output(g, node, 0).
 * opts NULL: lam_attention_opts_defaults(LAM_ATTN_ADDITIVE).  Returns NULL on
 * error (recorded in the graph). */
lam_node *lam_nn_attention(lam_graph *g, lam_node *query, lam_node *values, lam_node *lengths, const char *name,
                           const lam_attention_opts *opts);

/* Attention pooling (Yang et al. 2016, HAN): a learned query NAME.query
 * [1, Dq] attends over seq [B, T, D] and the context is reshaped to [B, D].
 * Dq = units for the additive score (then NAME.query_proj maps the query to
 * the hidden size, acting as the bias of HAN's u = tanh(W h + b) and NAME.v
 * as its context vector), Dq = D for dot and general.  The query is drawn
 * N(0, 0.1^2); the other parameters are those of lam_nn_attention.  The
 * output (a reshape) is named NAME; the attention op node NAME.attention is
 * lam_node_input(output, 0), and its weights [B, 1, T] are
 * lam_node_output(g, lam_node_input(output, 0), 0).  opts NULL: additive
 * with 64 units. */
lam_node *lam_nn_attention_pool(lam_graph *g, lam_node *seq, lam_node *lengths, const char *name,
                                const lam_attention_opts *opts);

/* Sequence pooling layer (lam_seq_pool): x [B, T, C] -> [B, C], named NAME;
 * no parameters. */
lam_node *lam_nn_seq_pool(lam_graph *g, lam_node *x, lam_node *lengths, const char *name, lam_seq_pool_mode mode);

/* ---- transformers (src/nn/transformer.c) --------------------------------- */

typedef enum lam_norm_kind {
    LAM_NORM_LAYER = 0, /* LayerNorm with weight and bias */
    LAM_NORM_RMS,       /* RMSNorm with weight */
    LAM_NORM_KIND_COUNT_
} lam_norm_kind;

/* Normalisation layer over the last dimension: NAME.weight (ones) and, for
 * LayerNorm with bias, NAME.bias (zeros), as torch names them. */
lam_node *lam_nn_norm(lam_graph *g, lam_node *x, const char *name, lam_norm_kind kind, float eps, bool bias);

typedef struct lam_transformer_opts {
    int heads;            /* query heads (required; must divide the width C) */
    int kv_heads;         /* key/value heads (0: = heads; fewer: grouped-query attention) */
    int mlp_hidden;       /* hidden width of the MLP (0: 4 C; with swiglu 8 C / 3 rounded up to a multiple of 8) */
    lam_act mlp_act;      /* LAM_ACT_GELU (exact); ignored with swiglu */
    bool swiglu;          /* LLaMA's MLP: fc2(silu(a) b), [a | b] = fc1(x) of width 2 hidden (false) */
    bool rope;            /* rotary position embedding of the queries and keys (false) */
    float rope_theta;     /* its frequency base (10000) */
    bool recompute;       /* activation recomputation: the block is a lam_graph_begin_recompute
                           * segment, its inner values computed again in backward (false) */
    lam_norm_kind norm;   /* LAM_NORM_LAYER */
    float norm_eps;       /* 1e-5 */
    bool causal;          /* true: a decoder block */
    bool bias;            /* biases in the linear layers (true) */
    float dropout;        /* residual dropout after the attention and MLP outputs (0) */
    float attn_dropout;   /* dropout on the attention probabilities, inside the fused op (0) */
    lam_init_kind init;   /* linear weights: LAM_INIT_NORMAL (GPT-2: N(0, 0.02^2)), biases 0 */
    float init_a;         /* 0.02 */
} lam_transformer_opts;
lam_transformer_opts lam_transformer_opts_defaults(int heads);

/* A pre-LN Transformer block (GPT-2, nanoGPT) on x [B, T, C]:
 *   x = x + proj(attn(norm1(x)));  x = x + fc2(act(fc1(norm2(x))))
 * attn is lam_mha_op over qkv = Linear(C, (NH + 2 NKV) HS)(h), HS = C / NH,
 * after lam_rope_op with rope; with swiglu the MLP is fc2(swiglu(fc1(h)))
 * (LLaMA: RMSNorm, RoPE, SwiGLU and no biases make its block).
 * Parameters NAME.ln1.*, NAME.qkv.*, NAME.proj.*, NAME.ln2.*, NAME.fc1.*,
 * NAME.fc2.* (nanoGPT's names, with NAME for its blocks.K).  lengths: int32
 * [B] or NULL (padding mask of the keys).  Output named NAME. */
lam_node *lam_nn_transformer_block(lam_graph *g, lam_node *x, lam_node *lengths, const char *name,
                                   const lam_transformer_opts *o);

/* The same block as one decoding step (inference): its attention reads and
 * extends the key/value cache kcache [B, NKV HS, CAP], vcache [B, CAP, NKV
 * HS] (inputs, updated in place) at int32 positions pos [B] (see
 * lam_mha_op_cached).  Same parameter names, so a trained model's weights
 * copy over by name. */
lam_node *lam_nn_transformer_block_step(lam_graph *g, lam_node *x, const char *name, const lam_transformer_opts *o,
                                        lam_node *kcache, lam_node *vcache, lam_node *pos);

/* A learned position embedding: NAME.weight [context, C] drawn N(0,
 * init_std^2), added at every position (lam_pos_embed_op); T <= context.
 * init_std < 0: the fixed sinusoidal table of "Attention is all you need"
 * instead, as a buffer (LAM_INIT_SINUSOIDAL; saved, never trained). */
lam_node *lam_nn_pos_embedding(lam_graph *g, lam_node *x, const char *name, int context, float init_std);
/* The same from positions start[b] (int32 [B]; a decoding step). */
lam_node *lam_nn_pos_embedding_at(lam_graph *g, lam_node *x, const char *name, int context, float init_std,
                                  lam_node *start);

#ifdef __cplusplus
}
#endif
#endif
