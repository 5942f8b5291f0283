"""char_llama: the LLaMA-style variant of char_gpt (../shared/peers/char_gpt.py), for
configs/char_llama.cfg.  Written for Lamina's bench (the shared peers have no such workload);
it reuses the shared peers' common.py (run.sh puts that folder on PYTHONPATH).

Workload: char_gpt's corpus, batches (16 windows of 128 bytes from torch.randint with a
Generator seeded 0), 4 blocks of 4 heads over a width of 128, AdamW lr 1e-3, weight decay
0.1 on every parameter, 300 steps, timed the same way.  The block differs:
  per block (pre-norm):  x = x + proj(attn(RMSNorm1(x)));  x = x + fc2(silu(a) * b),
                         [a | b] = fc1(RMSNorm2(x)), fc1 Linear(128, 2 * 344), fc2 Linear(344, 128)
  attn: qkv = Linear(128, 384)(h), q and k rotated by RoPE (theta 10000, HF LLaMA's
        rotate_half pairing: element i with i + 16 of each 32-wide head), causal softmax.
  RMSNorm: x / sqrt(mean(x^2) + 1e-6) * w (written out: torch 1.13 has no nn.RMSNorm);
  no biases anywhere; no position table; final RMSNorm -> lm_head Linear(128, vocab).
  init (torch.manual_seed(0)): Linear / Embedding weights N(0, 0.02), RMSNorm weights 1.
Run: PYTHONPATH=../shared/peers /usr/bin/python3 bench/peers/char_llama.py [--threads N] [--steps S]
"""
import math
import time

import torch
from torch import nn

from common import load_corpus, main, med_spread

N_LAYER, N_HEAD, N_EMBD, BLOCK, BATCH, WARMUP, HIDDEN = 4, 4, 128, 128, 16, 5, 344
HS = N_EMBD // N_HEAD


class RMSNorm(nn.Module):
    def __init__(self, c, eps=1e-6):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(c)), eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    a, b = x[..., : HS // 2], x[..., HS // 2:]
    return torch.cat((-b, a), dim=-1)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.n1, self.n2 = RMSNorm(N_EMBD), RMSNorm(N_EMBD)
        self.qkv, self.proj = nn.Linear(N_EMBD, 3 * N_EMBD, bias=False), nn.Linear(N_EMBD, N_EMBD, bias=False)
        self.fc1, self.fc2 = nn.Linear(N_EMBD, 2 * HIDDEN, bias=False), nn.Linear(HIDDEN, N_EMBD, bias=False)
        self.register_buffer("mask", torch.tril(torch.ones(BLOCK, BLOCK, dtype=torch.bool)))
        inv = 1.0 / (10000.0 ** (torch.arange(0, HS, 2).float() / HS))
        ang = torch.arange(BLOCK).float()[:, None] * inv[None, :]
        ang = torch.cat((ang, ang), dim=-1)                    # [T, HS]
        self.register_buffer("cos", ang.cos())
        self.register_buffer("sin", ang.sin())

    def attn(self, h):
        B, T, C = h.shape
        q, k, v = self.qkv(h).split(N_EMBD, dim=2)
        q, k, v = (t.view(B, T, N_HEAD, HS).transpose(1, 2) for t in (q, k, v))
        cos, sin = self.cos[:T], self.sin[:T]
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        a = (q @ k.transpose(-2, -1)) / math.sqrt(HS)
        a = a.masked_fill(~self.mask[:T, :T], float("-inf")).softmax(dim=-1)
        return self.proj((a @ v).transpose(1, 2).reshape(B, T, C))

    def forward(self, x):
        x = x + self.attn(self.n1(x))
        a, b = self.fc1(self.n2(x)).split(HIDDEN, dim=-1)
        return x + self.fc2(nn.functional.silu(a) * b)


class Llama(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.tok = nn.Embedding(vocab, N_EMBD)
        self.blocks = nn.Sequential(*[Block() for _ in range(N_LAYER)])
        self.norm, self.head = RMSNorm(N_EMBD), nn.Linear(N_EMBD, vocab, bias=False)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, idx):
        return self.head(self.norm(self.blocks(self.tok(idx))))


def run(threads, args):
    ids, vocab, info = load_corpus()
    data = torch.from_numpy(ids)
    torch.manual_seed(0)
    model = Llama(vocab)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    lossf = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(0)
    offs = torch.arange(BLOCK)
    times, losses = [], []
    for step in range(args.steps):
        t0 = time.perf_counter()
        ix = torch.randint(len(data) - BLOCK - 1, (BATCH,), generator=g)
        x, y = data[ix[:, None] + offs], data[ix[:, None] + offs + 1]
        opt.zero_grad()
        loss = lossf(model(x).reshape(-1, vocab), y.reshape(-1))
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if step >= WARMUP:
            times.append(time.perf_counter() - t0)
    st = med_spread(times)
    return {**info, "params": sum(p.numel() for p in model.parameters()), "steps": args.steps,
            "step_s": st, "tokens_per_s": round(BATCH * BLOCK / st["median"], 1),
            "loss_first": round(losses[0], 4), "loss_last": round(losses[-1], 4),
            "loss_last10_mean": round(sum(losses[-10:]) / 10, 4)}


if __name__ == "__main__":
    main(run, extra_args={"--steps": {"type": int, "default": 300}})
