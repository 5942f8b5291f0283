"""Golden fixtures for convolution, pooling and batch normalisation, computed by
PyTorch (Debian's python3-torch).

Run from the repository root with Debian's interpreter:
    /usr/bin/python3 tests/golden/make_conv.py
It writes tests/golden/conv.txt in the format read by tests/golden.h (one tensor
per line: NAME d0 d1 ... : values), read by tests/test_golden_conv.c.  The
fixtures are committed, so the test suite itself needs no Python.

All inputs, parameters and upstream gradients are float32 (torch.manual_seed
fixed).  Each case is run by torch twice from those same values: in float64,
whose results (rounded to float32) are written as the reference, and in
float32, which must agree with the float64 results within the C test's
tolerance (the script stops otherwise).  Writing the float64 results means the
C test measures Lamina's own float32 rounding only: torch's float32 weight
gradient of conv_big is itself 0.7 of the tolerance away from the exact value.

Every case CASE has a configuration vector CASE.cfg (except gap_*), its inputs,
a random upstream gradient CASE.gy, the output CASE.y and the gradients of the
input and of the parameters (y.backward(gy)):
  conv_*     F.conv2d (+ F.relu when act = 1): x, w [OC, C, KH, KW], b (if any);
             cfg = stride_h stride_w pad_h pad_w dil_h dil_w act has_bias;
             y, gx, gw, gb.
  maxpool_*  F.max_pool2d; avgpool_* F.avg_pool2d (count_include_pad=True);
             cfg = kh kw stride_h stride_w pad_h pad_w; y, gx.
  gap_*      global average pooling x.mean(dim=(2, 3)); y, gx.
  bn1d_* / bn2d_*  F.batch_norm (BatchNorm1d on [B, C], BatchNorm2d on
             [B, C, H, W]): x, gamma, beta, rm, rv (running stats before the
             forward); cfg = training eps momentum; y, gx, ggamma, gbeta and
             rm_after, rv_after (running stats after the forward: the momentum
             update with the unbiased batch variance in training, unchanged
             in eval).
"""
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20240611)
torch.set_default_dtype(torch.float32)
ATOL, RTOL = 1e-5, 1e-4  # the C test's tolerance
out = []


def put(name, t):
    t = torch.as_tensor(t).detach().contiguous().float()
    dims = " ".join(str(d) for d in t.shape)
    vals = " ".join("%.9g" % v for v in t.reshape(-1).tolist())
    out.append(f"{name} {dims} : {vals}".replace("  :", " :"))


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def run(name, inputs, grad_of, fn, gy_shape_of=None):
    """Run fn (dict of tensors -> (y, extra outputs)) in float64 and float32 on
    the float32 `inputs`; y.backward(gy) with a float32 random gy; gradients
    of the inputs named in grad_of.  Writes inputs, gy, y, g<name> and extras
    from the float64 run after checking the float32 run agrees."""
    results = {}
    gy = None
    for dt in (torch.float64, torch.float32):
        t = {k: v.to(dt).requires_grad_(k in grad_of) for k, v in inputs.items()}
        y, extra = fn(t)
        if gy is None:
            gy = torch.randn(y.shape)
        y.backward(gy.to(dt))
        r = {"y": y.detach()}
        r.update({"g" + k: t[k].grad for k in grad_of})
        r.update({k: v.detach() for k, v in extra.items()})
        results[dt] = r
    for k, ref in results[torch.float64].items():
        got = results[torch.float32][k].double()
        err = ((got - ref).abs() / (ATOL + RTOL * ref.abs())).max().item()
        assert err <= 1.0, f"{name}.{k}: torch float32 is {err:.2f} of the tolerance from float64"
    for k, v in inputs.items():
        put(f"{name}.{k}", v)
    put(f"{name}.gy", gy)
    for k, v in results[torch.float64].items():
        put(f"{name}.{k}", v)


# ---- convolution -------------------------------------------------------------

def conv_case(name, B, C, H, W, OC, k, stride=1, pad=0, dil=1, bias=True, relu=False):
    kh, kw = pair(k)
    s, p, d = pair(stride), pair(pad), pair(dil)
    bound = 1.0 / (C * kh * kw) ** 0.5
    inputs = {"x": torch.randn(B, C, H, W), "w": (torch.rand(OC, C, kh, kw) * 2 - 1) * bound}
    if bias:
        inputs["b"] = (torch.rand(OC) * 2 - 1) * bound
    n = "conv_" + name
    put(n + ".cfg", [s[0], s[1], p[0], p[1], d[0], d[1], 1 if relu else 0, 1 if bias else 0])

    def fn(t):
        y = F.conv2d(t["x"], t["w"], t.get("b"), stride=s, padding=p, dilation=d)
        return (F.relu(y) if relu else y), {}

    run(n, inputs, list(inputs), fn)


conv_case("same", 2, 3, 7, 7, 4, 3, stride=1, pad=1)
conv_case("valid_nobias", 3, 2, 9, 8, 5, (3, 2), bias=False)
conv_case("stride2", 2, 3, 9, 10, 4, 3, stride=2, pad=1)
conv_case("stride21_pad21", 2, 3, 8, 7, 4, (3, 3), stride=(2, 1), pad=(2, 1))
conv_case("dil2", 2, 2, 10, 10, 3, 3, pad=1, dil=2)
conv_case("dil12_rect", 3, 2, 7, 11, 3, (2, 3), stride=(1, 2), pad=(0, 2), dil=(1, 2), bias=False)
conv_case("dil21_s2", 2, 3, 11, 9, 2, (3, 2), stride=2, pad=(2, 1), dil=(2, 1))
conv_case("k5x1_pad", 2, 2, 8, 6, 3, (5, 1), pad=(2, 0))
conv_case("1x1_s2", 2, 4, 7, 6, 6, 1, stride=2)
conv_case("relu", 2, 3, 6, 6, 4, 3, pad=1, relu=True)
conv_case("relu_s2_nobias", 3, 4, 9, 9, 5, (2, 3), stride=2, pad=(1, 1), bias=False, relu=True)
conv_case("big", 4, 8, 12, 12, 16, 3, pad=1)

# ---- pooling -----------------------------------------------------------------


def pool_case(kind, name, B, C, H, W, k, stride, pad=0):
    kh, kw = pair(k)
    s, p = pair(stride), pair(pad)
    n = f"{kind}_{name}"
    put(n + ".cfg", [kh, kw, s[0], s[1], p[0], p[1]])

    def fn(t):
        if kind == "maxpool":
            return F.max_pool2d(t["x"], (kh, kw), s, p), {}
        return F.avg_pool2d(t["x"], (kh, kw), s, p, count_include_pad=True), {}

    run(n, {"x": torch.randn(B, C, H, W)}, ["x"], fn)


pool_case("maxpool", "k2s2", 2, 3, 6, 6, 2, 2)
pool_case("maxpool", "k2s2_odd", 2, 2, 7, 5, 2, 2)
pool_case("maxpool", "k3s2p1", 2, 3, 7, 7, 3, 2, 1)
pool_case("maxpool", "k23s12", 2, 3, 5, 8, (2, 3), (1, 2))
pool_case("avgpool", "k3s2p1", 2, 3, 7, 7, 3, 2, 1)
pool_case("avgpool", "k2s2", 2, 3, 6, 6, 2, 2)
pool_case("avgpool", "k2s2_odd", 2, 2, 7, 5, 2, 2)
pool_case("avgpool", "k32s21p10", 2, 2, 6, 7, (3, 2), (2, 1), (1, 0))

for name, shape in (("small", (3, 4, 5, 6)), ("1x1", (2, 5, 1, 1))):
    run("gap_" + name, {"x": torch.randn(*shape)}, ["x"], lambda t: (t["x"].mean(dim=(2, 3)), {}))

# ---- batch normalisation -----------------------------------------------------


def bn_case(name, shape, training, random_running, eps=1e-5, momentum=0.1, shift=0.0, scale=1.0):
    C = shape[1]
    inputs = {"x": shift + scale * torch.randn(*shape), "gamma": 1.0 + 0.5 * torch.randn(C),
              "beta": 0.5 * torch.randn(C)}
    if random_running:
        inputs["rm"] = 0.5 * torch.randn(C) + shift
        inputs["rv"] = (0.5 + torch.rand(C)) * scale * scale
    else:
        inputs["rm"] = torch.zeros(C)
        inputs["rv"] = torch.ones(C)
    n = ("bn2d_" if len(shape) == 4 else "bn1d_") + name
    put(n + ".cfg", [1 if training else 0, eps, momentum])

    def fn(t):
        rm, rv = t["rm"].detach().clone(), t["rv"].detach().clone()
        y = F.batch_norm(t["x"], rm, rv, t["gamma"], t["beta"], training=training, momentum=momentum, eps=eps)
        return y, {"rm_after": rm, "rv_after": rv}

    run(n, inputs, ["x", "gamma", "beta"], fn)


bn_case("train_default", (4, 3, 5, 4), True, False)
bn_case("train_running", (3, 4, 3, 5), True, True)
bn_case("train_shifted", (2, 3, 4, 4), True, True, momentum=0.3, eps=1e-3, shift=3.0, scale=2.0)
bn_case("eval", (4, 3, 5, 4), False, True)
bn_case("train_default", (8, 5), True, False)
bn_case("train_running", (6, 4), True, True)
bn_case("train_b2", (2, 3), True, True)
bn_case("eval", (8, 5), False, True)

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conv.txt")
with open(path, "w") as f:
    f.write("# made by tests/golden/make_conv.py with torch %s\n" % torch.__version__)
    f.write("\n".join(out) + "\n")
print("wrote", path, len(out), "tensors")
