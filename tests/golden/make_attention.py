"""Golden fixtures for attention and sequence pooling, computed by PyTorch
(Debian's python3-torch), with the formulas written directly in torch ops.

Run from the repository root with Debian's interpreter:
    /usr/bin/python3 tests/golden/make_attention.py
It writes tests/golden/attention.txt in the format read by tests/golden.h (one
tensor per line: NAME d0 d1 ... : values), read by
tests/test_golden_attention.c.  The fixtures are committed, so the test suite
itself needs no Python.

All inputs, parameters and upstream gradients are float32 (torch.manual_seed
fixed).  Each case is evaluated by torch twice from those same values: in
float64, whose results (rounded to float32) are written as the reference, and
in float32, which must agree with them within 1e-5 + 1e-4 |ref| (the script
stops otherwise).  As in make_conv.py, writing the float64 results means the
C test measures Lamina's float32 rounding only: torch's own float32 gradient
of the general score's weight is 3e-5 (relative) off in one element, where
terms cancel, and Lamina's 3e-6.

Attention cases CASE (attn_*): CASE.cfg = score scale has_lengths shared_query
(score 0 dot, 1 general, 2 additive); inputs CASE.q ([B, Tq, Dq], or [Tq, Dq]
when shared), CASE.kv [B, Tk, D], CASE.lengths [B] (when has_lengths), the
score's weights (CASE.w [Dq, D]; CASE.wq [A, Dq], CASE.wk [A, D], CASE.v [A]);
random upstream gradients CASE.gy [B, Tq, D] for the context and CASE.ga
[B, Tq, Tk] for the weights; outputs CASE.y (context) and CASE.a (weights);
the gradients of loss = sum(y * gy) + sum(a * ga): CASE.gq, CASE.gkv, CASE.gw,
CASE.gwq, CASE.gwk, CASE.gv.  Scores:
    dot       s = scale * q . k
    general   s = scale * q^T W k
    additive  s = scale * v . tanh(Wq q + Wk k)
Key positions j >= lengths[b] are filled with -inf before the softmax.

Sequence pooling cases (pool_MODE): CASE.x [B, T, C], CASE.lengths, CASE.gy
[B, C], CASE.y and CASE.gx, for MODE mean, max, sum, last, first over the
real steps.
"""
import math
import os

import torch

torch.manual_seed(20240917)
torch.set_default_dtype(torch.float32)
out = []
# torch's float32 results must be this close to its float64 ones (the reference)
F32_ATOL, F32_RTOL = 1e-5, 1e-4


def put(name, t):
    t = torch.as_tensor(t).detach().contiguous().float()
    dims = " ".join(str(d) for d in t.shape)
    vals = " ".join("%.9g" % v for v in t.reshape(-1).tolist())
    out.append(f"{name} {dims} : {vals}".replace("  :", " :"))


def attention(q, kv, lengths, score, scale, w=None, wq=None, wk=None, v=None):
    """context [B, Tq, D] and weights [B, Tq, Tk]; q [B, Tq, Dq] or [Tq, Dq]"""
    B, Tk, D = kv.shape
    if q.dim() == 2:
        q = q.unsqueeze(0).expand(B, -1, -1)
    if score == 0:
        s = q @ kv.transpose(1, 2)
    elif score == 1:
        s = (q @ w) @ kv.transpose(1, 2)
    else:
        pq = q @ wq.t()                      # [B, Tq, A]
        pk = kv @ wk.t()                     # [B, Tk, A]
        s = torch.tanh(pq.unsqueeze(2) + pk.unsqueeze(1)) @ v  # [B, Tq, Tk]
    s = scale * s
    if lengths is not None:
        mask = torch.arange(Tk).unsqueeze(0) < lengths.unsqueeze(1)  # [B, Tk]
        s = s.masked_fill(~mask.unsqueeze(1), float("-inf"))
    a = torch.softmax(s, dim=-1)
    return a @ kv, a


def leaf(t, dtype):
    return t.detach().to(dtype).requires_grad_()


def check_close(name, lo, hi):
    """torch's float32 result `lo` must agree with its float64 one `hi`"""
    err = ((lo.double() - hi).abs() - (F32_ATOL + F32_RTOL * hi.abs())).max().item()
    assert err <= 0, f"{name}: float32 and float64 disagree by more than the tolerance ({err:.3g} over)"


def attn_case(name, score, B, Tq, Tk, Dq, D, A, lengths, shared, scale):
    q = torch.randn(*((Tq, Dq) if shared else (B, Tq, Dq)))
    kv = torch.randn(B, Tk, D)
    ws = {}
    if score == 1:
        ws["w"] = torch.randn(Dq, D) / math.sqrt(D)
    if score == 2:
        ws["wq"] = torch.randn(A, Dq) / math.sqrt(Dq)
        ws["wk"] = torch.randn(A, D) / math.sqrt(D)
        ws["v"] = torch.randn(A)
    lt = torch.tensor(lengths) if lengths is not None else None
    gy = torch.randn(B, Tq, D)
    ga = torch.randn(B, Tq, Tk)
    res = {}
    for dtype in (torch.float32, torch.float64):
        qq, kk = leaf(q, dtype), leaf(kv, dtype)
        ww = {k: leaf(t, dtype) for k, t in ws.items()}
        y, a = attention(qq, kk, lt, score, scale, **ww)
        ((y * gy.to(dtype)).sum() + (a * ga.to(dtype)).sum()).backward()
        res[dtype] = {"y": y, "a": a, "gq": qq.grad, "gkv": kk.grad}
        res[dtype].update({"g" + k: t.grad for k, t in ww.items()})
    for k in res[torch.float64]:
        check_close(f"{name}.{k}", res[torch.float32][k], res[torch.float64][k])
    put(name + ".cfg", [float(score), scale, float(lengths is not None), float(shared)])
    put(name + ".q", q)
    put(name + ".kv", kv)
    if lt is not None:
        put(name + ".lengths", lt)
    for k, t in ws.items():
        put(f"{name}.{k}", t)
    put(name + ".gy", gy)
    put(name + ".ga", ga)
    for k, t in res[torch.float64].items():
        put(f"{name}.{k}", t)


B, Tq, Tk = 3, 2, 5
attn_case("attn_dot", 0, B, Tq, Tk, 4, 4, 0, [5, 3, 1], False, 1.0)
attn_case("attn_dot_scaled", 0, B, Tq, Tk, 4, 4, 0, [2, 5, 4], False, 0.5)
attn_case("attn_dot_shared", 0, B, Tq, Tk, 4, 4, 0, None, True, 1.0)
attn_case("attn_general", 1, B, Tq, Tk, 3, 4, 0, [4, 1, 5], False, 1.0)
attn_case("attn_general_shared", 1, B, 3, Tk, 3, 4, 0, [3, 5, 2], True, 1.0)
attn_case("attn_additive", 2, B, Tq, Tk, 3, 4, 6, [5, 2, 3], False, 1.0)
attn_case("attn_additive_nomask", 2, B, Tq, Tk, 3, 4, 6, None, False, 1.0)
# attention pooling (HAN): one shared query of size A
attn_case("attn_additive_pool", 2, B, 1, Tk, 6, 4, 6, [1, 5, 3], True, 1.0)

# sequence pooling over the real steps
T, C = 5, 4
lengths = torch.tensor([5, 2, 1])
for mode in ["mean", "max", "sum", "last", "first"]:
    x = torch.randn(B, T, C)
    gy = torch.randn(B, C)
    res = {}
    for dtype in (torch.float32, torch.float64):
        xx = leaf(x, dtype)
        rows = []
        for b in range(B):
            L = int(lengths[b])
            xb = xx[b, :L]
            rows.append({"mean": lambda: xb.mean(0), "max": lambda: xb.max(0).values, "sum": lambda: xb.sum(0),
                         "last": lambda: xb[L - 1], "first": lambda: xb[0]}[mode]())
        y = torch.stack(rows)
        y.backward(gy.to(dtype))
        res[dtype] = (y, xx.grad)
    name = "pool_" + mode
    check_close(name + ".y", res[torch.float32][0], res[torch.float64][0])
    put(name + ".x", x)
    put(name + ".lengths", lengths)
    put(name + ".gy", gy)
    put(name + ".y", res[torch.float64][0])
    put(name + ".gx", res[torch.float64][1])

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "attention.txt")
with open(path, "w") as f:
    f.write("# made by tests/golden/make_attention.py with torch %s\n" % torch.__version__)
    f.write("\n".join(out) + "\n")
print("wrote", path, len(out), "tensors")
