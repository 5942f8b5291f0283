"""Golden fixture for tests/test_lm_parity.c: an end-to-end training run of a
tiny character LSTM language model with torch.optim.Adam, in the spirit of
karpathy's llm.c parity test (same initial weights, same batches, the same
loss at every step).

Run from anywhere with Debian's interpreter:
    /usr/bin/python3 tests/golden/make_lm_parity.py
It writes tests/golden/lm_parity.txt in the format read by tests/golden.h (one
tensor per line: NAME d0 d1 ... : values; '#' lines are comments; a scalar has
no dimensions).  The fixture is committed, so the test suite itself needs no
Python.  The output is deterministic (one thread, fixed seeds).

Values are written as the shortest decimal (at most 9 significant digits,
like %.9g) that reads back to the same float32, and the initial weights are
torch's default initialisation rounded to 3 decimals (then to float32): the
values are exactly those of the run, only shorter, which keeps the fixture
under 100 KB.

The model, in float32 on one thread:
    Embedding(V, E) -> LSTM(E, H, num_layers=L, batch_first=True) -> Linear(H, V)
with V = 13, E = 8, H = 16, L = 2, trained for NSTEPS = 12 steps of
Adam(lr 1e-2, betas (0.9, 0.999), eps 1e-8) on batches of B = 4 windows of
T = 10 ids with CrossEntropyLoss (mean over all B*T positions) of the logits
[B*T, V] against the next ids.  The windows are cut at random places from a
random text drawn from a sparse Markov chain over the V ids (two likely
successors per id), so the loss actually falls over the steps.

Tensors (float32 values; ids are integers written as floats):
  config         8 numbers: V E H L B T NSTEPS lr
  emb.weight     [V, E]            initial parameters, under Lamina's names:
  lstm.weight_ih_l0 [4H, E]        "lstm." + torch's own names (gate rows
  lstm.weight_hh_l0 [4H, H]        i, f, g, o), in named_parameters() order
  lstm.bias_ih_l0 [4H]
  lstm.bias_hh_l0 [4H]
  lstm.weight_ih_l1 [4H, H]  ...   (the same for layer 1)
  head.weight    [V, H]
  head.bias      [V]
  step{k}.x      [B, T]  ids fed at step k = 1..NSTEPS
  step{k}.y      [B, T]  target ids (the next id of the text) at step k
  loss{k}        scalar: the loss of step k's forward pass (before update k)
  final.<name>   every parameter after the NSTEPS updates

The script also runs the same training in float64 from the same start and
records (comment line "# float64 check") how far torch's own float32 losses
and final parameters are from it; it asserts the losses agree within 1e-5
relative, so that the tolerance of the C test is one a correct float32
implementation can meet.
"""
import os

import torch

torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)
SEED = 20240801
V, E, H, L, B, T = 13, 8, 16, 2, 4, 10
NSTEPS = 12
LR = 1e-2
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


class LM(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(V, E)
        self.lstm = torch.nn.LSTM(E, H, num_layers=L, batch_first=True)
        self.head = torch.nn.Linear(H, V)

    def forward(self, x):
        h, _ = self.lstm(self.emb(x))
        return self.head(h)


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
    """Adam over every parameter; returns the per-step losses."""
    opt = torch.optim.Adam(model.parameters(), lr=LR, betas=(0.9, 0.999), eps=1e-8)
    lossf = torch.nn.CrossEntropyLoss()
    losses = []
    for x, y in batches:
        opt.zero_grad()
        logits = model(x)
        loss = lossf(logits.reshape(-1, V), y.reshape(-1))
        loss.backward()
        opt.step()
        losses.append(loss.detach().clone())
    return losses


torch.manual_seed(SEED)
model = LM()
with torch.no_grad():  # short initial values (exact in the run: float32 of 3 decimals)
    for p in model.parameters():
        p.copy_(torch.round(p * 1000) / 1000)
init = {n: p.detach().clone() for n, p in model.named_parameters()}
names = list(init)
assert names[0] == "emb.weight" and names[1] == "lstm.weight_ih_l0" and names[-1] == "head.bias"

gen = torch.Generator().manual_seed(SEED + 1)
text = make_text(gen)
batches = make_batches(gen, text)

model64 = LM().double()
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

out.append(f"# {NSTEPS} Adam steps (lr {LR:g}, betas 0.9/0.999, eps 1e-8) of Embedding({V}, {E}) -> "
           f"LSTM({E}, {H}, num_layers={L}) -> Linear({H}, {V}), B={B} T={T}, CrossEntropyLoss (mean)")
out.append(f"# float64 check: worst relative loss difference float32 vs float64 = {worst_loss:.2e}; "
           f"worst final parameter |f32 - f64| / (1e-6 + 1e-4 |f64|) = {worst_param:.3f}")
out.append("# losses: " + " ".join("%.6f" % v.item() for v in losses))
put("config", torch.tensor([V, E, H, L, B, T, NSTEPS, LR], dtype=torch.float64))
for n in names:
    put(n, init[n])
for k, (x, y) in enumerate(batches, 1):
    put(f"step{k}.x", x.float())
    put(f"step{k}.y", y.float())
for k, v in enumerate(losses, 1):
    put(f"loss{k}", v)
for n in names:
    put("final." + n, final[n])

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lm_parity.txt")
with open(path, "w") as f:
    f.write("# made by tests/golden/make_lm_parity.py with torch %s\n" % torch.__version__)
    f.write("\n".join(out) + "\n")
print("wrote", path, len(out), "lines,", os.path.getsize(path), "bytes")
