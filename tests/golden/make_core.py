"""Golden fixtures for the core ops, computed by PyTorch (Debian's python3-torch).

Run from the repository root with Debian's interpreter:
    /usr/bin/python3 tests/golden/make_core.py
It writes tests/golden/core.txt in the format read by tests/golden.h (one tensor
per line: NAME d0 d1 ... : values).  The fixtures are committed, so the test
suite itself needs no Python.

Cases: nn.Linear forward and backward (input, weight, bias gradients) for each
activation Lamina fuses into dense (none, relu, sigmoid, tanh, gelu), with a
random upstream gradient; MSE, cross-entropy and BCE-with-logits losses with
their input gradients.
"""
import os

import torch
import torch.nn.functional as F

torch.manual_seed(1234)
torch.set_default_dtype(torch.float32)
out = []


def put(name, t):
    t = t.detach().contiguous().float()
    dims = " ".join(str(d) for d in t.shape)
    vals = " ".join("%.9g" % v for v in t.reshape(-1).tolist())
    out.append(f"{name} {dims} : {vals}".replace("  :", " :"))


B, IN, OUT = 5, 7, 4
acts = {"none": lambda x: x, "relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
        "gelu": F.gelu}
for name, act in acts.items():
    lin = torch.nn.Linear(IN, OUT)
    x = torch.randn(B, IN, requires_grad=True)
    y = act(lin(x))
    gy = torch.randn(B, OUT)
    y.backward(gy)
    p = f"dense_{name}"
    put(p + ".x", x)
    put(p + ".w", lin.weight)
    put(p + ".b", lin.bias)
    put(p + ".gy", gy)
    put(p + ".y", y)
    put(p + ".gx", x.grad)
    put(p + ".gw", lin.weight.grad)
    put(p + ".gb", lin.bias.grad)

# losses
pred = torch.randn(6, 3, requires_grad=True)
tgt = torch.randn(6, 3)
loss = F.mse_loss(pred, tgt)
loss.backward()
put("mse.pred", pred); put("mse.target", tgt); put("mse.loss", loss); put("mse.gpred", pred.grad)

logits = (3 * torch.randn(6, 5)).requires_grad_()
labels = torch.tensor([0, 4, 2, 2, 1, 3])
loss = F.cross_entropy(logits, labels)
loss.backward()
put("ce.logits", logits); put("ce.labels", labels.float()); put("ce.loss", loss); put("ce.glogits", logits.grad)

logits = (3 * torch.randn(6, 2)).requires_grad_()
tgt = torch.rand(6, 2)
loss = F.binary_cross_entropy_with_logits(logits, tgt)
loss.backward()
put("bce.logits", logits); put("bce.target", tgt); put("bce.loss", loss); put("bce.glogits", logits.grad)

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "core.txt")
with open(path, "w") as f:
    f.write("# made by tests/golden/make_core.py with torch %s\n" % torch.__version__)
    f.write("\n".join(out) + "\n")
print("wrote", path, len(out), "tensors")
