#!/bin/sh
# Runs every test binary given on the command line, from the repository root,
# and prints the grand total as the last line: "N passed, N failed".
# A binary that crashes or exits non-zero without reporting a failure counts
# as one failed test; one that reports nothing (an example program) counts as
# one test, passed if it exits 0.  A line "skip NAME: why" (a test whose
# optional dependency is missing) counts as neither: the skips are listed
# before the total.
passed=0
failed=0
skipped=0
skips=
for t in "$@"; do
    name=$(basename "$t")
    out=$("$t" 2>&1)
    rc=$?
    p=$(printf '%s\n' "$out" | grep -c '^ok ')
    f=$(printf '%s\n' "$out" | grep -c '^FAIL ')
    k=$(printf '%s\n' "$out" | grep -c '^skip ')
    if [ "$k" -ne 0 ]; then
        skipped=$((skipped + k))
        skips="$skips$(printf '%s\n' "$out" | grep '^skip ')
"
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        printf '%s\n' "$out" | tail -n 20
        echo "FAIL $name (exit code $rc)"
    elif [ "$rc" -eq 0 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$k" -eq 0 ]; then
        p=1
    elif [ "$f" -ne 0 ]; then
        printf '%s\n' "$out" | grep -v '^ok '
    fi
    echo "$name: $p passed, $f failed"
    passed=$((passed + p))
    failed=$((failed + f))
done
if [ "$skipped" -ne 0 ]; then
    printf '%s' "$skips"
    echo "$skipped skipped (optional parts not installed)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
