#!/usr/bin/env python3
"""Trains CNN Lens's sample CNN on Fashion-MNIST scenes and exports it as a TF.js LayersModel.

  /usr/bin/python3 scripts/sample/train_sample.py [--epochs 6] [--seed 7] [--out samples/workspace/model]

Needs Debian's python3-torch and dataset-fashion-mnist. Deterministic for a given seed on the same
machine and thread count (2 threads; data from numpy Generators, torch seeded, deterministic
algorithms on). Writes model.json, group1-shard1of1.bin and labels.txt into --out, and
training.json (accuracy, timings) beside this script's outputs for the README. The training itself
(scene_training.py) is shared with train_simple_cnn.py, the PyTorch sample.
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import scenes  # noqa: E402
from cnnlens_input import scenes_input  # noqa: E402
from export_tfjs import read_layers_model, write_layers_model  # noqa: E402
from sample_cnn import CHANNELS, build_model  # noqa: E402
from scene_training import (check_round_trip, parameter_count, train_and_test, training_arguments,  # noqa: E402
                            write_json, write_labels)

MODEL_NAME = "fashion_scenes_cnn"


def main():
    args = training_arguments(__doc__, epochs=6.0, lr=1e-2, out=os.path.join(REPO, "samples", "workspace", "model"),
                              report=os.path.join(HERE, "training.json")).parse_args()
    trained = train_and_test(build_model, args, canvas=scenes.CANVAS, garment=scenes.GARMENT, to_input=scenes_input, log_every=100)
    model = trained.model
    print(f"test accuracy on {trained.test_scenes} Fashion-MNIST test scenes: {trained.accuracy:.4f}", flush=True)

    shard_bytes = write_layers_model(model, args.out, MODEL_NAME)
    write_labels(os.path.join(args.out, "labels.txt"))
    # The exported files must hold exactly the trained weights: read them back and compare.
    check = build_model().eval()
    read_layers_model(args.out, check)
    check_round_trip(model, check, "export", ignore="num_batches_tracked")  # a count TF.js does not keep

    report = {
        "seed": args.seed,
        "epochs": args.epochs,
        "steps": trained.steps,
        "batch": args.batch,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "testAccuracy": round(float(trained.accuracy), 4),
        "testScenes": int(trained.test_scenes),
        "parameters": parameter_count(model),
        "shardBytes": shard_bytes,
        "trainSeconds": round(trained.train_seconds, 1),
    }
    write_json(args.report, report)
    write_workspace_readme(os.path.dirname(os.path.abspath(args.out)), report)
    print(json.dumps(report), flush=True)


def write_workspace_readme(workspace, report):
    """The sample workspace's README, with this run's numbers (and train_simple_cnn.py's, for pytorch/).

    Written by both training scripts, so retraining either sample keeps the other's section."""
    c1, c2, c3, c4 = CHANNELS
    simple_cnn_report = os.path.join(HERE, "training-simple-cnn.json")
    pytorch = ""
    if os.path.exists(simple_cnn_report):
        with open(simple_cnn_report) as f:
            simple = json.load(f)
        pytorch = f"""
## `pytorch/`: a PyTorch model

The PyTorch tutorial's `SimpleCNN` as a PyTorch user ships it, trained the same way on 32x32 scenes
(garments downscaled to {simple["garment"]}x{simple["garment"]}; `scripts/sample/train_simple_cnn.py`): `model.py` (the tutorial's
code, unchanged), `simple_cnn.pth` (its `state_dict`), `labels.txt` and `images/` (32x32 test scenes,
the model's own size). Input 32x32 RGB in [0,1] (`transforms.ToTensor()`, no `Normalize`); layers
conv1 > pool > conv2 (16x16, the last conv) > pool (its second call) > fc1. {simple["parameters"]:,} parameters,
test accuracy **{simple["testAccuracy"]:.1%}** on {simple["testScenes"]:,} test scenes (seed {simple["seed"]}, {simple["epochs"]:g} epochs, PyTorch {simple["torch"]}).
"""
    text = f"""# CNN Lens sample workspace

A small CNN trained by CNN Lens itself (`scripts/sample/train_sample.py` in the CNN Lens repository)
on **Fashion-MNIST scenes**: each 28x28 Fashion-MNIST garment, tinted with a random colour, sits at
a random position on a 64x64 canvas with a dim, noisy background and a few faint rectangles. The
garment's position varies, so a Grad-CAM map can be checked against where the garment is.

- `model/model.json` + `model/group1-shard1of1.bin`: TF.js LayersModel (Sequential), input
  64x64 RGB scaled to [0,1] (no mean/std), output softmax over 10 classes.
  Layers: conv1 (3x3, {c1}, ReLU) > pool1 > conv2 (3x3, {c2}) > bn2 > relu2 > pool2 > conv3 (3x3, {c3}, ReLU)
  > pool3 > conv4 (3x3, {c4}, ReLU, 8x8: the default Grad-CAM layer) > gap > predictions (softmax).
  {report["parameters"] + 2 * c2:,} parameters ({report["parameters"]:,} trainable; batch norm's moving statistics are the rest).
- `model/labels.txt`: the 10 Fashion-MNIST classes.
- `images/`: Fashion-MNIST **test** garments in such scenes (never seen in training), 256x256 except
  `sneaker-64px.png` (the model's native size); `trouser.jpg` is a JPEG, `bag-transparent.png` has a
  transparent background (CNN Lens composites it over black).

Test accuracy: **{report["testAccuracy"]:.1%}** on {report["testScenes"]:,} test scenes
(seed {report["seed"]}, {report["epochs"]:g} epochs, PyTorch {report["torch"]}).

Try it: right-click an image in the explorer > **Show Grad-CAM**, or from the repository root:

    node dist/cli.js gradcam samples/workspace/images/sample.png --model samples/workspace/model/model.json --out overlay.png
{pytorch}"""
    with open(os.path.join(workspace, "README.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
