#!/bin/sh
# Lamina benchmarks against PyTorch: `make bench` runs  sh bench/run.sh BUILD.
#
#   digits_mlp  bench_digits (ours) and ../shared/peers/digits_mlp.py (PyTorch),
#               1 and 2 threads, RUNS fresh processes each, interleaved so that
#               machine noise hits both sides alike; figure = median over runs
#               of each run's median epoch time.
#   sgemm       bench_gemm (ours vs OpenBLAS), if it was built.
#
# Environment:
#   LAMINA_PEERS       directory of the PyTorch peer scripts (default: ../shared/peers
#                      next to the repository root)
#   LAMINA_BENCH_RUNS  runs per configuration (default 5)
#   LAMINA_BENCH_GEMM  0 to skip bench_gemm
#   PYTHON_TORCH       interpreter with torch/sklearn/threadpoolctl (/usr/bin/python3)
# Raw JSON lines and logs go to BUILD/bench-results/DATE-TIME/ (BUILD/bench-results/latest).
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
RUNS=${LAMINA_BENCH_RUNS:-5}
PEERS=${LAMINA_PEERS:-$ROOT/../shared/peers}
PYT=${PYTHON_TORCH:-/usr/bin/python3}
DIGITS=$BUILD/bench/bench_digits
GEMM=$BUILD/bench/bench_gemm

if [ ! -x "$DIGITS" ]; then
    echo "bench: $DIGITS not built (run: make bench)" >&2
    exit 1
fi
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=$BUILD/bench-results/$STAMP
mkdir -p "$OUT" || exit 1
ln -sfn "$STAMP" "$BUILD/bench-results/latest"

# Python for the summary table (stdlib only): any python3.
PY=
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null 2>&1; then PY=$p; break; fi
done

echo "== Lamina benchmarks  $(date '+%Y-%m-%d %H:%M')  $(nproc 2>/dev/null || echo ?) CPUs: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)"
echo "   load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)   results: $OUT"

# ---- PyTorch available? -------------------------------------------------------
TORCH=1
if [ ! -f "$PEERS/digits_mlp.py" ]; then
    echo "bench: PyTorch side skipped: $PEERS/digits_mlp.py not found (set LAMINA_PEERS=DIR)"
    TORCH=0
elif ! "$PYT" -c "import torch, sklearn, threadpoolctl" >/dev/null 2>&1; then
    echo "bench: PyTorch side skipped: $PYT cannot import torch, sklearn and threadpoolctl" \
         "(apt-get install python3-torch python3-sklearn python3-threadpoolctl)"
    TORCH=0
fi

# ---- digits_mlp -------------------------------------------------------------------
# One fresh process per measurement; the last stdout line is the JSON record.
run_json() { # FILE LOG CMD...
    f=$1 log=$2
    shift 2
    if "$@" >"$OUT/.tmp" 2>>"$log"; then
        tail -n 1 "$OUT/.tmp" >>"$f"
        cat "$OUT/.tmp" >>"$log"
        return 0
    fi
    cat "$OUT/.tmp" >>"$log"
    return 1
}

if [ "$TORCH" = 1 ]; then SIDES="lamina, torch"; else SIDES="lamina"; fi
echo "-- digits_mlp: $RUNS runs x {$SIDES} x {1, 2} threads, fresh process each (about $((RUNS * (TORCH * 7 + 2))) s)"
i=1
while [ "$i" -le "$RUNS" ]; do
    for t in 1 2; do
        if ! run_json "$OUT/digits_lamina_t$t.jsonl" "$OUT/digits_lamina.log" \
            "$DIGITS" --threads "$t" --data "$ROOT/data/digits.csv.gz"; then
            echo "bench: bench_digits --threads $t failed:" >&2
            tail -n 5 "$OUT/digits_lamina.log" >&2
            exit 1
        fi
    done
    if [ "$TORCH" = 1 ]; then
        run_json "$OUT/digits_torch_t1.jsonl" "$OUT/digits_torch.log" \
            "$PYT" "$PEERS/digits_mlp.py" --threads 1 ||
            echo "bench: digits_mlp.py --threads 1 failed (see $OUT/digits_torch.log)"
        # 2 threads: OpenMP spin-waiting fights OpenBLAS otherwise (peers README)
        run_json "$OUT/digits_torch_t2.jsonl" "$OUT/digits_torch.log" \
            env OMP_WAIT_POLICY=PASSIVE "$PYT" "$PEERS/digits_mlp.py" --threads 2 ||
            echo "bench: digits_mlp.py --threads 2 failed (see $OUT/digits_torch.log)"
    fi
    printf '   run %d/%d done\n' "$i" "$RUNS"
    i=$((i + 1))
done
rm -f "$OUT/.tmp"

if [ -n "$PY" ]; then
    "$PY" "$ROOT/bench/digits_report.py" "$OUT" | tee "$OUT/digits_summary.txt"
else
    echo "(no python3 for the summary table; raw JSON lines:)"
    cat "$OUT"/digits_*.jsonl
fi

# ---- sgemm ------------------------------------------------------------------------
if [ "${LAMINA_BENCH_GEMM:-1}" != 0 ]; then
    if [ -x "$GEMM" ]; then
        echo
        echo "-- sgemm: bench_gemm (lamina vs OpenBLAS, 1 and 2 threads)"
        "$GEMM" 2>&1 | tee "$OUT/gemm.txt"
        tail -n 1 "$OUT/gemm.txt" | grep '^{' >"$OUT/gemm.json" ||
            { rm -f "$OUT/gemm.json"; echo "bench: bench_gemm failed (no JSON line at the end)"; }
    else
        echo "bench: $GEMM not built; sgemm skipped"
    fi
fi
echo
echo "raw results: $OUT"
