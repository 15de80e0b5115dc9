#!/usr/bin/env bash
# Regenerates the PyTorch sample (samples/workspace/pytorch) and the PyTorch reference numbers:
# trains the tutorial's SimpleCNN on 32x32 Fashion-MNIST scenes, writes its sample images and their
# Grad-CAM reference, then the Sequential parity fixture (checkpoint + reference).
#   scripts/sample/build_pytorch_sample.sh     (extra arguments go to train_simple_cnn.py, e.g. --epochs 1)
# Needs Debian's python3-torch, python3-opencv, python3-pil, dataset-fashion-mnist. The TF.js sample
# (build_sample.sh) is not touched, except the pytorch/ section of samples/workspace/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-/usr/bin/python3}   # Debian's python: the one with torch
export PYTHONDONTWRITEBYTECODE=1     # no __pycache__ in the repo

step() { echo; echo "== $1"; }
start=$SECONDS
step "train SimpleCNN (samples/workspace/pytorch/simple_cnn.pth)"
"$PYTHON" scripts/sample/train_simple_cnn.py "$@"
step "sample images (samples/workspace/pytorch/images)"
"$PYTHON" scripts/sample/make_simple_cnn_images.py
step "PyTorch reference (test/fixtures/reference/pytorch-simple-cnn.json)"
"$PYTHON" scripts/sample/simple_cnn_reference.py
step "Sequential parity fixture (test/fixtures/pytorch/sequential, test/fixtures/reference/pytorch-sequential.json)"
"$PYTHON" scripts/fixtures/export_pytorch_fixtures.py
echo; echo "PyTorch sample rebuilt in $((SECONDS - start)) s"
