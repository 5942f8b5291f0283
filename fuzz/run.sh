#!/bin/sh
# Runs the libFuzzer harnesses built by `make fuzz` (see fuzz/README.md).
#
#   sh fuzz/run.sh check CC                 is CC a clang with libFuzzer? (else say what to install)
#   sh fuzz/run.sh run BUILD SECONDS JOBS NAME...
#                                           fuzz each NAME for SECONDS, JOBS at a time, and
#                                           print one summary table; exit 1 on any crash
#   sh fuzz/run.sh one BUILD SECONDS NAME   one harness (used by `run`)
#
# Per input the limits are the ones issue 10 sets: 1 s (-timeout=1) and
# 512 MiB (-rss_limit_mb=512, which is also the largest single malloc).
# Each harness fuzzes a working corpus, BUILD/corpus/NAME (kept between runs,
# so that long runs accumulate), seeded from the committed fuzz/corpus/NAME
# and fuzz/regress/NAME (inputs that once crashed or timed out, kept after
# their fix so that every run replays them);
# crashing inputs go to BUILD/artifacts/NAME-*, logs to BUILD/logs/NAME.log.
# Extra libFuzzer flags: FUZZ_FLAGS="-jobs=... -dict=..." in the environment.
set -u

extra_flags() { # per-harness settings
    case "$1" in
    cifar) echo "-max_len=12300" ;;  # room for four 3073/3074-byte records
    checkpoint) echo "-max_len=16384" ;;
    *) echo "-max_len=8192" ;;
    esac
}

case "${1:-}" in
check)
    cc=${2:-clang}
    if ! command -v "$cc" >/dev/null 2>&1; then
        echo "make fuzz: '$cc' not found.  libFuzzer needs clang and its runtime;"
        echo "  on Debian: apt-get install clang libclang-rt-14-dev  (or FUZZ_CC=clang-NN)"
        exit 1
    fi
    tmp=$(mktemp -d) || exit 1
    printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$tmp/t.c"
    if ! "$cc" -fsanitize=fuzzer,address,undefined "$tmp/t.c" -o "$tmp/t" >"$tmp/log" 2>&1; then
        echo "make fuzz: '$cc' cannot link -fsanitize=fuzzer,address,undefined:"
        sed 's/^/  /' "$tmp/log" | head -n 5
        echo "  on Debian: apt-get install libclang-rt-14-dev (the libFuzzer and sanitizer runtimes of clang 14)"
        rm -rf "$tmp"
        exit 1
    fi
    rm -rf "$tmp"
    exit 0
    ;;
one)
    build=$2 secs=$3 name=$4
    bin=$build/fuzz_$name
    mkdir -p "$build/corpus/$name" "$build/artifacts" "$build/logs"
    seeds=
    for d in fuzz/corpus/$name fuzz/regress/$name; do [ -d "$d" ] && seeds="$seeds $d"; done
    dict=
    [ -f "fuzz/dict/$name.dict" ] && dict=-dict=fuzz/dict/$name.dict
    log=$build/logs/$name.log
    mark=$build/logs/$name.start
    : >"$mark"
    start=$(date +%s)
    # shellcheck disable=SC2046,SC2086
    "$bin" -max_total_time="$secs" -rss_limit_mb=512 -timeout=1 -print_final_stats=1 \
        -artifact_prefix="$build/artifacts/$name-" $(extra_flags "$name") $dict ${FUZZ_FLAGS:-} \
        "$build/corpus/$name" $seeds >"$log" 2>&1
    rc=$?
    end=$(date +%s)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n 1)
    units=$(ls "$build/corpus/$name" | wc -l)
    # this run's artifacts (older ones are kept, not counted)
    arts=$(find "$build/artifacts" -name "$name-*" -newer "$mark" | sort)
    crashes=$(printf '%s' "$arts" | grep -c .)
    [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ] && crashes=1
    art=$(printf '%s\n' "$arts" | head -n 1)
    printf '%-12s %7s %12s %9s %7s %8s %7s  %s\n' "$name" "$((end - start))" "${execs:-?}" \
        "${rate:-?}" "$units" "${rss:-?}" "$crashes" "$art" >"$build/logs/$name.row"
    [ "$crashes" -eq 0 ]
    ;;
run)
    build=$2 secs=$3 jobs=$4
    shift 4
    mkdir -p "$build/logs"
    echo "fuzzing $# harness(es) for $secs s each, $jobs at a time (logs: $build/logs/)"
    for n in "$@"; do rm -f "$build/logs/$n.row"; done
    printf '%s\n' "$@" | xargs -P "$jobs" -I NAME sh "$0" one "$build" "$secs" NAME
    status=0
    printf '\n%-12s %7s %12s %9s %7s %8s %7s  %s\n' harness seconds executions "exec/s" corpus "rss MiB" crashes artifact
    for n in "$@"; do
        if [ -f "$build/logs/$n.row" ]; then
            cat "$build/logs/$n.row"
            c=$(awk '{print $7}' "$build/logs/$n.row")
            [ "$c" != 0 ] && status=1
        else
            printf '%-12s did not run (see %s/logs/%s.log)\n' "$n" "$build" "$n"
            status=1
        fi
    done
    if [ "$status" -ne 0 ]; then
        echo
        echo "crash(es) found: reproduce with  $build/fuzz_NAME ARTIFACT  (the log shows the report)"
    fi
    exit $status
    ;;
*)
    sed -n '2,16p' "$0"
    exit 2
    ;;
esac
