#!/usr/bin/env python3
"""Writes the PyTorch sample's images (samples/workspace/pytorch/images/) from Fashion-MNIST test garments.

Each image is one 32x32 test scene (scenes.compose, garment 16x16, as train_simple_cnn.py trains on)
saved as an opaque RGB PNG at the model's native size, so CNN Lens feeds it without resizing. The work
is make_images.py's (make_sample_images): an image is used only if the trained SimpleCNN, fed through
CNN Lens's preprocessing, predicts its true class with probability >= 0.8 — chosen on the prediction,
never on the Grad-CAM map.
Writes scripts/sample/simple-cnn-images.json: each garment's tight bounding box in input (32x32) pixels.
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from cnnlens_input import model_input  # noqa: E402
from make_images import make_sample_images  # noqa: E402
from train_simple_cnn import CANVAS, GARMENT, SAMPLE_DIR, load_trained  # noqa: E402

IMAGE_SEED = 2025
# (file name, Fashion-MNIST class, kind): all opaque PNGs at the model's size (make_images.py's 'native')
SAMPLES = [
    ("ankle-boot.png", "Ankle boot", "native"),
    ("bag.png", "Bag", "native"),
    ("sneaker.png", "Sneaker", "native"),
    ("trouser.png", "Trouser", "native"),
    ("dress.png", "Dress", "native"),
]
BOXES = os.path.join(HERE, "simple-cnn-images.json")


def file_input(path):
    """The input CNN Lens makes from the file, contiguous as SimpleCNN's x.view needs."""
    return model_input(path, CANVAS, CANVAS).contiguous()


def main():
    torch.set_num_threads(2)
    make_sample_images(load_trained(), SAMPLES, os.path.join(SAMPLE_DIR, "images"), BOXES,
                       image_seed=IMAGE_SEED, canvas=CANVAS, garment=GARMENT, file_input=file_input)


if __name__ == "__main__":
    main()
