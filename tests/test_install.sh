#!/bin/sh
# make install into a temporary prefix, then use what was installed as a user
# would: the files and links are where they belong, the shared library has
# its SONAME and exports only the functions of the public headers, the
# pkg-config file builds and links an example program outside the tree
# (shared and static), lamina runs from the prefix, the man page renders, and
# make uninstall removes every file.
#
# Environment (set by `make test`): LAMINA (the build's lamina; its folder is
# the build folder), TEST_CFLAGS / TEST_LDFLAGS (the sanitizer flags of
# `make check`, which the example needs too).  Run from the repository root.
set -u
build=$(dirname "${LAMINA:-build/lamina}")
tmp=$(mktemp -d /tmp/lamina_test_install_XXXXXX) || exit 1
prefix=$tmp/prefix
failed=0
ok() { echo "ok $1"; }
fail() {
    echo "FAIL $1"
    failed=1
}
# check NAME COMMAND...: run COMMAND, report, keep its output in $tmp/out
check() {
    name=$1
    shift
    if "$@" >"$tmp/out" 2>&1; then ok "$name"; else
        sed 's/^/    /' "$tmp/out" | tail -n 15
        fail "$name"
    fi
}

version=$(sed -n 's/^#define LAMINA_VERSION "\(.*\)"/\1/p' include/lamina/lamina.h)
major=${version%%.*}
rest=${version#*.}
minor=${rest%%.*}
if [ "$major" = 0 ]; then soversion=$major.$minor; else soversion=$major; fi
soname=liblamina.so.$soversion

check "make install PREFIX=$prefix" make -s --no-print-directory install BUILD="$build" PREFIX="$prefix"

# the files, and the links of the shared library
missing=
for f in bin/lamina lib/liblamina.a "lib/liblamina.so.$version" "lib/$soname" lib/liblamina.so \
    lib/pkgconfig/lamina.pc share/man/man1/lamina.1 include/lamina/lamina.h; do
    [ -e "$prefix/$f" ] || missing="$missing $f"
done
for h in include/lamina/*.h; do
    cmp -s "$h" "$prefix/$h" || missing="$missing $h"
done
if [ -z "$missing" ] && [ "$(readlink "$prefix/lib/$soname")" = "liblamina.so.$version" ] &&
    [ "$(readlink "$prefix/lib/liblamina.so")" = "$soname" ]; then
    ok "installed files and library links"
else
    fail "installed files and library links (missing or wrong:$missing)"
fi

# SONAME, and the exported functions are exactly the public headers' ones
lib=$prefix/lib/liblamina.so.$version
if command -v readelf >/dev/null && command -v nm >/dev/null; then
    so=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    if [ "$so" = "$soname" ]; then ok "SONAME $so"; else fail "SONAME is '$so', expected $soname"; fi
    # expected: the names the headers declare that the library defines
    grep -hoE '\blam_[a-z0-9_]+ *\(' include/lamina/*.h | sed -E 's/ *\($//' | sort -u >"$tmp/public"
    nm -g --defined-only "$prefix/lib/liblamina.a" 2>/dev/null | awk 'NF == 3 && $2 == "T" {print $3}' |
        sort -u | comm -12 - "$tmp/public" >"$tmp/expected"
    nm -D --defined-only "$lib" | awk 'NF == 3 && $2 != "A" {print $3}' | sed 's/@.*//' | sort -u >"$tmp/exported"
    extra=$(comm -13 "$tmp/expected" "$tmp/exported" | tr '\n' ' ')
    absent=$(comm -23 "$tmp/expected" "$tmp/exported" | tr '\n' ' ')
    count=$(wc -l <"$tmp/exported")
    if [ -z "$extra" ] && [ -z "$absent" ] && [ "$count" -gt 300 ]; then
        ok "exports: $count functions, exactly those of include/lamina the library defines"
    else
        fail "exports: not public: '$extra'; public but not exported: '$absent' ($count exported)"
    fi
else
    fail "readelf and nm (binutils) are needed to check the library"
fi

# an example program outside the tree, built with the pkg-config file
mkdir -p "$tmp/user"
cp examples/xor_api.c "$tmp/user/prog.c"
pc() { # pkg-config, or the .pc file read by hand where pkg-config is missing
    if command -v pkg-config >/dev/null; then
        PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config "$@" lamina
    else
        pcf=$prefix/lib/pkgconfig/lamina.pc
        subst() { sed -e "s|\${prefix}|$prefix|g; s|\${libdir}|$prefix/lib|g; s|\${includedir}|$prefix/include|g"; }
        out=
        for a in "$@"; do
            case $a in
            --cflags) out="$out $(sed -n 's/^Cflags: //p' "$pcf" | subst)" ;;
            --libs) out="$out $(sed -n 's/^Libs: //p' "$pcf" | subst)" ;;
            --static) out="$out $(sed -n 's/^Libs.private: //p' "$pcf")" ;;
            esac
        done
        echo "$out"
    fi
}
cc=${CC:-cc}
# shellcheck disable=SC2046
check "cc prog.c \$(pkg-config --cflags --libs lamina)" \
    $cc -std=c11 ${TEST_CFLAGS:-} -o "$tmp/user/prog" "$tmp/user/prog.c" $(pc --cflags --libs) ${TEST_LDFLAGS:-}
if [ -x "$tmp/user/prog" ]; then
    needed=$(readelf -d "$tmp/user/prog" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(liblamina[^]]*\)\]/\1/p')
    [ "$needed" = "$soname" ] && ok "the program needs $soname" || fail "the program needs '$needed', not $soname"
    check "the program runs against the installed shared library" env LD_LIBRARY_PATH="$prefix/lib" "$tmp/user/prog"
    grep -q "final training loss" "$tmp/out" || fail "the program printed no training loss"
fi
# shellcheck disable=SC2046
check "a static link with pkg-config --static" \
    $cc -std=c11 ${TEST_CFLAGS:-} -o "$tmp/user/prog_static" "$tmp/user/prog.c" \
    $(pc --cflags) "$prefix/lib/liblamina.a" $(pc --static --libs | sed 's/-llamina//; s/-L[^ ]*//') ${TEST_LDFLAGS:-}
[ -x "$tmp/user/prog_static" ] && check "the static program runs" "$tmp/user/prog_static"

# the installed command and its man page
check "lamina --version from the prefix" "$prefix/bin/lamina" --version
grep -q "lamina $version" "$tmp/out" || fail "lamina --version printed '$(cat "$tmp/out")'"
if command -v groff >/dev/null; then
    check "the man page renders without warnings" sh -c \
        "groff -man -Tutf8 -ww -z '$prefix/share/man/man1/lamina.1' 2>&1 | { ! grep .; }"
fi
grep -q "^\.TH LAMINA 1 .*lamina $version" "$prefix/share/man/man1/lamina.1" ||
    fail "the man page's title line does not carry version $version"

check "make uninstall" make -s --no-print-directory uninstall BUILD="$build" PREFIX="$prefix"
left=$(find "$prefix" -type f -o -type l | tr '\n' ' ')
if [ -z "$left" ]; then ok "uninstall removed every file"; else fail "uninstall left: $left"; fi

if [ "$failed" = 0 ]; then rm -rf "$tmp"; else echo "kept $tmp"; fi
exit "$failed"
