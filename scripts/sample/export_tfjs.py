"""Writes the sample CNN as a TF.js LayersModel (model.json + one weight shard) and reads it back.

The JSON mirrors what tfjs-layers 4.22 itself writes for the same Sequential model (checked by
saving an equivalent model with tf.io.withSaveHandler in Node): Keras-style class_name/config
objects, snake_case keys, batch_input_shape on the first layer, and weights listed trainable
first, then non-trainable (batch-norm moving statistics), as tfjs orders them.

Layout conversions (PyTorch -> TF.js):
  conv kernel  OIHW -> HWIO      (out, in, kh, kw) -> (kh, kw, in, out)
  dense kernel (out, in) -> (in, out)
  activations are channels-last in TF.js; the global average pool makes the dense input a plain
  channel vector in both, so no flatten-order permutation is needed.
"""
import json
import os
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn

from sample_cnn import BN_EPSILON, INPUT_SIZE, ConvReLU, GlobalAveragePooling

MODEL_FILE = "model.json"
SHARD_FILE = "group1-shard1of1.bin"
TFJS_VERSION = "4.22.0"


def _initializer(name, **config):
    return {"class_name": name, "config": config}


def _glorot():
    return _initializer("VarianceScaling", scale=1, mode="fan_avg", distribution="normal", seed=None)


def _conv_config(name, module, activation, first):
    config = {
        "filters": module.out_channels,
        "kernel_initializer": _glorot(),
        "kernel_regularizer": None,
        "kernel_constraint": None,
        "kernel_size": list(module.kernel_size),
        "strides": list(module.stride),
        "padding": _keras_padding(name, module),
        "data_format": "channels_last",
        "dilation_rate": list(module.dilation),
        "activation": activation,
        "use_bias": module.bias is not None,
        "bias_initializer": _initializer("Zeros"),
        "bias_regularizer": None,
        "activity_regularizer": None,
        "bias_constraint": None,
        "name": name,
        "trainable": True,
    }
    if first:
        config["batch_input_shape"] = [None, INPUT_SIZE, INPUT_SIZE, module.in_channels]
        config["dtype"] = "float32"
    return {"class_name": "Conv2D", "config": config}


def _keras_padding(name, module):
    """'same' only where it equals torch's padding exactly: stride 1, odd kernel, pad = k // 2."""
    kernel, stride, padding = module.kernel_size, module.stride, module.padding
    if padding == (0, 0):
        return "valid"
    if stride == (1, 1) and all(k % 2 == 1 and p == k // 2 for k, p in zip(kernel, padding)):
        return "same"
    raise ValueError(f"{name}: torch padding {padding} with kernel {kernel} and stride {stride} has no exact Keras equivalent")


def _layer_json(name, module, next_module, first):
    """(layer json, [(weight name, array)] trainable, [(weight name, array)] non-trainable)."""
    if isinstance(module, nn.Conv2d):
        activation = "relu" if isinstance(module, ConvReLU) else "linear"
        kernel = module.weight.detach().numpy().transpose(2, 3, 1, 0)  # OIHW -> HWIO
        weights = [(f"{name}/kernel", kernel)]
        if module.bias is not None:
            weights.append((f"{name}/bias", module.bias.detach().numpy()))
        return _conv_config(name, module, activation, first), weights, []
    if isinstance(module, nn.BatchNorm2d):
        config = {
            "axis": -1, "momentum": 0.99, "epsilon": module.eps, "center": True, "scale": True,
            "beta_initializer": _initializer("Zeros"), "gamma_initializer": _initializer("Ones"),
            "moving_mean_initializer": _initializer("Zeros"), "moving_variance_initializer": _initializer("Ones"),
            "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None, "gamma_constraint": None,
            "name": name, "trainable": True,
        }
        assert module.eps == BN_EPSILON
        trainable = [(f"{name}/gamma", module.weight.detach().numpy()), (f"{name}/beta", module.bias.detach().numpy())]
        moving = [(f"{name}/moving_mean", module.running_mean.numpy()), (f"{name}/moving_variance", module.running_var.numpy())]
        return {"class_name": "BatchNormalization", "config": config}, trainable, moving
    if isinstance(module, nn.ReLU):
        return {"class_name": "Activation", "config": {"activation": "relu", "name": name, "trainable": True}}, [], []
    if isinstance(module, nn.MaxPool2d):
        size = module.kernel_size
        assert module.stride == size and module.padding == 0, f"{name}: only non-overlapping 'valid' pooling is exported"
        config = {"pool_size": [size, size], "padding": "valid", "strides": [size, size],
                  "data_format": "channels_last", "name": name, "trainable": True}
        return {"class_name": "MaxPooling2D", "config": config}, [], []
    if isinstance(module, GlobalAveragePooling):
        return {"class_name": "GlobalAveragePooling2D", "config": {"data_format": "channels_last", "name": name, "trainable": True}}, [], []
    if isinstance(module, nn.Linear):
        # The last Dense applies softmax, as a typical Keras classifier does; CNN Lens must then
        # differentiate the pre-softmax score, which is what the reference does with raw logits.
        activation = "softmax" if next_module is None else "linear"
        config = {
            "units": module.out_features, "activation": activation, "use_bias": True,
            "kernel_initializer": _glorot(), "bias_initializer": _initializer("Zeros"),
            "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
            "kernel_constraint": None, "bias_constraint": None, "name": name, "trainable": True,
        }
        weights = [(f"{name}/kernel", module.weight.detach().numpy().T), (f"{name}/bias", module.bias.detach().numpy())]
        return {"class_name": "Dense", "config": config}, weights, []
    raise TypeError(f"{name}: cannot export a {type(module).__name__}")


def write_layers_model(model, folder, model_name):
    """Writes folder/model.json and folder/group1-shard1of1.bin for the (eval-mode) torch model."""
    os.makedirs(folder, exist_ok=True)
    children = list(model.named_children())
    layers, trainable, non_trainable = [], [], []
    for index, (name, module) in enumerate(children):
        following = children[index + 1][1] if index + 1 < len(children) else None
        layer, weights, moving = _layer_json(name, module, following, first=index == 0)
        layers.append(layer)
        trainable += weights
        non_trainable += moving
    weights = trainable + non_trainable
    specs = [{"name": n, "shape": list(a.shape), "dtype": "float32"} for n, a in weights]
    shard = b"".join(np.ascontiguousarray(a, dtype="<f4").tobytes() for _, a in weights)
    model_json = {
        "format": "layers-model",
        "generatedBy": f"TensorFlow.js tfjs-layers v{TFJS_VERSION}",
        "convertedBy": "CNN Lens scripts/sample/export_tfjs.py (from PyTorch)",
        "modelTopology": {
            "class_name": "Sequential",
            "config": {"name": model_name, "layers": layers},
            "keras_version": f"tfjs-layers {TFJS_VERSION}",
            "backend": "tensor_flow.js",
        },
        "weightsManifest": [{"paths": [SHARD_FILE], "weights": specs}],
    }
    with open(os.path.join(folder, SHARD_FILE), "wb") as f:
        f.write(shard)
    with open(os.path.join(folder, MODEL_FILE), "w") as f:
        json.dump(model_json, f, indent=1)
        f.write("\n")
    return len(shard)


def read_layers_model(folder, model):
    """Loads folder/model.json's weights into `model` (the inverse conversions); returns the JSON."""
    with open(os.path.join(folder, MODEL_FILE)) as f:
        model_json = json.load(f)
    manifest = model_json["weightsManifest"]
    blob = b"".join(open(os.path.join(folder, p), "rb").read() for group in manifest for p in group["paths"])
    arrays, offset = OrderedDict(), 0
    for spec in (s for group in manifest for s in group["weights"]):
        count = int(np.prod(spec["shape"]))
        arrays[spec["name"]] = np.frombuffer(blob, "<f4", count, offset).reshape(spec["shape"])
        offset += 4 * count
    if offset != len(blob):
        raise ValueError(f"{folder}: shard holds {len(blob)} bytes, manifest describes {offset}")
    modules = dict(model.named_children())
    state = {}
    for key, value in arrays.items():
        layer, weight = key.split("/")
        module = modules[layer]
        if weight == "kernel":
            value = value.transpose(3, 2, 0, 1) if isinstance(module, nn.Conv2d) else value.T
            state[f"{layer}.weight"] = value
        elif weight in ("bias", "beta"):
            state[f"{layer}.bias"] = value
        elif weight == "gamma":
            state[f"{layer}.weight"] = value
        elif weight == "moving_mean":
            state[f"{layer}.running_mean"] = value
        elif weight == "moving_variance":
            state[f"{layer}.running_var"] = value
        else:
            raise KeyError(key)
    state = {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in state.items()}  # writable copies
    missing, unexpected = model.load_state_dict(state, strict=False)
    # num_batches_tracked is a training counter with no TF.js counterpart.
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"{folder}: weights missing {missing}, unexpected {unexpected}")
    return model_json
