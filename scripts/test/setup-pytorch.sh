#!/usr/bin/env bash
# Installs what the tests need from Python, idempotently: Debian's PyTorch and torchvision for Debian's
# /usr/bin/python3. They stand in for a user's own Python with torch: the tests run real model.py
# files and checkpoints through CNN Lens's bridge (python/cnn_lens_torch.py), and the engine finds
# this interpreter on the PATH like a user's (CNN_LENS_PYTHON overrides it). h5py writes the crafted
# HDF5 files whose compressed chunks lie about their size (test/fixtures/crafted/).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=../lib/apt.sh
source "$ROOT/scripts/lib/apt.sh"

ensure_apt_packages pytorch-setup python3-torch python3-torchvision python3-h5py
python=${CNN_LENS_PYTHON:-/usr/bin/python3}
if ! versions=$("$python" -c 'import torch, torchvision, h5py; print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, h5py {h5py.__version__}")' 2>&1); then
  apt_fail "$python cannot import torch, torchvision and h5py after the install: $versions"
fi
apt_log "ready: $python with $versions"
