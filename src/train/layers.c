/* The layer sections of a model file: one parser per section type, each
 * reading its keys through the typed getters (so unknown keys and bad values
 * are errors with line numbers) and adding the layer with the nn builders.
 * Layers get automatic names (fc1, conv1, pool1, bn1, emb1, lstm1, ...)
 * unless `name` is given.  Recurrent layers read the graph's "lengths"
 * input when it has one (padded text). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lamina/nn.h"
#include "train/train_internal.h"


/* What a layer parser works with: the model file, the graph being built,
 * the model (its vocabulary), and for generation graphs the recurrent
 * states to expose (NULL otherwise). */
typedef struct layer_ctx {
    lam_cfg *c;
    lam_graph *g;
    lam_model *m;
    lam_state_links *states;
} layer_ctx;

static lam_status get_act(lam_cfg *c, lam_cfg_section *s, lam_act *out)
{
    int line = s->line;
    const char *v = lam_cfg_raw(c, s, "activation", &line);
    *out = LAM_ACT_NONE;
    if (v && !lam_act_from_name(v, out))
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: unknown activation '%s' (none, relu, sigmoid, tanh, gelu)", c->path,
                        line, v);
    return LAM_OK;
}

static lam_status get_init(lam_cfg *c, lam_cfg_section *s, lam_init_kind *out)
{
    int line = s->line;
    const char *v = lam_cfg_raw(c, s, "init", &line);
    *out = LAM_INIT_TORCH_DEFAULT;
    if (v && !lam_init_from_name(v, out))
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: unknown init '%s' (torch_default, xavier_uniform, he_normal, ...)",
                        c->path, line, v);
    return LAM_OK;
}

/* "3" or "3, 5": one value for both dimensions or one each; values >= lo. */
static lam_status get_pair(lam_cfg *c, lam_cfg_section *s, const char *key, int def, int lo, int *a, int *b)
{
    int line;
    const char *v = lam_cfg_raw(c, s, key, &line);
    *a = *b = def;
    if (!v) return LAM_OK;
    long x[2];
    int n = 0;
    const char *p = v;
    while (*p && n < 2) {
        char *end;
        errno = 0;
        x[n] = strtol(p, &end, 10);
        if (end == p || errno || x[n] < lo || x[n] > 65535) break;
        n++;
        while (*end == ' ') end++;
        if (*end == ',') end++;
        while (*end == ' ') end++;
        p = end;
    }
    if (n == 0 || *p)
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: %s = '%s': expected one or two integers >= %d (\"3\" or \"3, 5\")",
                        c->path, line, key, v, lo);
    *a = (int)x[0];
    *b = (int)(n == 2 ? x[1] : x[0]);
    return LAM_OK;
}

static lam_status require(lam_cfg *c, lam_cfg_section *s, const char *key)
{
    if (!lam_cfg_raw(c, s, key, NULL)) return lam_fail(LAM_ERR_FORMAT, "%s:%d: [%s] needs '%s'", c->path, s->line, s->name, key);
    return LAM_OK;
}

/* `units = N`, or `units = vocab` (the vocabulary size: a language model's
 * output layer) */
static lam_status get_units(layer_ctx *x, lam_cfg_section *s, const char *key, long *units)
{
    lam_cfg *c = x->c;
    int line;
    const char *v = lam_cfg_raw(c, s, key, &line);
    if (v && !strcmp(v, "vocab")) {
        if (!x->m->vocab)
            return lam_fail(LAM_ERR_FORMAT, "%s:%d: %s = vocab needs text data (a vocabulary)", c->path, line, key);
        *units = lam_vocab_size(x->m->vocab);
        return LAM_OK;
    }
    TRY(require(c, s, key));
    return lam_cfg_int(c, s, key, 0, 1, 1 << 24, units);
}

static lam_status parse_dense(layer_ctx *x, lam_cfg_section *s, const char *name, lam_node **h)
{
    lam_cfg *c = x->c;
    lam_graph *g = x->g;
    long units;
    TRY(get_units(x, s, "units", &units));
    lam_dense_opts o = lam_dense_opts_defaults((int)units, LAM_ACT_NONE);
    TRY(get_act(c, s, &o.act));
    TRY(lam_cfg_bool(c, s, "bias", true, &o.bias));
    TRY(get_init(c, s, &o.init));
    double init_std;
    TRY(lam_cfg_double(c, s, "init_std", 0.02, 0.0, 100.0, &init_std));
    o.init_a = (float)init_std;
    int tline = s->line;
    const char *tie = lam_cfg_raw(c, s, "tie", &tline);
    if (tie) { /* weight tying: tie = an embedding layer's name */
        char tn[300];
        snprintf(tn, sizeof tn, "%s.weight", tie);
        o.tied = lam_graph_node(g, tn);
        if (!o.tied || strcmp(lam_node_op_name(o.tied), "param"))
            return lam_fail(LAM_ERR_FORMAT, "%s:%d: tie = %s: no earlier layer %s with a weight %s", c->path, tline, tie,
                            tie, tn);
        if (lam_cfg_raw(c, s, "init", NULL) || lam_cfg_raw(c, s, "init_std", NULL))
            return lam_fail(LAM_ERR_FORMAT, "%s:%d: a tied weight is initialised by %s: no init here", c->path, tline,
                            tie);
    }
    /* a dense layer after images (conv feature maps) flattens them, as Keras
     * users expect; on sequences [B, T, C] it acts on every step */
    lam_shape xs = lam_node_shape(*h);
    lam_node *in = *h;
    if (xs.ndim > 3) {
        char fl[300];
        snprintf(fl, sizeof fl, "%s.flatten", name);
        in = lam_flatten(g, in);
        if (in) lam_node_set_name(g, in, fl);
    }
    *h = lam_nn_dense(g, in, name, &o);
    return LAM_OK;
}

/* A generation graph's position input, made once; the caches hold `cap`
 * positions (the first position-aware layer's context sets it). */
static lam_status gen_positions(layer_ctx *x, int cap)
{
    if (!x->states->pos) {
        x->states->pos = lam_input_ids(x->g, "pos", (lam_shape){0, {0}});
        if (!x->states->pos) return lam_graph_status(x->g);
    }
    if (!x->states->cap) x->states->cap = cap;
    return LAM_OK;
}

static lam_status parse_embedding(layer_ctx *x, lam_cfg_section *s, const char *name, lam_node **h)
{
    lam_cfg *c = x->c;
    long units, vocab;
    TRY(require(c, s, "units"));
    TRY(lam_cfg_int(c, s, "units", 0, 1, 1 << 20, &units));
    int line = s->line;
    const char *v = lam_cfg_raw(c, s, "vocab", &line);
    if (!v || !strcmp(v, "auto")) {
        if (!x->m->vocab)
            return lam_fail(LAM_ERR_FORMAT, "%s:%d: [embedding] takes its vocabulary from text data; without one, give "
                                            "vocab = N", c->path, s->line);
        vocab = lam_vocab_size(x->m->vocab);
    } else {
        TRY(lam_cfg_int(c, s, "vocab", 0, 1, LAM_VOCAB_MAX_SIZE, &vocab));
    }
    bool pad;
    int32_t pad_id = x->m->vocab ? lam_vocab_pad_id(x->m->vocab) : -1;
    TRY(lam_cfg_bool(c, s, "padding", pad_id >= 0, &pad));
    if (pad && pad_id < 0)
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: padding = true, but the vocabulary has no <pad> (set [data] pad = true)",
                        c->path, s->line);
    if (lam_node_dtype(*h) != LAM_DTYPE_I32)
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: [embedding] reads token ids: it comes first, on text data", c->path,
                        s->line);
    lam_embedding_opts o = lam_embedding_opts_defaults((int)vocab, (int)units);
    o.padding_idx = pad ? pad_id : -1;
    double init_std;
    TRY(lam_cfg_double(c, s, "init_std", 1.0, 0.0, 100.0, &init_std));
    o.init_std = (float)init_std;
    static const char *const pos_kinds[] = {"none", "learned", "sinusoidal", NULL};
    int pos;
    TRY(lam_cfg_choice(c, s, "position", pos_kinds, 0, &pos));
    lam_shape xs = lam_node_shape(*h);
    long context;
    /* default: the model's input length (a generation graph's input is one token) */
    TRY(lam_cfg_int(c, s, "context", x->m->sample.ndim >= 1 ? (long)x->m->sample.d[0] : 1, 1, 1 << 20, &context));
    if (pos && xs.ndim != 2)
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: position = %s needs a sequence of token ids [batch, time]", c->path,
                        s->line, pos_kinds[pos]);
    if (!pos && lam_cfg_raw(c, s, "context", NULL))
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: context goes with position = learned or sinusoidal", c->path, s->line);
    *h = lam_nn_embedding(x->g, *h, name, &o);
    if (pos && *h) {
        char pn[300];
        snprintf(pn, sizeof pn, "%s.pos", name);
        if (x->states) { /* a decoding step: at the generator's position */
            TRY(gen_positions(x, (int)context));
            *h = lam_nn_pos_embedding_at(x->g, *h, pn, (int)context, pos == 2 ? -1.0f : o.init_std, x->states->pos);
        } else {
            *h = lam_nn_pos_embedding(x->g, *h, pn, (int)context, pos == 2 ? -1.0f : o.init_std);
        }
    }
    return LAM_OK;
}

static lam_status parse_rnn(layer_ctx *x, lam_cfg_section *s, const char *name, lam_node **h)
{
    lam_cfg *c = x->c;
    lam_graph *g = x->g;
    lam_rnn_cell cell = !strcmp(s->name, "lstm") ? LAM_RNN_LSTM : !strcmp(s->name, "gru") ? LAM_RNN_GRU : LAM_RNN_TANH;
    if (cell == LAM_RNN_TANH) {
        static const char *const acts[] = {"tanh", "relu", NULL};
        int a;
        TRY(lam_cfg_choice(c, s, "activation", acts, 0, &a));
        cell = a ? LAM_RNN_RELU : LAM_RNN_TANH;
    }
    long units, layers;
    double dropout;
    TRY(require(c, s, "units"));
    TRY(lam_cfg_int(c, s, "units", 0, 1, 1 << 16, &units));
    TRY(lam_cfg_int(c, s, "layers", 1, 1, LAM_RNN_MAX_LAYERS, &layers));
    lam_rnn_opts o = lam_rnn_opts_defaults(cell, (int)units);
    o.layers = (int)layers;
    TRY(lam_cfg_bool(c, s, "bidirectional", false, &o.bidirectional));
    TRY(lam_cfg_bool(c, s, "bias", true, &o.bias));
    TRY(lam_cfg_double(c, s, "dropout", 0.0, 0.0, 0.99, &dropout));
    o.dropout = (float)dropout;
    static const char *const rets[] = {"sequence", "last", NULL};
    int r;
    TRY(lam_cfg_choice(c, s, "return", rets, 0, &r));
    o.last_only = r == 1;
    lam_shape xs = lam_node_shape(*h);
    char sb[64];
    if (xs.ndim != 3)
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: [%s] needs a sequence [batch, time, features], has %s%s", c->path, s->line,
                        s->name, lam_shape_str(&xs, sb, sizeof sb),
                        lam_node_dtype(*h) == LAM_DTYPE_I32 ? "; hint: an [embedding] first turns token ids into vectors"
                                                            : "");
    lam_node *h0[LAM_RNN_MAX_LAYERS] = {0}, *c0[LAM_RNN_MAX_LAYERS] = {0}, *nodes[LAM_RNN_MAX_LAYERS] = {0};
    if (x->states) {
        /* generation: every layer's state comes in and goes out, one step at a time */
        if (o.bidirectional)
            return lam_fail(LAM_ERR_ARG, "%s:%d: a bidirectional layer reads the whole sequence, so it cannot generate",
                            c->path, s->line);
        for (int l = 0; l < o.layers; l++) {
            char nm[300];
            snprintf(nm, sizeof nm, "%s.h0_l%d", name, l);
            h0[l] = lam_input(g, nm, lam_shape2(1, units));
            if (cell == LAM_RNN_LSTM) {
                snprintf(nm, sizeof nm, "%s.c0_l%d", name, l);
                c0[l] = lam_input(g, nm, lam_shape2(1, units));
            }
        }
    }
    *h = lam_nn_rnn(g, *h, lam_graph_node(g, "lengths"), name, &o, x->states ? h0 : NULL,
                    x->states && cell == LAM_RNN_LSTM ? c0 : NULL, nodes);
    for (int l = 0; x->states && *h && l < o.layers; l++) {
        for (int k = 0; k < (cell == LAM_RNN_LSTM ? 2 : 1); k++) {
            if (x->states->n == LAM_MAX_STATE_LINKS)
                return lam_fail(LAM_ERR_ARG, "%s: more than %d recurrent states", c->path, LAM_MAX_STATE_LINKS);
            lam_node *out = lam_node_output(g, nodes[l], k);
            lam_graph_mark_output(g, out);
            x->states->in[x->states->n] = k ? c0[l] : h0[l];
            x->states->out[x->states->n++] = out;
        }
    }
    return LAM_OK;
}

static lam_status parse_conv(layer_ctx *x, lam_cfg_section *s, const char *name, lam_node **h)
{
    lam_cfg *c = x->c;
    lam_graph *g = x->g;
    long filters;
    TRY(require(c, s, "filters"));
    TRY(lam_cfg_int(c, s, "filters", 0, 1, 1 << 20, &filters));
    TRY(require(c, s, "kernel"));
    lam_conv2d_opts o = lam_conv2d_opts_defaults((int)filters, 3, LAM_ACT_NONE);
    TRY(get_pair(c, s, "kernel", 3, 1, &o.kh, &o.kw));
    TRY(get_pair(c, s, "stride", 1, 1, &o.stride_h, &o.stride_w));
    TRY(get_pair(c, s, "dilation", 1, 1, &o.dil_h, &o.dil_w));
    int line;
    const char *pad = lam_cfg_raw(c, s, "padding", &line);
    if (pad && !strcmp(pad, "same")) o.padding = LAM_PAD_SAME;
    else if (pad && strcmp(pad, "valid") != 0) {
        o.padding = LAM_PAD_EXPLICIT;
        TRY(get_pair(c, s, "padding", 0, 0, &o.pad_h, &o.pad_w));
    }
    TRY(get_act(c, s, &o.act));
    TRY(lam_cfg_bool(c, s, "bias", true, &o.bias));
    TRY(get_init(c, s, &o.init));
    /* the order of lam_conv_algo */
    static const char *const algos[] = {"auto", "im2col", "winograd_f2", "winograd_f4", "direct", NULL};
    int algo;
    TRY(lam_cfg_choice(c, s, "algorithm", algos, LAM_CONV_AUTO, &algo));
    o.algo = (lam_conv_algo)algo;
    *h = lam_nn_conv2d(g, *h, name, &o);
    return LAM_OK;
}

static lam_status parse_pool(layer_ctx *x, lam_cfg_section *s, const char *name, lam_node **h)
{
    lam_cfg *c = x->c;
    lam_graph *g = x->g;
    lam_pool2d_args a;
    TRY(get_pair(c, s, "size", 2, 1, &a.kh, &a.kw));
    TRY(get_pair(c, s, "stride", 0, 1, &a.stride_h, &a.stride_w));
    if (!lam_cfg_raw(c, s, "stride", NULL)) a.stride_h = a.kh, a.stride_w = a.kw; /* default: the window */
    TRY(get_pair(c, s, "padding", 0, 0, &a.pad_h, &a.pad_w));
    *h = !strcmp(s->name, "maxpool") ? lam_maxpool2d(g, *h, &a) : lam_avgpool2d(g, *h, &a);
    if (*h) lam_node_set_name(g, *h, name);
    return LAM_OK;
}

static lam_status parse_gap(layer_ctx *x, lam_cfg_section *s, const char *name, lam_node **h)
{
    lam_graph *g = x->g;
    *h = lam_global_avgpool(g, *h);
    if (*h) lam_node_set_name(g, *h, name);
    return LAM_OK;
}

static lam_status parse_flatten(layer_ctx *x, lam_cfg_section *s, const char *name, lam_node **h)
{
    lam_graph *g = x->g;
    *h = lam_flatten(g, *h);
    if (*h) lam_node_set_name(g, *h, name);
    return LAM_OK;
}

static lam_status parse_bn(layer_ctx *x, lam_cfg_section *s, const char *name, lam_node **h)
{
    lam_cfg *c = x->c;
    lam_graph *g = x->g;
    lam_batchnorm_opts o = lam_batchnorm_opts_defaults();
    double eps, mom;
    TRY(lam_cfg_double(c, s, "eps", o.eps, 1e-12, 1.0, &eps));
    TRY(lam_cfg_double(c, s, "momentum", o.momentum, 0.0, 1.0, &mom));
    o.eps = (float)eps;
    o.momentum = (float)mom;
    *h = lam_nn_batchnorm(g, *h, name, &o);
    return LAM_OK;
}

static lam_status parse_dropout(layer_ctx *x, lam_cfg_section *s, const char *name, lam_node **h)
{
    lam_cfg *c = x->c;
    lam_graph *g = x->g;
    double rate;
    bool spatial;
    TRY(lam_cfg_double(c, s, "rate", 0.5, 0.0, 0.99, &rate));
    TRY(lam_cfg_bool(c, s, "spatial", false, &spatial));
    *h = spatial ? lam_dropout2d(g, *h, (float)rate) : lam_dropout(g, *h, (float)rate);
    if (*h) lam_node_set_name(g, *h, name);
    return LAM_OK;
}

static lam_status parse_activation(layer_ctx *x, lam_cfg_section *s, const char *name, lam_node **h)
{
    lam_cfg *c = x->c;
    lam_graph *g = x->g;
    lam_act a;
    TRY(require(c, s, "activation"));
    TRY(get_act(c, s, &a));
    if (a == LAM_ACT_NONE) return LAM_OK;
    *h = lam_activation(g, *h, a);
    if (*h) lam_node_set_name(g, *h, name);
    return LAM_OK;
}

/* [attention]: attention pooling of a sequence into one vector; the
 * weights are kept readable as node NAME.weights (lamina predict
 * --attention writes them) */
static lam_status parse_attention(layer_ctx *x, lam_cfg_section *s, const char *name, lam_node **h)
{
    lam_cfg *c = x->c;
    lam_graph *g = x->g;
    static const char *const scores[] = {"dot", "general", "additive", NULL};
    int sc;
    TRY(lam_cfg_choice(c, s, "score", scores, LAM_ATTN_ADDITIVE, &sc));
    lam_attention_opts o = lam_attention_opts_defaults((lam_attn_score)sc);
    long units;
    TRY(lam_cfg_int(c, s, "units", o.units, 1, 1 << 16, &units));
    o.units = (int)units;
    TRY(lam_cfg_bool(c, s, "scaled", false, &o.scaled));
    lam_shape xs = lam_node_shape(*h);
    char sb[64];
    if (xs.ndim != 3)
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: [attention] pools a sequence [batch, time, features], has %s", c->path,
                        s->line, lam_shape_str(&xs, sb, sizeof sb));
    *h = lam_nn_attention_pool(g, *h, lam_graph_node(g, "lengths"), name, &o);
    if (*h) {
        char wn[300];
        snprintf(wn, sizeof wn, "%s.weights", name);
        lam_node *w = lam_node_output(g, lam_node_input(*h, 0), 0);
        if (w && lam_node_set_name(g, w, wn) == LAM_OK) lam_graph_mark_output(g, w);
    }
    return LAM_OK;
}

static lam_status parse_seq_pool(layer_ctx *x, lam_cfg_section *s, const char *name, lam_node **h)
{
    lam_cfg *c = x->c;
    static const char *const modes[] = {"mean", "max", "sum", "last", "first", NULL};
    int md;
    TRY(lam_cfg_choice(c, s, "mode", modes, LAM_SEQ_POOL_MEAN, &md));
    *h = lam_nn_seq_pool(x->g, *h, lam_graph_node(x->g, "lengths"), name, (lam_seq_pool_mode)md);
    return LAM_OK;
}

/* [layernorm], [rmsnorm]: over the last dimension */
static lam_status parse_norm(layer_ctx *x, lam_cfg_section *s, const char *name, lam_node **h)
{
    lam_cfg *c = x->c;
    double eps;
    bool bias = false;
    bool rms = !strcmp(s->name, "rmsnorm");
    TRY(lam_cfg_double(c, s, "eps", rms ? 1e-6 : 1e-5, 1e-12, 1.0, &eps));
    if (!rms) TRY(lam_cfg_bool(c, s, "bias", true, &bias));
    *h = lam_nn_norm(x->g, *h, name, rms ? LAM_NORM_RMS : LAM_NORM_LAYER, (float)eps, bias);
    return LAM_OK;
}

/* [transformer]: `repeat` pre-LN blocks named NAME.0, NAME.1, ... (NAME
 * alone for one) */
static lam_status parse_transformer(layer_ctx *x, lam_cfg_section *s, const char *name, lam_node **h)
{
    lam_cfg *c = x->c;
    lam_shape xs = lam_node_shape(*h);
    char sb[64];
    if (xs.ndim != 3)
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: [transformer] needs a sequence [batch, time, features], has %s%s", c->path,
                        s->line, lam_shape_str(&xs, sb, sizeof sb),
                        lam_node_dtype(*h) == LAM_DTYPE_I32 ? "; hint: an [embedding] first turns token ids into vectors"
                                                            : "");
    long heads, kv, hidden, repeat;
    TRY(require(c, s, "heads"));
    TRY(lam_cfg_int(c, s, "heads", 0, 1, 1 << 12, &heads));
    lam_transformer_opts o = lam_transformer_opts_defaults((int)heads);
    TRY(lam_cfg_int(c, s, "kv_heads", heads, 1, heads, &kv));
    o.kv_heads = (int)kv;
    TRY(lam_cfg_int(c, s, "mlp_hidden", 0, 0, 1 << 20, &hidden)); /* 0: the block's default */
    o.mlp_hidden = (int)hidden;
    TRY(lam_cfg_int(c, s, "repeat", 1, 1, 1024, &repeat));
    static const char *const norms[] = {"layernorm", "rmsnorm", NULL};
    int nk;
    TRY(lam_cfg_choice(c, s, "norm", norms, LAM_NORM_LAYER, &nk));
    o.norm = (lam_norm_kind)nk;
    double eps, drop, init_std;
    TRY(lam_cfg_double(c, s, "norm_eps", 1e-5, 1e-12, 1.0, &eps));
    o.norm_eps = (float)eps;
    int line = s->line;
    const char *act = lam_cfg_raw(c, s, "activation", &line);
    if (act && !strcmp(act, "swiglu")) o.swiglu = true;
    else if (act && (!lam_act_from_name(act, &o.mlp_act) || o.mlp_act == LAM_ACT_NONE))
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: [transformer] activation '%s': gelu, gelu_tanh, silu, relu, tanh, "
                                        "sigmoid or swiglu", c->path, line, act);
    static const char *const positions[] = {"none", "rope", NULL};
    int rope;
    TRY(lam_cfg_choice(c, s, "position", positions, 0, &rope));
    o.rope = rope == 1;
    double theta;
    TRY(lam_cfg_double(c, s, "rope_theta", 10000.0, 1.0 + 1e-6, 1e12, &theta));
    o.rope_theta = (float)theta;
    if (!o.rope && lam_cfg_raw(c, s, "rope_theta", NULL))
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: rope_theta goes with position = rope", c->path, s->line);
    if (o.rope && (xs.d[2] / heads) % 2)
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: position = rope needs an even head size, has %lld", c->path, s->line,
                        (long long)(xs.d[2] / heads));
    /* a language model's blocks are causal; a classifier's see the whole text */
    TRY(lam_cfg_bool(c, s, "causal", x->m->next_token, &o.causal));
    TRY(lam_cfg_bool(c, s, "bias", true, &o.bias));
    TRY(lam_cfg_bool(c, s, "recompute", false, &o.recompute));
    TRY(lam_cfg_double(c, s, "dropout", 0.0, 0.0, 0.99, &drop));
    o.dropout = (float)drop;
    TRY(lam_cfg_double(c, s, "attention_dropout", drop, 0.0, 0.99, &drop)); /* nanoGPT: the same rate */
    o.attn_dropout = (float)drop;
    lam_init_kind ik = LAM_INIT_NORMAL;
    if (lam_cfg_raw(c, s, "init", NULL)) TRY(get_init(c, s, &ik));
    o.init = ik;
    TRY(lam_cfg_double(c, s, "init_std", 0.02, 0.0, 100.0, &init_std));
    o.init_a = (float)init_std;
    if (xs.d[2] % heads || heads % kv)
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: [transformer] heads = %ld must divide the width %lld and kv_heads = %ld "
                                        "the heads", c->path, s->line, heads, (long long)xs.d[2], kv);
    if (x->states) {
        if (!o.causal)
            return lam_fail(LAM_ERR_ARG, "%s:%d: a bidirectional (causal = false) block reads the whole sequence, so it "
                                         "cannot generate", c->path, s->line);
        TRY(gen_positions(x, (int)x->m->sample.d[0]));
    }
    for (long k = 0; k < repeat && *h; k++) {
        char bn[300];
        if (repeat > 1) snprintf(bn, sizeof bn, "%s.%ld", name, k);
        else snprintf(bn, sizeof bn, "%s", name);
        if (!x->states) {
            *h = lam_nn_transformer_block(x->g, *h, lam_graph_node(x->g, "lengths"), bn, &o);
            continue;
        }
        /* a decoding step: this block's key/value cache */
        if (x->states->n_cache + 2 > LAM_MAX_CACHES)
            return lam_fail(LAM_ERR_ARG, "%s: more than %d transformer blocks to generate with", c->path,
                            LAM_MAX_CACHES / 2);
        int64_t kvw = (int64_t)kv * (xs.d[2] / heads), cap = x->states->cap;
        char kn[320], vn[320];
        snprintf(kn, sizeof kn, "%s.kcache", bn);
        snprintf(vn, sizeof vn, "%s.vcache", bn);
        lam_node *kc = lam_input(x->g, kn, lam_shape2(kvw, cap)), *vc = lam_input(x->g, vn, lam_shape2(cap, kvw));
        x->states->cache[x->states->n_cache++] = kc;
        x->states->cache[x->states->n_cache++] = vc;
        *h = lam_nn_transformer_block_step(x->g, *h, bn, &o, kc, vc, x->states->pos);
    }
    return LAM_OK;
}

typedef lam_status (*layer_fn)(layer_ctx *x, lam_cfg_section *s, const char *name, lam_node **h);
static const struct {
    const char *section, *prefix;
    layer_fn fn;
} layers[] = {
    {"dense", "fc", parse_dense},         {"conv2d", "conv", parse_conv},      {"maxpool", "pool", parse_pool},
    {"avgpool", "avgpool", parse_pool},   {"global_avgpool", "gap", parse_gap}, {"flatten", "flatten", parse_flatten},
    {"batchnorm", "bn", parse_bn},        {"dropout", "dropout", parse_dropout}, {"activation", "act", parse_activation},
    {"embedding", "emb", parse_embedding}, {"lstm", "lstm", parse_rnn},        {"gru", "gru", parse_rnn},
    {"rnn", "rnn", parse_rnn},            {"attention", "attention", parse_attention},
    {"seq_pool", "seqpool", parse_seq_pool}, {"layernorm", "ln", parse_norm},  {"rmsnorm", "rmsnorm", parse_norm},
    {"transformer", "block", parse_transformer},
};
#define NLAYERS ((int)(sizeof layers / sizeof layers[0]))

/* sections that are not layers */
static bool is_setting(const char *name)
{
    return !strcmp(name, "net") || !strcmp(name, "data") || !strcmp(name, "train") || !strcmp(name, "augment") ||
           !strcmp(name, "stage");
}

static int layer_kind(const char *section)
{
    for (int k = 0; k < NLAYERS; k++)
        if (!strcmp(layers[k].section, section)) return k;
    return -1;
}

bool lam_section_is_layer_(const lam_model *m, int i) { return layer_kind(m->cfg->sec[i].name) >= 0; }

bool lam_section_is_learnable_(const lam_model *m, int i)
{
    const char *n = m->cfg->sec[i].name;
    return !strcmp(n, "dense") || !strcmp(n, "conv2d") || !strcmp(n, "embedding") || !strcmp(n, "lstm") ||
           !strcmp(n, "gru") || !strcmp(n, "rnn") || !strcmp(n, "attention") || !strcmp(n, "layernorm") ||
           !strcmp(n, "rmsnorm") || !strcmp(n, "transformer");
}

const char *lam_section_layer_name_(lam_model *m, int i, char *buf, size_t n)
{
    lam_cfg *c = m->cfg;
    int k = layer_kind(c->sec[i].name), count = 0;
    for (int j = 0; j <= i; j++) count += !strcmp(c->sec[j].name, c->sec[i].name);
    snprintf(buf, n, "%s%d", k >= 0 ? layers[k].prefix : "layer", count);
    const char *name;
    lam_cfg_str(c, &c->sec[i], "name", buf, &name);
    return name;
}

/* Optional per-layer optimiser keys of a section that created graph layers
 * [first, last): stored in m->layer_opts. */
static lam_status layer_opts(lam_model *m, lam_cfg_section *s, int first, int last)
{
    lam_layer_opts o;
    TRY(lam_cfg_double(m->cfg, s, "lr", -1.0, 0.0, 1e3, &o.lr));
    TRY(lam_cfg_double(m->cfg, s, "momentum", -1.0, 0.0, 1.0, &o.momentum));
    TRY(lam_cfg_double(m->cfg, s, "weight_decay", -1.0, 0.0, 1e3, &o.weight_decay));
    if (first == last && (o.lr >= 0 || o.momentum >= 0 || o.weight_decay >= 0))
        return lam_fail(LAM_ERR_FORMAT, "%s:%d: [%s] has no parameters, so no lr, momentum or weight_decay",
                        m->cfg->path, s->line, s->name);
    if (last > m->n_layer_opts) {
        lam_layer_opts *n = lam_realloc(m->layer_opts, sizeof *n * (size_t)m->n_layer_opts, sizeof *n * (size_t)last);
        if (!n) return LAM_ERR_NOMEM;
        for (int i = m->n_layer_opts; i < last; i++) n[i] = (lam_layer_opts){-1, -1, -1};
        m->layer_opts = n;
        m->n_layer_opts = last;
    }
    for (int i = first; i < last; i++) m->layer_opts[i] = o;
    return LAM_OK;
}

lam_status lam_build_sections_(lam_model *m, lam_graph *g, lam_node *h, int from, int to, lam_node **out)
{
    return lam_build_sections_ex_(m, g, h, from, to, NULL, out);
}

lam_status lam_build_sections_ex_(lam_model *m, lam_graph *g, lam_node *h, int from, int to, lam_state_links *states,
                                  lam_node **out)
{
    lam_cfg *c = m->cfg;
    layer_ctx x = {c, g, m, states};
    for (int i = from; i < to; i++) {
        lam_cfg_section *s = &c->sec[i];
        int k = layer_kind(s->name);
        if (k < 0) continue;
        char autoname[64];
        const char *name = lam_section_layer_name_(m, i, autoname, sizeof autoname);
        int before = lam_graph_layer_count(g);
        TRY(layers[k].fn(&x, s, name, &h));
        if (!h) return lam_fail(lam_graph_status(g), "%s:%d: [%s]: %s", c->path, s->line, s->name, lam_graph_error(g));
        if (g == m->g) TRY(layer_opts(m, s, before, lam_graph_layer_count(g)));
    }
    *out = h;
    return LAM_OK;
}

lam_status lam_model_build_layers_(lam_model *m)
{
    lam_cfg *c = m->cfg;
    int n_layers = 0;
    for (int i = 0; i < c->n_sec; i++) {
        lam_cfg_section *s = &c->sec[i];
        if (is_setting(s->name)) continue;
        if (layer_kind(s->name) < 0) {
            char list[512] = "net, data, augment, train, stage";
            for (int j = 0; j < NLAYERS; j++) {
                strncat(list, ", ", sizeof list - strlen(list) - 1);
                strncat(list, layers[j].section, sizeof list - strlen(list) - 1);
            }
            return lam_fail(LAM_ERR_FORMAT, "%s:%d: unknown section [%s] (known: %s)", c->path, s->line, s->name, list);
        }
        n_layers++;
    }
    if (n_layers == 0) return lam_fail(LAM_ERR_FORMAT, "%s: the model has no layers", c->path);
    return lam_build_sections_(m, m->g, m->x, 0, c->n_sec, &m->out);
}
