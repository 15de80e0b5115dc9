#!/usr/bin/env python3
"""PyTorch reference for the PyTorch sample (SimpleCNN): test/fixtures/reference/pytorch-simple-cnn.json.

For each image of samples/workspace/pytorch/images/ (simple-cnn-images.json): the model input made from
the image FILE with CNN Lens's preprocessing (cnnlens_input.py; the images are 32x32, the model's
size, so nothing is resized and the input is the PNG's bytes / 255), the logits, and Grad-CAM exactly
as pytorch-grad-cam defines it (gradcam_reference.py's re-implementation; its gradcam_runs and
pointing_game serve both samples' references) for the target layers model.conv1 and model.conv2, for
the top-1 class and the runner-up. Layers are named by their module path, as CNN Lens names the layers
of a PyTorch model.

The fixture format (shared with scripts/fixtures/export_pytorch_fixtures.py) is described in
scripts/sample/README.md ("The PyTorch reference files"). Also computed: a pointing game (how often
the top-1 conv2 map peaks in the garment's box) over 2,000 32x32 test scenes.

  /usr/bin/python3 scripts/sample/simple_cnn_reference.py
"""
import base64
import json
import os
import sys
import time

import cv2
import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import scenes  # noqa: E402
from cnnlens_input import model_input  # noqa: E402
from gradcam_reference import DEFINITION, POINTING_SCENES, gradcam_runs, inside, pointing_game, write_fixture  # noqa: E402
from make_simple_cnn_images import BOXES  # noqa: E402
from train_simple_cnn import CANVAS, GARMENT, SAMPLE_DIR, load_trained, to_input  # noqa: E402

FIXTURE = os.path.join(REPO, "test", "fixtures", "reference", "pytorch-simple-cnn.json")
LAYERS = ["conv1", "conv2"]
POINTING_LAYER = "conv2"
POINTING_SEED = 100
# conv2 (the module's output, before pooling) is 16x16: one cell per 2 input pixels.
PEAK_MARGIN = 1
PREPROCESSING = "scripts/sample/cnnlens_input.py: RGBA over black with 8-bit rounding, bilinear half-pixel resize to the input size (no antialias), /255; no mean/std"


def full_precision(values):
    """float32 values as JSON numbers equal to them exactly (the float32 widened to a double)."""
    return [float(v) for v in np.asarray(values, dtype=np.float32).ravel()]


def input_json(batch):
    """The model input as little-endian float32 bytes, NCHW, base64."""
    array = np.ascontiguousarray(batch.detach().numpy(), dtype="<f4")
    return {"layout": "NCHW", "shape": list(array.shape), "dtype": "float32",
            "base64": base64.b64encode(array.tobytes()).decode("ascii")}


def image_reference(model, path, size, layers):
    """One image's entry: input, logits, and per layer x class (top-1, then the runner-up) the Grad-CAM runs.

    Returns (entry, the largest cv2-versus-torch resize disagreement seen, at most 1e-5)."""
    height, width = size
    batch = model_input(path, height, width).contiguous()
    logits, runs, worst = gradcam_runs(model, batch, layers, width, height)
    with Image.open(path) as image:
        image_size = [image.height, image.width]
    entry = {
        "file": os.path.relpath(path, REPO),
        "imageSize": image_size,
        "inputSize": [height, width],
        "input": input_json(batch),
        "logits": full_precision(logits),
        "runs": runs,
    }
    return entry, worst


def main():
    torch.set_num_threads(2)
    started = time.time()
    model = load_trained()
    with open(BOXES) as f:
        samples = json.load(f)["images"]

    images = []
    worst = 0.0
    for file_name, info in samples.items():
        entry, diff = image_reference(model, os.path.join(SAMPLE_DIR, "images", file_name), (CANVAS, CANVAS), LAYERS)
        worst = max(worst, diff)
        top1 = next(r for r in entry["runs"] if r["layer"] == POINTING_LAYER)
        hit = inside(top1["camPeak"], info["box"], PEAK_MARGIN)
        print(f"{file_name}: truth {info['label']}, top-1 {scenes.CLASS_NAMES[top1['classIndex']]}, "
              f"{POINTING_LAYER} peak {top1['camPeak']} in box {info['box']}: {hit}")
        images.append({"file": entry["file"], "label": info["label"], "labelIndex": info["classIndex"],
                       "box": info["box"], "top1PeakInBox": hit, **{k: v for k, v in entry.items() if k != "file"}})

    pointing, accuracy = pointing_game(model, POINTING_LAYER, POINTING_SEED, canvas=CANVAS, garment=GARMENT,
                                       margin=PEAK_MARGIN, to_input=to_input)
    print(f"pointing game: top-1 {POINTING_LAYER} Grad-CAM peak inside the garment box (margin {PEAK_MARGIN}) on "
          f"{pointing:.1%} of {POINTING_SCENES} test scenes (top-1 accuracy on them {accuracy:.1%})")

    write_fixture(FIXTURE, {
        "generatedBy": f"scripts/sample/simple_cnn_reference.py (PyTorch {torch.__version__}, OpenCV {cv2.__version__})",
        "model": "samples/workspace/pytorch/model.py",
        "modelClass": "SimpleCNN",
        "checkpoint": "samples/workspace/pytorch/simple_cnn.pth",
        "definition": DEFINITION,
        "preprocessing": PREPROCESSING,
        "labels": scenes.CLASS_NAMES,
        "numClasses": len(scenes.CLASS_NAMES),
        "layers": LAYERS,
        "boxCoordinates": "model input pixels: [x0, y0, x1, y1], x1/y1 exclusive",
        "pointingGame": {"layer": POINTING_LAYER, "scenes": POINTING_SCENES, "margin": PEAK_MARGIN,
                         "peakInBox": round(pointing, 4), "top1Accuracy": round(accuracy, 4)},
        "cv2VersusTorchResizeMaxDiff": worst,
        "images": images,
    })
    print(f"done in {time.time() - started:.1f}s")


if __name__ == "__main__":
    main()
