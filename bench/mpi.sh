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
# other rank.  Then bench_allreduce measures the all-reduce itself (latency
# and bandwidth, for the scaling model of docs/distributed.md).
#
# Environment: LAMINA_BENCH_MPI_ROUNDS (default 3), LAMINA_BENCH_MPI_STEPS
# (default 60).  Results: BUILD/bench-results/mpi-DATE-TIME/.
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

cnn=configs/fashion_cnn.cfg
if [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] &&
    [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte ]; then
    cnn=$OUT/digits_cnn.cfg
    printf '%s\n' "[net]" "input = 1, 8, 8" "[data]" "path = data/digits.csv.gz" "[conv2d]" "filters = 32" \
        "kernel = 3" "padding = same" "activation = relu" "[conv2d]" "filters = 32" "kernel = 3" "padding = same" \
        "activation = relu" "[maxpool]" "size = 2" "[flatten]" "[dense]" "units = 10" "[train]" "optimizer = adam" \
        "lr = 0.001" "batch = 64" >"$cnn"
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
def load(w, mode):
    rows = []
    for r in range(1, rounds + 1):
        try:
            with open(os.path.join(out, "%s-%s-%d.json" % (w, mode, r))) as f:
                rows.append(json.load(f)["training"])
        except (OSError, ValueError, KeyError):
            pass
    return rows
print("%-5s %-22s %14s %14s %8s %14s" % ("", "throughput (median)", "1 rank x 2 thr", "2 ranks x 1 thr", "ratio",
                                          "waiting (2x1)"))
for w, unit in (("gpt", "tokens_per_second"), ("cnn", "samples_per_second")):
    a, b = load(w, "1x2"), load(w, "2x1")
    if not a or not b:
        print("%-5s no result" % w)
        continue
    ta = statistics.median(x[unit] for x in a)
    tb = statistics.median(x[unit] for x in b)
    wait = statistics.median(x.get("comm_wait_share", 0) for x in b)
    print("%-5s %-22s %14.0f %14.0f %8.3f %13.1f%%  (%d / %d runs)" % (w, unit.replace("_", " "), ta, tb, tb / ta,
                                                                        100 * wait, len(a), len(b)))
EOF
echo "bench-mpi: the all-reduce itself (2 ranks, lam_comm_sum_f32):"
mpirun -np 2 --bind-to core "$BUILD/bench/bench_allreduce" 30 | tee "$OUT/allreduce.jsonl"
