/* Convolution and normalisation layers: Conv2D (with "same" padding resolved
 * here) and BatchNorm with its running-statistics buffers. */
#include <stdio.h>

#include "lamina/nn.h"

lam_conv2d_opts lam_conv2d_opts_defaults(int filters, int kernel, lam_act act)
{
    return (lam_conv2d_opts){.filters = filters, .kh = kernel, .kw = kernel, .stride_h = 1, .stride_w = 1,
                             .padding = LAM_PAD_VALID, .dil_h = 1, .dil_w = 1, .act = act, .bias = true,
                             .init = LAM_INIT_TORCH_DEFAULT, .algo = LAM_CONV_AUTO};
}

lam_node *lam_nn_conv2d(lam_graph *g, lam_node *x, const char *name, const lam_conv2d_opts *o)
{
    if (!g) return NULL;
    if (lam_graph_status(g) != LAM_OK) return NULL;
    if (!x || !o || !name) {
        lam_graph_fail(g, LAM_ERR_ARG, "conv2d: NULL input, options or name");
        return NULL;
    }
    lam_shape xs = lam_node_shape(x);
    char sb[64];
    if (xs.ndim != 4) {
        lam_graph_fail(g, LAM_ERR_SHAPE, "conv2d %s: input %s, expected [B, C, H, W] (set [net] input = C, H, W)", name,
                       lam_shape_str(&xs, sb, sizeof sb));
        return NULL;
    }
    if (o->filters <= 0 || o->kh <= 0 || o->kw <= 0) {
        lam_graph_fail(g, LAM_ERR_ARG, "conv2d %s: filters %d and kernel %dx%d must be positive", name, o->filters,
                       o->kh, o->kw);
        return NULL;
    }
    lam_conv2d_args a = {o->stride_h, o->stride_w, 0, 0, o->dil_h, o->dil_w, o->act, o->algo};
    if (o->padding == LAM_PAD_EXPLICIT) {
        a.pad_h = o->pad_h;
        a.pad_w = o->pad_w;
    } else if (o->padding == LAM_PAD_SAME) {
        int eh = o->dil_h * (o->kh - 1), ew = o->dil_w * (o->kw - 1);
        if (o->stride_h != 1 || o->stride_w != 1 || eh % 2 || ew % 2) {
            lam_graph_fail(g, LAM_ERR_ARG,
                           "conv2d %s: padding = same needs stride 1 and an odd kernel (got %dx%d, stride %d,%d); give explicit padding",
                           name, o->kh, o->kw, o->stride_h, o->stride_w);
            return NULL;
        }
        a.pad_h = eh / 2;
        a.pad_w = ew / 2;
    }
    char pn[256];
    lam_graph_begin_layer(g, name);
    snprintf(pn, sizeof pn, "%s.weight", name);
    lam_node *w = lam_param(g, pn, lam_shape4(o->filters, xs.d[1], o->kh, o->kw), (lam_init){o->init, 0, 0});
    lam_node *b = NULL;
    if (o->bias) {
        snprintf(pn, sizeof pn, "%s.bias", name);
        int64_t fan_in = xs.d[1] * o->kh * o->kw;
        b = lam_param(g, pn, lam_shape1(o->filters),
                      (lam_init){o->init == LAM_INIT_TORCH_DEFAULT ? LAM_INIT_TORCH_DEFAULT : LAM_INIT_ZEROS, 0, fan_in});
        if (!b) return NULL;
    }
    lam_node *y = lam_conv2d_op(g, x, w, b, &a);
    if (y && lam_node_set_name(g, y, name) != LAM_OK) return NULL;
    return y;
}

lam_batchnorm_opts lam_batchnorm_opts_defaults(void) { return (lam_batchnorm_opts){1e-5f, 0.1f}; }

lam_node *lam_nn_batchnorm(lam_graph *g, lam_node *x, const char *name, const lam_batchnorm_opts *o)
{
    if (!g) return NULL;
    if (lam_graph_status(g) != LAM_OK) return NULL;
    if (!x || !name) {
        lam_graph_fail(g, LAM_ERR_ARG, "batchnorm: NULL input or name");
        return NULL;
    }
    lam_batchnorm_opts d = o ? *o : lam_batchnorm_opts_defaults();
    lam_shape xs = lam_node_shape(x);
    char sb[64];
    if (xs.ndim != 2 && xs.ndim != 4) {
        lam_graph_fail(g, LAM_ERR_SHAPE, "batchnorm %s: input %s, expected [B, C] or [B, C, H, W]", name,
                       lam_shape_str(&xs, sb, sizeof sb));
        return NULL;
    }
    lam_shape c = lam_shape1(xs.d[1]);
    char pn[256];
    lam_graph_begin_layer(g, name);
    lam_node *p[4];
    static const char *const suffix[4] = {"weight", "bias", "running_mean", "running_var"};
    static const lam_init_kind init[4] = {LAM_INIT_ONES, LAM_INIT_ZEROS, LAM_INIT_ZEROS, LAM_INIT_ONES};
    for (int i = 0; i < 4; i++) {
        snprintf(pn, sizeof pn, "%s.%s", name, suffix[i]);
        p[i] = i < 2 ? lam_param(g, pn, c, (lam_init){init[i], 0, 0}) : lam_buffer(g, pn, c, (lam_init){init[i], 0, 0});
        if (!p[i]) return NULL;
    }
    lam_node *y = lam_batchnorm_op(g, x, p[0], p[1], p[2], p[3], d.eps, d.momentum);
    if (y && lam_node_set_name(g, y, name) != LAM_OK) return NULL;
    return y;
}
