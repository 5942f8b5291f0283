# Sourced by bench/run.sh and bench/mpi.sh: where the PyTorch peers are and
# whether they can run.  Sets PEERS (LAMINA_PEERS, default ../shared/peers),
# PYT (PYTHON_TORCH, default /usr/bin/python3) and TORCH (1 or 0), and says
# why when the PyTorch side is skipped.
#   torch_peers PREFIX SCRIPT MODULES   (SCRIPT: a peer that must exist in
#                                        PEERS; MODULES: "import" list)
PEERS=${LAMINA_PEERS:-$ROOT/../shared/peers}
PYT=${PYTHON_TORCH:-/usr/bin/python3}
torch_peers() {
    TORCH=1
    if [ ! -f "$PEERS/$2" ]; then
        echo "$1: PyTorch side skipped: $PEERS/$2 not found (set LAMINA_PEERS=DIR)"
        TORCH=0
    elif ! "$PYT" -c "import $3" >/dev/null 2>&1; then
        echo "$1: PyTorch side skipped: $PYT cannot import $3" \
            "(apt-get install python3-torch python3-sklearn python3-threadpoolctl)"
        TORCH=0
    fi
}
