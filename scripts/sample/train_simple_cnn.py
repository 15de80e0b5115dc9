#!/usr/bin/env python3
"""Trains the PyTorch tutorial's SimpleCNN (samples/workspace/pytorch/model.py) on 32x32 Fashion-MNIST scenes.

  /usr/bin/python3 scripts/sample/train_simple_cnn.py [--epochs 10] [--seed 7]

The PyTorch sample of the sample workspace: the network is the tutorial's, unchanged and imported from
the sample's own model.py (so the shipped definition is the trained one); the data are the 64x64
sample's scenes (scenes.py) at 32x32: each garment downscaled to 16x16 (area resampling), tinted,
at a random position on a 32x32 cluttered canvas. Input 3x32x32 in [0, 1] (ToTensor, no Normalize).

Deterministic for a given seed on the same machine and thread count (2 threads; data from numpy
Generators, torch seeded, deterministic algorithms on). Writes, in samples/workspace/pytorch/,
simple_cnn.pth (a plain `torch.save(model.state_dict(), ...)`) and labels.txt,
scripts/sample/training-simple-cnn.json (accuracy, steps, timings) for the README, and the sample
workspace's README.md (train_sample.write_workspace_readme, whose pytorch/ section reads that json).
"""
import argparse
import importlib.util
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import scenes  # noqa: E402
from train_sample import TEST_SEED_OFFSET, write_workspace_readme  # noqa: E402

SAMPLE_DIR = os.path.join(REPO, "samples", "workspace", "pytorch")
CHECKPOINT = os.path.join(SAMPLE_DIR, "simple_cnn.pth")
CANVAS = 32   # the tutorial's input size
GARMENT = 16  # Fashion-MNIST's 28x28 downscaled, so the garment can move around the canvas


def simple_cnn_class():
    """SimpleCNN from samples/workspace/pytorch/model.py, the file the sample ships."""
    spec = importlib.util.spec_from_file_location("cnnlens_sample_simple_cnn", os.path.join(SAMPLE_DIR, "model.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SimpleCNN


def to_input(rgb_uint8):
    """uint8 NHWC scenes -> contiguous float NCHW in [0,1], what ToTensor gives (SimpleCNN's x.view
    needs a contiguous tensor, not the channels-last strides of a permuted NHWC array)."""
    return torch.from_numpy(rgb_uint8).permute(0, 3, 1, 2).float().div_(255.0).contiguous()


def evaluate(model, images, labels, batch=500):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images), batch):
            correct += (model(to_input(images[i:i + batch])).argmax(1).numpy() == labels[i:i + batch]).sum()
    return correct / len(images)


def load_trained():
    """The trained sample, in eval mode."""
    model = simple_cnn_class()()
    model.load_state_dict(torch.load(CHECKPOINT))
    return model.eval()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=float, default=10.0, help="passes over the 60k training garments (fresh scenes each pass)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of the one-cycle schedule")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--garment", type=int, default=GARMENT, help="garment size on the 32x32 canvas (Fashion-MNIST's 28 downscaled)")
    parser.add_argument("--out", default=CHECKPOINT)
    parser.add_argument("--report", default=os.path.join(HERE, "training-simple-cnn.json"))
    args = parser.parse_args()

    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(args.seed)
    started = time.time()

    train_images, train_labels = scenes.load_split("train", args.garment)
    test_images, test_labels, _ = scenes.test_scenes(args.seed + TEST_SEED_OFFSET, CANVAS, args.garment)

    model = simple_cnn_class()()
    steps = int(args.epochs * len(train_images)) // args.batch
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=steps, pct_start=0.2)
    print(f"training {steps} steps of {args.batch} scenes ({args.epochs} epochs) on {torch.get_num_threads()} threads", flush=True)

    noise_bank = scenes.make_noise_bank(rng, canvas=CANVAS)
    order = np.empty(0, np.int64)
    running = 0.0
    for step in range(steps):
        if len(order) < args.batch:  # next pass over the garments, in a new order and new scenes
            order = np.concatenate([order, rng.permutation(len(train_images))])
        batch, order = order[:args.batch], order[args.batch:]
        scene = scenes.compose(train_images[batch], rng, noise_bank=noise_bank, canvas=CANVAS)
        model.train()
        loss = F.cross_entropy(model(to_input(scene["rgb"])), torch.from_numpy(train_labels[batch]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        running = 0.98 * running + 0.02 * loss.item() if step else loss.item()
        if (step + 1) % 200 == 0 or step + 1 == steps:
            print(f"  step {step + 1}/{steps}  loss {running:.3f}  {time.time() - started:.0f}s", flush=True)
    train_seconds = time.time() - started

    model.eval()
    accuracy = evaluate(model, test_images, test_labels)
    print(f"test accuracy on {len(test_images)} Fashion-MNIST test scenes (32x32): {accuracy:.4f}", flush=True)

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    torch.save(model.state_dict(), args.out)
    with open(os.path.join(os.path.dirname(os.path.abspath(args.out)), "labels.txt"), "w") as f:
        f.write("\n".join(scenes.CLASS_NAMES) + "\n")
    # The checkpoint must load into a fresh SimpleCNN as a PyTorch user loads it, with the same weights.
    check = simple_cnn_class()()
    check.load_state_dict(torch.load(args.out))
    for (name, a), (_, b) in zip(model.state_dict().items(), check.state_dict().items()):
        if not torch.equal(a, b):
            raise SystemExit(f"checkpoint round trip changed {name}")

    report = {
        "model": "samples/workspace/pytorch/model.py (SimpleCNN)",
        "seed": args.seed,
        "epochs": args.epochs,
        "steps": steps,
        "batch": args.batch,
        "peakLearningRate": args.lr,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "canvas": CANVAS,
        "garment": args.garment,
        "testAccuracy": round(float(accuracy), 4),
        "testScenes": int(len(test_images)),
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "checkpointBytes": os.path.getsize(args.out),
        "trainSeconds": round(train_seconds, 1),
    }
    with open(args.report, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    # The workspace README has a section on pytorch/ with these numbers (and the TF.js sample's).
    with open(os.path.join(HERE, "training.json")) as f:
        write_workspace_readme(os.path.join(REPO, "samples", "workspace"), json.load(f))
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
