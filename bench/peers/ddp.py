"""ddp: PyTorch's data parallelism on the workloads of bench/mpi.sh, for Lamina's
`make bench-mpi` (issue 12).  Written for Lamina's bench (the shared peers have no
distributed workload); it reuses the shared peers' models and data (run.sh and mpi.sh put
../shared/peers on PYTHONPATH).

Workloads (as the shared peers define them, timed per optimiser step like char_gpt.py):
  gpt  char_gpt.py's model, corpus, batches (16 windows of 128 from a Generator seeded 0)
       and AdamW; tokens/s = 2048 / median step.
  cnn  fashion_cnn.py's model on Fashion-MNIST, Adam lr 1e-3, batches of 32 from one
       randperm seeded 0; samples/s = 32 / median step.
Modes:
  --procs 1 --threads 2   one process, two intra-op threads (the plain peer)
  --procs 2 --threads 1   DistributedDataParallel over the gloo backend on 127.0.0.1, each
                          process takes its half of every global batch (the global batches are
                          those of one process) and runs one thread.
The first 5 steps are warm-up; the median of the rest is reported by rank 0 as one JSON line.
Run: PYTHONPATH=../shared/peers /usr/bin/python3 bench/peers/ddp.py --workload gpt --procs 2
"""
import argparse
import json
import os
import socket
import statistics
import sys
import time

import torch
import torch.distributed as dist
from torch import nn

from common import load_corpus, load_fashion, set_threads

WARMUP = 5


def batches_gpt():
    import char_gpt
    ids, vocab, _ = load_corpus()
    data = torch.from_numpy(ids)
    torch.manual_seed(0)
    model = char_gpt.GPT(vocab)
    opt_fn = lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=0.1)  # noqa: E731
    g = torch.Generator().manual_seed(0)
    offs = torch.arange(char_gpt.BLOCK)

    def batch(_step):
        ix = torch.randint(len(data) - char_gpt.BLOCK - 1, (char_gpt.BATCH,), generator=g)
        return data[ix[:, None] + offs], data[ix[:, None] + offs + 1]

    def loss_fn(out, y):
        return nn.functional.cross_entropy(out.reshape(-1, vocab), y.reshape(-1))
    return model, opt_fn, batch, loss_fn, char_gpt.BATCH * char_gpt.BLOCK, "tokens_per_second"


def batches_cnn():
    import fashion_cnn
    xtr, ytr, _, _ = (torch.from_numpy(a) for a in load_fashion())
    torch.manual_seed(0)
    model = fashion_cnn.make_model()
    opt_fn = lambda p: torch.optim.Adam(p, lr=1e-3)  # noqa: E731
    perm = torch.randperm(len(xtr), generator=torch.Generator().manual_seed(0))

    def batch(step):
        idx = perm[(step * 32) % len(xtr):][:32]
        return xtr[idx], ytr[idx]
    return model, opt_fn, batch, nn.functional.cross_entropy, 32, "samples_per_second"


def worker(rank, procs, threads, workload, steps, port, out):
    set_threads(threads)
    if procs > 1:
        dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%d" % port, rank=rank, world_size=procs)
    model, opt_fn, batch, loss_fn, per_step, unit = {"gpt": batches_gpt, "cnn": batches_cnn}[workload]()
    if procs > 1:
        # the GPT's causal masks are bool buffers, which gloo cannot broadcast; they are
        # constants of the architecture, the same in every process
        nn.parallel.DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(
            model, [n for n, b in model.named_buffers() if b.dtype == torch.bool])
        model = nn.parallel.DistributedDataParallel(model)
    opt = opt_fn(model.parameters())
    times = []
    for step in range(steps):
        t0 = time.perf_counter()
        x, y = batch(step)
        n = x.shape[0]
        x, y = x[n * rank // procs:n * (rank + 1) // procs], y[n * rank // procs:n * (rank + 1) // procs]
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()  # DDP averages the gradients over the processes
        opt.step()
        if step >= WARMUP:
            times.append(time.perf_counter() - t0)
    if procs > 1:
        dist.destroy_process_group()
    if rank == 0:
        med = statistics.median(times)
        res = {"workload": workload, "procs": procs, "threads": threads, "steps": steps,
               "step_s_median": round(med, 6), unit: round(per_step / med, 1), "loss_last": round(loss.item(), 4)}
        with open(out, "w") as f:
            json.dump(res, f)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--workload", choices=("gpt", "cnn"), default="gpt")
    p.add_argument("--procs", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=60)
    a = p.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = "/tmp/lamina-ddp-%d.json" % os.getpid()
    if a.procs == 1:
        worker(0, 1, a.threads, a.workload, a.steps, port, out)
    else:
        torch.multiprocessing.spawn(worker, args=(a.procs, a.threads, a.workload, a.steps, port, out),
                                    nprocs=a.procs, join=True)
    with open(out) as f:
        print(f.read(), flush=True)
    os.unlink(out)


if __name__ == "__main__":
    sys.exit(main())
