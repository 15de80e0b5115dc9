"""The sample CNN in PyTorch, with module names equal to its layer names in the TF.js model.json.

Each torch module here produces exactly the tensor its namesake TF.js layer produces (in NCHW
instead of NHWC), so "layer conv4" means the same activation in the reference and in CNN Lens:
  - ConvReLU is one Keras Conv2D with activation "relu" (conv and ReLU fused into one layer);
  - convolutions are 3x3, stride 1, padding 1 = Keras padding "same" (symmetric for odd kernels
    at stride 1, so there is no TF-vs-torch asymmetric padding question);
  - pooling is 2x2 stride 2 on even sizes = Keras MaxPooling2D "valid";
  - the head returns LOGITS; the TF.js model applies softmax in its Dense layer, which CNN Lens
    undoes by differentiating the pre-softmax score (as pytorch-grad-cam does with logits).
"""
from collections import OrderedDict

import torch.nn as nn
import torch.nn.functional as F

INPUT_SIZE = 64
CHANNELS = (8, 16, 48, 96)
NUM_CLASSES = 10
BN_EPSILON = 1e-5  # torch's default; written into the Keras config (whose own default is 1e-3)


class ConvReLU(nn.Conv2d):
    """Conv2D + ReLU as one layer, like Keras Conv2D(activation='relu')."""

    def forward(self, x):
        return F.relu(super().forward(x))


class GlobalAveragePooling(nn.Module):
    """Keras GlobalAveragePooling2D: mean over height and width."""

    def forward(self, x):
        return x.mean(dim=(2, 3))


def build_model():
    c1, c2, c3, c4 = CHANNELS
    return nn.Sequential(OrderedDict([
        ("conv1", ConvReLU(3, c1, 3, padding=1)),                 # 64x64
        ("pool1", nn.MaxPool2d(2)),                               # 32x32
        ("conv2", nn.Conv2d(c1, c2, 3, padding=1)),               # linear conv, then batch norm
        ("bn2", nn.BatchNorm2d(c2, eps=BN_EPSILON)),
        ("relu2", nn.ReLU()),
        ("pool2", nn.MaxPool2d(2)),                               # 16x16
        ("conv3", ConvReLU(c2, c3, 3, padding=1)),
        ("pool3", nn.MaxPool2d(2)),                               # 8x8
        ("conv4", ConvReLU(c3, c4, 3, padding=1)),                # last conv block: 8x8
        ("gap", GlobalAveragePooling()),
        ("predictions", nn.Linear(c4, NUM_CLASSES)),              # logits (softmax lives in TF.js)
    ]))

