// Full-size MobileNetV2 (width 1.0) and ResNet-18 at 224×224 with 1000 classes, built with
// tf.layers in the Keras applications' style (bias-free convs before batch norm, ZeroPadding before
// strided valid convs), with seeded weights. scripts/bench/torch_bench.py builds the same two
// networks in PyTorch, so the benchmark compares like with like. Parameter totals match the
// published networks: 3,504,872 (MobileNetV2) and 11,689,512 (ResNet-18) without batch norm's moving
// statistics, which tfjs counts as parameters (3,538,984 and 11,699,112 with them).
import * as tf from '../../src/engine/tf';
import { randomizeWeights } from '../../test/fixtures/models';

type Sym = tf.SymbolicTensor;

function apply(layer: tf.layers.Layer, x: Sym | Sym[]): Sym {
  return layer.apply(x) as Sym;
}

function batchNorm(x: Sym, name: string, epsilon = 1e-3): Sym {
  return apply(tf.layers.batchNormalization({ epsilon, name }), x);
}

/** MobileNetV2's inverted residual: 1×1 expand → BN → ReLU6 → 3×3 depthwise → BN → ReLU6 → 1×1 project → BN (+ Add). */
function invertedResidual(x: Sym, name: string, expansion: number, outChannels: number, stride: 1 | 2): Sym {
  const inChannels = x.shape[3] as number;
  let h = x;
  if (expansion !== 1) {
    h = apply(tf.layers.conv2d({ filters: inChannels * expansion, kernelSize: 1, useBias: false, name: `${name}_expand` }), h);
    h = batchNorm(h, `${name}_expand_BN`);
    h = apply(tf.layers.reLU({ maxValue: 6, name: `${name}_expand_relu` }), h);
  }
  if (stride === 2) {
    h = apply(tf.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]], name: `${name}_pad` }), h);
  }
  h = apply(
    tf.layers.depthwiseConv2d({ kernelSize: 3, strides: stride, padding: stride === 2 ? 'valid' : 'same', useBias: false, name: `${name}_depthwise` }),
    h,
  );
  h = batchNorm(h, `${name}_depthwise_BN`);
  h = apply(tf.layers.reLU({ maxValue: 6, name: `${name}_depthwise_relu` }), h);
  h = apply(tf.layers.conv2d({ filters: outChannels, kernelSize: 1, useBias: false, name: `${name}_project` }), h);
  h = batchNorm(h, `${name}_project_BN`);
  if (stride === 1 && inChannels === outChannels) {
    h = apply(tf.layers.add({ name: `${name}_add` }), [x, h]);
  }
  return h;
}

/** MobileNetV2 (Sandler et al. 2018), width multiplier 1.0, as torchvision's mobilenet_v2. */
export function buildMobileNetV2(inputSize = 224, numClasses = 1000, seed = 21): tf.LayersModel {
  const input = tf.input({ shape: [inputSize, inputSize, 3], name: 'image' });
  let x = apply(tf.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]], name: 'Conv1_pad' }), input);
  x = apply(tf.layers.conv2d({ filters: 32, kernelSize: 3, strides: 2, padding: 'valid', useBias: false, name: 'Conv1' }), x);
  x = batchNorm(x, 'bn_Conv1');
  x = apply(tf.layers.reLU({ maxValue: 6, name: 'Conv1_relu' }), x);
  // [expansion, channels, repeats, first stride], the paper's Table 2.
  const stages: Array<[number, number, number, 1 | 2]> = [
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
  ];
  let block = 0;
  for (const [expansion, channels, repeats, stride] of stages) {
    for (let i = 0; i < repeats; i++) {
      x = invertedResidual(x, `block_${block++}`, expansion, channels, i === 0 ? stride : 1);
    }
  }
  x = apply(tf.layers.conv2d({ filters: 1280, kernelSize: 1, useBias: false, name: 'Conv_1' }), x);
  x = batchNorm(x, 'Conv_1_bn');
  x = apply(tf.layers.reLU({ maxValue: 6, name: 'out_relu' }), x);
  x = apply(tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }), x);
  const output = apply(tf.layers.dense({ units: numClasses, activation: 'softmax', name: 'predictions' }), x);
  const model = tf.model({ inputs: input, outputs: output, name: 'mobilenetv2_1.00_224' });
  randomizeWeights(model, seed);
  return model;
}

function convBn(x: Sym, name: string, filters: number, kernelSize: number, stride: 1 | 2): Sym {
  const pad = (kernelSize - 1) / 2;
  let h = x;
  if (pad > 0) {
    h = apply(tf.layers.zeroPadding2d({ padding: pad, name: `${name}_pad` }), h);
  }
  h = apply(tf.layers.conv2d({ filters, kernelSize, strides: stride, padding: 'valid', useBias: false, name: `${name}_conv` }), h);
  return batchNorm(h, `${name}_bn`, 1.001e-5);
}

function basicBlock(x: Sym, name: string, filters: number, stride: 1 | 2): Sym {
  const inChannels = x.shape[3] as number;
  let h = convBn(x, `${name}_1`, filters, 3, stride);
  h = apply(tf.layers.activation({ activation: 'relu', name: `${name}_1_relu` }), h);
  h = convBn(h, `${name}_2`, filters, 3, 1);
  const shortcut = stride === 1 && inChannels === filters ? x : convBn(x, `${name}_0`, filters, 1, stride);
  const sum = apply(tf.layers.add({ name: `${name}_add` }), [shortcut, h]);
  return apply(tf.layers.activation({ activation: 'relu', name: `${name}_out` }), sum);
}

/** ResNet-18 (He et al. 2016), as torchvision's resnet18. */
export function buildResNet18(inputSize = 224, numClasses = 1000, seed = 22): tf.LayersModel {
  const input = tf.input({ shape: [inputSize, inputSize, 3], name: 'image' });
  let x = convBn(input, 'conv1', 64, 7, 2);
  x = apply(tf.layers.activation({ activation: 'relu', name: 'conv1_relu' }), x);
  x = apply(tf.layers.zeroPadding2d({ padding: 1, name: 'pool1_pad' }), x);
  x = apply(tf.layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1_pool' }), x);
  const widths = [64, 128, 256, 512];
  widths.forEach((filters, stage) => {
    x = basicBlock(x, `conv${stage + 2}_block1`, filters, stage === 0 ? 1 : 2);
    x = basicBlock(x, `conv${stage + 2}_block2`, filters, 1);
  });
  x = apply(tf.layers.globalAveragePooling2d({ name: 'avg_pool' }), x);
  const output = apply(tf.layers.dense({ units: numClasses, activation: 'softmax', name: 'predictions' }), x);
  const model = tf.model({ inputs: input, outputs: output, name: 'resnet18' });
  randomizeWeights(model, seed);
  return model;
}
