"""Training on Fashion-MNIST scenes, shared by both samples' training scripts.

train_sample.py (the 64x64 TF.js sample) and train_simple_cnn.py (the tutorial's SimpleCNN at 32x32)
train the same way: Adam with a one-cycle schedule, cross-entropy on logits, fresh scenes for every
batch, a fixed test set of every test garment in one scene. What differs (the model, the canvas and
garment sizes, the input tensor, the logging interval, how the result is saved) is a parameter.

Deterministic for a given seed on the same machine and thread count: every scene comes from the
numpy Generator of start_run, and the weights from torch's seeded RNG. The order in which they are
drawn is part of the result, so train_and_test keeps it in one place: start_run, build the model
(torch's RNG), then train_on_scenes (the noise bank, then per step a new garment order when needed and
one scene batch).
"""
import argparse
import json
import time
from collections import namedtuple

import numpy as np
import torch
import torch.nn.functional as F

import scenes

TEST_SEED_OFFSET = 1000  # the test scenes use seed + this, so they never share draws with training
THREADS = 2

Trained = namedtuple("Trained", "model steps accuracy test_scenes train_seconds")


def training_arguments(description, epochs, lr, out, report):
    """The options both training scripts take; the defaults are each sample's."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=float, default=epochs, help="passes over the 60k training garments (fresh scenes each pass)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=lr, help="peak learning rate of the one-cycle schedule")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default=out)
    parser.add_argument("--report", default=report)
    return parser


def train_and_test(build_model, args, *, canvas, garment, to_input, log_every):
    """Seeds, builds the model, trains it on scenes and measures its accuracy on the test scenes.

    build_model() makes the untrained model (after seeding: its initial weights are seeded too);
    args are training_arguments' options; to_input turns uint8 NHWC scenes into the model's input;
    a loss line is printed every log_every steps. Returns a Trained, the model in eval mode."""
    rng = start_run(args.seed)
    started = time.time()
    train_images, train_labels, test_images, test_labels = load_scenes(args.seed, canvas, garment)
    model = build_model()
    steps = train_on_scenes(model, train_images, train_labels, rng, epochs=args.epochs, batch=args.batch, lr=args.lr,
                            canvas=canvas, to_input=to_input, log_every=log_every, started=started)
    train_seconds = time.time() - started
    model.eval()
    accuracy = evaluate(model, test_images, test_labels, to_input)
    return Trained(model, steps, accuracy, len(test_images), train_seconds)


def start_run(seed):
    """Seeds torch (before the model is built) and returns the Generator every scene is drawn from."""
    torch.set_num_threads(THREADS)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    return np.random.default_rng(seed)


def load_scenes(seed, canvas=scenes.CANVAS, garment=scenes.GARMENT):
    """(training garments, their labels, test scenes, their labels).

    Training garments stay bare: train_on_scenes puts them in new scenes for every batch."""
    train_images, train_labels = scenes.load_split("train", garment)
    test_images, test_labels, _ = scenes.test_scenes(seed + TEST_SEED_OFFSET, canvas, garment)
    return train_images, train_labels, test_images, test_labels


def train_on_scenes(model, garments, labels, rng, *, epochs, batch, lr, canvas, to_input, log_every, started):
    """Trains model in place on scenes of `canvas` pixels; returns the number of steps.

    to_input turns a uint8 NHWC scene batch into the model's input; a loss line is printed every
    log_every steps (seconds counted from `started`)."""
    steps = int(epochs * len(garments)) // batch
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps, pct_start=0.2)
    print(f"training {steps} steps of {batch} scenes ({epochs} epochs) on {torch.get_num_threads()} threads", flush=True)

    noise_bank = scenes.make_noise_bank(rng, canvas=canvas)
    order = np.empty(0, np.int64)
    running = 0.0
    for step in range(steps):
        if len(order) < batch:  # next pass over the garments, in a new order and new scenes
            order = np.concatenate([order, rng.permutation(len(garments))])
        picked, order = order[:batch], order[batch:]
        scene = scenes.compose(garments[picked], rng, noise_bank=noise_bank, canvas=canvas)
        model.train()
        loss = F.cross_entropy(model(to_input(scene["rgb"])), torch.from_numpy(labels[picked]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        running = 0.98 * running + 0.02 * loss.item() if step else loss.item()  # logged: a smoothed loss
        if (step + 1) % log_every == 0 or step + 1 == steps:
            print(f"  step {step + 1}/{steps}  loss {running:.3f}  {time.time() - started:.0f}s", flush=True)
    return steps


def evaluate(model, images, labels, to_input, batch=500):
    """Top-1 accuracy on uint8 NHWC scenes."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images), batch):
            logits = model(to_input(images[i:i + batch]))
            correct += (logits.argmax(1).numpy() == labels[i:i + batch]).sum()
    return correct / len(images)


def check_round_trip(trained, reloaded, what, ignore=()):
    """Stops unless the saved-and-reloaded model holds exactly the trained tensors.

    ignore: name endings left out of the comparison (what the saved format does not keep)."""
    for (name, a), (_, b) in zip(trained.state_dict().items(), reloaded.state_dict().items()):
        if not name.endswith(ignore) and not torch.equal(a, b):
            raise SystemExit(f"{what} round trip changed {name}")


def parameter_count(model):
    return int(sum(p.numel() for p in model.parameters()))


def write_labels(path):
    """labels.txt: the class names, one a line, in the model's output order."""
    with open(path, "w") as f:
        f.write("\n".join(scenes.CLASS_NAMES) + "\n")


def write_json(path, data):
    """Indented JSON with a final newline, as the committed reports are written."""
    with open(path, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
