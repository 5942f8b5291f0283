/* A character language model through the C API alone: token ids in, an
 * embedding, a two-layer LSTM over the whole window, a dense layer on every
 * step, cross-entropy against the next characters; trained with Adam on a
 * short rhyme, then asked to continue it greedily, one character at a time,
 * by feeding the whole window again (lam_generate does the same from a
 * model file, carrying the state instead).  Exit code 0 when it has learnt
 * the rhyme. */
#include <stdio.h>
#include <string.h>

#include "lamina/lamina.h"

int main(void)
{
    const char *text = "twinkle twinkle little star how I wonder what you are ";
    int n = (int)strlen(text);
    /* a vocabulary of the distinct bytes, ids in byte order */
    const char *texts[] = {text};
    size_t lens[] = {(size_t)n};
    lam_vocab_opts vo = lam_vocab_opts_defaults();
    lam_vocab *v;
    if (lam_vocab_build(&vo, texts, lens, 1, &v) != LAM_OK) return fprintf(stderr, "%s\n", lam_last_error()), 1;
    int32_t ids[64];
    int64_t nids;
    lam_vocab_encode(v, text, (size_t)n, ids, 64, &nids, NULL, NULL);
    int V = lam_vocab_size(v), T = 16, B = 16;

    /* 1. the graph: ids [B, T] -> [B, T, V] logits */
    lam_graph *g = lam_graph_new(3);
    lam_node *x = lam_input_ids(g, "x", lam_shape1(T));
    lam_node *y = lam_input_ids(g, "next", lam_shape1(T));
    lam_embedding_opts eo = lam_embedding_opts_defaults(V, 16);
    lam_rnn_opts ro = lam_rnn_opts_defaults(LAM_RNN_LSTM, 64);
    ro.layers = 2;
    lam_dense_opts dense = lam_dense_opts_defaults(V, LAM_ACT_NONE);
    lam_node *h = lam_nn_rnn(g, lam_nn_embedding(g, x, "emb", &eo), NULL, "lstm", &ro, NULL, NULL, NULL);
    lam_node *logits = lam_nn_dense(g, h, "head", &dense);
    lam_node *loss = lam_softmax_ce_loss(g, logits, y); /* mean over all B * T positions */
    lam_compile_opts co = lam_compile_opts_defaults();
    co.max_batch = B;
    if (lam_graph_compile(g, &co) != LAM_OK) return fprintf(stderr, "%s\n", lam_last_error()), 1;

    /* 2. Adam over every parameter */
    lam_param_span spans[16];
    size_t np = lam_graph_param_count(g);
    for (size_t i = 0; i < np; i++) {
        const lam_param_info *p = lam_graph_param_at(g, i);
        spans[i] = (lam_param_span){p->name, p->offset, p->numel, 0};
    }
    lam_param_group adam = lam_param_group_defaults(LAM_OPTIM_ADAM);
    adam.lr = 0.01;
    lam_optim *opt = lam_optim_new(LAM_OPTIM_ADAM, lam_graph_param_total(g), spans, np, &adam, 1);

    /* 3. train on windows at random places of the (cyclic) text */
    lam_rng rng;
    lam_rng_seed(&rng, 1);
    float first = 0, last = 0;
    for (int step = 0; step < 250; step++) {
        for (int b = 0; b < B; b++) {
            int o = (int)lam_rng_below(&rng, (uint32_t)n);
            for (int t = 0; t < T; t++) {
                lam_node_ids(x)[b * T + t] = ids[(o + t) % n];
                lam_node_ids(y)[b * T + t] = ids[(o + t + 1) % n];
            }
        }
        lam_graph_forward(g, B, true);
        lam_graph_zero_grad(g);
        lam_graph_backward(g, loss);
        lam_optim_step(opt, lam_graph_params(g), lam_graph_grads(g), 1.0f);
        last = lam_node_data(loss)[0];
        if (step == 0) first = last;
    }
    printf("training loss %.3f -> %.4f\n", first, last);

    /* 4. continue "twinkle twinkle " greedily, a window of the last T ids at a time */
    int32_t out[80];
    int len = T;
    memcpy(out, ids, sizeof(int32_t) * (size_t)T);
    while (len < 16 + 40) {
        memcpy(lam_node_ids(x), out + len - T, sizeof(int32_t) * (size_t)T);
        lam_graph_forward_to(g, logits, 1, false);
        const float *l = lam_node_data(logits) + (T - 1) * V; /* the last position */
        int best = 0;
        for (int j = 1; j < V; j++)
            if (l[j] > l[best]) best = j;
        out[len++] = best;
    }
    char buf[128];
    size_t blen;
    lam_vocab_decode(v, out, len, buf, sizeof buf, &blen);
    printf("%s\n", buf);
    int ok = 1; /* the rhyme, read round and round */
    for (int i = 0; i < (int)blen; i++) ok &= buf[i] == text[i % n];
    lam_optim_free(opt);
    lam_graph_free(g);
    lam_vocab_free(v);
    return ok ? 0 : 1;
}
