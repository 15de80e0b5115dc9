#!/usr/bin/env python3
"""Writes the sample images (samples/workspace/images/) from Fashion-MNIST test garments.

Each image is one test scene (scenes.compose) saved at a display size (the model input is 64x64;
a 256x256 bicubic enlargement looks better in the panel), except one kept at the native 64x64.
An image is used only if the trained model, fed through CNN Lens's preprocessing, predicts its
true class with probability >= 0.8 — chosen on the prediction, never on the Grad-CAM map.
Writes scripts/sample/sample-images.json: each garment's tight bounding box in model-input (64x64) pixels.
"""
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import scenes  # noqa: E402
from cnnlens_input import model_input  # noqa: E402
from export_tfjs import read_layers_model  # noqa: E402
from sample_cnn import INPUT_SIZE, build_model  # noqa: E402

WORKSPACE = os.path.join(REPO, "samples", "workspace")
IMAGE_SEED = 2024
DISPLAY = 256
MIN_PROBABILITY = 0.8
# (file name, Fashion-MNIST class, kind): 'rgb' PNG, 'jpeg', 'rgba' (transparent background), 'native' (64x64 PNG)
SAMPLES = [
    ("sample.png", "Ankle boot", "rgb"),
    ("trouser.jpg", "Trouser", "jpeg"),
    ("bag-transparent.png", "Bag", "rgba"),
    ("pullover.png", "Pullover", "rgb"),
    ("sandal.png", "Sandal", "rgb"),
    ("sneaker-64px.png", "Sneaker", "native"),
]


def render(scene, kind):
    """PIL image for one scene (index 0 of a compose(..., with_alpha=True) result)."""
    if kind == "rgba":
        rgba = np.concatenate([scene["garment_rgb"][0], scene["alpha"][0][..., None]], axis=-1)
        image = Image.fromarray(rgba, "RGBA")
    else:
        image = Image.fromarray(scene["rgb"][0], "RGB")
    if kind == "native":
        return image
    return image.resize((DISPLAY, DISPLAY), Image.BICUBIC)


def save(image, path, kind):
    if kind == "jpeg":
        # 4:4:4 chroma and high quality: JPEG decoders (PIL's libjpeg, jimp's jpeg-js) then agree closely.
        image.save(path, quality=95, subsampling=0)
    else:
        image.save(path, optimize=True)


def main():
    torch.set_num_threads(2)
    model = build_model().eval()
    read_layers_model(os.path.join(WORKSPACE, "model"), model)
    images, labels = scenes.load_split("t10k")
    out_dir = os.path.join(WORKSPACE, "images")
    os.makedirs(out_dir, exist_ok=True)
    boxes = {}
    for file_name, class_name, kind in SAMPLES:
        wanted = scenes.CLASS_NAMES.index(class_name)
        path = os.path.join(out_dir, file_name)
        for index in np.flatnonzero(labels == wanted):
            # One generator per test index: an image does not change when the list above changes.
            scene = scenes.compose(images[index:index + 1], np.random.default_rng([IMAGE_SEED, int(index)]), with_alpha=True)
            save(render(scene, kind), path, kind)
            with torch.no_grad():
                probabilities = torch.softmax(model(model_input(path, INPUT_SIZE, INPUT_SIZE)), 1)[0]
            if probabilities.argmax().item() == wanted and probabilities[wanted].item() >= MIN_PROBABILITY:
                break
        else:
            raise SystemExit(f"no test garment of class {class_name} is predicted with p >= {MIN_PROBABILITY}")
        x0, y0, x1, y1 = (int(v) for v in scene["boxes"][0])
        boxes[file_name] = {"label": class_name, "classIndex": wanted, "testIndex": int(index),
                            "box": [x0, y0, x1, y1], "probability": round(probabilities[wanted].item(), 4)}
        print(f"{file_name}: test garment {index} ({class_name}), p = {probabilities[wanted].item():.3f}, box {[x0, y0, x1, y1]}")
    with open(os.path.join(HERE, "sample-images.json"), "w") as f:
        json.dump({"coordinates": "model input pixels (64x64): [x0, y0, x1, y1], x1/y1 exclusive", "images": boxes}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
