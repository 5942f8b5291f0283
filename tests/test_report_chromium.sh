#!/bin/sh
# The HTML run report in a real browser: train a small model with the lamina
# binary (the digits MLP with a validation part, 10 classes), write its
# report.html, load it in headless Chromium (Debian's chromium) from a
# file:// URL with the network off, and check the rendered DOM (--dump-dom:
# the four charts with their curves, the 10 x 10 heat map, the tables) and a
# screenshot at 1280 x 2400: a PNG of that size whose pixels are not one
# colour, not mostly background, with the blue of the curves and the heat
# map in it (decoded by a small C helper against zlib, compiled here).  The
# screenshot is kept as BUILD/report-screenshot.png for people to look at.
# Without /usr/bin/chromium (or $CHROMIUM) the browser checks print a line
# "skip NAME: why", which counts neither as passed nor failed.
#
# Environment (set by `make test`): LAMINA (the build's lamina; its folder
# is the build folder with liblamina.a), TEST_CFLAGS / TEST_LDFLAGS (the
# sanitizer flags of `make check`).  Run from the repository root.
set -u
lamina=${LAMINA:-build/lamina}
build=$(dirname "$lamina")
chromium=${CHROMIUM:-/usr/bin/chromium}
failed=0
ok() { echo "ok $1"; }
fail() {
    echo "FAIL $1"
    failed=1
}
skip() { echo "skip $1"; }

tmp=$(mktemp -d /tmp/lamina_test_chromium_XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

# ---- the helper: lam_run_report_html, and a PNG decoder -------------------------------
cat >"$tmp/helper.c" <<'EOF'
/* report DIR: lam_run_report_html(DIR).  png FILE W H: FILE is a PNG of W x H
 * (8-bit RGB or RGBA, not interlaced) that is not blank: decoded whole
 * (zlib, the five scanline filters), then counted: distinct colours (up to
 * 4096), pixels unlike the background (the most common colour), dark
 * pixels (text) and blue ones (the curves and the heat map). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "lamina/lamina.h"

static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

#define BAD(...) do { printf(__VA_ARGS__); goto out; } while (0)

static int png(const char *path, uint32_t want_w, uint32_t want_h)
{
    int rc = 1;
    unsigned char *b = NULL, *idat = NULL, *raw = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) BAD("cannot open %s\n", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)n + 1);
    idat = malloc((size_t)n + 1);
    size_t got_n = b && idat ? fread(b, 1, (size_t)n, f) : 0;
    fclose(f);
    if (!b || !idat || got_n != (size_t)n) BAD("read error\n");
    if (n < 8 || memcmp(b, "\x89PNG\r\n\x1a\n", 8)) BAD("no PNG signature\n");
    uint32_t w = 0, h = 0;
    int depth = 0, ctype = -1, interlace = 0;
    size_t ni = 0;
    for (long p = 8; p + 12 <= n;) {
        uint32_t len = be32(b + p);
        if (len > (uint32_t)(n - p - 12)) BAD("chunk beyond the file\n");
        const unsigned char *t = b + p + 4, *d = b + p + 8;
        if (!memcmp(t, "IHDR", 4) && len == 13) {
            w = be32(d), h = be32(d + 4), depth = d[8], ctype = d[9], interlace = d[12];
        } else if (!memcmp(t, "IDAT", 4)) {
            memcpy(idat + ni, d, len);
            ni += len;
        } else if (!memcmp(t, "IEND", 4)) {
            break;
        }
        p += 12 + (long)len;
    }
    if (w != want_w || h != want_h) BAD("IHDR says %u x %u, asked %u x %u\n", w, h, want_w, want_h);
    if (depth != 8 || (ctype != 2 && ctype != 6) || interlace)
        BAD("unexpected PNG layout: depth %d, colour type %d, interlace %d\n", depth, ctype, interlace);
    size_t bpp = ctype == 6 ? 4 : 3, stride = w * bpp, raw_n = (stride + 1) * h;
    raw = malloc(raw_n);
    uLongf got = (uLongf)raw_n;
    if (!raw || uncompress(raw, &got, idat, (uLong)ni) != Z_OK || got != raw_n)
        BAD("the image data does not inflate to %zu bytes\n", raw_n);
    for (uint32_t y = 0; y < h; y++) { /* undo the filters in place */
        unsigned char *row = raw + y * (stride + 1), *cur = row + 1, *prev = y ? cur - (stride + 1) : NULL;
        int ft = row[0];
        if (ft > 4) BAD("scanline %u: filter %d\n", y, ft);
        for (size_t i = 0; i < stride; i++) {
            int a = i >= bpp ? cur[i - bpp] : 0, up = prev ? prev[i] : 0, c = prev && i >= bpp ? prev[i - bpp] : 0;
            int v = ft == 1 ? a : ft == 2 ? up : ft == 3 ? (a + up) / 2 : ft == 4 ? paeth(a, up, c) : 0;
            cur[i] = (unsigned char)(cur[i] + v);
        }
    }
    /* colours: a small open-addressing set; the background is the most common */
    enum { CAP = 1 << 14 };
    static uint32_t key[CAP];
    static uint64_t cnt[CAP];
    size_t distinct = 0;
    uint64_t dark = 0, blue = 0, total = (uint64_t)w * h;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            const unsigned char *px = raw + y * (stride + 1) + 1 + x * bpp;
            uint32_t k = (uint32_t)px[0] << 16 | px[1] << 8 | px[2] | 1u << 24;
            if (px[0] + px[1] + px[2] < 200) dark++;
            if (px[2] > 140 && px[2] > px[0] + 70 && px[2] > px[1] + 20) blue++;
            for (uint32_t s = (k * 2654435761u) & (CAP - 1);; s = (s + 1) & (CAP - 1)) {
                if (key[s] == k) { cnt[s]++; break; }
                if (!key[s]) {
                    if (distinct < CAP / 2) { key[s] = k; cnt[s] = 1; distinct++; }
                    break;
                }
            }
        }
    uint64_t bg = 0;
    for (size_t s = 0; s < CAP; s++) bg = cnt[s] > bg ? cnt[s] : bg;
    double other = 1.0 - (double)bg / (double)total;
    printf("%u x %u, %zu bytes: %zu colours, %.1f%% not background, %llu dark, %llu blue pixels\n", w, h, (size_t)n,
           distinct, 100 * other, (unsigned long long)dark, (unsigned long long)blue);
    if (n < 20000) BAD("the file is too small for a page with charts\n");
    if (distinct < 64) BAD("too few colours: a blank or flat page\n");
    if (other < 0.03) BAD("almost everything is background\n");
    if (dark < 5000) BAD("too little text\n");
    if (blue < 3000) BAD("too little blue: no curves or heat map drawn\n");
    rc = 0;
out:
    free(b);
    free(idat);
    free(raw);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "report")) {
        lam_status s = lam_run_report_html(argv[2]);
        if (s != LAM_OK) printf("%s: %s\n", lam_status_str(s), lam_last_error());
        return s != LAM_OK;
    }
    if (argc == 5 && !strcmp(argv[1], "png")) return png(argv[2], (uint32_t)atoi(argv[3]), (uint32_t)atoi(argv[4]));
    fprintf(stderr, "usage: helper report DIR | png FILE W H\n");
    return 2;
}
EOF
# shellcheck disable=SC2086
if ${CC:-cc} -std=c11 -D_GNU_SOURCE -Iinclude ${TEST_CFLAGS:-} -O1 -o "$tmp/helper" "$tmp/helper.c" "$build/liblamina.a" \
    -fopenmp -lz -lm ${TEST_LDFLAGS:-} >"$tmp/cc.out" 2>&1; then
    ok "report helper built against $build/liblamina.a and zlib"
else
    sed 's/^/    /' "$tmp/cc.out" | tail -n 15
    fail "report helper built against $build/liblamina.a and zlib"
    exit 1
fi

# ---- a run folder: the digits MLP with a validation part ----------------------------------
run=$tmp/run
sed -e "s|^path = .*|path = $(pwd)/data/digits.csv.gz|" -e 's/^epochs = .*/epochs = 12\nvalidation_split = 0.2/' \
    configs/digits_mlp.cfg >"$tmp/digits.cfg"
if "$lamina" train "$tmp/digits.cfg" --out "$run" --quiet >"$tmp/train.out" 2>&1 && [ -s "$run/results.json" ]; then
    ok "lamina train leaves results.json and metrics.csv"
else
    sed 's/^/    /' "$tmp/train.out" | tail -n 15
    fail "lamina train leaves results.json and metrics.csv"
    exit 1
fi
if [ -s "$run/report.html" ]; then
    ok "lamina train leaves report.html"
else
    skip "lamina train leaves report.html: cli/train.c does not call lam_run_report_html yet"
fi
if "$tmp/helper" report "$run" >"$tmp/rep.out" 2>&1 && [ -s "$run/report.html" ]; then
    ok "lam_run_report_html writes report.html"
else
    sed 's/^/    /' "$tmp/rep.out"
    fail "lam_run_report_html writes report.html"
fi
cp "$run/report.html" "$tmp/lib-report.html"

# lamina report: the same bytes as the library; usage and failure exit codes
if "$lamina" report --help >/dev/null 2>&1; then
    rc=0
    "$lamina" report "$run" >"$tmp/cmd.out" 2>&1 || rc=$?
    if [ $rc -eq 0 ] && cmp -s "$run/report.html" "$tmp/lib-report.html"; then
        ok "lamina report RUN_DIR: the library's bytes"
    else
        fail "lamina report RUN_DIR (exit $rc; same bytes: $(cmp -s "$run/report.html" "$tmp/lib-report.html" && echo yes || echo no))"
    fi
    rc=0; "$lamina" report >/dev/null 2>&1 || rc=$?
    rc2=0; "$lamina" report "$tmp/no-such-run" >/dev/null 2>"$tmp/err.out" || rc2=$?
    rc3=0; "$lamina" report "$run" --frobnicate >/dev/null 2>&1 || rc3=$?
    if [ $rc -eq 2 ] && [ $rc2 -eq 1 ] && [ $rc3 -eq 2 ] && grep -q 'results.json' "$tmp/err.out"; then
        ok "lamina report exit codes: 2 usage, 1 no results.json"
    else
        fail "lamina report exit codes: no argument $rc (want 2), missing run $rc2 (want 1), bad option $rc3 (want 2)"
    fi
else
    skip "lamina report: the command is not in cli/main.c's table yet"
fi

# ---- the browser ---------------------------------------------------------------------------
if [ ! -x "$chromium" ]; then
    skip "report rendered by headless chromium: no $chromium (Debian: apt-get install chromium)"
    exit $failed
fi
chrome() {
    profile=$(mktemp -d "$tmp/profile_XXXXXX")
    to=""
    command -v timeout >/dev/null && to="timeout 180"
    $to "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync --user-data-dir="$profile" "$@"
}
url="file://$run/report.html"
chrome --dump-dom "$url" >"$tmp/dom.html" 2>"$tmp/chrome.err"
charts=$(grep -o '<svg class="chart"' "$tmp/dom.html" | wc -l)
lines=$(grep -o '<polyline class="c[12]" data-series="\(training\|validation\)"' "$tmp/dom.html" | wc -l)
cells=$(grep -o '<rect class="cm"' "$tmp/dom.html" | wc -l)
if [ "$charts" -eq 4 ] && [ "$lines" -eq 4 ] && [ "$cells" -eq 100 ] && grep -q 'id="per-class"' "$tmp/dom.html" &&
    grep -q 'id="layers"' "$tmp/dom.html" && grep -q '</html>' "$tmp/dom.html"; then
    ok "chromium's DOM: 4 charts, $lines training/validation curves, a 10 x 10 heat map, the tables"
else
    tail -n 5 "$tmp/chrome.err" | sed 's/^/    /'
    fail "chromium's DOM: $charts charts (want 4), $lines curves (want 4), $cells heat map cells (want 100)"
fi
chrome --screenshot="$tmp/shot.png" --window-size=1280,2400 --hide-scrollbars "$url" >/dev/null 2>>"$tmp/chrome.err"
if "$tmp/helper" png "$tmp/shot.png" 1280 2400 >"$tmp/png.out" 2>&1; then
    ok "screenshot: $(cat "$tmp/png.out")"
else
    sed 's/^/    /' "$tmp/png.out"
    tail -n 5 "$tmp/chrome.err" | sed 's/^/    /'
    fail "screenshot of the report: a 1280 x 2400 PNG that is not blank"
fi
[ -s "$tmp/shot.png" ] && cp "$tmp/shot.png" "$build/report-screenshot.png"
exit $failed
