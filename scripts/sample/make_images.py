#!/usr/bin/env python3
"""Writes the sample images (samples/workspace/images/) from Fashion-MNIST test garments.

Each image is one test scene (scenes.compose) saved at a display size (the model input is 64x64;
a 256x256 bicubic enlargement looks better in the panel), except one kept at the native 64x64.
An image is used only if the trained model, fed through CNN Lens's preprocessing, predicts its
true class with probability >= 0.8 — chosen on the prediction, never on the Grad-CAM map.
Writes scripts/sample/sample-images.json: each garment's tight bounding box in model-input (64x64) pixels.
make_simple_cnn_images.py makes the PyTorch sample's images with the same code (make_sample_images).
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
# (file name, Fashion-MNIST class, kind): 'rgb' PNG, 'jpeg', 'rgba' (transparent background), 'native'
# (a PNG at the model's input size, not enlarged)
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


def write_scene(garment, rng, canvas, kind, path):
    """Composes one garment's scene, writes it to path as `kind` and returns it."""
    scene = scenes.compose(garment, rng, with_alpha=True, canvas=canvas)
    save(render(scene, kind), path, kind)
    return scene


def confident_scene(model, garments, labels, wanted, path, kind, *, image_seed, canvas, file_input):
    """Writes to path the first test garment of class `wanted` whose image the model predicts as that
    class with p >= MIN_PROBABILITY; returns (its test index, its scene, p).

    The prediction is made on the written file (file_input(path)): on what CNN Lens will be given."""
    for index in np.flatnonzero(labels == wanted):
        # One generator per test index: an image does not change when the list of samples changes.
        scene = write_scene(garments[index:index + 1], np.random.default_rng([image_seed, int(index)]), canvas, kind, path)
        with torch.no_grad():
            probabilities = torch.softmax(model(file_input(path)), 1)[0]
        if probabilities.argmax().item() == wanted and probabilities[wanted].item() >= MIN_PROBABILITY:
            return int(index), scene, probabilities[wanted].item()
    raise SystemExit(f"no test garment of class {scenes.CLASS_NAMES[wanted]} is predicted with p >= {MIN_PROBABILITY}")


def make_sample_images(model, samples, out_dir, boxes_path, *, image_seed, canvas, garment, file_input):
    """Writes one image per (file name, class, kind) of samples into out_dir, and their garments' boxes
    (canvas pixels) into boxes_path. Also make_simple_cnn_images.py's, with its own model and sizes.

    file_input(path): the model's input made from an image file as CNN Lens makes it."""
    garments, labels = scenes.load_split("t10k", garment)
    os.makedirs(out_dir, exist_ok=True)
    boxes = {}
    for file_name, class_name, kind in samples:
        wanted = scenes.CLASS_NAMES.index(class_name)
        index, scene, probability = confident_scene(model, garments, labels, wanted, os.path.join(out_dir, file_name), kind,
                                                    image_seed=image_seed, canvas=canvas, file_input=file_input)
        x0, y0, x1, y1 = (int(v) for v in scene["boxes"][0])
        boxes[file_name] = {"label": class_name, "classIndex": wanted, "testIndex": index,
                            "box": [x0, y0, x1, y1], "probability": round(probability, 4)}
        print(f"{file_name}: test garment {index} ({class_name}), p = {probability:.3f}, box {[x0, y0, x1, y1]}")
    with open(boxes_path, "w") as f:
        json.dump({"coordinates": f"model input pixels ({canvas}x{canvas}): [x0, y0, x1, y1], x1/y1 exclusive",
                   "images": boxes}, f, indent=2)
        f.write("\n")


def main():
    torch.set_num_threads(2)
    model = build_model().eval()
    read_layers_model(os.path.join(WORKSPACE, "model"), model)
    make_sample_images(model, SAMPLES, os.path.join(WORKSPACE, "images"), os.path.join(HERE, "sample-images.json"),
                       image_seed=IMAGE_SEED, canvas=INPUT_SIZE, garment=scenes.GARMENT,
                       file_input=lambda path: model_input(path, INPUT_SIZE, INPUT_SIZE))


if __name__ == "__main__":
    main()
