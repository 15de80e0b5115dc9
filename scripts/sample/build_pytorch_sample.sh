#!/usr/bin/env bash
# Regenerates the PyTorch sample (samples/workspace/pytorch) and the PyTorch reference numbers:
# trains the tutorial's SimpleCNN on 32x32 Fashion-MNIST scenes, writes its sample images and their
# Grad-CAM reference, then the Sequential parity fixture (checkpoint + reference).
#   scripts/sample/build_pytorch_sample.sh     (extra arguments go to train_simple_cnn.py, e.g. --epochs 1)
# Needs Debian's python3-torch, python3-opencv, python3-pil, dataset-fashion-mnist. The TF.js sample
# (build_sample.sh) is not touched, except the pytorch/ section of samples/workspace/README.md.
set -euo pipefail
source "$(dirname "$0")/build_common.sh"

run_python "train SimpleCNN (samples/workspace/pytorch/simple_cnn.pth)" scripts/sample/train_simple_cnn.py "$@"
run_python "sample images (samples/workspace/pytorch/images)" scripts/sample/make_simple_cnn_images.py
run_python "PyTorch reference (test/fixtures/reference/pytorch-simple-cnn.json)" scripts/sample/simple_cnn_reference.py
run_python "Sequential parity fixture (test/fixtures/pytorch/sequential, test/fixtures/reference/pytorch-sequential.json)" \
  scripts/fixtures/export_pytorch_fixtures.py
rebuilt "PyTorch sample"
