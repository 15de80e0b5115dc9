#!/usr/bin/env python3
"""PyTorch reference for the PyTorch sample (SimpleCNN): test/fixtures/reference/pytorch-simple-cnn.json.

For each image of samples/workspace/pytorch/images/ (simple-cnn-images.json): the model input made from
the image FILE with CNN Lens's preprocessing (cnnlens_input.py; the images are 32x32, the model's
size, so nothing is resized and the input is the PNG's bytes / 255), the logits, and Grad-CAM exactly
as pytorch-grad-cam defines it (re-implemented in gradcam_reference.py: GradCam, final_cams) for the
target layers model.conv1 and model.conv2, for the top-1 class and the runner-up. Layers are named by
their module path, as CNN Lens names the layers of a PyTorch model.

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
from gradcam_reference import GradCam, final_cams, inside, map_json, peak, torch_resize_check  # noqa: E402
from make_simple_cnn_images import BOXES  # noqa: E402
from train_simple_cnn import CANVAS, GARMENT, SAMPLE_DIR, load_trained, to_input  # noqa: E402

FIXTURE = os.path.join(REPO, "test", "fixtures", "reference", "pytorch-simple-cnn.json")
LAYERS = ["conv1", "conv2"]
POINTING_LAYER = "conv2"
POINTING_SCENES = 2000
POINTING_SEED = 100
# conv2 (the module's output, before pooling) is 16x16: one cell per 2 input pixels.
PEAK_MARGIN = 1
DEFINITION = ("pytorch-grad-cam GradCAM: pre-softmax logit, weights = spatial mean of gradients, "
              "cam = relu(sum w_k A_k), scale_cam_image (min, max+1e-7, cv2.resize INTER_LINEAR), "
              "aggregate_multi_layers (relu, mean, scale_cam_image)")
PREPROCESSING = "scripts/sample/cnnlens_input.py: RGBA over black with 8-bit rounding, bilinear half-pixel resize to the input size (no antialias), /255; no mean/std"


def full_precision(values):
    """float32 values as JSON numbers equal to them exactly (the float32 widened to a double)."""
    return [float(v) for v in np.asarray(values, dtype=np.float32).ravel()]


def input_json(batch):
    """The model input as little-endian float32 bytes, NCHW, base64."""
    array = np.ascontiguousarray(batch.detach().numpy(), dtype="<f4")
    return {"layout": "NCHW", "shape": list(array.shape), "dtype": "float32",
            "base64": base64.b64encode(array.tobytes()).decode("ascii")}


def image_reference(model, path, size, layers, classes_per_image=2, check_resize=None):
    """One image's entry: input, logits, and per layer x class the Grad-CAM runs.

    Classes: the top-1 and then the next classes by logit (runner-up first). Returns (entry, resize
    diff) where the diff is the largest cv2-versus-torch resize disagreement seen (must be <= 1e-5).
    """
    height, width = size
    batch = model_input(path, height, width).contiguous()
    with torch.no_grad():
        logits = model(batch)[0].numpy()
    order = np.argsort(-logits, kind="stable")
    classes = [int(c) for c in order[:classes_per_image]]
    runs = []
    worst = 0.0
    for layer in layers:
        gradcam = GradCam(model, layer)
        for class_index in classes:
            run_logits, _, raw = gradcam.raw_cams(batch, [class_index])
            assert np.allclose(run_logits[0], logits, rtol=0, atol=1e-6)
            cam = final_cams(raw, width, height)
            worst = max(worst, torch_resize_check(raw, width, height, cam))
            runs.append({
                "layer": layer,
                "classIndex": class_index,
                "score": full_precision([logits[class_index]])[0],
                "camPeak": peak(cam[0]),
                "cam": map_json(cam[0], 6),  # in [0, 1]; 6 digits as gradcam-sample.json
                "layerCam": map_json(raw[0], 7),
            })
        gradcam.close()
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


def write_fixture(path, fixture):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.relpath(path, REPO)} ({os.path.getsize(path) // 1024} KiB)")


def pointing_game(model):
    """Share of 32x32 test scenes whose top-1 Grad-CAM peak (POINTING_LAYER) lies in the garment's box."""
    images, labels = scenes.load_split("t10k", GARMENT)
    rng = np.random.default_rng(POINTING_SEED)
    picks = rng.choice(len(images), POINTING_SCENES, replace=False)
    gradcam = GradCam(model, POINTING_LAYER)
    hits = correct = 0
    for start in range(0, POINTING_SCENES, 250):
        index = picks[start:start + 250]
        scene = scenes.compose(images[index], rng, canvas=CANVAS)
        _, classes, raw = gradcam.raw_cams(to_input(scene["rgb"]))
        for cam, box in zip(final_cams(raw, CANVAS, CANVAS), scene["boxes"]):
            hits += inside(peak(cam), box, PEAK_MARGIN)
        correct += int((classes == labels[index]).sum())
    gradcam.close()
    return hits / POINTING_SCENES, correct / POINTING_SCENES


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

    pointing, accuracy = pointing_game(model)
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
