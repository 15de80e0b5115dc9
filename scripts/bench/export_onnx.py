#!/usr/bin/python3
"""ONNX exports of the bench's MobileNetV2 and ResNet-18 (torch_bench.py's definitions, seeded
weights, eval mode, 224×224) for the ONNX Runtime rows of `npm run bench`: the engine runs them on
wasm and on ONNX Runtime, and raw ONNX Runtime runs them as the machine's limit.

    /usr/bin/python3 scripts/bench/export_onnx.py OUT_DIR [--size 224]
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench import mobilenet_v2, resnet18  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('out')
    parser.add_argument('--size', type=int, default=224)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    for name, build in (('mobilenetv2', mobilenet_v2), ('resnet18', resnet18)):
        model, _ = build()
        model.eval()
        x = torch.rand(1, 3, args.size, args.size)
        path = os.path.join(args.out, f'{name}.onnx')
        torch.onnx.export(model, x, path, input_names=['input'], output_names=['logits'], opset_version=13, do_constant_folding=True)
        print(path)


if __name__ == '__main__':
    main()
