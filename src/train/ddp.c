/* Data-parallel training's gradient sums (lam_fit with a communicator of
 * more than one rank): the flat gradient array cut into buckets, last layer
 * first, each summed over the ranks with a non-blocking all-reduce started as
 * soon as backward has written its last gradient (the graph's backward hook)
 * so that communication overlaps the rest of backward; lam_ddp_finish_
 * starts what is left and waits for every bucket before the optimiser step.
 * Buckets are contiguous ranges of the gradient array, so the sums run in
 * place; padding and frozen parameters inside a range hold zeros. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_internal.h"

typedef struct bucket {
    size_t off, n;  /* floats of the gradient array */
    int threshold;  /* ready once backward has done a node with an id <= this */
    int req;        /* the running sum */
    bool started, done;
} bucket;

struct lam_ddp {
    lam_comm *comm;
    lam_graph *g;
    bucket *b;
    int nb;
    bool armed;      /* the hook starts buckets (the step's last backward) */
    lam_status st;   /* the first error the hook met */
};

typedef struct pinfo {
    size_t off, numel;
    int first_use;   /* lowest id of a node that reads the parameter (INT_MAX: none) */
} pinfo;

static int by_offset_desc(const void *a, const void *b)
{
    const pinfo *x = a, *y = b;
    return x->off < y->off ? 1 : x->off > y->off ? -1 : 0;
}

lam_status lam_ddp_new_(lam_model *m, lam_comm *c, size_t bucket_bytes, lam_ddp **out)
{
    *out = NULL;
    lam_graph *g = m->g;
    size_t np = lam_graph_param_count(g);
    int nn = lam_graph_node_count(g);
    lam_ddp *d = lam_calloc(1, sizeof *d);
    pinfo *p = lam_calloc(np ? np : 1, sizeof *p);
    int *first = lam_malloc(sizeof(int) * (size_t)(nn ? nn : 1)); /* per parameter node id */
    if (!d || !p || !first) {
        lam_free(d);
        lam_free(p);
        lam_free(first);
        return LAM_ERR_NOMEM;
    }
    for (int i = 0; i < nn; i++) first[i] = INT_MAX;
    for (int i = 0; i < nn; i++) { /* each node marks the parameters it reads */
        lam_node *n = lam_graph_node_at(g, i);
        lam_node *in;
        for (int k = 0; (in = lam_node_input(n, k)) != NULL; k++)
            if (first[lam_node_id(in)] > i) first[lam_node_id(in)] = i;
    }
    size_t ntr = 0;
    for (size_t i = 0; i < np; i++) {
        const lam_param_info *pi = lam_graph_param_at(g, i);
        if (!pi->trainable) continue;
        lam_node *pn = lam_graph_node(g, pi->name);
        p[ntr++] = (pinfo){pi->offset, pi->numel, pn ? first[lam_node_id(pn)] : INT_MAX};
    }
    lam_free(first);
    qsort(p, ntr, sizeof *p, by_offset_desc);
    /* buckets from the end of the array: the last layers' gradients are
     * written first */
    d->b = lam_calloc(ntr ? ntr : 1, sizeof *d->b);
    if (!d->b) {
        lam_free(p);
        lam_free(d);
        return LAM_ERR_NOMEM;
    }
    size_t want = bucket_bytes / sizeof(float);
    for (size_t i = 0; i < ntr;) {
        bucket *bk = &d->b[d->nb++];
        size_t hi = p[i].off + p[i].numel, lo = p[i].off;
        bk->threshold = INT_MAX;
        while (i < ntr && (hi - lo < want || lo == p[i].off)) {
            lo = p[i].off;
            if (p[i].first_use < bk->threshold) bk->threshold = p[i].first_use;
            i++;
        }
        bk->off = lo;
        bk->n = hi - lo;
    }
    lam_free(p);
    d->comm = c;
    d->g = g;
    lam_graph_set_backward_hook(g, lam_ddp_on_node_, d);
    *out = d;
    return LAM_OK;
}

void lam_ddp_free_(lam_ddp *d)
{
    if (!d) return;
    lam_graph_set_backward_hook(d->g, NULL, NULL);
    lam_free(d->b);
    lam_free(d);
}

int lam_ddp_buckets_(const lam_ddp *d) { return d ? d->nb : 0; }

static void start(lam_ddp *d, bucket *bk)
{
    lam_status s = lam_comm_isum_f32(d->comm, lam_graph_grads(d->g) + bk->off, bk->n, &bk->req);
    if (s != LAM_OK && d->st == LAM_OK) d->st = s;
    bk->started = true;
}

void lam_ddp_on_node_(void *user, int id)
{
    lam_ddp *d = user;
    if (!d->armed) return;
    for (int i = 0; i < d->nb; i++) {
        bucket *bk = &d->b[i];
        if (!bk->started && bk->threshold >= id) start(d, bk);
        else if (bk->started && !bk->done && d->st == LAM_OK) { /* let MPI progress */
            lam_status s = lam_comm_test(d->comm, bk->req, &bk->done);
            if (s != LAM_OK) d->st = s;
        }
    }
}

void lam_ddp_arm_(lam_ddp *d, bool on)
{
    d->armed = on;
    d->st = LAM_OK;
    for (int i = 0; i < d->nb; i++) d->b[i].started = d->b[i].done = false;
}

lam_status lam_ddp_finish_(lam_ddp *d)
{
    for (int i = 0; i < d->nb; i++)
        if (!d->b[i].started) start(d, &d->b[i]);
    lam_status s = d->st;
    for (int i = 0; i < d->nb; i++) {
        bucket *bk = &d->b[i];
        if (!bk->started || bk->done) continue;
        lam_status w = lam_comm_wait(d->comm, bk->req);
        bk->done = true;
        if (s == LAM_OK) s = w;
    }
    d->armed = false;
    return s;
}
