/* Helpers shared by the golden tests that build graphs from fixture tensors
 * (test_golden_attention.c, test_golden_transformer.c): per-case tensor
 * lookup, shapes, batched inputs whose gradient can be read, parameters. */
#ifndef LAMINA_TESTS_GOLDEN_GRAPH_H
#define LAMINA_TESTS_GOLDEN_GRAPH_H

#include "golden.h"
#include "lamina/graph.h"
#include "test.h"

/* Tensor CASE.SUFFIX of the fixture; a missing required one fails a check,
 * a missing optional one is NULL without a message. */
static const golden_tensor *golden_case(const golden_file *gf, const char *cs, const char *suffix, bool required)
{
    char k[160];
    snprintf(k, sizeof k, "%s.%s", cs, suffix);
    if (required) {
        const golden_tensor *t = golden_get(gf, k);
        CHECK_MSG(t != NULL, "golden tensor %s missing", k);
        return t;
    }
    for (int i = 0; i < gf->count; i++)
        if (strcmp(gf->t[i].name, k) == 0) return &gf->t[i];
    return NULL;
}

/* t's shape from dimension `from` on (1: without the batch) */
static lam_shape golden_shape(const golden_tensor *t, int from)
{
    lam_shape s = {0, {0}};
    for (int i = from; i < t->ndim; i++) s.d[s.ndim++] = t->d[i];
    return s;
}

/* A batched tensor: an input holding t plus a zero bias (its gradient is the
 * returned node's). */
static lam_node *golden_batched(lam_graph *g, const char *name, const golden_tensor *t, lam_node **in)
{
    char nm[64];
    snprintf(nm, sizeof nm, "%s_in", name);
    *in = lam_input(g, nm, golden_shape(t, 1));
    snprintf(nm, sizeof nm, "%s_zero", name);
    return lam_bias_add(g, *in, lam_param(g, nm, lam_shape1(t->d[t->ndim - 1]), (lam_init){0}));
}

/* a parameter of t's shape (NULL for a NULL t) */
static lam_node *golden_param(lam_graph *g, const char *name, const golden_tensor *t)
{
    return t ? lam_param(g, name, golden_shape(t, 0), (lam_init){0}) : NULL;
}

#endif
