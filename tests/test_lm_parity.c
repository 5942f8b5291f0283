/* End-to-end training parity with PyTorch, in the spirit of llm.c: a tiny
 * character LSTM language model (Embedding(13, 8) -> LSTM(8, 16, 2 layers)
 * -> Linear(16, 13), softmax cross-entropy over every position) built with
 * the public C API, started from PyTorch's initial weights and trained for
 * twelve Adam steps (lr 1e-2) on PyTorch's batches, gives PyTorch's loss at
 * every step and its parameters at the end (tests/golden/lm_parity.txt, made
 * by tests/golden/make_lm_parity.py).  The whole run gives the same bits for
 * 1 and 2 threads. */
#include "parity.h"

enum { V = 13, E = 8, H = 16, L = 2, B = 4, T = 10 };

static lam_node *build(lam_graph *g, lam_node *x, lam_node *y)
{
    lam_embedding_opts eo = lam_embedding_opts_defaults(V, E);
    lam_node *e = lam_nn_embedding(g, x, "emb", &eo);
    lam_rnn_opts ro = lam_rnn_opts_defaults(LAM_RNN_LSTM, H);
    ro.layers = L;
    lam_node *h = lam_nn_rnn(g, e, NULL, "lstm", &ro, NULL, NULL, NULL);
    lam_dense_opts d = lam_dense_opts_defaults(V, LAM_ACT_NONE);
    lam_node *logits = lam_nn_dense(g, h, "head", &d); /* [B, T, V] */
    return lam_softmax_ce_loss(g, logits, y);           /* mean over B*T rows */
}

/* config: V, E, H, L, B, T, steps, lr.  Per-step loss within 1e-5 of
 * torch's (relative); final parameters within 1e-6 + 1e-4 |torch|. */
static const parity_spec *spec(void)
{
    static parity_spec sp = {.fixture = "tests/golden/lm_parity.txt", .B = B, .T = T, .ncfg = 8, .steps_at = 6,
                             .cfg = {V, E, H, L, B, T, 0, 1e-2}, .nparams = 3 + 4 * L, .build = build,
                             .optim = LAM_OPTIM_ADAM, .loss_rtol = 1e-5, .param_atol = 1e-6, .param_rtol = 1e-4,
                             .min_move = 0.05};
    sp.group = lam_param_group_defaults(LAM_OPTIM_ADAM);
    sp.group.lr = 1e-2;
    sp.group.beta1 = 0.9;
    sp.group.beta2 = 0.999;
    sp.group.eps = 1e-8;
    return &sp;
}

static void test_losses_match_torch(void) { parity_check_losses(spec()); }
static void test_final_params_match_torch(void) { parity_check_final(spec()); }
static void test_threads_same_bits(void) { parity_check_rerun(spec(), 2); }

int main(void)
{
    RUN(test_losses_match_torch);
    RUN(test_final_params_match_torch);
    RUN(test_threads_same_bits);
    parity_end();
    TEST_MAIN_END;
}
