#!/usr/bin/env python3
"""PyTorch reference Grad-CAM for the sample model: test/fixtures/reference/gradcam-sample.json.

Grad-CAM as pytorch-grad-cam (jacobgil/pytorch-grad-cam, GradCAM + BaseCAM) defines it; that
package cannot be installed here, so its definition is re-implemented step by step:
  - forward hook on the target module keeps its output A (N,K,h,w) and a tensor hook its gradient;
  - score = the class's pre-softmax logit (ClassifierOutputTarget), default class = top-1 logit;
  - weights w_k = mean over h,w of dscore/dA_k  (GradCAM.get_cam_weights);
  - cam = max(sum_k w_k A_k, 0)                 (get_cam_image + np.maximum);
  - scale_cam_image(cam, (W, H)): cam - min, / (1e-7 + max), cv2.resize INTER_LINEAR to the input;
  - aggregate_multi_layers (applied even for one layer): max(., 0), mean over layers, then
    scale_cam_image again without resizing.
cv2 (Debian's python3-opencv) does the resize, as in pytorch-grad-cam; the same map computed with
torch's bilinear interpolate (align_corners=False) is checked to agree.

The model input comes from the image FILE through CNN Lens's preprocessing (cnnlens_input.py), so the
engine and this reference start from the same tensor. The fixture also holds "probes": raw 64x64
test scenes (base64 uint8 RGB) with their logits, to check the TF.js conversion without decoding.

The Grad-CAM runs of an image (gradcam_runs), the pointing game and write_fixture also make the
PyTorch references (simple_cnn_reference.py, scripts/fixtures/export_pytorch_fixtures.py).
"""
import base64
import json
import os
import sys
import time

import cv2
import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import scenes  # noqa: E402
from cnnlens_input import model_input, scenes_input  # noqa: E402
from export_tfjs import read_layers_model  # noqa: E402
from sample_cnn import INPUT_SIZE, build_model  # noqa: E402

MODEL_DIR = os.path.join(REPO, "samples", "workspace", "model")
IMAGE_DIR = os.path.join(REPO, "samples", "workspace", "images")
FIXTURE = os.path.join(REPO, "test", "fixtures", "reference", "gradcam-sample.json")
# PNGs only: a JPEG decodes slightly differently in PIL (libjpeg) and in jimp (jpeg-js).
FIXTURE_IMAGES = ["sample.png", "bag-transparent.png", "sneaker-64px.png"]
# The last conv block (the default CAM layer) and an early one whose head runs conv -> batch norm.
FIXTURE_LAYERS = ["conv4", "pool1"]
PROBES = 4
POINTING_SCENES = 2000
REFERENCE_SEED = 99
# The fixtures' "definition": what every Grad-CAM here computes (also simple_cnn_reference.py's fixtures).
DEFINITION = ("pytorch-grad-cam GradCAM: pre-softmax logit, weights = spatial mean of gradients, "
              "cam = relu(sum w_k A_k), scale_cam_image (min, max+1e-7, cv2.resize INTER_LINEAR), "
              "aggregate_multi_layers (relu, mean, scale_cam_image)")


class GradCam:
    """pytorch-grad-cam's GradCAM for one target module of a classifier that returns logits."""

    def __init__(self, model, layer_name):
        self.model = model.eval()
        self.layer_name = layer_name
        module = model.get_submodule(layer_name)  # a module path: "conv4", "features.4"
        self.handle = module.register_forward_hook(self._keep)

    def _keep(self, _module, _inputs, output):
        self.activations = output
        output.register_hook(self._keep_gradient)

    def _keep_gradient(self, gradient):
        self.gradients = gradient

    def raw_cams(self, batch, class_indices=None):
        """Returns (logits, classes, ReLU maps at the layer's resolution) for a batch."""
        self.model.zero_grad()
        logits = self.model(batch)
        if class_indices is None:
            class_indices = logits.argmax(1)
        class_indices = torch.as_tensor(class_indices).reshape(-1)
        # Sum of per-image scores: each image's gradient is its own score's gradient.
        logits.gather(1, class_indices[:, None]).sum().backward()
        activations = self.activations.detach().numpy()
        gradients = self.gradients.detach().numpy()
        weights = gradients.mean(axis=(2, 3))
        cams = np.maximum((weights[:, :, None, None] * activations).sum(axis=1), 0)
        return logits.detach().numpy(), class_indices.numpy(), cams

    def close(self):
        self.handle.remove()


def scale_cam_image(cams, target_size=None):
    """pytorch-grad-cam's utils.image.scale_cam_image; target_size is (width, height)."""
    result = []
    for cam in cams:
        cam = cam - np.min(cam)
        cam = cam / (1e-7 + np.max(cam))
        if target_size is not None:
            cam = cv2.resize(cam, target_size)
        result.append(cam)
    return np.float32(result)


def final_cams(raw, width, height):
    """compute_cam_per_layer's scaling + aggregate_multi_layers for a single target layer."""
    per_layer = scale_cam_image(raw, (width, height))[:, None]
    return scale_cam_image(np.maximum(per_layer, 0).mean(axis=1))


def torch_resize_check(raw, width, height, cams):
    """The same maps with torch's half-pixel bilinear resize: must match cv2.resize."""
    scaled = raw - raw.min(axis=(1, 2), keepdims=True)
    scaled = scaled / (1e-7 + scaled.max(axis=(1, 2), keepdims=True))
    resized = F.interpolate(torch.from_numpy(np.float32(scaled))[:, None], size=(height, width),
                            mode="bilinear", align_corners=False)[:, 0].numpy()
    resized = np.maximum(resized, 0)
    resized = resized - resized.min(axis=(1, 2), keepdims=True)
    resized = resized / (1e-7 + resized.max(axis=(1, 2), keepdims=True))
    diff = float(np.abs(resized - cams).max())
    if diff > 1e-5:
        raise SystemExit(f"cv2.resize and torch interpolate disagree by {diff}")
    return diff


def rounded(values, digits):
    return [float(f"{v:.{digits}g}") for v in np.asarray(values, dtype=np.float64).ravel()]


def map_json(values, digits=7):
    values = np.asarray(values)
    return {"width": int(values.shape[1]), "height": int(values.shape[0]), "data": rounded(values, digits)}


def peak(cam):
    """(x, y) of the map's maximum (first in row-major order, as the tests compute it)."""
    y, x = np.unravel_index(int(np.argmax(cam)), cam.shape)
    return int(x), int(y)


# Same margin as test/unit/sampleModel.test.ts: conv4 has one cell per 8 input pixels, so a peak on the
# garment's edge cell may land a pixel or two beyond its last bright pixel.
PEAK_MARGIN = 2


def inside(point, box, margin=PEAK_MARGIN):
    x, y = point
    x0, y0, x1, y1 = box
    return x0 - margin <= x < x1 + margin and y0 - margin <= y < y1 + margin


def top_classes(logits, count=2):
    """The `count` classes with the largest logits: the top-1, then the runner-up, ..."""
    return [int(c) for c in np.argsort(-logits, kind="stable")[:count]]


def gradcam_runs(model, batch, layers, width, height, classes_per_image=2):
    """Grad-CAM of one input for each layer, then each of its top classes, as the fixtures store them.

    Returns (logits, runs, the largest cv2-versus-torch resize disagreement, at most 1e-5)."""
    with torch.no_grad():
        logits = model(batch)[0].numpy()
    runs = []
    worst = 0.0
    for layer in layers:
        gradcam = GradCam(model, layer)
        for class_index in top_classes(logits, classes_per_image):
            run_logits, _, raw = gradcam.raw_cams(batch, [class_index])
            assert np.allclose(run_logits[0], logits, rtol=0, atol=1e-6)
            cam = final_cams(raw, width, height)
            worst = max(worst, torch_resize_check(raw, width, height, cam))
            runs.append({
                "layer": layer,
                "classIndex": class_index,
                "score": float(logits[class_index]),  # the float32 logit exactly
                "camPeak": peak(cam[0]),
                "cam": map_json(cam[0], 6),  # in [0, 1]
                "layerCam": map_json(raw[0], 7),
            })
        gradcam.close()
    return logits, runs, worst


def pointing_game(model, layer, seed, *, canvas, garment, margin, to_input):
    """Share of POINTING_SCENES test scenes whose top-1 Grad-CAM peak at `layer` lies in the garment's
    box (within margin), and the top-1 accuracy on them. to_input makes the model's input of a scene batch."""
    images, labels = scenes.load_split("t10k", garment)
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(images), POINTING_SCENES, replace=False)
    gradcam = GradCam(model, layer)
    hits = correct = 0
    for start in range(0, POINTING_SCENES, 250):
        index = picks[start:start + 250]
        scene = scenes.compose(images[index], rng, canvas=canvas)
        _, classes, raw = gradcam.raw_cams(to_input(scene["rgb"]))
        for cam, box in zip(final_cams(raw, canvas, canvas), scene["boxes"]):
            hits += inside(peak(cam), box, margin)
        correct += int((classes == labels[index]).sum())
    gradcam.close()
    return hits / POINTING_SCENES, correct / POINTING_SCENES


def write_fixture(path, fixture):
    """Compact JSON with a final newline, as every reference fixture is written."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.relpath(path, REPO)} ({os.path.getsize(path) // 1024} KiB)")


def main():
    torch.set_num_threads(2)
    started = time.time()
    model = build_model().eval()
    read_layers_model(MODEL_DIR, model)
    with open(os.path.join(HERE, "sample-images.json")) as f:
        sample_images = json.load(f)["images"]

    fixture_images = []
    max_resize_diff = 0.0
    for file_name in FIXTURE_IMAGES:
        path = os.path.join(IMAGE_DIR, file_name)
        batch = model_input(path, INPUT_SIZE, INPUT_SIZE)
        logits, runs, diff = gradcam_runs(model, batch, FIXTURE_LAYERS, INPUT_SIZE, INPUT_SIZE)
        max_resize_diff = max(max_resize_diff, diff)
        info = sample_images[file_name]
        top1_peak = runs[0]["camPeak"]
        print(f"{file_name}: truth {info['label']}, top-1 {scenes.CLASS_NAMES[runs[0]['classIndex']]}, "
              f"conv4 peak {top1_peak} in box {info['box']}: {inside(top1_peak, info['box'])}")
        fixture_images.append({
            "file": f"samples/workspace/images/{file_name}",
            "label": info["label"],
            "labelIndex": info["classIndex"],
            "box": info["box"],
            "inputSize": [INPUT_SIZE, INPUT_SIZE],
            "logits": rounded(logits, 8),
            "runs": runs,
        })

    # Probes: raw scenes straight into the model, no image files involved.
    images, labels = scenes.load_split("t10k")
    rng = np.random.default_rng(REFERENCE_SEED)
    index = rng.choice(len(images), PROBES, replace=False)
    probe_scenes = scenes.compose(images[index], rng)["rgb"]
    with torch.no_grad():
        probe_logits = model(scenes_input(probe_scenes)).numpy()
    probes = [{"label": scenes.CLASS_NAMES[labels[i]], "rgbBase64": base64.b64encode(s.tobytes()).decode("ascii"),
               "logits": rounded(l, 8)} for i, s, l in zip(index, probe_scenes, probe_logits)]

    pointing, accuracy = pointing_game(model, "conv4", REFERENCE_SEED + 1, canvas=INPUT_SIZE, garment=scenes.GARMENT,
                                       margin=PEAK_MARGIN, to_input=scenes_input)
    print(f"pointing game: top-1 conv4 Grad-CAM peak inside the garment box on {pointing:.1%} of "
          f"{POINTING_SCENES} test scenes (top-1 accuracy on them {accuracy:.1%})")

    fixture = {
        "generatedBy": "scripts/sample/gradcam_reference.py (PyTorch " + torch.__version__ + ", OpenCV " + cv2.__version__ + ")",
        "model": "samples/workspace/model/model.json",
        "definition": DEFINITION,
        "preprocessing": "RGBA over black with 8-bit rounding, bilinear half-pixel resize to 64x64 (no antialias), /255",
        "labels": scenes.CLASS_NAMES,
        "layers": FIXTURE_LAYERS,
        "boxCoordinates": "model input pixels: [x0, y0, x1, y1], x1/y1 exclusive",
        "pointingGame": {"scenes": POINTING_SCENES, "margin": PEAK_MARGIN, "peakInBox": round(pointing, 4), "top1Accuracy": round(accuracy, 4)},
        "cv2VersusTorchResizeMaxDiff": max_resize_diff,
        "samples": [{"file": f"samples/workspace/images/{name}", "label": info["label"], "labelIndex": info["classIndex"],
                     "box": info["box"]} for name, info in sample_images.items()],
        "images": fixture_images,
        "probes": probes,
    }
    write_fixture(FIXTURE, fixture)
    print(f"done in {time.time() - started:.1f}s")


if __name__ == "__main__":
    main()
