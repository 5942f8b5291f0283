/* Text generation with a trained language model.  The model's layer
 * sections are built once more into a graph of one token per step, whose
 * recurrent layers take their initial states as inputs and give their final
 * states as outputs, and whose Transformer blocks keep a key/value cache
 * read at a position input (lam_build_sections_ex_); the trained parameters
 * are copied in by name.  Each step feeds one token (at the next position)
 * and copies the final states back into the initial ones, so the prompt is
 * read once and every new token costs one step: for a Transformer, one row
 * of attention over the prefix.  When a cache is full (the model's context),
 * it is rebuilt from the last half of the context, and generation goes on.
 * Without the cache (no_cache), every token runs the whole network over the
 * last `context` tokens again: the reference the cache is tested and timed
 * against.  The next token is drawn from the softmax of the logits at a
 * temperature, optionally among the top k or the top p of the probability
 * mass, with a seeded RNG. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train/train_internal.h"

lam_generate_opts lam_generate_opts_defaults(void)
{
    return (lam_generate_opts){.prompt = "", .tokens = 100, .temperature = 1.0, .top_k = 0, .top_p = 1.0};
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The sections a step-by-step graph can run. */
static bool causal_section(const char *n)
{
    static const char *const ok[] = {"embedding", "lstm",       "gru",       "rnn",       "dense",      "dropout",
                                     "activation", "layernorm", "rmsnorm", "transformer", NULL};
    for (int i = 0; ok[i]; i++)
        if (!strcmp(n, ok[i])) return true;
    return false;
}

static size_t node_bytes(const lam_node *n)
{
    lam_shape s = lam_node_shape(n);
    return (size_t)lam_shape_numel(&s) * sizeof(float);
}

typedef struct gen {
    lam_graph *g;
    lam_node *x, *out;
    lam_state_links st;
    bool no_cache;
    int T;          /* tokens the graph takes: 1, or the context without the cache */
    int V;
    int64_t pos;    /* the next token's position in the caches */
    int32_t *hist;  /* the last T (no cache) or cap (cache) tokens, oldest first */
    int64_t nhist, cap_hist;
    const float *logits; /* the last step's next-token logits [V] */
} gen;

static lam_status copy_params(lam_model *m, gen *gn)
{
    for (size_t i = 0; i < lam_graph_param_count(gn->g); i++) {
        const lam_param_info *p = lam_graph_param_at(gn->g, i), *q = lam_graph_param_find(m->g, p->name);
        if (!q || q->numel != p->numel)
            return lam_fail(LAM_ERR_STATE, "generate: parameter %s is missing from the trained model", p->name);
        memcpy(lam_graph_params(gn->g) + p->offset, lam_graph_params(m->g) + q->offset, p->numel * sizeof(float));
    }
    return LAM_OK;
}

/* Zero states and caches: a fresh start at position 0. */
static void reset(gen *gn)
{
    for (int k = 0; k < gn->st.n; k++) memset(lam_node_data(gn->st.in[k]), 0, node_bytes(gn->st.in[k]));
    for (int k = 0; k < gn->st.n_cache; k++) memset(lam_node_data(gn->st.cache[k]), 0, node_bytes(gn->st.cache[k]));
    gn->pos = 0;
}

static lam_status build_step_graph(lam_model *m, gen *gn, bool no_cache)
{
    lam_cfg *c = m->cfg;
    for (int i = 0; i < c->n_sec; i++)
        if (lam_section_is_layer_(m, i) && !causal_section(c->sec[i].name))
            return lam_fail(LAM_ERR_ARG, "%s:%d: generate runs one token at a time, which a [%s] layer cannot", c->path,
                            c->sec[i].line, c->sec[i].name);
    gn->no_cache = no_cache;
    gn->T = no_cache ? (int)m->sample.d[0] : 1;
    gn->g = lam_graph_new(m->seed);
    if (!gn->g) return LAM_ERR_NOMEM;
    gn->x = lam_input_ids(gn->g, "x", lam_shape1(gn->T));
    if (!gn->x) return lam_graph_status(gn->g);
    /* without the cache: the network as trained, over a whole window */
    TRY(lam_build_sections_ex_(m, gn->g, gn->x, 0, c->n_sec, no_cache ? NULL : &gn->st, &gn->out));
    lam_graph_mark_output(gn->g, gn->out);
    lam_compile_opts co = lam_compile_opts_defaults();
    co.max_batch = 1;
    co.training = false;
    TRY(lam_graph_compile(gn->g, &co));
    TRY(copy_params(m, gn));
    gn->cap_hist = no_cache ? gn->T : gn->st.cap > 0 ? gn->st.cap : 1;
    gn->hist = lam_malloc(sizeof *gn->hist * (size_t)gn->cap_hist);
    if (!gn->hist) return LAM_ERR_NOMEM;
    reset(gn);
    return LAM_OK;
}

static void remember(gen *gn, int32_t id)
{
    if (gn->nhist == gn->cap_hist) {
        memmove(gn->hist, gn->hist + 1, sizeof *gn->hist * (size_t)(gn->nhist - 1));
        gn->nhist--;
    }
    gn->hist[gn->nhist++] = id;
}

/* One token through the step graph at position gn->pos. */
static lam_status cached_step(gen *gn, int32_t id)
{
    lam_node_ids(gn->x)[0] = id;
    if (gn->st.pos) lam_node_ids(gn->st.pos)[0] = (int32_t)gn->pos;
    TRY(lam_graph_forward_to(gn->g, gn->out, 1, false));
    for (int k = 0; k < gn->st.n; k++)
        memcpy(lam_node_data(gn->st.in[k]), lam_node_data(gn->st.out[k]), node_bytes(gn->st.in[k]));
    gn->pos++;
    return LAM_OK;
}

/* One token in: the logits of the next one in gn->logits. */
static lam_status step(gen *gn, int32_t id)
{
    remember(gn, id);
    if (gn->no_cache) { /* the whole window again; causal, so the padding after it changes nothing */
        int32_t *x = lam_node_ids(gn->x);
        for (int t = 0; t < gn->T; t++) x[t] = t < gn->nhist ? gn->hist[t] : gn->hist[0];
        TRY(lam_graph_forward_to(gn->g, gn->out, 1, false));
        gn->logits = lam_node_data(gn->out) + (gn->nhist - 1) * (int64_t)gn->V;
        return LAM_OK;
    }
    if (gn->st.pos && gn->pos == gn->st.cap) {
        /* the caches are full: start again from the last half of the context */
        int64_t keep = gn->st.cap / 2 > 0 ? gn->st.cap / 2 : 1;
        reset(gn);
        for (int64_t i = gn->nhist - keep; i < gn->nhist; i++) TRY(cached_step(gn, gn->hist[i]));
    } else {
        TRY(cached_step(gn, id));
    }
    gn->logits = lam_node_data(gn->out);
    return LAM_OK;
}

typedef struct cand {
    float p;
    int32_t id;
} cand;

static int by_p_desc(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    return x->p < y->p ? 1 : x->p > y->p ? -1 : x->id - y->id;
}

/* Draw the next token from logits[V]; cands: V entries of scratch. */
static int32_t sample(const float *logits, int V, const lam_generate_opts *o, lam_rng *rng, cand *cands)
{
    int best = 0;
    for (int j = 1; j < V; j++)
        if (logits[j] > logits[best]) best = j;
    if (o->temperature <= 0) return best;
    double mx = logits[best], z = 0;
    for (int j = 0; j < V; j++) {
        cands[j].id = j;
        cands[j].p = (float)exp(((double)logits[j] - mx) / o->temperature);
        z += cands[j].p;
    }
    int n = V;
    if (o->top_k > 0 || o->top_p < 1.0) {
        qsort(cands, (size_t)V, sizeof *cands, by_p_desc);
        if (o->top_k > 0 && o->top_k < n) n = o->top_k;
        if (o->top_p < 1.0) {
            double acc = 0;
            for (int j = 0; j < n; j++) {
                acc += cands[j].p / z;
                if (acc >= o->top_p) {
                    n = j + 1;
                    break;
                }
            }
        }
        z = 0;
        for (int j = 0; j < n; j++) z += cands[j].p;
    }
    double u = lam_rng_uniform_d(rng) * z, acc = 0;
    for (int j = 0; j < n; j++) {
        acc += cands[j].p;
        if (u < acc) return cands[j].id;
    }
    return cands[n - 1].id;
}

lam_status lam_generate(lam_model *m, const lam_generate_opts *o, void (*emit)(const char *text, size_t len, void *user),
                        void *user, lam_generate_stats *st)
{
    lam_generate_opts d = o ? *o : lam_generate_opts_defaults();
    lam_generate_stats z = {0};
    if (!st) st = &z;
    memset(st, 0, sizeof *st);
    if (!m->next_token || !m->vocab)
        return lam_fail(LAM_ERR_ARG, "generate: %s is not a language model (it needs [data] format = corpus)", m->cfg->path);
    if (d.tokens < 0 || !(d.temperature >= 0) || !(d.top_p > 0 && d.top_p <= 1) || d.top_k < 0)
        return lam_fail(LAM_ERR_ARG, "generate: tokens %d, temperature %g, top_k %d, top_p %g out of range", d.tokens,
                        d.temperature, d.top_k, d.top_p);
    const char *prompt = d.prompt ? d.prompt : "";
    size_t plen = d.prompt ? d.prompt_len : 0;
    gen gn = {0};
    int V = lam_vocab_size(m->vocab);
    int32_t *ids = lam_malloc(sizeof *ids * (plen + 1));
    cand *cands = lam_malloc(sizeof *cands * (size_t)V);
    size_t stop_len = d.stop ? strlen(d.stop) : 0, tail_cap = stop_len + LAM_TOKEN_MAX_BYTES + 8, tail_len = 0;
    char *tail = lam_malloc(tail_cap + 1);
    lam_status s = LAM_OK;
    if (!ids || !cands || !tail) {
        s = LAM_ERR_NOMEM;
        goto done;
    }
    int64_t n;
    if ((s = lam_vocab_encode(m->vocab, prompt, plen, ids, (int64_t)plen + 1, &n, NULL, "the prompt")) != LAM_OK) goto done;
    if (n < 1) {
        s = lam_fail(LAM_ERR_ARG, "generate: the prompt must hold at least one token");
        goto done;
    }
    gn.V = V;
    if ((s = build_step_graph(m, &gn, d.no_cache)) != LAM_OK) goto done;
    double t0 = now_s();
    int64_t first = 0;
    if (gn.st.pos && n > gn.st.cap) first = n - gn.st.cap; /* a prompt longer than the context: its end */
    if (gn.no_cache && n > gn.T) first = n - gn.T;
    if (gn.no_cache) { /* the prompt in one pass */
        for (int64_t i = first; i + 1 < n; i++) remember(&gn, ids[i]);
        s = step(&gn, ids[n - 1]);
    } else {
        for (int64_t i = first; i < n && s == LAM_OK; i++) s = step(&gn, ids[i]);
    }
    if (s != LAM_OK) goto done;
    st->prompt_tokens = n - first; /* the tokens read */
    st->prompt_s = now_s() - t0;
    t0 = now_s();
    lam_rng rng;
    lam_rng_seed(&rng, d.seed);
    bool words = lam_vocab_tokenizer(m->vocab) == LAM_TOKENIZER_WORD;
    for (int k = 0; k < d.tokens; k++) {
        int32_t id = sample(gn.logits, V, &d, &rng, cands);
        size_t len;
        const char *tok = lam_vocab_token(m->vocab, id, &len);
        if (id == lam_vocab_pad_id(m->vocab)) len = 0;
        if (id == lam_vocab_unk_id(m->vocab)) tok = "\xEF\xBF\xBD", len = 3;
        if (words && len && emit) emit(" ", 1, user);
        if (len && emit) emit(tok, len, user);
        st->tokens++;
        if (stop_len) { /* keep the last bytes to find the stop string */
            if (len > tail_cap) tok += len - tail_cap, len = tail_cap;
            if (tail_len + len > tail_cap) {
                size_t drop = tail_len + len - tail_cap;
                memmove(tail, tail + drop, tail_len - drop);
                tail_len -= drop;
            }
            memcpy(tail + tail_len, tok, len);
            tail_len += len;
            if (tail_len >= stop_len && !memcmp(tail + tail_len - stop_len, d.stop, stop_len)) break;
        }
        if (k + 1 < d.tokens && (s = step(&gn, id)) != LAM_OK) break;
    }
    st->generate_s = now_s() - t0;
done:
    lam_graph_free(gn.g);
    lam_free(gn.hist);
    lam_free(ids);
    lam_free(cands);
    lam_free(tail);
    return s;
}
