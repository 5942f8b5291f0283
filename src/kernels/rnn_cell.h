/* Elementwise kernels of the recurrent cells for one time step: gate
 * nonlinearities and state updates (forward), and the gradients of the gate
 * pre-activations (backward), over the rows [0, B) of a batch and the
 * hidden units [j0, j1).
 *
 * Gate layout: PyTorch's.  The gate pre-activations of one row are G*H
 * floats, gate q of unit j at column q*H + j (LSTM i, f, g, o; GRU r, z,
 * n), as the product with the weights in their own layout gives them; a
 * thread that owns units [j0, j1) owns those columns of every gate.
 *
 * The transcendental functions are our own (exp by range reduction and a
 * polynomial, tanh by an odd polynomial near zero), written with fmaf so
 * that the vector builds (AVX-512, AVX2) and the portable one give the same
 * bits; their error is within 2 ulp of the exact function.  Rows whose
 * `valid` flag is 0 (steps past a sequence's length) carry their state:
 * h and c are copied from the previous step and, in backward, their gate
 * gradients are set to zero and dc passes through. */
#ifndef LAMINA_KERNELS_RNN_CELL_H
#define LAMINA_KERNELS_RNN_CELL_H

#include <stdbool.h>
#include <stdint.h>

#include "lamina/graph.h"

/* Threads split the hidden units in blocks of this many: whole vectors,
 * and whole panels of a pre-packed weight (LAM_SGEMM_PACK_NR). */
#define LAM_RNN_UB 32

/* One time step of a cell, for rows [0, B) and units [j0, j1).  Row stride
 * of the gate buffers is GW (>= G*H), of the states H.  valid: B flags or
 * NULL (all valid).
 *
 * Forward:
 *   g     in: pre-activations (input projection + biases + recurrent
 *         product; for GRU without the recurrent part, which is in r);
 *         out: the gate activations (LSTM i f g o, GRU r z n, RNN h)
 *   r     GRU only: the recurrent product with b_hh (all three gates); kept
 *   h_prev, c_prev  states before the step; h, c  states after it
 * Backward (one step, time reversed):
 *   g     in: activations; out: gradients of the gate pre-activations
 *         (what flows into the input projection and b_ih)
 *   r     GRU only: out: gradients of the recurrent product (what flows
 *         into W_hh and b_hh); for the other cells it is g itself
 *   dh    in: gradient of h after the step (rows not valid: untouched)
 *   dhd   GRU only: out: the part of dh_prev that does not go through the
 *         recurrent product, dh * z (rows not valid: dh)
 *   dc    LSTM: in: gradient of c after the step; out: of c before it */
typedef struct lam_rnn_step {
    lam_rnn_cell cell;
    int B, H, GW, j0, j1;
    float *g, *r;
    const float *h_prev, *c_prev;
    float *h, *c;
    const unsigned char *valid;
    const float *dh;
    float *dhd, *dc;
} lam_rnn_step;

void lam_k_rnn_step_fwd(const lam_rnn_step *s);
void lam_k_rnn_step_bwd(const lam_rnn_step *s);

/* Vectorised sigmoid and tanh of n floats (the same functions as the cell
 * kernels use), for tests and other ops. */
void lam_k_sigmoid(const float *x, float *y, long n);
void lam_k_tanh(const float *x, float *y, long n);

/* Which build runs: kernels/isa.h (lam_k_isa_name, lam_k_isa_force_generic). */

#endif
