"""CNN Lens's image preprocessing, re-done in Python for the reference (src/engine/images/image.ts):

  1. decode (PIL) to 8-bit RGBA;
  2. composite over black with 8-bit rounding: round(c * (a / 255)), rounding half up like JS Math.round;
  3. resize to the model input with bilinear interpolation, half-pixel centres, no antialiasing
     (torch.nn.functional.interpolate(mode='bilinear', align_corners=False) = tf.image.resizeBilinear
     with halfPixelCenters = cv2.resize INTER_LINEAR), in float, without re-rounding to 8 bits;
  4. divide by 255 (the sample model has no mean/std sidecar).
"""
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def decode_rgba(path):
    with Image.open(path) as image:
        return np.asarray(image.convert("RGBA"), dtype=np.uint8)


def composite_over_black(rgba):
    opacity = rgba[..., 3:4].astype(np.float64) / 255.0
    return np.floor(rgba[..., :3].astype(np.float64) * opacity + 0.5).astype(np.float32)


def model_input(path, height, width):
    """[1, 3, height, width] float32 in [0,1], NCHW, exactly what CNN Lens feeds the model (in NHWC)."""
    rgb = composite_over_black(decode_rgba(path))
    source = torch.from_numpy(rgb).permute(2, 0, 1)[None]
    resized = F.interpolate(source, size=(height, width), mode="bilinear", align_corners=False)
    return resized / 255.0


def scenes_input(rgb_uint8):
    """uint8 NHWC scenes (scenes.compose's 'rgb', already at the input size) -> float NCHW in [0,1].

    A channels-last view of the array, not a copy: the TF.js sample was trained and its reference made
    on such tensors, and a contiguous copy could round the convolutions differently. Callers whose
    model needs contiguous input (SimpleCNN's x.view) add .contiguous()."""
    return torch.from_numpy(rgb_uint8).permute(0, 3, 1, 2).float().div_(255.0)
