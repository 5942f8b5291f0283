"""Golden fixture for tests/test_gpt_parity.c: ten AdamW steps of a tiny
GPT (nanoGPT's block, pre-LN) from the same initial weights and on the same
batches as PyTorch, in the spirit of karpathy's llm.c test: the loss at
every step and every parameter at the end.

Run from anywhere with Debian's interpreter:
    /usr/bin/python3 tests/golden/make_gpt_parity.py
It writes tests/golden/gpt_parity.txt in the format of tests/golden.h (one
tensor per line: NAME d0 d1 ... : values).  Deterministic (one thread, fixed
seeds).  Initial weights are N(0, 0.02^2) for every Linear and Embedding
weight (nanoGPT), biases 0, LayerNorm 1/0, then rounded to 4 decimals, so
the fixture is short and the values are exact in float32 on both sides.

The model, float32:
    x = tok(V, C)[ids] + pos(T, C)[0..T-1]
    L blocks: x = x + proj(attn(ln1(x))); x = x + fc2(gelu(fc1(ln2(x))))
      attn: qkv = Linear(C, 3C), NH heads of C/NH, causal softmax(q k^T / sqrt(hs)) v
      fc1 Linear(C, 4C), GELU exact (erf), fc2 Linear(4C, C), LayerNorm eps 1e-5
    ln_f LayerNorm(C) -> head Linear(C, V)
with V = 11, C = 16, NH = 2, L = 2, T = 10 (two of Lamina's 8-row query
tiles), B = 3, trained for NSTEPS = 10 steps of AdamW(lr 1e-2, betas 0.9 /
0.999, eps 1e-8, weight_decay 0.1 on every parameter) on CrossEntropyLoss
(mean over the B*T positions) of next-id prediction on windows of a random
Markov text.  Parameter names are Lamina's (lam_nn_embedding "tok",
lam_nn_pos_embedding "pos", lam_nn_transformer_block "blocks.K",
lam_nn_norm "ln_f", lam_nn_dense "head").

Tensors: config (V C NH L B T NSTEPS lr wd), the initial parameters by name,
step{k}.x / step{k}.y [B, T] ids, loss{k} scalars, final.<name>.  The script
also trains in float64 and asserts torch's own float32 losses are within 1e-5
of it, so the C test's 1e-4 tolerance is fair.
"""
import math
import os

import torch

torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)
SEED = 20261204
V, C, NH, L, B, T = 11, 16, 2, 2, 3, 10
NSTEPS = 10
LR, WD = 1e-2, 0.1
TEXT_LEN = 400
F64_LOSS_RTOL = 1e-5
out = []


def shortest(v):
    """The shortest %.Ng (N <= 9) that reads back to the float32 value v (in
    exponent notation only where %.9g uses it)."""
    f = torch.tensor(v, dtype=torch.float32).item()
    full = "%.9g" % f
    for p in range(1, 9):
        s = "%.*g" % (p, f)
        if ("e" in s) == ("e" in full) and torch.tensor(float(s), dtype=torch.float32).item() == f:
            return s
    return full


def put(name, t):
    t = torch.as_tensor(t).detach().contiguous().float()
    dims = " ".join(str(d) for d in t.shape)
    vals = " ".join(shortest(v) for v in t.reshape(-1).tolist())
    out.append(f"{name} {dims} : {vals}".replace("  :", " :"))


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = torch.nn.LayerNorm(C), torch.nn.LayerNorm(C)
        self.qkv, self.proj = torch.nn.Linear(C, 3 * C), torch.nn.Linear(C, C)
        self.fc1, self.fc2 = torch.nn.Linear(C, 4 * C), torch.nn.Linear(4 * C, C)
        self.register_buffer("mask", torch.tril(torch.ones(T, T, dtype=torch.bool)), persistent=False)

    def forward(self, x):
        Bn, Tn, Cn = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = (t.view(Bn, Tn, NH, Cn // NH).transpose(1, 2) for t in (q, k, v))
        a = (q @ k.transpose(-2, -1)) / math.sqrt(Cn // NH)
        a = a.masked_fill(~self.mask[:Tn, :Tn], float("-inf")).softmax(dim=-1)
        x = x + self.proj((a @ v).transpose(1, 2).reshape(Bn, Tn, Cn))
        return x + self.fc2(torch.nn.functional.gelu(self.fc1(self.ln2(x))))


class GPT(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = torch.nn.Embedding(V, C)
        self.pos = torch.nn.Embedding(T, C)
        self.blocks = torch.nn.ModuleList([Block() for _ in range(L)])
        self.ln_f = torch.nn.LayerNorm(C)
        self.head = torch.nn.Linear(C, V)
        for m in self.modules():
            if isinstance(m, (torch.nn.Linear, torch.nn.Embedding)):
                torch.nn.init.normal_(m.weight, 0.0, 0.02)
            if isinstance(m, torch.nn.Linear):
                torch.nn.init.zeros_(m.bias)

    def forward(self, idx):
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
        for b in self.blocks:
            x = b(x)
        return self.head(self.ln_f(x))


def make_text(gen):
    """A random text over V ids from a Markov chain: from each id, one of two
    successors with probabilities 0.7 / 0.2, anything else 0.1 in all."""
    succ = torch.randint(V, (V, 2), generator=gen)
    text = [int(torch.randint(V, (1,), generator=gen))]
    while len(text) < TEXT_LEN:
        u = float(torch.rand(1, generator=gen))
        c = text[-1]
        if u < 0.7:
            nxt = int(succ[c, 0])
        elif u < 0.9:
            nxt = int(succ[c, 1])
        else:
            nxt = int(torch.randint(V, (1,), generator=gen))
        text.append(nxt)
    return torch.tensor(text, dtype=torch.int64)


def make_batches(gen, text):
    batches = []
    for _ in range(NSTEPS):
        starts = torch.randint(TEXT_LEN - T, (B,), generator=gen)
        x = torch.stack([text[s:s + T] for s in starts.tolist()])
        y = torch.stack([text[s + 1:s + T + 1] for s in starts.tolist()])
        batches.append((x, y))
    return batches


def train(model, batches):
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=(0.9, 0.999), eps=1e-8, weight_decay=WD)
    lossf = torch.nn.CrossEntropyLoss()
    losses = []
    for x, y in batches:
        opt.zero_grad()
        loss = lossf(model(x).reshape(-1, V), y.reshape(-1))
        loss.backward()
        opt.step()
        losses.append(loss.detach().clone())
    return losses


torch.manual_seed(SEED)
model = GPT()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.round(p * 10000) / 10000)
init = {n: p.detach().clone() for n, p in model.named_parameters()}
names = list(init)

gen = torch.Generator().manual_seed(SEED + 1)
text = make_text(gen)
batches = make_batches(gen, text)

model64 = GPT().double()
with torch.no_grad():
    for (n, p) in model64.named_parameters():
        p.copy_(init[n].double())
losses = train(model, batches)
losses64 = train(model64, batches)
final = {n: p.detach().clone() for n, p in model.named_parameters()}
final64 = {n: p.detach().clone() for n, p in model64.named_parameters()}
worst_loss = max(abs(a.double() - b).item() / abs(b).item() for a, b in zip(losses, losses64))
worst_param = max(((final[n].double() - final64[n]).abs() / (1e-6 + 1e-4 * final64[n].abs())).max().item()
                  for n in names)
assert worst_loss <= F64_LOSS_RTOL, f"torch float32 losses are {worst_loss:.2e} from float64"
assert losses[-1] < losses[0] - 0.1, "the loss should fall over the steps"

out.append(f"# {NSTEPS} AdamW steps (lr {LR:g}, wd {WD:g}) of a GPT V={V} C={C} NH={NH} L={L}, B={B} T={T}")
out.append(f"# float64 check: worst relative loss difference float32 vs float64 = {worst_loss:.2e}; "
           f"worst final parameter |f32 - f64| / (1e-6 + 1e-4 |f64|) = {worst_param:.3f}")
out.append("# losses: " + " ".join("%.6f" % v.item() for v in losses))
put("config", torch.tensor([V, C, NH, L, B, T, NSTEPS, LR, WD], dtype=torch.float64))
for n in names:
    put(n, init[n])
for k, (x, y) in enumerate(batches, 1):
    put(f"step{k}.x", x.float())
    put(f"step{k}.y", y.float())
for k, v in enumerate(losses, 1):
    put(f"loss{k}", v)
for n in names:
    put("final." + n, final[n])

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gpt_parity.txt")
with open(path, "w") as f:
    f.write("# made by tests/golden/make_gpt_parity.py with torch %s\n" % torch.__version__)
    f.write("\n".join(out) + "\n")
print("wrote", path, len(out), "lines,", os.path.getsize(path), "bytes")
