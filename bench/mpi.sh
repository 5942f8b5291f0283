#!/bin/sh
# Data parallelism against threads (issue 12): `make bench-mpi` runs
#   sh bench/mpi.sh BUILD      (BUILD: an MPI build, default build/mpi)
#
# For the GPT (configs/char_gpt.cfg) and a CNN (configs/fashion_cnn.cfg when
# Debian's dataset-fashion-mnist is installed, else a CNN on the digits), it
# trains STEPS optimiser steps as one rank with 2 threads and as 2 ranks
# with 1 thread each (mpirun -np 2), and as one rank with 1 thread for the
# scaling model, ROUNDS interleaved rounds.  When /usr/bin/python3 has torch
# and threadpoolctl, PyTorch runs the two settings in the same rounds
# (bench/peers/ddp.py: the shared peers' char_gpt and fashion_cnn, one
# process with 2 threads against DistributedDataParallel over gloo, 2
# processes with 1 thread).  bench_allreduce then measures the all-reduce
# itself (latency and bandwidth).  It prints the medians of the throughput
# (each run's median step after 5 warm-up steps), the ratio 2 x 1 / 1 x 2 of
# each side, Lamina's throughput over PyTorch's, the share of each step rank
# 0 spent waiting for the other rank, and the scaling model of
# docs/distributed.md with its inputs.
#
# Environment: LAMINA_BENCH_MPI_ROUNDS (default 3), LAMINA_BENCH_MPI_STEPS
# (default 60), LAMINA_PEERS (the shared peers, default ../shared/peers),
# PYTHON_TORCH (default /usr/bin/python3).
# Results: BUILD/bench-results/mpi-DATE-TIME/.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build/mpi}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
LAMINA=$BUILD/lamina
ROUNDS=${LAMINA_BENCH_MPI_ROUNDS:-3}
STEPS=${LAMINA_BENCH_MPI_STEPS:-60}
if ! "$LAMINA" --version 2>/dev/null | grep -q '(MPI: '; then
    echo "bench-mpi: $LAMINA is not built with MPI (make MPI=1 BUILD=build/mpi; Debian: libopenmpi-dev openmpi-bin)" >&2
    exit 1
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
OUT=$BUILD/bench-results/mpi-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT" || exit 1
cd "$ROOT" || exit 1

. "$ROOT/bench/torch.sh"
torch_peers bench-mpi char_gpt.py "torch, threadpoolctl"

cnn=configs/fashion_cnn.cfg cnn_half=16
cnn_torch=$TORCH
if [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] &&
    [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte ]; then
    cnn=$OUT/digits_cnn.cfg cnn_half=32
    printf '%s\n' "[net]" "input = 1, 8, 8" "[data]" "path = data/digits.csv.gz" "[conv2d]" "filters = 32" \
        "kernel = 3" "padding = same" "activation = relu" "[conv2d]" "filters = 32" "kernel = 3" "padding = same" \
        "activation = relu" "[maxpool]" "size = 2" "[flatten]" "[dense]" "units = 10" "[train]" "optimizer = adam" \
        "lr = 0.001" "batch = 64" >"$cnn"
    cnn_torch=0 # the peer's CNN is Fashion-MNIST's
fi

# one run: WORKLOAD MODE ROUND -> a JSON summary in OUT/WORKLOAD-MODE-ROUND.json
one() {
    w=$1 mode=$2 r=$3
    case $w in gpt) cfg=configs/char_gpt.cfg half=8 ;; cnn) cfg=$cnn half=$cnn_half ;; esac
    json=$OUT/$w-$mode-$r.json
    if [ "$mode" = half ]; then # one process, one thread, half the batch: what a rank of 2 computes, alone
        "$LAMINA" train "$cfg" --out "$OUT/run-$w-$mode-$r" --steps "$STEPS" --threads 1 --batch "$half" --quiet \
            --json >"$json" 2>"$json.err"
    elif [ "$mode" = 1x1 ] || [ "$mode" = 1x2 ]; then
        "$LAMINA" train "$cfg" --out "$OUT/run-$w-$mode-$r" --steps "$STEPS" --threads "${mode#1x}" --quiet --json \
            >"$json" 2>"$json.err"
    else
        mpirun -np 2 --bind-to core "$LAMINA" train "$cfg" --out "$OUT/run-$w-$mode-$r" --steps "$STEPS" \
            --threads 1 --quiet --json >"$json" 2>"$json.err"
    fi || echo "bench-mpi: $w $mode round $r failed (see $json.err)" >&2
    if { [ "$mode" = 1x2 ] || [ "$mode" = 2x1 ]; } && [ "$TORCH" = 1 ] && { [ "$w" = gpt ] || [ "$cnn_torch" = 1 ]; }; then
        json=$OUT/$w-torch-$mode-$r.json
        if [ "$mode" = 1x2 ]; then
            env OMP_WAIT_POLICY=PASSIVE PYTHONPATH="$PEERS" "$PYT" bench/peers/ddp.py --workload "$w" \
                --procs 1 --threads 2 --steps "$STEPS" >"$json" 2>"$json.err"
        else
            env PYTHONPATH="$PEERS" "$PYT" bench/peers/ddp.py --workload "$w" --procs 2 --threads 1 \
                --steps "$STEPS" >"$json" 2>"$json.err"
        fi || echo "bench-mpi: torch $w $mode round $r failed (see $json.err)" >&2
    fi
}

echo "bench-mpi: $ROUNDS interleaved rounds of $STEPS steps; the GPT and $(basename "$cnn"); results in $OUT"
r=1
while [ "$r" -le "$ROUNDS" ]; do
    for w in gpt cnn; do
        one "$w" 1x1 "$r"
        one "$w" half "$r"
        one "$w" 1x2 "$r"
        one "$w" 2x1 "$r"
    done
    r=$((r + 1))
done

echo "bench-mpi: the all-reduce itself (2 ranks, lam_comm_sum_f32):"
mpirun -np 2 --bind-to core "$BUILD/bench/bench_allreduce" 30 | tee "$OUT/allreduce.jsonl"
echo

/usr/bin/python3 - "$OUT" "$ROUNDS" <<'EOF'
import json, os, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def load(name, lamina):
    rows = []
    for r in range(1, rounds + 1):
        try:
            with open(os.path.join(out, "%s-%d.json" % (name, r))) as f:
                doc = json.load(f)
            rows.append(doc["training"] if lamina else doc)
        except (OSError, ValueError, KeyError):
            pass
    return rows
def med(rows, key):
    return statistics.median(x[key] for x in rows) if rows else None
fmt = "%-4s %-8s %-20s %15s %15s %7s %14s"
print(fmt % ("", "", "throughput (median)", "1 proc x 2 thr", "2 procs x 1 thr", "ratio", "waiting (2x1)"))
for w, unit in (("gpt", "tokens_per_second"), ("cnn", "samples_per_second")):
    lam = [load("%s-%s" % (w, m), True) for m in ("1x2", "2x1")]
    tor = [load("%s-torch-%s" % (w, m), False) for m in ("1x2", "2x1")]
    res = {}
    for side, rows in (("lamina", lam), ("torch", tor)):
        a, b = med(rows[0], unit), med(rows[1], unit)
        if a is None or b is None:
            if side == "lamina":
                print("%-4s %-8s no result" % (w, side))
            continue
        res[side] = (a, b)
        wait = ("%13.1f%%" % (100 * med(rows[1], "comm_wait_share"))) if side == "lamina" else ""
        print(fmt % (w, side, unit.replace("_", " "), "%.0f" % a, "%.0f" % b, "%.3f" % (b / a), wait)
              + "  (%d / %d runs)" % (len(rows[0]), len(rows[1])))
    if len(res) == 2:
        (la, lb), (ta, tb) = res["lamina"], res["torch"]
        print(fmt % (w, "lam/pt", "throughput ratio", "%.2f" % (la / ta), "%.2f" % (lb / tb), "", ""))

# The scaling model of docs/distributed.md: a step on N ranks, one per host, with the global
# batch fixed, takes T_N = C / N + R + ceil(log2 N) * A, where C is the forward and backward
# work of the whole batch, R what every rank repeats (the optimiser update, the loader, the
# step's sums), and A = k * alpha + n / beta one two-rank all-reduce of the gradient (n bytes
# in k buckets; Open MPI sums an in-place all-reduce up and down a binomial tree, ceil(log2 N)
# levels).  C and R come from one process with one thread on the whole batch (T_1 = C + R) and
# on half of it (C / 2 + R).  On one machine the two ranks also slow each other down (shared
# caches, memory and clock): S, the 2 x 1 run's steps less their waiting less C / 2 + R.  A
# with this machine's alpha and beta is checked against the 2 x 1 run's measured waiting per
# step; the projection to N hosts takes A from an assumed network, no S, and no overlap of
# the sums with backward (an upper bound on the time).
fit = None
try:
    with open(os.path.join(out, "allreduce.jsonl")) as f:
        for line in f:
            d = json.loads(line)
            if d.get("bench") == "allreduce_fit":
                fit = d
except (OSError, ValueError):
    pass
nets = (("10 GbE", 25e-6, 1.17e9), ("100 Gb/s IB", 2e-6, 11.5e9))  # assumed: latency, bandwidth of a link
if fit:
    alpha, beta = fit["latency_s"], fit["bandwidth_bytes_per_s"]
    print()
    print("scaling model (docs/distributed.md): here alpha %.2f us, beta %.2f GB/s (2 ranks); across hosts a level"
          " costs 2 x (latency + n / bandwidth), assumed %s" % (1e6 * alpha, beta / 1e9,
          ", ".join("%s %g us %.2f GB/s" % (nm, 1e6 * a, b / 1e9) for nm, a, b in nets)))
    print("%-4s %9s %4s %8s %8s %8s %8s | %-15s | %s" % ("", "gradient", "bkt", "T1 ms", "C ms", "R ms", "S ms",
                                                      "A model / wait", "speed-up at N = 2, 4, 8, 16 hosts: "
                                                      + " / ".join(nm for nm, _, _ in nets)))
    for w in ("gpt", "cnn"):
        r1, rh, r2 = (load("%s-%s" % (w, m), True) for m in ("1x1", "half", "2x1"))
        if not r1 or not rh or not r2:
            continue
        with open(os.path.join(out, "%s-1x1-1.json" % w)) as f:
            n = 4 * json.load(f)["model"]["parameters"]
        k = -(-n // (1 << 20))
        t1, th, t2 = (med(x, "median_step_seconds") for x in (r1, rh, r2))
        c, rr = 2 * (t1 - th), 2 * th - t1
        sl = t2 * (1 - med(r2, "comm_wait_share")) - th
        a_here = k * alpha + n / beta
        proj = []
        for nm, la, bw in nets:
            a_net = 2 * (k * la + n / bw)
            proj.append(" ".join("%.2f" % (t1 / (c / N + rr + (N - 1).bit_length() * a_net)) for N in (2, 4, 8, 16)))
        print("%-4s %6.2f MB %4d %8.2f %8.2f %8.2f %8.2f | %6.2f / %6.2f | %s" % (
            w, n / 1e6, k, 1e3 * t1, 1e3 * c, 1e3 * rr, 1e3 * sl, 1e3 * a_here, 1e3 * t2 * med(r2, "comm_wait_share"),
            " / ".join(proj)))
EOF
