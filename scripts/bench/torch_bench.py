#!/usr/bin/python3
"""PyTorch anchor for `npm run bench`: the same MobileNetV2 and ResNet-18 as
scripts/bench/architectures.ts (torchvision's definitions, written out here because Debian ships
python3-torch without torchvision), timed on this machine with the same thread count.

Prints one JSON object: {"torch": version, "threads": n, "models": {name: {forward, inputGradient,
gradcam}}} with median milliseconds. `gradcam` is what pytorch-grad-cam pays per map: a forward
pass with a hook on the target layer and a backward pass through the whole network with the
weights' gradients enabled (the library does not turn them off).
"""
import argparse
import json
import statistics
import time

import torch
from torch import nn


class InvertedResidual(nn.Module):
    def __init__(self, inp, out, stride, expansion):
        super().__init__()
        hidden = inp * expansion
        layers = []
        if expansion != 1:
            layers += [nn.Conv2d(inp, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)]
        layers += [
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, out, 1, bias=False),
            nn.BatchNorm2d(out),
        ]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and inp == out

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


def mobilenet_v2(num_classes=1000):
    layers = [nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6(inplace=True)]
    inp = 32
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            layers.append(InvertedResidual(inp, c, s if i == 0 else 1, t))
            inp = c
    layers += [nn.Conv2d(inp, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6(inplace=True)]
    features = nn.Sequential(*layers)
    return nn.Sequential(features, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1280, num_classes)), features[-1]


class BasicBlock(nn.Module):
    def __init__(self, inp, out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out)
        self.conv2 = nn.Conv2d(out, out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.down = None
        if stride != 1 or inp != out:
            self.down = nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        h = self.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return self.relu(h + (x if self.down is None else self.down(x)))


def resnet18(num_classes=1000):
    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]
    inp = 64
    for stage, width in enumerate([64, 128, 256, 512]):
        layers.append(BasicBlock(inp, width, 1 if stage == 0 else 2))
        layers.append(BasicBlock(width, width, 1))
        inp = width
    features = nn.Sequential(*layers)
    return nn.Sequential(features, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, num_classes)), features[-1]


def median_ms(fn, runs, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench(model, target_layer, size, runs, warmup):
    model.eval()
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(1))

    def forward():
        with torch.no_grad():
            model(x)

    def input_gradient():
        for p in model.parameters():
            p.requires_grad_(False)
        xi = x.clone().requires_grad_(True)
        model(xi)[0, 1].backward()

    captured = {}
    target_layer.register_forward_hook(lambda _m, _i, out: captured.__setitem__('a', out))

    def gradcam():
        for p in model.parameters():
            p.requires_grad_(True)
        model.zero_grad(set_to_none=True)
        out = model(x)
        activation = captured['a']
        activation.retain_grad()
        out[0, 1].backward()
        weights = activation.grad.mean(dim=(2, 3), keepdim=True)
        torch.relu((weights * activation).sum(dim=1))

    return {
        'forward': median_ms(forward, runs, warmup),
        'inputGradient': median_ms(input_gradient, runs, warmup),
        'gradcam': median_ms(gradcam, runs, warmup),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--runs', type=int, default=7)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--size', type=int, default=224)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    results = {}
    for name, build in [('mobilenetv2', mobilenet_v2), ('resnet18', resnet18)]:
        model, target = build()
        results[name] = bench(model, target, args.size, args.runs, args.warmup)
    print(json.dumps({'torch': torch.__version__, 'threads': args.threads, 'models': results}))


if __name__ == '__main__':
    main()
