#!/bin/sh
# Lamina benchmarks against PyTorch: `make bench` runs  sh bench/run.sh BUILD.
#
#   digits_mlp  bench_digits (ours) and ../shared/peers/digits_mlp.py (PyTorch),
#               1 and 2 threads, RUNS fresh processes each, interleaved so that
#               machine noise hits both sides alike; figure = median over runs
#               of each run's median epoch time.
#   fashion_cnn bench_cnn fashion (ours) and ../shared/peers/fashion_cnn.py, 2 epochs
#               each at 1 and 2 threads, one fresh process per setting, interleaved
#               (lamina 1, torch 1, lamina 2, torch 2); a few minutes.
#   cifar_cnn   bench_cnn cifar (ours) and ../shared/peers/cifar_cnn.py, 1 and 2
#               threads, LAMINA_BENCH_CNN_RUNS fresh processes each, interleaved;
#               figure = median over runs of each run's images/s.
#               Both CNN workloads record the load average, steal and the other
#               work running on the machine during each run (bench/cnn_report.py).
#   char_lstm   bench_seq (ours, configs/char_lstm.cfg) and ../shared/peers/char_lstm.py,
#               300 steps, 1 and 2 threads, LAMINA_BENCH_LSTM_RUNS interleaved rounds
#               (default 1); tokens/s from each run's median step; generation tokens/s.
#   sgemm       bench_gemm (ours vs OpenBLAS), if it was built.
#
# Environment:
#   LAMINA_PEERS       directory of the PyTorch peer scripts (default: ../shared/peers
#                      next to the repository root)
#   LAMINA_BENCH_RUNS  runs per configuration (default 5)
#   LAMINA_BENCH_GEMM  0 to skip bench_gemm
#   LAMINA_BENCH_FASHION  0 to skip fashion_cnn (the longest part: ~5 min)
#   LAMINA_BENCH_CIFAR    0 to skip cifar_cnn
#   LAMINA_BENCH_CNN_RUNS runs per cifar_cnn configuration (default 3)
#   LAMINA_BENCH_LSTM  0 to skip char_lstm; LAMINA_BENCH_LSTM_RUNS rounds of it (default 1)
#   LAMINA_BENCH_GPT   0 to skip char_gpt; LAMINA_BENCH_GPT_RUNS rounds of it (default 1)
#   LAMINA_BENCH_LLAMA 0 to skip char_llama (peer: bench/peers/char_llama.py); LAMINA_BENCH_LLAMA_RUNS
#   LAMINA_BENCH_GEN   0 to skip generation tokens/s with and without the caches
#   LAMINA_BENCH_TORCH_SPIN  PyTorch at 2 threads with its default OpenMP wait
#                      policy too, besides PASSIVE: 1 both workloads, 0 neither
#                      (default: cifar only; for fashion it is always slower and
#                      can take 10 minutes on a busy machine)
#   LAMINA_BENCH_TIMEOUT  seconds after which one fashion run is killed (default
#                      240; cifar runs: a quarter of it)
#   PYTHON_TORCH       interpreter with torch/sklearn/threadpoolctl (/usr/bin/python3)
# Raw JSON lines and logs go to BUILD/bench-results/DATE-TIME/ (BUILD/bench-results/latest).
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
RUNS=${LAMINA_BENCH_RUNS:-5}
. "$ROOT/bench/torch.sh"
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
torch_peers bench digits_mlp.py "torch, sklearn, threadpoolctl"

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

# ---- CNN workloads: fashion_cnn, cifar_cnn -------------------------------------------
CNN=$BUILD/bench/bench_cnn
CNN_RUNS=${LAMINA_BENCH_CNN_RUNS:-3}
FASHION_DIR=/usr/share/datasets/fashion-mnist   # where both sides read it
# One fresh process per measurement; JSON record (last stdout line) plus the
# machine figures (other work, load, steal) to FILE, all output to LOG.
CNN_TIMEOUT=${LAMINA_BENCH_TIMEOUT:-240}
cnn_json() { # FILE LOG LABEL TIMEOUT CMD...
    f=$1 log=$2 label=$3 tmo=$4
    shift 4
    printf '   %-34s ' "$label"
    if [ -n "$PY" ]; then
        "$PY" "$ROOT/bench/cnn_report.py" run "$f" "$log" --timeout "$tmo" -- "$@" && return 0
        echo "   (log: $log)"
        return 1
    fi
    run_json "$f" "$log" "$@" && { echo done; return 0; }
    echo "FAILED (see $log)"
    return 1
}
CNN_TORCH=$TORCH
if [ "$TORCH" = 1 ] && { [ ! -f "$PEERS/fashion_cnn.py" ] || [ ! -f "$PEERS/cifar_cnn.py" ]; }; then
    echo "bench: PyTorch side of the CNN workloads skipped: fashion_cnn.py / cifar_cnn.py not in $PEERS"
    CNN_TORCH=0
fi
if [ ! -x "$CNN" ]; then
    echo "bench: $CNN not built; fashion_cnn and cifar_cnn skipped"
else
    CNN_DONE=0
    if [ "${LAMINA_BENCH_FASHION:-1}" = 0 ]; then
        echo
        echo "-- fashion_cnn: skipped (LAMINA_BENCH_FASHION=0)"
    elif ! ls "$FASHION_DIR"/train-images-idx3-ubyte* "$FASHION_DIR"/t10k-labels-idx1-ubyte* >/dev/null 2>&1; then
        echo
        echo "-- fashion_cnn: skipped: Fashion-MNIST not found in $FASHION_DIR (apt-get install dataset-fashion-mnist)"
    else
        echo
        FRUNS=${LAMINA_BENCH_FASHION_RUNS:-1}
        echo "-- fashion_cnn: 2 epochs per setting, $FRUNS interleaved round(s), {lamina, torch} x {1, 2} threads (a few minutes per round)" \
             " load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
        for round in $(seq "$FRUNS"); do
        for t in 1 2; do
            cnn_json "$OUT/fashion_lamina_t$t.jsonl" "$OUT/fashion_lamina.log" "lamina $t thr" "$CNN_TIMEOUT" \
                "$CNN" fashion --threads "$t" --epochs 2 || continue
            if [ "$CNN_TORCH" = 1 ]; then
                if [ "$t" = 1 ]; then
                    cnn_json "$OUT/fashion_torch_t1.jsonl" "$OUT/fashion_torch.log" "torch 1 thr" "$CNN_TIMEOUT" \
                        "$PYT" "$PEERS/fashion_cnn.py" --threads 1 --epochs 2
                else
                    # OpenMP spin-waiting fights OpenBLAS otherwise (peers README)
                    cnn_json "$OUT/fashion_torch_t2.jsonl" "$OUT/fashion_torch.log" "torch 2 thr PASSIVE" "$CNN_TIMEOUT" \
                        env OMP_WAIT_POLICY=PASSIVE "$PYT" "$PEERS/fashion_cnn.py" --threads 2 --epochs 2
                    if [ "${LAMINA_BENCH_TORCH_SPIN:-0}" = 1 ]; then
                        cnn_json "$OUT/fashion_torch_t2spin.jsonl" "$OUT/fashion_torch.log" "torch 2 thr default policy" "$CNN_TIMEOUT" \
                            "$PYT" "$PEERS/fashion_cnn.py" --threads 2 --epochs 2
                    fi
                fi
            fi
        done
        done
        CNN_DONE=1
    fi
    if [ "${LAMINA_BENCH_CIFAR:-1}" = 0 ]; then
        echo
        echo "-- cifar_cnn: skipped (LAMINA_BENCH_CIFAR=0)"
    else
        echo
        if [ "$CNN_TORCH" = 1 ]; then CSIDES="lamina, torch"; else CSIDES="lamina"; fi
        echo "-- cifar_cnn: $CNN_RUNS runs x {$CSIDES} x {1, 2} threads, fresh process each (about $((CNN_RUNS * (CNN_TORCH * 15 + 5))) s)" \
             " load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
        i=1
        while [ "$i" -le "$CNN_RUNS" ]; do
            for t in 1 2; do
                cnn_json "$OUT/cifar_lamina_t$t.jsonl" "$OUT/cifar_lamina.log" "run $i/$CNN_RUNS lamina $t thr" "$((CNN_TIMEOUT / 4))" \
                    "$CNN" cifar --threads "$t"
            done
            if [ "$CNN_TORCH" = 1 ]; then
                cnn_json "$OUT/cifar_torch_t1.jsonl" "$OUT/cifar_torch.log" "run $i/$CNN_RUNS torch 1 thr" "$((CNN_TIMEOUT / 4))" \
                    "$PYT" "$PEERS/cifar_cnn.py" --threads 1
                cnn_json "$OUT/cifar_torch_t2.jsonl" "$OUT/cifar_torch.log" "run $i/$CNN_RUNS torch 2 thr PASSIVE" "$((CNN_TIMEOUT / 4))" \
                    env OMP_WAIT_POLICY=PASSIVE "$PYT" "$PEERS/cifar_cnn.py" --threads 2
                if [ "${LAMINA_BENCH_TORCH_SPIN:-1}" = 1 ]; then
                    cnn_json "$OUT/cifar_torch_t2spin.jsonl" "$OUT/cifar_torch.log" "run $i/$CNN_RUNS torch 2 thr default" "$((CNN_TIMEOUT / 4))" \
                        "$PYT" "$PEERS/cifar_cnn.py" --threads 2
                fi
            fi
            i=$((i + 1))
        done
        CNN_DONE=1
    fi
    rm -f "$OUT/.tmp"
    if [ "$CNN_DONE" = 1 ]; then
        if [ -n "$PY" ]; then
            "$PY" "$ROOT/bench/cnn_report.py" "$OUT" | tee "$OUT/cnn_summary.txt"
        else
            echo "(no python3 for the summary table; raw JSON lines:)"
            cat "$OUT"/fashion_*.jsonl "$OUT"/cifar_*.jsonl 2>/dev/null
        fi
    fi
fi

# ---- char_lstm, char_gpt -----------------------------------------------------------
# bench_seq (configs/NAME.cfg) and ../shared/peers/NAME.py, 300 steps each, interleaved
# (lamina 1, torch 1, lamina 2, torch 2 PASSIVE), LAMINA_BENCH_<KIND>_RUNS rounds.
SEQB=$BUILD/bench/bench_seq
seq_bench() { # name prefix enabled rounds minutes
    name=$1 pre=$2
    if [ "$3" = 0 ]; then
        echo
        echo "-- $name: skipped (LAMINA_BENCH_$(echo "$pre" | tr a-z A-Z)=0)"
        return
    elif [ ! -x "$SEQB" ]; then
        echo "bench: $SEQB not built; $name skipped"
        return
    elif [ ! -d /usr/share/common-licenses ]; then
        echo
        echo "-- $name: skipped: /usr/share/common-licenses not found"
        return
    fi
    STORCH=$TORCH
    # the shared peers, or ours (bench/peers: char_llama), which import the shared common.py
    PEER=$PEERS/$name.py
    [ -f "$PEER" ] || PEER=$ROOT/bench/peers/$name.py
    [ -f "$PEER" ] || STORCH=0
    echo
    echo "-- $name: 300 steps per setting, $4 interleaved round(s), {lamina, torch} x {1, 2} threads (about $5 min per round)" \
         " load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
    for round in $(seq "$4"); do
        for t in 1 2; do
            printf '   round %d: lamina %d thr ... ' "$round" "$t"
            run_json "$OUT/${pre}_lamina_t$t.jsonl" "$OUT/${pre}_lamina.log" \
                "$SEQB" --threads "$t" --steps 300 --cfg "$ROOT/configs/$name.cfg" && echo done || echo "FAILED (see $OUT/${pre}_lamina.log)"
            if [ "$STORCH" = 1 ]; then
                printf '   round %d: torch %d thr ... ' "$round" "$t"
                if [ "$t" = 1 ]; then
                    run_json "$OUT/${pre}_torch_t1.jsonl" "$OUT/${pre}_torch.log" \
                        env PYTHONPATH="$PEERS" "$PYT" "$PEER" --threads 1 --steps 300 && echo done || echo FAILED
                else
                    run_json "$OUT/${pre}_torch_t2.jsonl" "$OUT/${pre}_torch.log" \
                        env OMP_WAIT_POLICY=PASSIVE PYTHONPATH="$PEERS" "$PYT" "$PEER" --threads 2 --steps 300 && echo done || echo FAILED
                fi
            fi
        done
    done
    rm -f "$OUT/.tmp"
    if [ -n "$PY" ]; then
        "$PY" "$ROOT/bench/seq_report.py" "$OUT" "$name" "$pre" | tee "$OUT/${pre}_summary.txt"
    else
        cat "$OUT"/${pre}_*.jsonl
    fi
}
seq_bench char_lstm lstm "${LAMINA_BENCH_LSTM:-1}" "${LAMINA_BENCH_LSTM_RUNS:-1}" 2
seq_bench char_gpt gpt "${LAMINA_BENCH_GPT:-1}" "${LAMINA_BENCH_GPT_RUNS:-1}" 4
seq_bench char_llama llama "${LAMINA_BENCH_LLAMA:-1}" "${LAMINA_BENCH_LLAMA_RUNS:-1}" 4

# ---- generation with and without the key/value caches ---------------------------
if [ "${LAMINA_BENCH_GEN:-1}" != 0 ] && [ -x "$SEQB" ] && [ -d /usr/share/common-licenses ]; then
    echo
    echo "-- generation: char_gpt's network at contexts 32, 128, 512, 1 thread, cached and --no-cache (best of 3)"
    "$SEQB" --threads 1 --cfg "$ROOT/configs/char_gpt.cfg" --gen-contexts 32,128,512 | tee "$OUT/gen.jsonl"
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
