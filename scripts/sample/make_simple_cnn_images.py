#!/usr/bin/env python3
"""Writes the PyTorch sample's images (samples/workspace/pytorch/images/) from Fashion-MNIST test garments.

Each image is one 32x32 test scene (scenes.compose, garment 16x16, as train_simple_cnn.py trains on)
saved as an opaque RGB PNG at the model's native size, so CNN Lens feeds it without resizing. As in
make_images.py, an image is used only if the trained SimpleCNN, fed through CNN Lens's preprocessing,
predicts its true class with probability >= 0.8 — chosen on the prediction, never on the Grad-CAM map.
Writes scripts/sample/simple-cnn-images.json: each garment's tight bounding box in input (32x32) pixels.
"""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import scenes  # noqa: E402
from cnnlens_input import model_input  # noqa: E402
from make_images import MIN_PROBABILITY, render, save  # noqa: E402
from train_simple_cnn import CANVAS, GARMENT, SAMPLE_DIR, load_trained  # noqa: E402

IMAGE_SEED = 2025
# (file name, Fashion-MNIST class)
SAMPLES = [
    ("ankle-boot.png", "Ankle boot"),
    ("bag.png", "Bag"),
    ("sneaker.png", "Sneaker"),
    ("trouser.png", "Trouser"),
    ("dress.png", "Dress"),
]
BOXES = os.path.join(HERE, "simple-cnn-images.json")


def main():
    torch.set_num_threads(2)
    model = load_trained()
    images, labels = scenes.load_split("t10k", GARMENT)
    out_dir = os.path.join(SAMPLE_DIR, "images")
    os.makedirs(out_dir, exist_ok=True)
    boxes = {}
    for file_name, class_name in SAMPLES:
        wanted = scenes.CLASS_NAMES.index(class_name)
        path = os.path.join(out_dir, file_name)
        for index in np.flatnonzero(labels == wanted):
            # One generator per test index: an image does not change when the list above changes.
            scene = scenes.compose(images[index:index + 1], np.random.default_rng([IMAGE_SEED, int(index)]), canvas=CANVAS)
            save(render(scene, "native"), path, "png")
            with torch.no_grad():
                batch = model_input(path, CANVAS, CANVAS).contiguous()
                probabilities = torch.softmax(model(batch), 1)[0]
            if probabilities.argmax().item() == wanted and probabilities[wanted].item() >= MIN_PROBABILITY:
                break
        else:
            raise SystemExit(f"no test garment of class {class_name} is predicted with p >= {MIN_PROBABILITY}")
        x0, y0, x1, y1 = (int(v) for v in scene["boxes"][0])
        boxes[file_name] = {"label": class_name, "classIndex": wanted, "testIndex": int(index),
                            "box": [x0, y0, x1, y1], "probability": round(probabilities[wanted].item(), 4)}
        print(f"{file_name}: test garment {index} ({class_name}), p = {probabilities[wanted].item():.3f}, box {[x0, y0, x1, y1]}")
    with open(BOXES, "w") as f:
        json.dump({"coordinates": f"model input pixels ({CANVAS}x{CANVAS}): [x0, y0, x1, y1], x1/y1 exclusive",
                   "images": boxes}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
