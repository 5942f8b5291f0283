/* Elementwise kernels of the recurrent cells for one time step: gate
 * nonlinearities and state updates (forward), and the gradients of the gate
 * pre-activations (backward), over the rows [0, B) of a batch and the
 * hidden units [j0, j1).
 *
 * Gate layout.  The gate pre-activations of one row are GW floats in a
 * permuted, padded order: hidden units come in blocks of LAM_RNN_UB, and
 * block u holds gate 0 of its units, then gate 1, ... (G gates), so that
 * one block of units has all its gates in one contiguous run and a thread
 * that owns whole blocks owns all their gates:
 *     column of (gate q, unit j) = (j / UB) * G * UB + q * UB + j % UB,
 *     GW = G * round_up(H, UB).
 * Gate orders are PyTorch's: LSTM i, f, g, o; GRU r, z, n.
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

#define LAM_RNN_UB 16

static inline int64_t lam_rnn_gate_col(int64_t q, int64_t j, int G)
{
    return (j / LAM_RNN_UB) * G * LAM_RNN_UB + q * LAM_RNN_UB + j % LAM_RNN_UB;
}

/* One time step of a cell, for rows [0, B) and units [j0, j1) (j0 a
 * multiple of LAM_RNN_UB).  Row stride of the gate buffers is GW, of the
 * states H.  valid: B flags or NULL (all valid).
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

/* Which build of the kernels runs: "avx512", "avx2" or "generic". */
const char *lam_k_rnn_isa(void);
/* Test hook: force the portable build (process-wide). */
void lam_k_rnn_force_generic(bool on);

#endif
