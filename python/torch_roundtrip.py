#!/usr/bin/python3
"""A Lamina checkpoint in PyTorch and back, through the safetensors layout.

    /usr/bin/python3 python/torch_roundtrip.py [RUN_DIR]     # Debian's python3-torch

Lamina's checkpoints are safetensors files whose tensors carry PyTorch's names
and layouts (fc1.weight [out, in], fc1.bias [out]; conv weights [OC, C, KH, KW]),
so a torch module with the same layer names loads them with load_state_dict.
This script, for a dense network (the model file's [dense] sections):

  1. trains configs/digits_mlp.cfg with the lamina command (or takes RUN_DIR),
  2. reads RUN_DIR/model.safetensors with a small reader of the format (no
     safetensors package needed: 8-byte header length, JSON header, tensors),
     builds the same network in torch from the model file's text in the
     metadata, and loads the weights and the input scaler,
  3. checks that torch's class probabilities equal `lamina predict`'s,
  4. trains the torch model one more epoch, writes its weights back into a
     safetensors file with Lamina's metadata (model text, scaler), and checks
     that `lamina predict` on that file gives torch's new probabilities.

Exit 0 when both agree to 1e-5; the largest differences are printed.  The
environment variable LAMINA names the lamina command (default build/lamina).
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

LAMINA = os.environ.get("LAMINA", "build/lamina")
DATA = "data/digits.csv.gz"
DTYPES = {"F32": torch.float32, "I8": torch.int8, "I32": torch.int32, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path):
    """{name: tensor}, {metadata} of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = memoryview(raw)[8 + n:]
    tensors = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[b:end]), dtype=DTYPES[e["dtype"]]) if end > b else torch.empty(0)
        tensors[name] = t.reshape(e["shape"])
    return tensors, meta


def write_safetensors(path, tensors, meta):
    """The layout Lamina's reader checks: header keys in name order, tensors laid out without gaps,
    the header padded with spaces to a multiple of 8 bytes."""
    names = sorted(tensors)
    header, blobs, off = {"__metadata__": meta}, [], 0
    for name in names:
        t = tensors[name].detach().contiguous().to(torch.float32)
        b = t.numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def dense_layers(model_text):
    """[{name, units, activation}] of the [dense] sections, named as Lamina names them: the section's
    `name`, else fc1, fc2, ..."""
    layers, section, count = [], None, 0
    for line in model_text.splitlines() + ["[end]"]:
        line = line.split("#")[0].strip()
        if line.startswith("["):
            if section is not None:
                layers.append(section)
            section = None
            if line == "[dense]":
                count += 1
                section = {"name": "fc%d" % count, "activation": "none"}
            elif line not in ("[net]", "[data]", "[train]", "[dropout]", "[end]"):
                sys.exit("torch_roundtrip: this script maps dense networks; %s is not one (other layers load "
                         "by the same names into torch modules of the same layout)" % line)
        elif section is not None and "=" in line:
            k, v = (s.strip() for s in line.split("=", 1))
            section[k] = v
    return layers


class Dense(torch.nn.Module):
    ACT = {"none": torch.nn.Identity, "relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid,
           "gelu": torch.nn.GELU}

    def __init__(self, layers, n_in):
        super().__init__()
        self.names = [l["name"] for l in layers]
        self.lin = torch.nn.ModuleDict()
        self.act = []
        for l in layers:
            self.lin[l["name"]] = torch.nn.Linear(n_in, int(l["units"]))
            self.act.append(self.ACT[l.get("activation", "none")]())
            n_in = int(l["units"])

    def forward(self, x):
        for name, act in zip(self.names, self.act):
            x = act(self.lin[name](x))
        return x

    def state_dict_lamina(self):  # "fc1.weight" rather than "lin.fc1.weight"
        return {k[len("lin."):]: v for k, v in self.state_dict().items()}


def lamina_probs(ckpt, tmp):
    out = os.path.join(tmp, "preds.csv")
    subprocess.run([LAMINA, "predict", ckpt, "--data", DATA, "--out", out], check=True, capture_output=True)
    return np.loadtxt(out, delimiter=",", skiprows=1, usecols=range(1, 11))


def main():
    tmp = tempfile.mkdtemp(prefix="lamina_torch_")
    run = sys.argv[1] if len(sys.argv) > 1 else None
    if not run:
        run = os.path.join(tmp, "run")
        subprocess.run([LAMINA, "train", "configs/digits_mlp.cfg", "--out", run, "--epochs", "5", "--quiet"],
                       check=True, capture_output=True)
    ckpt = os.path.join(run, "model.safetensors")
    tensors, meta = read_safetensors(ckpt)
    layers = dense_layers(meta["model"])
    net = Dense(layers, tensors["scaler.shift"].numel() if "scaler.shift" in tensors else 64)
    params = {k: v for k, v in tensors.items() if not k.startswith("scaler.")}
    net.lin.load_state_dict(params, strict=True)
    shift, scale = tensors.get("scaler.shift"), tensors.get("scaler.scale")
    print("loaded %s into torch: %s; scaler %s" % (ckpt, ", ".join("%s %s" % (k, tuple(v.shape))
                                                                  for k, v in sorted(params.items())),
                                                  meta.get("scaler")))

    d = np.loadtxt(DATA, delimiter=",", dtype=np.float32)
    x = torch.from_numpy(d[:, :-1])
    y = torch.from_numpy(d[:, -1].astype(np.int64))
    xs = (x - shift) / scale if shift is not None else x
    net.eval()
    with torch.no_grad():
        p_torch = torch.softmax(net(xs), dim=1).numpy()
    diff1 = np.abs(p_torch - lamina_probs(ckpt, tmp)).max()
    print("1. torch and lamina predict on %d rows: largest difference %.3g" % (len(x), diff1))

    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=0.02, momentum=0.9)
    g = torch.Generator().manual_seed(0)
    for idx in torch.randperm(len(x), generator=g).split(32):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(xs[idx]), y[idx]).backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        p_new = torch.softmax(net(xs), dim=1).numpy()
    back = os.path.join(tmp, "from_torch.safetensors")
    out = dict(net.state_dict_lamina())
    if shift is not None:
        out["scaler.shift"], out["scaler.scale"] = shift, scale
    write_safetensors(back, out, meta)
    diff2 = np.abs(p_new - lamina_probs(back, tmp)).max()
    moved = np.abs(p_new - p_torch).max()
    print("2. one more epoch in torch (probabilities moved by up to %.3g), written back to %s: lamina predicts "
          "torch's probabilities, largest difference %.3g" % (moved, back, diff2))
    ok = diff1 < 1e-5 and diff2 < 1e-5 and moved > 1e-3
    print("round trip %s" % ("ok" if ok else "FAILED (files kept in %s)" % tmp))
    if ok:
        shutil.rmtree(tmp)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
