/* End-to-end training parity with PyTorch, as llm.c tests its GPT-2: a
 * tiny GPT (token and learned position embeddings, two pre-LN blocks of
 * two heads with the fused causal attention, final LayerNorm, Linear head)
 * built with the public C API, started from PyTorch's initial weights and
 * trained for ten AdamW steps (lr 1e-2, weight decay 0.1 on every
 * parameter) on PyTorch's batches, gives PyTorch's loss at every step
 * (relative difference <= 1e-4) and its parameters at the end
 * (tests/golden/gpt_parity.txt, made by tests/golden/make_gpt_parity.py).
 * The whole run gives the same bits for 1 and 2 threads and with the
 * portable kernels. */
#include "kernels/isa.h"
#include "parity.h"

enum { V = 11, C = 16, NH = 2, L = 2, B = 3, T = 10 };

static lam_node *build(lam_graph *g, lam_node *x, lam_node *y)
{
    lam_embedding_opts eo = lam_embedding_opts_defaults(V, C);
    lam_node *h = lam_nn_embedding(g, x, "tok", &eo);
    h = lam_nn_pos_embedding(g, h, "pos", T, 0.02f);
    lam_transformer_opts to = lam_transformer_opts_defaults(NH);
    for (int l = 0; l < L; l++) {
        char bn[32];
        snprintf(bn, sizeof bn, "blocks.%d", l);
        h = lam_nn_transformer_block(g, h, NULL, bn, &to);
    }
    h = lam_nn_norm(g, h, "ln_f", LAM_NORM_LAYER, 1e-5f, true);
    lam_dense_opts d = lam_dense_opts_defaults(V, LAM_ACT_NONE);
    lam_node *logits = lam_nn_dense(g, h, "head", &d); /* [B, T, V] */
    return lam_softmax_ce_loss(g, logits, y);           /* mean over B*T rows */
}

/* config: V, C, NH, L, B, T, steps, lr, weight decay.  Per-step loss:
 * relative to torch's (the bound).  Final parameters: torch's own
 * float32 run is up to 39 x (1e-6 + 1e-4 |f64|) from its float64 run
 * (AdamW's steps amplify rounding where a gradient is near zero), so
 * 2e-4 + 2e-3 |torch| is the scale of agreement two correct float32
 * implementations reach. */
static const parity_spec *spec(void)
{
    static parity_spec sp = {.fixture = "tests/golden/gpt_parity.txt", .B = B, .T = T, .ncfg = 9, .steps_at = 6,
                             .cfg = {V, C, NH, L, B, T, 0, 1e-2, 0.1}, .nparams = 2 + 12 * L + 4, .build = build,
                             .optim = LAM_OPTIM_ADAMW, .loss_rtol = 1e-4, .param_atol = 2e-4, .param_rtol = 2e-3,
                             .min_move = 0.02};
    sp.group = lam_param_group_defaults(LAM_OPTIM_ADAMW);
    sp.group.lr = 1e-2;
    sp.group.beta1 = 0.9;
    sp.group.beta2 = 0.999;
    sp.group.eps = 1e-8;
    sp.group.weight_decay = 0.1;
    return &sp;
}

static void test_losses_match_torch(void) { parity_check_losses(spec()); }
static void test_final_params_match_torch(void) { parity_check_final(spec()); }
static void test_threads_same_bits(void) { parity_check_rerun(spec(), 2); }

static void test_portable_kernels_same_bits(void)
{
    lam_k_isa_force_generic(true);
    parity_check_rerun(spec(), 1);
    lam_k_isa_force_generic(false);
}

int main(void)
{
    RUN(test_losses_match_torch);
    RUN(test_final_params_match_torch);
    RUN(test_threads_same_bits);
    RUN(test_portable_kernels_same_bits);
    parity_end();
    TEST_MAIN_END;
}
