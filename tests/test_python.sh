#!/bin/sh
# The Python binding's tests (tests/test_python.py) against this build's
# liblamina.so, with Debian's /usr/bin/python3 and python3-numpy.  Without
# them the binding cannot be used and the test says so and is skipped
# (printed as a skip, not as a pass).  Under make check the library carries
# the sanitizers, whose runtimes are preloaded into Python (leak checking is
# off: the interpreter itself keeps memory until exit).  Run from the
# repository root; LAMINA names the build's lamina.
set -u
build=$(dirname "${LAMINA:-build/lamina}")
py=/usr/bin/python3
if ! [ -x "$py" ] || ! "$py" -c 'import numpy' 2>/dev/null; then
    echo "skip test_python: /usr/bin/python3 with numpy is not installed (Debian: apt-get install python3-numpy)"
    exit 0
fi
export LAMINA_LIB="$build/liblamina.so"
case "${TEST_CFLAGS:-}" in
*sanitize=address*)
    cc=${CC:-cc}
    LD_PRELOAD="$($cc -print-file-name=libasan.so) $($cc -print-file-name=libubsan.so)"
    export LD_PRELOAD
    export ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0
    ;;
esac
exec "$py" tests/test_python.py
