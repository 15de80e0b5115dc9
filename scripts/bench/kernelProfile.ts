// Per-kernel profile of one input gradient (the backward pass every attribution method runs) of a
// saved benchmark model, for finding which kernels a backend spends its time in. Not a test: the
// numbers depend on the machine and its load.
//
//   npx tsx scripts/bench/kernelProfile.ts [model=mobilenetv2] [batch=8] [warmRuns=5] [backend=wasm] [--stock]
//
// --stock puts back tfjs-core's ReLU/ReLU6/clipByValue gradients and wasm's own Slice, for a
// before/after comparison of those engine kernels with everything else equal.
//
// Models are the ones `npm run bench` saves under /tmp/cnn-lens-bench/<name>/model.json. The first
// run of a batch size in a process pays for first-touch of fresh memory pages (several times slower
// on some machines), so it is left out: the totals are the median of the warm runs, the per-kernel
// table is from the last warm run under tf.profile.
import * as path from 'path';
import * as engine from '../../src/engine';
import * as tf from '../../src/engine/tf';
import { toModelInput } from '../../src/engine/images/image';
import { computeLogits } from '../../src/engine/execution/graph';
import type { BackendName } from '../../src/shared/types';
import { clipByValueGradConfig } from '@tensorflow/tfjs-core/dist/gradients/ClipByValue_grad';
import { reluGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Relu_grad';
import { relu6GradConfig } from '@tensorflow/tfjs-core/dist/gradients/Relu6_grad';
import { stockKernel } from '../../src/engine/kernels/wasm/wasmOps';

const stock = process.argv.includes('--stock');
const [which = 'mobilenetv2', batchArg = '8', runsArg = '5', backendArg = 'wasm'] = process.argv.slice(2).filter((a) => a !== '--stock');
const batchSize = Number(batchArg);
const warmRuns = Number(runsArg);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main(): Promise<void> {
  await engine.initBackend(backendArg as BackendName);
  if (stock) {
    [clipByValueGradConfig, reluGradConfig, relu6GradConfig].forEach((config) => tf.registerGradient(config));
    const stockSlice = stockKernel(tf.Slice);
    if (stockSlice) {
      tf.unregisterKernel(tf.Slice, 'wasm');
      tf.registerKernel(stockSlice);
    }
  }
  const model = await engine.loadModel(`/tmp/cnn-lens-bench/${which}/model.json`);
  const image = await engine.readImage(path.join(__dirname, '../../samples/workspace/images/sample.png'));
  const input = toModelInput(image, model.summary.inputShape, model.summary.preprocessing);
  const oneHot = tf.oneHot([1], model.summary.numClasses).asType('float32');
  const gradient = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(computeLogits(model.model, x), oneHot)));
  const batch = tf.tidy(() => tf.add(tf.tile(input, [batchSize, 1, 1, 1]), tf.randomNormal([batchSize, ...input.shape.slice(1)], 0, 0.3, 'float32', 7)));
  const runOnce = () => {
    const g = tf.tidy(() => gradient(batch));
    g.dataSync();
    g.dispose();
  };
  const coldStart = performance.now();
  runOnce();
  const cold = performance.now() - coldStart;
  const times: number[] = [];
  for (let r = 0; r < warmRuns; r++) {
    const start = performance.now();
    runOnce();
    times.push(performance.now() - start);
  }
  const total = median(times);
  console.log(`${which} input gradient, ${backendArg}${stock ? ' (stock gradients and Slice)' : ''}, batch ${batchSize}: cold ${cold.toFixed(0)} ms; warm median ${total.toFixed(0)} ms ` +
    `(${(total / batchSize).toFixed(1)} ms/image) of [${times.map((t) => t.toFixed(0)).join(', ')}]`);
  const info = await tf.profile(runOnce);
  const byKernel = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    const entry = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    entry.ms += k.kernelTimeMs as number;
    entry.calls++;
    byKernel.set(k.name, entry);
  }
  const rows = [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 16);
  console.log(`profiled run: ${info.kernels.length} kernels; top kernels:`);
  for (const [name, { ms, calls }] of rows) {
    console.log(`  ${name.padEnd(36)} ${ms.toFixed(0).padStart(7)} ms  ${calls} calls`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
