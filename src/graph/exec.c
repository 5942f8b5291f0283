/* Graph execution: forward over the node schedule, backward in reverse from a
 * scalar loss.  Nothing here allocates: buffers come from the compiled plan.
 * Backward works out, per call, which nodes lie on the loss's path and need a
 * gradient (frozen parameters cut whole branches), and zeroes each
 * intermediate gradient just before its first writer accumulates into it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph/graph_internal.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void lam_graph_set_profiling(lam_graph *g, bool on)
{
    g->profiling = on;
    for (int i = 0; i < g->n_nodes; i++) {
        g->nodes[i]->fwd_s = g->nodes[i]->bwd_s = 0;
        g->nodes[i]->fwd_n = g->nodes[i]->bwd_n = 0;
    }
}

void lam_graph_set_check_finite(lam_graph *g, bool on) { g->check_finite = on; }

/* The first element of x[0..n) that is NaN or infinite, or -1 */
static int64_t first_nonfinite(const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return i;
    return -1;
}

/* check_finite: the node's output after its forward, or (grad) the input
 * gradients its backward wrote */
static lam_status check_node(const lam_graph *g, const lam_node *n, bool grad, const lam_op_ctx *c)
{
    if (!grad) {
        if (n->dtype != LAM_DTYPE_F32 || !n->val) return LAM_OK;
        int64_t i = first_nonfinite(n->val, lam_node_numel(n));
        if (i >= 0)
            return lam_fail(LAM_ERR_NUMERIC, "forward: node %s (op %s) is the first to produce a non-finite value: %g "
                                             "at element %lld",
                            n->name, lam_op_name(n->op), (double)n->val[i], (long long)i);
        return LAM_OK;
    }
    for (int k = 0; k < n->n_in; k++) {
        if (!c->din[k]) continue;
        const lam_node *in = n->in[k];
        int64_t i = first_nonfinite(c->din[k], lam_node_numel(in));
        if (i >= 0)
            return lam_fail(LAM_ERR_NUMERIC, "backward: node %s (op %s) is the first to produce a non-finite gradient: "
                                             "%g at element %lld of the gradient of %s%s",
                            n->name, lam_op_name(n->op), (double)c->din[k][i], (long long)i, in->name,
                            in->op == LAM_OP_PARAM ? " (a parameter)" : "");
    }
    (void)g;
    return LAM_OK;
}

static int by_time(const void *a, const void *b)
{
    const lam_node *x = *(const lam_node *const *)a, *y = *(const lam_node *const *)b;
    double tx = x->fwd_s + x->bwd_s, ty = y->fwd_s + y->bwd_s;
    return tx < ty ? 1 : tx > ty ? -1 : x->id - y->id;
}

void lam_graph_profile_report(const lam_graph *g, char *buf, size_t n)
{
    size_t k = 0;
    double total = 0;
    for (int i = 0; i < g->n_nodes; i++) total += g->nodes[i]->fwd_s + g->nodes[i]->bwd_s;
    k += (size_t)snprintf(buf, n, "%-16s %-14s %10s %10s %6s\n", "node", "op", "forward s", "backward s", "share");
    /* sort a copy of the node pointers by total time (small: at most a few thousand) */
    lam_node **order = lam_malloc(sizeof *order * (size_t)(g->n_nodes ? g->n_nodes : 1));
    if (!order) return;
    memcpy(order, g->nodes, sizeof *order * (size_t)g->n_nodes);
    qsort(order, (size_t)g->n_nodes, sizeof *order, by_time);
    for (int i = 0; i < g->n_nodes && k < n; i++) {
        const lam_node *nd = order[i];
        if (nd->fwd_n == 0 && nd->bwd_n == 0) continue;
        k += (size_t)snprintf(buf + k, n - k, "%-16s %-14s %10.3f %10.3f %5.1f%%\n", nd->name, lam_op_name(nd->op),
                              nd->fwd_s, nd->bwd_s, total > 0 ? 100 * (nd->fwd_s + nd->bwd_s) / total : 0.0);
    }
    if (k < n) snprintf(buf + k, n - k, "%-31s %21.3f\n", "all ops", total);
    lam_free(order);
}

static int run_threads(const lam_graph *g)
{
    int t = lam_get_threads();
    return t < g->plan_threads ? t : g->plan_threads;
}

static void make_ctx(lam_graph *g, lam_node *n, lam_op_ctx *c, lam_status *st, char *msg, size_t len)
{
    memset(c, 0, sizeof *c);
    c->node = n;
    c->out = n->val;
    c->dout = n->grad;
    for (int k = 0; k < n->n_in; k++) c->in[k] = n->in[k]->val;
    for (int k = 0; k < n->n_aux; k++) c->aux[k] = n->aux_node[k] ? n->aux_node[k]->val : NULL;
    c->saved = n->saved;
    c->scratch = g->scratch;
    c->rng = &g->rng;
    c->nthreads = run_threads(g);
    c->sum = g->sum;
    c->sum_user = g->sum_user;
    int nparams = 0, nfrozen = 0;
    for (int k = 0; k < n->n_in; k++) {
        const lam_node *in = n->in[k];
        if (in->param < 0 || g->params[in->param].buffer) continue;
        nparams++;
        nfrozen += !g->params[in->param].trainable;
    }
    c->frozen = nparams > 0 && nfrozen == nparams;
    c->status = st;
    c->errmsg = msg;
    c->errlen = len;
}

/* Mark the nodes `target` depends on (all nodes when target is NULL). */
static void mark_path(lam_graph *g, const lam_node *target)
{
    for (int i = 0; i < g->n_nodes; i++) g->nodes[i]->on_path = target == NULL;
    if (!target) return;
    g->nodes[target->id]->on_path = true;
    for (int i = target->id; i >= 0; i--) {
        lam_node *n = g->nodes[i];
        if (!n->on_path) continue;
        for (int k = 0; k < n->n_in; k++) n->in[k]->on_path = true;
    }
}

lam_status lam_graph_forward(lam_graph *g, int batch, bool training)
{
    return lam_graph_forward_to(g, NULL, batch, training);
}

lam_status lam_graph_forward_to(lam_graph *g, lam_node *target, int batch, bool training)
{
    if (!g || !g->compiled) return lam_fail(LAM_ERR_STATE, "forward: the graph is not compiled");
    if (batch < 1 || batch > g->max_batch)
        return lam_fail(LAM_ERR_ARG, "forward: batch %d outside 1..%d (the compiled maximum)", batch, g->max_batch);
    if (batch != g->cur_batch) {
        lam_status s = lam_graph_reinfer(g, batch);
        if (s != LAM_OK) return s;
    }
    if (target && (target->id >= g->n_nodes || g->nodes[target->id] != target))
        return lam_fail(LAM_ERR_ARG, "forward: the target node is not in this graph");
    mark_path(g, target);
    lam_status st = LAM_OK;
    char msg[256] = "";
    if (g->recompute_plan) /* inner values back in their forward buffers */
        for (int i = 0; i < g->n_nodes; i++)
            if (g->nodes[i]->inner_seg >= 0) g->nodes[i]->val = g->nodes[i]->fval, g->nodes[i]->saved = g->nodes[i]->fsaved;
    for (int i = 0; i < g->n_nodes; i++) {
        lam_node *n = g->nodes[i];
        if (g->recompute_plan && n->seg >= 0 && g->segs[n->seg].first == i) g->segs[n->seg].rng = g->rng;
        if (n->op == LAM_OP_INPUT || n->op == LAM_OP_PARAM || !n->on_path) continue;
        lam_op_ctx c;
        make_ctx(g, n, &c, &st, msg, sizeof msg);
        c.training = training;
        double t0 = g->profiling ? now_s() : 0;
        lam_op_defs[n->op]->forward(&c);
        if (g->profiling) {
            n->fwd_s += now_s() - t0;
            n->fwd_n++;
        }
        if (st != LAM_OK) {
            g->fwd_done = false;
            return lam_fail(st, "forward, node %s: %s", n->name, msg);
        }
        if (g->check_finite && (st = check_node(g, n, false, &c)) != LAM_OK) {
            g->fwd_done = false;
            return st;
        }
    }
    g->fwd_done = target == NULL; /* backward needs every value */
    g->fwd_training = training;
    return LAM_OK;
}

void lam_graph_zero_grad(lam_graph *g)
{
    if (!g->grad_data) return;
    for (int i = 0; i < g->n_params; i++)
        if (g->params[i].trainable) memset(g->grad_data + g->params[i].offset, 0, g->params[i].numel * sizeof(float));
}

lam_status lam_graph_backward(lam_graph *g, lam_node *loss)
{
    if (loss && lam_node_numel(loss) != 1)
        return lam_fail(LAM_ERR_ARG, "backward: node %s is not a scalar (use lam_graph_backward_seed)", loss->name);
    const float one = 1.0f;
    return lam_graph_backward_seed(g, loss, &one);
}

/* The forward pass of segment k's inner nodes again, into their
 * recomputation buffers, from the dropout RNG state its first forward
 * started with. */
static lam_status recompute_segment(lam_graph *g, int k)
{
    const struct lam_segment *sg = &g->segs[k];
    lam_rng keep = g->rng;
    g->rng = sg->rng;
    lam_status st = LAM_OK;
    char msg[256] = "";
    for (int i = sg->first; i < sg->last && st == LAM_OK; i++) {
        lam_node *n = g->nodes[i];
        if (n->inner_seg != k) continue;
        n->val = n->rval;
        n->saved = n->rsaved;
        lam_op_ctx c;
        make_ctx(g, n, &c, &st, msg, sizeof msg);
        c.training = g->fwd_training;
        double t0 = g->profiling ? now_s() : 0;
        lam_op_defs[n->op]->forward(&c);
        if (g->profiling) n->fwd_s += now_s() - t0;
        if (st != LAM_OK) {
            g->rng = keep;
            return lam_fail(st, "forward (recomputed), node %s: %s", n->name, msg);
        }
    }
    g->rng = keep;
    return LAM_OK;
}

lam_status lam_graph_backward_seed(lam_graph *g, lam_node *loss, const float *seed)
{
    if (!g || !g->compiled || !g->training_plan)
        return lam_fail(LAM_ERR_STATE, "backward: the graph is not compiled for training");
    if (!g->fwd_done) return lam_fail(LAM_ERR_STATE, "backward: run forward first");
    if (!loss || loss->id >= g->n_nodes || g->nodes[loss->id] != loss)
        return lam_fail(LAM_ERR_ARG, "backward: the node is not in this graph");
    if (!loss->grad) return lam_fail(LAM_ERR_ARG, "backward: node %s has no gradient", loss->name);

    /* which nodes reach the loss, and which need a gradient */
    mark_path(g, loss);
    for (int i = 0; i <= loss->id; i++) {
        lam_node *n = g->nodes[i];
        if (n->op == LAM_OP_PARAM) n->needs_grad = g->params[n->param].trainable;
        else if (n->op == LAM_OP_INPUT || !lam_op_defs[n->op]->backward) n->needs_grad = false;
        else {
            n->needs_grad = false;
            for (int k = 0; k < n->n_in; k++) n->needs_grad |= n->in[k]->needs_grad;
        }
    }
    if (!loss->needs_grad) return LAM_OK; /* everything frozen: nothing to do */

    unsigned epoch = ++g->bwd_epoch;
    memcpy(loss->grad, seed, (size_t)lam_node_numel(loss) * sizeof(float));
    loss->grad_epoch = epoch;
    lam_status st = LAM_OK;
    char msg[256] = "";
    for (int i = loss->id; i >= 0; i--) {
        lam_node *n = g->nodes[i];
        if (g->recompute_plan && n->seg >= 0 && g->segs[n->seg].last == i && n->on_path && n->needs_grad) {
            lam_status rs = recompute_segment(g, n->seg);
            if (rs != LAM_OK) return rs;
        }
        /* an extra output's gradient is read by its producer's backward */
        if (!n->on_path || !n->needs_grad || n->op == LAM_OP_PARAM || n->op == LAM_OP_OUTPUT) continue;
        lam_op_ctx c;
        make_ctx(g, n, &c, &st, msg, sizeof msg);
        c.training = g->fwd_training;
        c.dout_masked = n->dout_relu_masked && n != loss;
        /* a node whose own output reached the loss only through its extra
         * outputs has a gradient nobody wrote */
        if (n->grad_epoch != epoch) {
            memset(n->grad, 0, (size_t)lam_node_numel(n) * sizeof(float));
            n->grad_epoch = epoch;
        }
        for (int k = 0; k < n->n_aux; k++) {
            const lam_node *a = n->aux_node[k];
            c.daux[k] = a && a->on_path && a->grad_epoch == epoch ? a->grad : NULL;
        }
        for (int k = 0; k < n->n_in; k++) {
            lam_node *in = n->in[k];
            if (!in->needs_grad) continue;
            if (in->op != LAM_OP_PARAM && in->grad_epoch != epoch) {
                /* the first writer: it sets the gradient if it can, else it
                 * is zeroed for the op to add into */
                if (!g->no_fresh && (lam_op_defs[n->op]->fresh >> k & 1)) c.din_fresh[k] = true;
                else memset(in->grad, 0, (size_t)lam_node_numel(in) * sizeof(float));
                in->grad_epoch = epoch;
            }
            c.din[k] = in->grad;
        }
        double t0 = g->profiling ? now_s() : 0;
        lam_op_defs[n->op]->backward(&c);
        if (g->profiling) {
            n->bwd_s += now_s() - t0;
            n->bwd_n++;
        }
        if (st != LAM_OK) return lam_fail(st, "backward, node %s: %s", n->name, msg);
        if (g->check_finite && (st = check_node(g, n, true, &c)) != LAM_OK) return st;
        if (g->bwd_hook) g->bwd_hook(g->bwd_hook_user, i);
    }
    return LAM_OK;
}

void lam_graph_set_reducer(lam_graph *g, lam_status (*sum)(void *user, double *buf, size_t n), void *user)
{
    g->sum = sum;
    g->sum_user = user;
}

void lam_graph_set_backward_hook(lam_graph *g, void (*fn)(void *user, int node), void *user)
{
    g->bwd_hook = fn;
    g->bwd_hook_user = user;
}
