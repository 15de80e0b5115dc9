#!/usr/bin/env python3
"""Trains CNN Lens's sample CNN on Fashion-MNIST scenes and exports it as a TF.js LayersModel.

  /usr/bin/python3 scripts/sample/train_sample.py [--epochs 6] [--seed 7] [--out samples/workspace/model]

Needs Debian's python3-torch and dataset-fashion-mnist. Deterministic for a given seed on the same
machine and thread count (2 threads; data from numpy Generators, torch seeded, deterministic
algorithms on). Writes model.json, group1-shard1of1.bin and labels.txt into --out, and
training.json (accuracy, timings) beside this script's outputs for the README.
"""
import argparse
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
from export_tfjs import read_layers_model, write_layers_model  # noqa: E402
from sample_cnn import CHANNELS, build_model  # noqa: E402

TEST_SEED_OFFSET = 1000  # the test scenes use seed + this, so they never share draws with training
MODEL_NAME = "fashion_scenes_cnn"


def to_tensor(rgb_uint8):
    """uint8 NHWC scenes -> float NCHW in [0,1], exactly as CNN Lens scales its input."""
    return torch.from_numpy(rgb_uint8).permute(0, 3, 1, 2).float().div_(255.0)


def evaluate(model, images, labels, batch=500):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images), batch):
            logits = model(to_tensor(images[i:i + batch]))
            correct += (logits.argmax(1).numpy() == labels[i:i + batch]).sum()
    return correct / len(images)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=float, default=6.0, help="passes over the 60k training garments (fresh scenes each pass)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-2, help="peak learning rate of the one-cycle schedule")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default=os.path.join(REPO, "samples", "workspace", "model"))
    parser.add_argument("--report", default=os.path.join(HERE, "training.json"))
    args = parser.parse_args()

    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(args.seed)
    started = time.time()

    train_images, train_labels = scenes.load_split("train")
    test_images, test_labels, _ = scenes.test_scenes(args.seed + TEST_SEED_OFFSET)

    model = build_model()
    steps = int(args.epochs * len(train_images)) // args.batch
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=steps, pct_start=0.2)
    print(f"training {steps} steps of {args.batch} scenes ({args.epochs} epochs) on {torch.get_num_threads()} threads", flush=True)

    noise_bank = scenes.make_noise_bank(rng)
    order = np.empty(0, np.int64)
    running = 0.0
    for step in range(steps):
        if len(order) < args.batch:  # next pass over the garments, in a new order and new scenes
            order = np.concatenate([order, rng.permutation(len(train_images))])
        batch, order = order[:args.batch], order[args.batch:]
        scene = scenes.compose(train_images[batch], rng, noise_bank=noise_bank)
        model.train()
        loss = F.cross_entropy(model(to_tensor(scene["rgb"])), torch.from_numpy(train_labels[batch]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        running = 0.98 * running + 0.02 * loss.item() if step else loss.item()
        if (step + 1) % 100 == 0 or step + 1 == steps:
            print(f"  step {step + 1}/{steps}  loss {running:.3f}  {time.time() - started:.0f}s", flush=True)
    train_seconds = time.time() - started

    model.eval()
    accuracy = evaluate(model, test_images, test_labels)
    print(f"test accuracy on {len(test_images)} Fashion-MNIST test scenes: {accuracy:.4f}", flush=True)

    shard_bytes = write_layers_model(model, args.out, MODEL_NAME)
    with open(os.path.join(args.out, "labels.txt"), "w") as f:
        f.write("\n".join(scenes.CLASS_NAMES) + "\n")
    # The exported files must hold exactly the trained weights: read them back and compare.
    check = build_model().eval()
    read_layers_model(args.out, check)
    for (name, a), (_, b) in zip(model.state_dict().items(), check.state_dict().items()):
        if not name.endswith("num_batches_tracked") and not torch.equal(a, b):
            raise SystemExit(f"export round trip changed {name}")

    report = {
        "seed": args.seed,
        "epochs": args.epochs,
        "steps": steps,
        "batch": args.batch,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "testAccuracy": round(float(accuracy), 4),
        "testScenes": int(len(test_images)),
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "shardBytes": shard_bytes,
        "trainSeconds": round(train_seconds, 1),
    }
    with open(args.report, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
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
