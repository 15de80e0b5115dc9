#!/usr/bin/env bash
# Regenerates CNN Lens's bundled sample from scratch: trains the CNN, exports it to TF.js, writes the
# sample images and the PyTorch Grad-CAM reference, then checks the engine against it.
#   scripts/sample/build_sample.sh            (extra arguments go to train_sample.py, e.g. --epochs 1)
# Needs Debian's python3-torch, python3-opencv, python3-pil, dataset-fashion-mnist, and `npm ci` done.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-/usr/bin/python3}   # Debian's python: the one with torch
export PYTHONDONTWRITEBYTECODE=1     # no __pycache__ in the repo

step() { echo; echo "== $1"; }
start=$SECONDS
step "train + export to TF.js (samples/workspace/model)"
"$PYTHON" scripts/sample/train_sample.py "$@"
step "sample images (samples/workspace/images)"
"$PYTHON" scripts/sample/make_images.py
step "PyTorch Grad-CAM reference (test/fixtures/reference/gradcam-sample.json)"
"$PYTHON" scripts/sample/gradcam_reference.py
step "engine vs reference (mocha)"
npx mocha test/unit/sampleModel.test.ts
echo; echo "sample rebuilt in $((SECONDS - start)) s"
