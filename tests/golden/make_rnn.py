"""Golden fixtures for the recurrent layers (RNN tanh / relu, LSTM, GRU),
computed by PyTorch (Debian's python3-torch).

Run from the repository root with Debian's interpreter:
    /usr/bin/python3 tests/golden/make_rnn.py
It writes tests/golden/rnn.txt in the format read by tests/golden.h (one tensor
per line: NAME d0 d1 ... : values, %.9g; '#' lines are comments; a scalar has
no dimensions).  The fixtures are committed, so the test suite itself needs no
Python.  The output is deterministic (one thread, a fixed seed per case).

Every case N runs torch.nn.RNN / LSTM / GRU with batch_first=True, dropout 0,
in float32 (parameters from torch's default init right after
torch.manual_seed(SEED + N), inputs from torch.randn).  Each case has a
comment line "# caseN: ..." describing it, and these tensors, all float32
values, named "caseN.<what>":

  caseN.config  10 integers: cell I H layers bidirectional B T has_lengths
                has_h0 has_bias, with cell 0 = RNN tanh, 1 = RNN relu,
                2 = LSTM, 3 = GRU (Lamina's lam_rnn_cell order); D = 1 + bidirectional.
  caseN.x       [B, T, I]   the input sequence; with lengths, its values at
                            padded positions (t >= lengths[b]) are random too
                            and must not affect any result.
  caseN.lengths [B]         (only if has_lengths) per-sample lengths, integers
                            in 1..T written as floats.  The batch is NOT sorted
                            by length (pack_padded_sequence with
                            enforce_sorted=False), and every tensor below is in
                            the original batch order.
  caseN.h0      [L*D, B, H] (only if has_h0) initial hidden state; for LSTM
  caseN.c0      [L*D, B, H] also the initial cell state.  Without has_h0 the
                            initial states are zero (torch's default).
  parameters, under torch's own names and shapes, for layer k = 0..L-1 and
  the suffix "" (forward) or "_reverse" (backward direction, if D = 2):
    caseN.weight_ih_l{k}{sfx}  [G*H, I]  (k = 0) or [G*H, D*H] (k > 0)
    caseN.weight_hh_l{k}{sfx}  [G*H, H]
    caseN.bias_ih_l{k}{sfx}    [G*H]     (only if has_bias)
    caseN.bias_hh_l{k}{sfx}    [G*H]     (only if has_bias)
    with G = 1 (RNN), 4 (LSTM, gate rows i, f, g, o), 3 (GRU, rows r, z, n).
    They are written in torch's named_parameters() order: l0, l0_reverse, l1, ...
  caseN.y       [B, T, D*H] the output of the last layer; along the last axis
                            the forward direction's H values come first, then
                            the reverse direction's.  With lengths, y is
                            pad_packed_sequence(..., total_length=T) of the
                            packed output, so y[b, t, :] = 0 exactly for
                            t >= lengths[b]; the reverse direction of sample b
                            starts at t = lengths[b] - 1.
  caseN.h_n     [L*D, B, H] final hidden state of every layer and direction
  caseN.c_n     [L*D, B, H] (LSTM) final cell state.  With lengths, the forward
                            direction's final state of sample b is its state
                            after step lengths[b] - 1, the reverse
                            direction's after step 0.
  caseN.ry      [B, T, D*H] random weights of the scalar loss
  caseN.rh      [L*D, B, H]
  caseN.rc      [L*D, B, H] (LSTM)
  caseN.loss    scalar: sum(y * ry) + sum(h_n * rh) (+ sum(c_n * rc) for LSTM)
  caseN.grad.x       [B, T, I]  d loss / d x (exactly 0 at padded positions)
  caseN.grad.h0      (only if has_h0) like h0
  caseN.grad.c0      (only if has_h0, LSTM) like c0
  caseN.grad.<param> for every parameter above, e.g. caseN.grad.weight_ih_l0_reverse

State layout: torch's (L*D, B, H), index l*D + d for layer l and direction d
(0 = forward, 1 = reverse): h_n[l*D + d, b, j].  Lamina's lam_nn_rnn takes
per-layer states [B, D, H] instead: Lamina_h0[l][b, d, j] = caseN.h0[l*D + d, b, j]
(the same for c0, h_n and c_n); i.e. for each layer l, take the D slices
l*D .. l*D + D - 1 and transpose (D, B, H) -> (B, D, H).  Lamina's parameter
names are NAME.weight_ih_l0 etc., the same as torch's with a prefix.

The script asserts that padded outputs and the input gradient at padded
positions are exactly zero, and that torch's float32 results agree with a
float64 run of the same case within ATOL + RTOL |ref| (the worst ratio per case
is written as a comment line "# caseN float64 check: ...").
"""
import copy
import os

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)
SEED = 20240720
ATOL, RTOL = 1e-5, 1e-4  # float32 vs float64 agreement required of torch itself
CELLS = {0: ("RNN", "tanh"), 1: ("RNN", "relu"), 2: ("LSTM", None), 3: ("GRU", None)}
CELL_NAMES = {0: "RNN tanh", 1: "RNN relu", 2: "LSTM", 3: "GRU"}
out = []


def put(name, t):
    t = torch.as_tensor(t).detach().contiguous().float()
    dims = " ".join(str(d) for d in t.shape)
    vals = " ".join("%.9g" % v for v in t.reshape(-1).tolist())
    out.append(f"{name} {dims} : {vals}".replace("  :", " :"))


def make_module(cell, I, H, layers, bidir, bias):
    kind, act = CELLS[cell]
    kw = dict(input_size=I, hidden_size=H, num_layers=layers, bias=bias, batch_first=True,
              bidirectional=bidir)
    if kind == "RNN":
        return torch.nn.RNN(nonlinearity=act, **kw)
    return getattr(torch.nn, kind)(**kw)


def forward(mod, x, lengths, h0, c0, T):
    """y [B, T, D*H], h_n, c_n (None unless LSTM)."""
    lstm = isinstance(mod, torch.nn.LSTM)
    state = None
    if h0 is not None:
        state = (h0, c0) if lstm else h0
    inp = x
    if lengths is not None:
        inp = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    y, st = mod(inp, state)
    if lengths is not None:
        y, _ = pad_packed_sequence(y, batch_first=True, total_length=T)
    if lstm:
        return y, st[0], st[1]
    return y, st, None


def run(mod, x, lengths, h0, c0, T, ry, rh, rc, dtype):
    """Forward and backward of the loss in `dtype`; returns a dict of results."""
    m = mod if dtype == torch.float32 else _clone(mod, dtype)
    for p in m.parameters():
        p.grad = None
    xs = x.detach().clone().to(dtype).requires_grad_()
    h0s = None if h0 is None else h0.detach().clone().to(dtype).requires_grad_()
    c0s = None if c0 is None else c0.detach().clone().to(dtype).requires_grad_()
    y, hn, cn = forward(m, xs, lengths, h0s, c0s, T)
    loss = (y * ry.to(dtype)).sum() + (hn * rh.to(dtype)).sum()
    if cn is not None:
        loss = loss + (cn * rc.to(dtype)).sum()
    loss.backward()
    r = {"y": y.detach(), "h_n": hn.detach(), "loss": loss.detach(), "grad.x": xs.grad}
    if cn is not None:
        r["c_n"] = cn.detach()
    if h0s is not None:
        r["grad.h0"] = h0s.grad
    if c0s is not None:
        r["grad.c0"] = c0s.grad
    for name, p in m.named_parameters():
        r["grad." + name] = p.grad.detach().clone()
    return r


def _clone(mod, dtype):
    return copy.deepcopy(mod).to(dtype)


def case(n, desc, cell, I, H, layers, bidir, B, T, lengths=None, has_h0=False, bias=True,
         x_scale=1.0):
    torch.manual_seed(SEED + n)
    D = 2 if bidir else 1
    lstm = cell == 2
    mod = make_module(cell, I, H, layers, bidir, bias)
    x = x_scale * torch.randn(B, T, I)
    lens = None
    if lengths is not None:
        assert len(lengths) == B and all(1 <= v <= T for v in lengths)
        lens = torch.tensor(lengths, dtype=torch.int64)
    h0 = c0 = None
    if has_h0:
        h0 = 0.5 * torch.randn(layers * D, B, H)
        if lstm:
            c0 = 0.5 * torch.randn(layers * D, B, H)
    ry = torch.randn(B, T, D * H)
    rh = torch.randn(layers * D, B, H)
    rc = torch.randn(layers * D, B, H) if lstm else None

    r32 = run(mod, x, lens, h0, c0, T, ry, rh, rc, torch.float32)
    r64 = run(mod, x, lens, h0, c0, T, ry, rh, rc, torch.float64)

    # checks of the fixture itself
    p = f"case{n}"
    assert r32["y"].shape == (B, T, D * H)
    assert r32["h_n"].shape == (layers * D, B, H)
    if lengths is not None:
        for b, v in enumerate(lengths):
            assert torch.all(r32["y"][b, v:] == 0), f"{p}: padded output not zero"
            assert torch.all(r32["grad.x"][b, v:] == 0), f"{p}: gradient at padded input not zero"
            if cell != 1:  # (ReLU may legitimately give zeros)
                assert torch.all(r32["y"][b, :v].abs().sum(-1) > 0), f"{p}: zero output inside the sequence"
                assert torch.all(r32["grad.x"][b, :v].abs().sum(-1) > 0), f"{p}: zero gradient inside the sequence"
    # final states are the last layer's outputs at each sample's last step
    # (forward) and at step 0 (reverse)
    last = r32["h_n"][(layers - 1) * D:]
    for b in range(B):
        v = T if lengths is None else lengths[b]
        assert torch.equal(last[0, b], r32["y"][b, v - 1, :H]), f"{p}: forward h_n"
        if bidir:
            assert torch.equal(last[1, b], r32["y"][b, 0, H:]), f"{p}: reverse h_n"
    worst = 0.0
    for k, ref in r64.items():
        got = r32[k].double()
        err = ((got - ref).abs() / (ATOL + RTOL * ref.abs())).max().item()
        assert err <= 1.0, f"{p}.{k}: torch float32 is {err:.2f} of the tolerance from float64"
        worst = max(worst, err)
    if cell != 1:  # not saturated: few outputs near +-1
        frac = (r32["y"].abs() > 0.95).float().mean().item()
        assert frac < 0.05, f"{p}: {frac:.2f} of the outputs are saturated"

    cfg = [cell, I, H, layers, 1 if bidir else 0, B, T, 0 if lengths is None else 1,
           1 if has_h0 else 0, 1 if bias else 0]
    out.append(f"# case{n}: {desc} [{CELL_NAMES[cell]}, I={I} H={H} layers={layers} "
               f"D={D} B={B} T={T} lengths={lengths} h0={'given' if has_h0 else 'zero'} "
               f"bias={'yes' if bias else 'no'}]")
    out.append(f"# case{n} float64 check: worst |f32 - f64| / ({ATOL:g} + {RTOL:g} |f64|) = {worst:.3f}")
    put(p + ".config", cfg)
    put(p + ".x", x)
    if lens is not None:
        put(p + ".lengths", lens.float())
    if h0 is not None:
        put(p + ".h0", h0)
    if c0 is not None:
        put(p + ".c0", c0)
    for name, prm in mod.named_parameters():
        put(f"{p}.{name}", prm)
    put(p + ".y", r32["y"])
    put(p + ".h_n", r32["h_n"])
    if lstm:
        put(p + ".c_n", r32["c_n"])
    put(p + ".ry", ry)
    put(p + ".rh", rh)
    if lstm:
        put(p + ".rc", rc)
    put(p + ".loss", r32["loss"])
    put(p + ".grad.x", r32["grad.x"])
    if h0 is not None:
        put(p + ".grad.h0", r32["grad.h0"])
    if c0 is not None:
        put(p + ".grad.c0", r32["grad.c0"])
    for name, _ in mod.named_parameters():
        put(f"{p}.grad.{name}", r32["grad." + name])


case(1, "LSTM, 1 layer, unidirectional, zero initial state, no lengths",
     2, 3, 4, 1, False, 2, 5)
case(2, "LSTM, 2 layers, bidirectional, given h0 and c0, unsorted lengths",
     2, 3, 4, 2, True, 3, 5, lengths=[5, 3, 1], has_h0=True)
case(3, "GRU, 2 layers, unidirectional, lengths (longest < T), given h0",
     3, 4, 3, 2, False, 3, 6, lengths=[4, 2, 5], has_h0=True)
case(4, "GRU, 1 layer, bidirectional, no lengths, zero state",
     3, 3, 4, 1, True, 2, 5)
case(5, "RNN tanh, 2 layers, bidirectional, lengths, zero state",
     0, 3, 4, 2, True, 3, 5, lengths=[2, 5, 4])
case(6, "RNN relu, 1 layer, unidirectional, given h0, no lengths",
     1, 3, 4, 1, False, 2, 5, has_h0=True)
case(7, "LSTM without bias, 1 layer, bidirectional, lengths, zero state",
     2, 3, 4, 1, True, 3, 4, lengths=[3, 4, 1], bias=False)
case(8, "LSTM, H not a multiple of 16 and I > H, 1 layer, unidirectional, lengths",
     2, 19, 5, 1, False, 4, 7, lengths=[4, 7, 2, 6], x_scale=0.5)
case(9, "GRU, 3 layers, bidirectional, H=5, given h0, lengths (one of length 1)",
     3, 2, 5, 3, True, 3, 4, lengths=[1, 4, 3], has_h0=True)
case(10, "RNN relu, 2 layers, bidirectional, given h0, lengths, no bias",
     1, 3, 4, 2, True, 2, 5, lengths=[3, 5], has_h0=True, bias=False)
case(11, "LSTM, 1 layer, bidirectional, B=1, T=1, given h0 and c0",
     2, 3, 4, 1, True, 1, 1, has_h0=True)

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rnn.txt")
with open(path, "w") as f:
    f.write("# made by tests/golden/make_rnn.py with torch %s\n" % torch.__version__)
    f.write("\n".join(out) + "\n")
print("wrote", path, len(out), "lines")
