#!/bin/sh
# Data parallelism against threads (issue 12): `make bench-mpi` runs
#   sh bench/mpi.sh BUILD      (BUILD: an MPI build, default build/mpi)
#
# For the GPT (configs/char_gpt.cfg) and a CNN (configs/fashion_cnn.cfg when
# Debian's dataset-fashion-mnist is installed, else a CNN on the digits), it
# trains STEPS optimiser steps as one rank with 2 threads and as 2 ranks
# with 1 thread each (mpirun -np 2), ROUNDS interleaved rounds, and prints
# the medians of the throughput (from each run's median step after 5 warm-up
# steps), their ratio, and the share of training rank 0 spent waiting for the
# other rank.  When /usr/bin/python3 has torch and threadpoolctl, the same
# two settings of PyTorch run in the same rounds (bench/peers/ddp.py: the
# shared peers' char_gpt and fashion_cnn, one process with 2 threads against
# DistributedDataParallel over gloo, 2 processes with 1 thread), and the
# table gives each side's ratio and Lamina's throughput over PyTorch's.
# Then bench_allreduce measures the all-reduce itself (latency and
# bandwidth, for the scaling model of docs/distributed.md).
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

cnn=configs/fashion_cnn.cfg
cnn_torch=$TORCH
if [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] &&
    [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte ]; then
    cnn=$OUT/digits_cnn.cfg
    printf '%s\n' "[net]" "input = 1, 8, 8" "[data]" "path = data/digits.csv.gz" "[conv2d]" "filters = 32" \
        "kernel = 3" "padding = same" "activation = relu" "[conv2d]" "filters = 32" "kernel = 3" "padding = same" \
        "activation = relu" "[maxpool]" "size = 2" "[flatten]" "[dense]" "units = 10" "[train]" "optimizer = adam" \
        "lr = 0.001" "batch = 64" >"$cnn"
    cnn_torch=0 # the peer's CNN is Fashion-MNIST's
fi

# one run: WORKLOAD MODE ROUND -> a JSON summary in OUT/WORKLOAD-MODE-ROUND.json
one() {
    w=$1 mode=$2 r=$3
    case $w in gpt) cfg=configs/char_gpt.cfg ;; cnn) cfg=$cnn ;; esac
    json=$OUT/$w-$mode-$r.json
    if [ "$mode" = 1x2 ]; then
        "$LAMINA" train "$cfg" --out "$OUT/run-$w-$mode-$r" --steps "$STEPS" --threads 2 --quiet --json >"$json" 2>"$json.err"
    else
        mpirun -np 2 --bind-to core "$LAMINA" train "$cfg" --out "$OUT/run-$w-$mode-$r" --steps "$STEPS" \
            --threads 1 --quiet --json >"$json" 2>"$json.err"
    fi || echo "bench-mpi: $w $mode round $r failed (see $json.err)" >&2
    if [ "$TORCH" = 1 ] && { [ "$w" = gpt ] || [ "$cnn_torch" = 1 ]; }; then
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
        one "$w" 1x2 "$r"
        one "$w" 2x1 "$r"
    done
    r=$((r + 1))
done

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
EOF
echo "bench-mpi: the all-reduce itself (2 ranks, lam_comm_sum_f32):"
mpirun -np 2 --bind-to core "$BUILD/bench/bench_allreduce" 30 | tee "$OUT/allreduce.jsonl"
