#!/usr/bin/env bash
# Regenerates CNN Lens's bundled sample from scratch: trains the CNN, exports it to TF.js, writes the
# sample images and the PyTorch Grad-CAM reference, then checks the engine against it.
#   scripts/sample/build_sample.sh            (extra arguments go to train_sample.py, e.g. --epochs 1)
# Needs Debian's python3-torch, python3-opencv, python3-pil, dataset-fashion-mnist, and `npm ci` done.
set -euo pipefail
source "$(dirname "$0")/build_common.sh"

run_python "train + export to TF.js (samples/workspace/model)" scripts/sample/train_sample.py "$@"
run_python "sample images (samples/workspace/images)" scripts/sample/make_images.py
run_python "PyTorch Grad-CAM reference (test/fixtures/reference/gradcam-sample.json)" scripts/sample/gradcam_reference.py
step "engine vs reference (mocha)"
npx mocha test/unit/sampleModel.test.ts
rebuilt "sample"
