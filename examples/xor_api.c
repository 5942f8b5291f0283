/* The C API by example: build a small MLP with the graph and nn builders,
 * compile it once, and train it with a hand-written loop (forward, backward,
 * optimiser step) on XOR-like data.  Build: make examples; run:
 * build/examples/xor_api */
#include <stdio.h>

#include "lamina/lamina.h"

int main(void)
{
    /* 1. the graph: x [B,2] -> dense 16 tanh -> dense 2 -> cross-entropy */
    lam_graph *g = lam_graph_new(/*seed*/ 1);
    lam_node *x = lam_input(g, "x", lam_shape1(2));
    lam_dense_opts hidden = lam_dense_opts_defaults(16, LAM_ACT_TANH);
    lam_dense_opts output = lam_dense_opts_defaults(2, LAM_ACT_NONE);
    lam_node *h = lam_nn_dense(g, x, "hidden", &hidden);
    lam_node *logits = lam_nn_dense(g, h, "out", &output);
    lam_node *labels = lam_input_labels(g, "labels");
    lam_node *loss = lam_softmax_ce_loss(g, logits, labels);
    lam_graph_mark_output(g, logits);

    /* 2. compile for batches of up to 64: shapes, memory plan, parameters */
    lam_compile_opts co = lam_compile_opts_defaults();
    co.max_batch = 64;
    if (lam_graph_compile(g, &co) != LAM_OK) { /* any builder error shows here */
        fprintf(stderr, "%s\n", lam_last_error());
        lam_graph_free(g);
        return 1;
    }

    /* 3. an optimiser over every parameter, one group */
    lam_param_span spans[8];
    size_t n = lam_graph_param_count(g);
    for (size_t i = 0; i < n; i++) {
        const lam_param_info *p = lam_graph_param_at(g, i);
        spans[i] = (lam_param_span){p->name, p->offset, p->numel, 0};
    }
    lam_param_group adam = lam_param_group_defaults(LAM_OPTIM_ADAM);
    adam.lr = 0.05;
    lam_optim *opt = lam_optim_new(LAM_OPTIM_ADAM, lam_graph_param_total(g), spans, n, &adam, 1);

    /* 4. train: fill the input buffers, forward, backward, step */
    lam_rng rng;
    lam_rng_seed(&rng, 7);
    float last = 0;
    for (int step = 0; step < 300; step++) {
        float *xb = lam_node_data(x);
        int32_t *yb = lam_node_labels(labels);
        for (int i = 0; i < 64; i++) {
            float a = 2 * lam_rng_uniform(&rng) - 1, b = 2 * lam_rng_uniform(&rng) - 1;
            xb[2 * i] = a;
            xb[2 * i + 1] = b;
            yb[i] = (a > 0) != (b > 0); /* XOR of the signs */
        }
        lam_graph_forward(g, 64, true);
        lam_graph_zero_grad(g);
        lam_graph_backward(g, loss);
        lam_optim_step(opt, lam_graph_params(g), lam_graph_grads(g), 1.0f);
        last = lam_node_data(loss)[0];
    }
    printf("final training loss %.4f\n", last);

    /* 5. predict one point per quadrant (forward_to skips the loss) */
    float pts[4][2] = {{0.5f, 0.5f}, {-0.5f, 0.5f}, {-0.5f, -0.5f}, {0.5f, -0.5f}};
    for (int i = 0; i < 4; i++) {
        lam_node_data(x)[2 * i] = pts[i][0];
        lam_node_data(x)[2 * i + 1] = pts[i][1];
    }
    lam_graph_forward_to(g, logits, 4, false);
    int correct = 0;
    for (int i = 0; i < 4; i++) {
        const float *o = lam_node_data(logits) + 2 * i;
        int pred = o[1] > o[0], truth = (pts[i][0] > 0) != (pts[i][1] > 0);
        printf("(%+.1f, %+.1f) -> class %d\n", pts[i][0], pts[i][1], pred);
        correct += pred == truth;
    }
    lam_optim_free(opt);
    lam_graph_free(g);
    return correct == 4 ? 0 : 1;
}
