#!/bin/sh
# The PyTorch round trip (python/torch_roundtrip.py): a checkpoint trained by
# lamina loads into torch through the safetensors layout and predicts the
# same, and weights trained further in torch load back into lamina.  Needs
# Debian's python3-torch; skipped (and said so) without it.  LAMINA names the
# build's lamina.
set -u
py=/usr/bin/python3
if ! [ -x "$py" ] || ! "$py" -c 'import torch, numpy' 2>/dev/null; then
    echo "skip test_torch: /usr/bin/python3 with torch and numpy is not installed (Debian: apt-get install python3-torch)"
    exit 0
fi
if out=$(LAMINA=${LAMINA:-build/lamina} "$py" python/torch_roundtrip.py 2>&1); then
    printf '%s\n' "$out" | sed 's/^/# /'
    echo "ok test_torch_roundtrip"
else
    printf '%s\n' "$out"
    echo "FAIL test_torch_roundtrip"
    exit 1
fi
