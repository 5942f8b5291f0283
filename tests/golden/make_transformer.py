"""Golden fixtures for the Transformer ops and blocks, computed by PyTorch
(Debian's python3-torch 1.13), with the formulas written directly in torch
ops (torch 1.13 has neither scaled_dot_product_attention nor RMSNorm).

Run from the repository root with Debian's interpreter:
    /usr/bin/python3 tests/golden/make_transformer.py
It writes tests/golden/transformer.txt in the format read by tests/golden.h
(one tensor per line: NAME d0 d1 ... : values), read by
tests/test_golden_transformer.c.  The fixtures are committed, so the test
suite itself needs no Python.

All inputs, parameters and upstream gradients are float32 (torch.manual_seed
fixed).  Each case is evaluated by torch twice from those same values: in
float64, whose results (rounded to float32) are written as the reference, and
in float32, which must agree with them within 1e-5 + 1e-4 |ref| (the script
stops otherwise).  Every case writes its output CASE.y and, for one backward
pass of loss = sum(y * gy) with a random upstream gradient CASE.gy of y's
shape, the gradient CASE.gNAME of every float input and parameter CASE.NAME.

Cases (B batch, T time, NH query heads, NKV key/value heads, HS head size):
  mha_*    fused multi-head attention (lam_mha_op).  CASE.cfg = NH NKV HS
           causal has_lengths scale; CASE.qkv [B, T, (NH + 2 NKV) HS]
           (columns: NH query heads, then NKV key heads, then NKV value
           heads, HS each), CASE.lengths [B] (when has_lengths); CASE.y
           [B, T, NH HS], heads side by side; CASE.gqkv.  Query head h reads
           key/value head h / (NH / NKV); per head
               y_h = softmax(scale q_h k^T + mask) v
           with -inf where j > i (causal) or j >= lengths[b].  scale is the
           float32 value of 1 / sqrt(HS) (cfg scale 0, the op's default) or
           the given one.
  ln_*     LayerNorm over the last dim (F.layer_norm): CASE.cfg = eps
           has_bias; CASE.x [B, T, C], CASE.w [C], CASE.b [C] (has_bias);
           gradients gx, gw, gb.
  rms      RMSNorm: y = x / sqrt(mean(x^2) + eps) * w.  CASE.cfg = eps;
           CASE.x, CASE.w; gx, gw.
  rope_*   rotary embedding (lam_rope_op) of the NH + NKV query and key
           heads of CASE.qkv (laid out as for mha; the value heads pass
           through), HF LLaMA's rotate_half pairing: for i < HS/2 the pair
           (x_i, x_{i+HS/2}) at position p turns by p inv_freq_i,
               inv_freq = 1 / theta^(arange(0, HS, 2) / HS)   (float32)
               y_i = x_i cos - x_{i+HS/2} sin,  y_{i+HS/2} = x_{i+HS/2} cos + x_i sin
           with the angle p inv_freq_i formed in float32 (as torch and the
           op do) and its cos and sin taken in the evaluation's precision.
           CASE.cfg = NH NKV HS theta has_start; p = t, or start[b] + t with
           CASE.start [B]; gradient gqkv.
  swiglu   x [B, T, 2H] = [a | b] -> silu(a) b [B, T, H]; gx.
  gelu_tanh, silu   elementwise F.gelu(approximate="tanh") and x sigmoid(x)
           on CASE.x [B, N] spread over [-8, 8]; gx.
  blk_*    one pre-LN block (lam_nn_transformer_block, named "blk"):
               h = norm1(x); qkv = Linear(C, (NH + 2 NKV) HS)(h) [; rope(qkv)]
               x = x + proj(mha(qkv, causal, lengths))
               out = x + fc2(mlp(fc1(norm2(x))))
           CASE.cfg = C NH NKV causal norm(0 LayerNorm, 1 RMSNorm) eps rope
           theta swiglu hidden bias has_lengths; mlp is exact GELU of fc1
           [hidden], or swiglu of fc1 [2 hidden].  Inputs CASE.x [B, T, C],
           CASE.lengths; parameters CASE.p.blk.ln1.weight, .ln1.bias,
           .qkv.weight [(NH + 2 NKV) HS, C], .qkv.bias, .proj.*, .ln2.*,
           .fc1.*, .fc2.* (Lamina's names); gradients CASE.gx and
           CASE.g.blk.* for every parameter.
"""
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20250310)
torch.set_default_dtype(torch.float32)
out = []
# torch's float32 results must be this close to its float64 ones (the reference)
F32_ATOL, F32_RTOL = 1e-5, 1e-4


def put(name, t):
    t = torch.as_tensor(t).detach().contiguous().float()
    dims = " ".join(str(d) for d in t.shape)
    vals = " ".join("%.9g" % v for v in t.reshape(-1).tolist())
    out.append(f"{name} {dims} : {vals}".replace("  :", " :"))


def leaf(t, dtype):
    return t.detach().to(dtype).requires_grad_()


def check_close(name, lo, hi):
    """torch's float32 result `lo` must agree with its float64 one `hi`"""
    err = ((lo.double() - hi).abs() - (F32_ATOL + F32_RTOL * hi.abs())).max().item()
    assert err <= 0, f"{name}: float32 and float64 disagree by more than the tolerance ({err:.3g} over)"


def f32(v):
    """the float32 value nearest v, as a Python float"""
    return torch.tensor(v, dtype=torch.float32).item()


def default_scale(hs):
    """1 / sqrt(HS) rounded as the op computes it: 1.0f / sqrtf(HS)"""
    return (torch.tensor(1.0) / torch.sqrt(torch.tensor(float(hs)))).item()


def run(name, fn, inputs, gy_shape, grads):
    """Evaluate y = fn(leaves) in float32 and float64; loss = sum(y * gy).
    inputs: name -> float32 tensor (made leaves) or int tensor (passed as is);
    grads: the names of the inputs whose gradients are written (as gNAME).
    Returns gy and the float64 results {"y": ..., "gNAME": ...}."""
    gy = torch.randn(*gy_shape)
    res = {}
    for dtype in (torch.float32, torch.float64):
        lv = {k: (leaf(t, dtype) if t.is_floating_point() else t) for k, t in inputs.items()}
        y = fn(lv, dtype)
        assert tuple(y.shape) == tuple(gy_shape), f"{name}: y {tuple(y.shape)}, gy {gy_shape}"
        (y * gy.to(dtype)).sum().backward()
        res[dtype] = {"y": y}
        res[dtype].update({"g" + k: lv[k].grad for k in grads})
    for k in res[torch.float64]:
        check_close(f"{name}.{k}", res[torch.float32][k], res[torch.float64][k])
    return gy, res[torch.float64]


def put_case(name, cfg, inputs, gy, res):
    if cfg is not None:
        put(name + ".cfg", cfg)
    for k, t in inputs.items():
        put(f"{name}.{k}", t)
    put(name + ".gy", gy)
    for k, t in res.items():
        put(f"{name}.{k}", t)


# ---- the reference formulas ----------------------------------------------

def mha(qkv, lengths, NH, NKV, HS, causal, scale):
    """qkv [B, T, (NH + 2 NKV) HS] -> [B, T, NH HS]"""
    B, T, _ = qkv.shape
    q = qkv[..., : NH * HS].reshape(B, T, NH, HS).transpose(1, 2)                   # [B, NH, T, HS]
    k = qkv[..., NH * HS: (NH + NKV) * HS].reshape(B, T, NKV, HS).transpose(1, 2)  # [B, NKV, T, HS]
    v = qkv[..., (NH + NKV) * HS:].reshape(B, T, NKV, HS).transpose(1, 2)
    grp = NH // NKV
    k = k.repeat_interleave(grp, dim=1)  # query head h reads kv head h // grp
    v = v.repeat_interleave(grp, dim=1)
    s = (q @ k.transpose(-1, -2)) * scale  # [B, NH, T, T]
    i = torch.arange(T).view(T, 1)
    j = torch.arange(T).view(1, T)
    see = torch.ones(B, T, T, dtype=torch.bool)
    if causal:
        see = see & (j <= i).unsqueeze(0)
    if lengths is not None:
        see = see & (j.unsqueeze(0) < lengths.view(B, 1, 1))
    s = s.masked_fill(~see.unsqueeze(1), float("-inf"))
    a = torch.softmax(s, dim=-1)
    return (a @ v).transpose(1, 2).reshape(B, T, NH * HS)


def rmsnorm(x, w, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def rope(qkv, pos, NH, NKV, HS, theta):
    """qkv [B, T, (NH + 2 NKV) HS], pos int [B, T]"""
    half = HS // 2
    inv_freq = 1.0 / (theta ** (torch.arange(0, HS, 2).float() / HS))  # float32, as HF LLaMA
    ang = pos.float().unsqueeze(-1) * inv_freq                           # float32 [B, T, HS/2]
    ang = ang.to(qkv.dtype)
    cos, sin = torch.cos(ang), torch.sin(ang)
    parts = []
    for h in range(NH + NKV):
        a = qkv[..., h * HS: h * HS + half]
        b = qkv[..., h * HS + half: (h + 1) * HS]
        parts += [a * cos - b * sin, b * cos + a * sin]
    parts.append(qkv[..., (NH + NKV) * HS:])
    return torch.cat(parts, dim=-1)


def swiglu(x):
    H = x.shape[-1] // 2
    a, b = x[..., :H], x[..., H:]
    return a * torch.sigmoid(a) * b


# ---- fused attention -----------------------------------------------------

def mha_case(name, B, T, NH, NKV, HS, causal, lengths, scale=0.0):
    qkv = torch.randn(B, T, (NH + 2 * NKV) * HS)
    inputs = {"qkv": qkv}
    lt = None
    if lengths is not None:
        lt = torch.tensor(lengths, dtype=torch.int32)
        inputs["lengths"] = lt
    s = f32(scale) if scale != 0 else default_scale(HS)
    fn = lambda lv, dt: mha(lv["qkv"], lt.long() if lt is not None else None, NH, NKV, HS, causal, s)
    gy, res = run(name, fn, inputs, (B, T, NH * HS), ["qkv"])
    put_case(name, [NH, NKV, HS, float(causal), float(lengths is not None), f32(scale)], inputs, gy, res)


mha_case("mha_causal", 2, 7, 2, 2, 4, True, None)
mha_case("mha_padded", 2, 7, 2, 2, 4, False, [7, 4])
mha_case("mha_gqa", 2, 9, 4, 2, 4, True, None)                    # T = 9: two query tiles of 8 rows
mha_case("mha_causal_padded", 3, 9, 4, 2, 4, True, [9, 5, 1], 0.3)
mha_case("mha_mqa_padded", 2, 10, 4, 1, 8, False, [10, 3])       # one kv head for all four

# ---- normalisation -------------------------------------------------------

B, T, C = 2, 5, 20
for name, has_bias in (("ln", True), ("ln_nobias", False)):
    eps = 1e-5
    inputs = {"x": torch.randn(B, T, C) * 2 + 0.7, "w": 1 + 0.5 * torch.randn(C)}
    if has_bias:
        inputs["b"] = 0.5 * torch.randn(C)
    fn = lambda lv, dt: F.layer_norm(lv["x"], (C,), lv["w"], lv.get("b"), f32(eps))
    gy, res = run(name, fn, inputs, (B, T, C), list(inputs))
    put_case(name, [f32(eps), float(has_bias)], inputs, gy, res)

eps = 1e-6
inputs = {"x": torch.randn(B, T, C) * 1.5 + 0.3, "w": 1 + 0.5 * torch.randn(C)}
fn = lambda lv, dt: rmsnorm(lv["x"], lv["w"], f32(eps))
gy, res = run("rms", fn, inputs, (B, T, C), ["x", "w"])
put_case("rms", [f32(eps)], inputs, gy, res)

# ---- rotary embedding ----------------------------------------------------

def rope_case(name, B, T, NH, NKV, HS, theta, start):
    inputs = {"qkv": torch.randn(B, T, (NH + 2 * NKV) * HS)}
    pos = torch.arange(T).view(1, T).expand(B, T)
    if start is not None:
        st = torch.tensor(start, dtype=torch.int32)
        inputs["start"] = st
        pos = pos + st.long().view(B, 1)
    fn = lambda lv, dt: rope(lv["qkv"], pos, NH, NKV, HS, theta)
    gy, res = run(name, fn, inputs, (B, T, (NH + 2 * NKV) * HS), ["qkv"])
    put_case(name, [NH, NKV, HS, theta, float(start is not None)], inputs, gy, res)


rope_case("rope", 2, 6, 2, 1, 8, 10000.0, None)
rope_case("rope_theta500", 2, 6, 2, 1, 8, 500.0, None)
rope_case("rope_start", 2, 6, 2, 1, 8, 10000.0, [3, 0])

# ---- gates and activations -----------------------------------------------

H = 6
inputs = {"x": torch.rand(2, 5, 2 * H) * 12 - 6}
gy, res = run("swiglu", lambda lv, dt: swiglu(lv["x"]), inputs, (2, 5, H), ["x"])
put_case("swiglu", None, inputs, gy, res)

for name, f in (("gelu_tanh", lambda x: F.gelu(x, approximate="tanh")), ("silu", lambda x: x * torch.sigmoid(x))):
    inputs = {"x": torch.rand(4, 40) * 16 - 8}
    gy, res = run(name, lambda lv, dt: f(lv["x"]), inputs, (4, 40), ["x"])
    put_case(name, None, inputs, gy, res)

# ---- whole blocks --------------------------------------------------------

def block_case(name, B, T, C, NH, NKV, norm, eps, use_rope, theta, use_swiglu, hidden, bias, lengths):
    HS = C // NH
    W = (NH + 2 * NKV) * HS
    p = {}

    def lin(part, n_out, n_in):
        p[f"blk.{part}.weight"] = torch.randn(n_out, n_in) / math.sqrt(n_in)
        if bias:
            p[f"blk.{part}.bias"] = 0.1 * torch.randn(n_out)

    def nrm(part):
        p[f"blk.{part}.weight"] = 1 + 0.3 * torch.randn(C)
        if norm == 0 and bias:
            p[f"blk.{part}.bias"] = 0.2 * torch.randn(C)

    nrm("ln1")
    lin("qkv", W, C)
    lin("proj", C, NH * HS)
    nrm("ln2")
    lin("fc1", 2 * hidden if use_swiglu else hidden, C)
    lin("fc2", C, hidden)
    x = torch.randn(B, T, C)
    inputs = {"x": x}
    lt = None
    if lengths is not None:
        lt = torch.tensor(lengths, dtype=torch.int32)
        inputs["lengths"] = lt
    inputs.update({"p." + k: t for k, t in p.items()})
    pos = torch.arange(T).view(1, T).expand(B, T)
    scale = default_scale(HS)

    def fn(lv, dt):
        def P(k):
            return lv.get("p.blk." + k)

        def normf(h, part):
            if norm == 0:
                return F.layer_norm(h, (C,), P(part + ".weight"), P(part + ".bias"), f32(eps))
            return rmsnorm(h, P(part + ".weight"), f32(eps))

        def linf(h, part):
            return F.linear(h, P(part + ".weight"), P(part + ".bias"))

        h = lv["x"]
        qkv = linf(normf(h, "ln1"), "qkv")
        if use_rope:
            qkv = rope(qkv, pos, NH, NKV, HS, theta)
        a = mha(qkv, lt.long() if lt is not None else None, NH, NKV, HS, True, scale)
        h = h + linf(a, "proj")
        m = linf(normf(h, "ln2"), "fc1")
        m = swiglu(m) if use_swiglu else F.gelu(m)
        return h + linf(m, "fc2")

    grads = ["x"] + ["p." + k for k in p]
    gy, res = run(name, fn, inputs, (B, T, C), grads)
    res = {("g." + k[3:] if k.startswith("gp.") else k): t for k, t in res.items()}
    cfg = [C, NH, NKV, 1.0, float(norm), f32(eps), float(use_rope), theta, float(use_swiglu), hidden, float(bias),
           float(lengths is not None)]
    put_case(name, cfg, inputs, gy, res)


# GPT-2 / nanoGPT: LayerNorm, exact GELU MLP of 4 C, biases
block_case("blk_gpt", 2, 7, 16, 4, 4, 0, 1e-5, False, 10000.0, False, 64, True, None)
# LLaMA: RMSNorm, RoPE, grouped-query attention, SwiGLU, no biases; padded
block_case("blk_llama", 2, 9, 16, 4, 2, 1, 1e-6, True, 10000.0, True, 24, False, [9, 6])

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "transformer.txt")
with open(path, "w") as f:
    f.write("# made by tests/golden/make_transformer.py with torch %s\n" % torch.__version__)
    f.write("\n".join(out) + "\n")
print("wrote", path, len(out), "tensors")
