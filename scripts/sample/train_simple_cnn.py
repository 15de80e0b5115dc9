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
The training itself (scene_training.py) is the TF.js sample's (train_sample.py), at this canvas size.
"""
import importlib.util
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from cnnlens_input import scenes_input  # noqa: E402
from scene_training import (check_round_trip, parameter_count, train_and_test, training_arguments,  # noqa: E402
                            write_json, write_labels)
from train_sample import write_workspace_readme  # noqa: E402

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
    return scenes_input(rgb_uint8).contiguous()


def load_trained():
    """The trained sample, in eval mode."""
    model = simple_cnn_class()()
    model.load_state_dict(torch.load(CHECKPOINT))
    return model.eval()


def main():
    parser = training_arguments(__doc__, epochs=10.0, lr=3e-3, out=CHECKPOINT, report=os.path.join(HERE, "training-simple-cnn.json"))
    parser.add_argument("--garment", type=int, default=GARMENT, help="garment size on the 32x32 canvas (Fashion-MNIST's 28 downscaled)")
    args = parser.parse_args()
    trained = train_and_test(simple_cnn_class(), args, canvas=CANVAS, garment=args.garment, to_input=to_input, log_every=200)
    model = trained.model
    print(f"test accuracy on {trained.test_scenes} Fashion-MNIST test scenes (32x32): {trained.accuracy:.4f}", flush=True)

    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    torch.save(model.state_dict(), args.out)
    write_labels(os.path.join(out_dir, "labels.txt"))
    # The checkpoint must load into a fresh SimpleCNN as a PyTorch user loads it, with the same weights.
    check = simple_cnn_class()()
    check.load_state_dict(torch.load(args.out))
    check_round_trip(model, check, "checkpoint")

    report = {
        "model": "samples/workspace/pytorch/model.py (SimpleCNN)",
        "seed": args.seed,
        "epochs": args.epochs,
        "steps": trained.steps,
        "batch": args.batch,
        "peakLearningRate": args.lr,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "canvas": CANVAS,
        "garment": args.garment,
        "testAccuracy": round(float(trained.accuracy), 4),
        "testScenes": int(trained.test_scenes),
        "parameters": parameter_count(model),
        "checkpointBytes": os.path.getsize(args.out),
        "trainSeconds": round(trained.train_seconds, 1),
    }
    write_json(args.report, report)
    # The workspace README has a section on pytorch/ with these numbers (and the TF.js sample's).
    with open(os.path.join(HERE, "training.json")) as f:
        write_workspace_readme(os.path.join(REPO, "samples", "workspace"), json.load(f))
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
