"""Fashion-MNIST garments placed on a larger, colourful canvas: the sample's data set.

Why scenes instead of plain 28x28 Fashion-MNIST: on a centred 28x28 garment every Grad-CAM map
"looks right". Here each garment (28x28, tinted with a random colour) sits at a random position on
a 64x64 canvas with a dim, noisy, cluttered background, so a map can be checked against where the
garment really is (its bounding box is returned with every scene).

Other sizes: `canvas` (compose, make_noise_bank, test_scenes) sets the canvas, and garments
downscaled with `load_split(split, garment=16)` (area resampling) make smaller scenes, e.g. the 32x32
scenes of the PyTorch sample (train_simple_cnn.py). Clutter rectangles scale with the canvas; at the
defaults (64, 28) every draw is the same as before these parameters existed.

Everything is driven by a numpy Generator passed in by the caller, so a seed fixes every pixel.
"""
import gzip
import os

import numpy as np

DATA_DIR = "/usr/share/datasets/fashion-mnist"  # Debian package dataset-fashion-mnist
CANVAS = 64
GARMENT = 28
CLASS_NAMES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
# Pixels of the 28x28 garment brighter than this count as "garment" for the bounding box.
BOX_THRESHOLD = 0.1
NOISE_SIGMA = 0.03


def make_noise_bank(rng, size=512, canvas=CANVAS):
    """Standard-normal noise fields that training scenes draw from instead of fresh ones."""
    return rng.standard_normal(size=(size, canvas, canvas, 3), dtype=np.float32)


def area_matrix(source, target):
    """[target, source] weights of area (box) resampling: each output pixel averages the input
    pixels it covers, partial pixels pro rata (what cv2.INTER_AREA and PIL's BOX filter do)."""
    edges = np.arange(target + 1) * (source / target)
    weights = np.zeros((target, source), np.float64)
    for i in range(target):
        for j in range(source):
            weights[i, j] = max(0.0, min(edges[i + 1], j + 1) - max(edges[i], j))
    return weights / (source / target)


def downscale(images, size):
    """uint8 [N,28,28] garments to uint8 [N,size,size] by area resampling, rounded half up."""
    m = area_matrix(images.shape[1], size)
    scaled = m @ images.astype(np.float64) @ m.T
    return np.floor(scaled + 0.5).astype(np.uint8)


def load_split(split, garment=GARMENT):
    """Returns (images uint8 [N,garment,garment], labels int64 [N]) for split 'train' or 't10k'.

    garment < 28 downscales the 28x28 Fashion-MNIST images (area resampling)."""
    def read(name, offset):
        path = os.path.join(DATA_DIR, name)
        if not os.path.exists(path):
            raise SystemExit(f"{path} is missing: install Fashion-MNIST with `apt-get install dataset-fashion-mnist`.")
        with gzip.open(path, "rb") as f:
            return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)
    images = read(f"{split}-images-idx3-ubyte.gz", 16).reshape(-1, GARMENT, GARMENT)
    labels = read(f"{split}-labels-idx1-ubyte.gz", 8).astype(np.int64)
    if garment != GARMENT:
        images = downscale(images, garment)
    return images, labels


def _colours(rng, n, value_range, saturation_range):
    """n random RGB colours in [0,1] with brightness (max channel) and saturation in the ranges."""
    value = rng.uniform(*value_range, size=(n, 1))
    saturation = rng.uniform(*saturation_range, size=(n, 1))
    hue = rng.random((n, 3))
    hue = hue / np.maximum(hue.max(axis=1, keepdims=True), 1e-6)
    return (value * (1.0 - saturation + saturation * hue)).astype(np.float32)


def compose(garments, rng, with_alpha=False, noise_bank=None, canvas=CANVAS):
    """Builds one scene per garment.

    garments: uint8 [N,G,G] Fashion-MNIST images (white garment on black), G = 28 or smaller
    (load_split's garment), G <= canvas.
    Returns a dict with (C = canvas, 64 by default)
      'rgb'   uint8 [N,C,C,3]  the scenes (8-bit, as they are stored in PNGs),
      'alpha' uint8 [N,C,C]    the garment's opacity (only when with_alpha; for transparent samples),
      'garment_rgb' uint8 [N,C,C,3]  the garment alone on black (only when with_alpha),
      'boxes' int [N,4]          tight garment boxes (x0, y0, x1, y1), x1/y1 exclusive, canvas pixels.
    noise_bank: optional float32 [K,C,C,3] standard normals (see make_noise_bank) to draw from.
    """
    size, garment = canvas, garments.shape[1]  # `canvas` becomes the image below
    n = len(garments)
    g = garments.astype(np.float32) / 255.0
    flip = rng.random(n) < 0.5
    g[flip] = g[flip][:, :, ::-1]
    ys, xs = np.meshgrid(np.linspace(0, 1, size, dtype=np.float32), np.linspace(0, 1, size, dtype=np.float32), indexing="ij")

    # Background: a dim colour (black included), a gentle linear shading and sensor-like noise.
    base = _colours(rng, n, (0.0, 0.45), (0.0, 0.6))
    slope = rng.uniform(-0.08, 0.08, size=(n, 2)).astype(np.float32)
    shading = slope[:, 0, None, None] * (xs - 0.5) + slope[:, 1, None, None] * (ys - 0.5)
    if noise_bank is None:
        canvas = rng.standard_normal(size=(n, size, size, 3), dtype=np.float32)
    else:  # training: draws from a bank of noise fields, 3x cheaper than fresh normals per batch
        canvas = noise_bank[rng.integers(0, len(noise_bank), size=n)]
    canvas *= NOISE_SIGMA
    canvas += base[:, None, None, :]
    canvas += shading[..., None]

    # Clutter: up to three translucent rectangles, so "anything not black" is not a shortcut.
    for _ in range(3):
        present = rng.random(n) < 0.6
        w, h = rng.integers(max(2, round(3 * size / 64)), round(15 * size / 64), size=(2, n))  # 3..14 at 64
        x0, y0 = rng.integers(0, size - 3, size=(2, n))
        colour = _colours(rng, n, (0.0, 0.6), (0.0, 1.0))
        for i in np.flatnonzero(present):
            patch = canvas[i, y0[i]:y0[i] + h[i], x0[i]:x0[i] + w[i]]
            patch *= 0.5
            patch += 0.5 * colour[i]

    # Garment: a bright random tint, shaded by the garment's own grey levels (its texture stays),
    # nearly opaque wherever Fashion-MNIST has any garment pixel.
    tint = _colours(rng, n, (0.6, 1.0), (0.0, 0.85))
    opacity = np.clip(g / 0.12, 0.0, 1.0)[..., None]
    colour = tint[:, None, None, :] * (0.4 + 0.6 * g[..., None])
    top, left = rng.integers(0, size - garment + 1, size=(2, n))
    boxes = np.zeros((n, 4), np.int64)
    if with_alpha:
        alpha = np.zeros((n, size, size, 1), np.float32)
        garment_layer = np.zeros((n, size, size, 3), np.float32)
    for i in range(n):
        rows = slice(top[i], top[i] + garment)
        cols = slice(left[i], left[i] + garment)
        canvas[i, rows, cols] = canvas[i, rows, cols] * (1 - opacity[i]) + colour[i] * opacity[i]
        if with_alpha:
            alpha[i, rows, cols] = opacity[i]
            garment_layer[i, rows, cols] = colour[i]
        on = g[i] > BOX_THRESHOLD
        r = np.flatnonzero(on.any(axis=1))
        c = np.flatnonzero(on.any(axis=0))
        boxes[i] = (left[i] + c[0], top[i] + r[0], left[i] + c[-1] + 1, top[i] + r[-1] + 1)

    out = {"rgb": to_uint8(canvas), "boxes": boxes}
    if with_alpha:
        out["alpha"] = to_uint8(alpha[..., 0])
        out["garment_rgb"] = to_uint8(garment_layer)
    return out


def to_uint8(values):
    """[0,1] floats to 8 bits, rounding half up (in place ops: np.clip is slow on large arrays)."""
    scaled = values * np.float32(255.0)
    scaled += np.float32(0.5)
    np.maximum(scaled, 0, out=scaled)
    np.minimum(scaled, 255, out=scaled)
    return scaled.astype(np.uint8)


def test_scenes(seed, canvas=CANVAS, garment=GARMENT):
    """The fixed test set: every Fashion-MNIST test garment in one scene, from `seed`."""
    images, labels = load_split("t10k", garment)
    rng = np.random.default_rng(seed)
    scenes = [compose(images[i:i + 1000], rng, canvas=canvas) for i in range(0, len(images), 1000)]
    return (np.concatenate([s["rgb"] for s in scenes]), labels, np.concatenate([s["boxes"] for s in scenes]))
