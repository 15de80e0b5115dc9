// The attribution methods of issue 4 against their definitions, computed independently of the
// engine: CAM-family maps from activations and gradients obtained through plain tfjs sub-models
// and written out in JS loops; saliency against central finite differences; Integrated Gradients'
// completeness; SmoothGrad with zero noise; guided backprop against a hand-written guided backward
// pass; batching (pass counts); every method on MobileNetV2- and ResNet-style models on wasm;
// no tensor growth.
import * as assert from 'assert';
import { initBackend } from '../../src/engine/backend';
import * as tf from '../../src/engine/tf';
import { isCancelled, LensError } from '../../src/shared/errors';
import { compareMethods, explain } from '../../src/engine/index';
import { layerEntries } from '../../src/engine/execution/layers';
import { blurInput } from '../../src/engine/explain/blur';
import { firstPrincipalProjection, symmetricEigen } from '../../src/engine/explain/linalg';
import { getMethod, METHODS } from '../../src/engine/explain/methods';
import { eigenProjection } from '../../src/engine/explain/methods/eigenCam';
import { gaussLegendre } from '../../src/engine/explain/methods/integratedGradients';
import { patchStarts } from '../../src/engine/explain/methods/occlusion';
import { computeCam, isInputLevel, scaleCam, type CamRequest } from '../../src/engine/explain/pipeline';
import { INPUT_LEVEL_METHODS, METHOD_LABELS, METHOD_NAMES, type CamResult, type MethodName, type MethodOptions } from '../../src/shared/types';
import { buildMobileNetV2Style, buildResNetStyle, MOBILENET_LAYERS, RESNET_LAYERS } from '../fixtures/architectures';
import { chainModel, randomInput, randomizeWeights, randomRgbaImage, residualModel, seededRandom, wrapInMemory } from '../fixtures/models';

function request(model: tf.LayersModel, method: MethodName, layer: string, options: MethodOptions = {}, classIndex?: number): CamRequest {
  const entry = layerEntries(model).find((e) => e.info.name === layer);
  assert.ok(entry, `fixture has no layer ${layer}`);
  const numClasses = model.outputs[0].shape[1] as number;
  return {
    method: getMethod(method),
    layer: { name: layer, path: entry.path },
    classIndex,
    labels: Array.from({ length: numClasses }, (_, i) => `label ${i}`),
    topK: 3,
    backend: 'cpu',
    options,
  };
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.strictEqual(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const error = Math.abs(actual[i] - expected[i]);
    if (!(error <= worst)) {
      worst = error;
      at = i;
    }
  }
  assert.ok(worst <= tolerance, `${what}[${at}]: ${actual[at]} vs ${expected[at]} (error ${worst})`);
}

/**
 * Activations of a chain layer and d(logit c)/d(activations): the Sequential's layers applied
 * eagerly one by one (no graph executor), tf.grad over the layers after the chosen one.
 */
function activationsAndGradients(model: tf.Sequential, layerIndex: number, input: tf.Tensor4D, classIndex: number): { A: Float32Array; G: Float32Array; shape: number[] } {
  return tf.tidy(() => {
    let activations: tf.Tensor = input;
    for (const layer of model.layers.slice(0, layerIndex + 1)) {
      activations = layer.apply(activations) as tf.Tensor;
    }
    const head = (a: tf.Tensor) => model.layers.slice(layerIndex + 1).reduce((x, layer) => layer.apply(x) as tf.Tensor, a);
    const gradients = tf.grad((a: tf.Tensor) => tf.gather(head(a) as tf.Tensor2D, [classIndex], 1).sum())(activations);
    return { A: activations.dataSync() as Float32Array, G: gradients.dataSync() as Float32Array, shape: activations.shape };
  });
}

/** ReLU(sum_k w_k A_k) at the layer's resolution. */
function weighted(A: Float32Array, weights: ArrayLike<number>, positions: number, channels: number): Float32Array {
  const out = new Float32Array(positions);
  for (let i = 0; i < positions; i++) {
    let sum = 0;
    for (let k = 0; k < channels; k++) sum += weights[k] * A[i * channels + k];
    out[i] = Math.max(sum, 0);
  }
  return out;
}

/** The CAM family's definitions (pytorch-grad-cam), in plain loops over A and G (NHWC, batch 1). */
function referenceCam(method: MethodName, A: Float32Array, G: Float32Array, positions: number, channels: number): Float32Array {
  const sumOver = (f: (i: number, k: number) => number) =>
    Array.from({ length: channels }, (_, k) => {
      let s = 0;
      for (let i = 0; i < positions; i++) s += f(i, k);
      return s;
    });
  const sumA = sumOver((i, k) => A[i * channels + k]);
  switch (method) {
    case 'gradcam++': {
      const weights = sumOver((i, k) => {
        const g = G[i * channels + k];
        if (g === 0) return 0;
        const alpha = (g * g) / (2 * g * g + sumA[k] * g * g * g + 1e-6);
        return Math.max(g, 0) * alpha;
      });
      return weighted(A, weights, positions, channels);
    }
    case 'xgradcam': {
      const weights = sumOver((i, k) => G[i * channels + k] * A[i * channels + k]).map((v, k) => v / (sumA[k] + 1e-7));
      return weighted(A, weights, positions, channels);
    }
    case 'layercam':
    case 'hirescam': {
      const out = new Float32Array(positions);
      for (let i = 0; i < positions; i++) {
        let sum = 0;
        for (let k = 0; k < channels; k++) {
          const g = G[i * channels + k];
          sum += (method === 'layercam' ? Math.max(g, 0) : g) * A[i * channels + k];
        }
        out[i] = Math.max(sum, 0);
      }
      return out;
    }
    default:
      throw new Error(`no reference for ${method}`);
  }
}



describe('attribution methods', function () {
  this.timeout(120_000);

  before(async () => {
    await initBackend('cpu');
  });

  it('registers every protocol method; METHOD_LABELS and INPUT_LEVEL_METHODS agree with the registry', () => {
    assert.deepStrictEqual(Object.keys(METHODS).sort(), [...METHOD_NAMES].sort());
    assert.deepStrictEqual(Object.keys(METHOD_LABELS).sort(), [...METHOD_NAMES].sort());
    for (const name of METHOD_NAMES) {
      const method = METHODS[name];
      const inputOnly = isInputLevel(method) && !method.usesLayer;
      assert.strictEqual(INPUT_LEVEL_METHODS.includes(name), inputOnly, name);
    }
  });

  describe('CAM family equals its formula (pytorch-grad-cam definitions)', () => {
    for (const method of ['gradcam++', 'xgradcam', 'layercam', 'hirescam'] as const) {
      it(`${method} on a conv chain, at both layers and two classes`, async () => {
        const model = chainModel('linear', 7) as tf.Sequential;
        const input = randomInput([12, 12, 3], 8);
        try {
          for (const [layerIndex, layer] of [[0, 'conv1'], [1, 'conv2']] as const) {
            for (const classIndex of [0, 2]) {
              const { A, G, shape } = activationsAndGradients(model, layerIndex, input, classIndex);
              const [, h, w, c] = shape;
              const expected = referenceCam(method, A, G, h * w, c);
              const result = await computeCam(model, input, request(model, method, layer, {}, classIndex));
              assertClose(result.layerCam.data, expected, 1e-5 * Math.max(1, ...expected), `${method} ${layer} class ${classIndex}`);
              assert.ok(Math.max(...expected) > 0, 'the reference map is not all zero (the test can fail)');
            }
          }
        } finally {
          model.dispose();
          input.dispose();
        }
      });
    }

    it('scorecam: softmax over channels of the scores of the input masked by each upsampled, min-max normalised channel', async () => {
      const model = chainModel('linear', 9) as tf.Sequential;
      const input = randomInput([12, 12, 3], 10);
      try {
        const classIndex = 1;
        const { A, shape } = activationsAndGradients(model, 1, input, classIndex);
        const [, h, w, c] = shape;
        const scores = tf.tidy(() => {
          const masks: tf.Tensor[] = [];
          for (let k = 0; k < c; k++) {
            const channel = tf.tensor4d(Array.from({ length: h * w }, (_, i) => A[i * c + k]), [1, h, w, 1]);
            const up = tf.image.resizeBilinear(channel, [12, 12], true);
            const min = up.min();
            const max = up.max();
            masks.push(tf.mul(input, up.sub(min).div(max.sub(min).add(1e-8))));
          }
          return (model.predict(tf.concat(masks, 0)) as tf.Tensor2D).gather([classIndex], 1).dataSync();
        });
        const maxScore = Math.max(...scores);
        const exp = Array.from(scores, (s) => Math.exp(s - maxScore));
        const total = exp.reduce((a, b) => a + b, 0);
        const expected = weighted(A, exp.map((e) => e / total), h * w, c);
        const result = await computeCam(model, input, request(model, 'scorecam', 'conv2', { batchSize: 4 }, classIndex));
        assertClose(result.layerCam.data, expected, 1e-5, 'scorecam');
        // 6 channels in batches of 4: the forward pass, then 2 batched passes scoring 6 inputs.
        assert.deepStrictEqual([result.details?.passes, result.details?.inputsScored], [3, 7]);
      } finally {
        model.dispose();
        input.dispose();
      }
    });

    it('eigencam: a rank-one activation pattern gives back its spatial pattern, signed to correlate with the mean activation', () => {
      // A_ij^k = a_k · p_ij + b_k: centred, X = (p − mean p) aᵀ, so the projection is ±|a|·(p − mean p).
      const positions = 9;
      const channels = 4;
      const p = [0, 1, 5, 2, 0, 0, 3, 1, 0];
      const a = [2, -1, 0.5, 3];
      const b = [1, 2, 3, 4];
      const values = new Float32Array(positions * channels);
      for (let i = 0; i < positions; i++) for (let k = 0; k < channels; k++) values[i * channels + k] = a[k] * p[i] + b[k];
      const meanP = p.reduce((s, v) => s + v, 0) / positions;
      const norm = Math.hypot(...a);
      // sum(a) > 0, so the mean activation rises with p: the sign must be +.
      const expected = p.map((v) => norm * (v - meanP));
      assertClose(Array.from(eigenProjection(values, positions, channels)), expected, 1e-4, 'rank-one projection');
      // Flipping the channels' sign pattern (sum(a) < 0) flips the chosen sign.
      const flipped = Float32Array.from(values, (v, i) => -a[i % channels] * p[Math.floor(i / channels)] + b[i % channels]);
      assertClose(Array.from(eigenProjection(flipped, positions, channels)), expected.map((v) => -v), 1e-4, 'flipped');
    });

    it('eigencam: the projection is on the top principal direction, whichever Gram matrix is smaller', () => {
      const random = seededRandom(3);
      for (const [m, n] of [[20, 5], [5, 20]]) {
        const x = new Float64Array(m * n).map(() => random());
        for (let k = 0; k < n; k++) {
          let mean = 0;
          for (let r = 0; r < m; r++) mean += x[r * n + k] / m;
          for (let r = 0; r < m; r++) x[r * n + k] -= mean;
        }
        const projection = firstPrincipalProjection(x, m, n);
        // ‖X v₁‖² is the top eigenvalue of XᵀX, and no unit vector does better: compare with the full eigen-decomposition.
        const gram = new Float64Array(n * n);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let r = 0; r < m; r++) gram[i * n + j] += x[r * n + i] * x[r * n + j];
        const { values, vectors } = symmetricEigen(gram, n);
        const top = Math.max(...values);
        assert.ok(Math.abs(projection.reduce((s, v) => s + v * v, 0) - top) < 1e-8 * top, `‖Xv‖² = λ₁ for ${m}x${n}`);
        // Eigen-decomposition check: G V = V Λ.
        for (let j = 0; j < n; j++) {
          for (let i = 0; i < n; i++) {
            let gv = 0;
            for (let k = 0; k < n; k++) gv += gram[i * n + k] * vectors[k * n + j];
            assert.ok(Math.abs(gv - values[j] * vectors[i * n + j]) < 1e-9 * top);
          }
        }
      }
    });
  });

  describe('gradient family (Captum definitions)', () => {
    /** A smooth (tanh) conv net, so central differences are exact to rounding. */
    function smoothModel(): tf.LayersModel {
      const model = tf.sequential({
        name: 'smooth',
        layers: [
          tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 5, kernelSize: 3, activation: 'tanh', name: 'conv1' }),
          tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'tanh', name: 'conv2' }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 3, name: 'logits' }),
        ],
      });
      randomizeWeights(model, 21);
      return model;
    }

    it('saliency equals central finite differences of the class score (max |.| over channels)', async () => {
      const model = smoothModel();
      const input = randomInput([8, 8, 3], 22);
      try {
        const classIndex = 2;
        const size = 8 * 8 * 3;
        const eps = 1e-2;
        const fd = tf.tidy(() => {
          const base = input.reshape([size]);
          const basis = tf.oneHot(tf.range(0, size, 1, 'int32'), size).toFloat().mul(eps);
          const plus = base.add(basis).reshape([size, 8, 8, 3]);
          const minus = base.sub(basis).reshape([size, 8, 8, 3]);
          const score = (x: tf.Tensor) => (model.predict(x) as tf.Tensor2D).gather([classIndex], 1).reshape([size]);
          return score(plus).sub(score(minus)).div(2 * eps).dataSync();
        });
        const expected = Array.from({ length: 64 }, (_, p) => Math.max(...[0, 1, 2].map((c) => Math.abs(fd[p * 3 + c]))));
        const result = await computeCam(model, input, request(model, 'saliency', 'conv2', {}, classIndex));
        assertClose(result.layerCam.data, expected, 2e-3 * Math.max(...expected), 'saliency vs finite differences');
        assertClose(result.cam.data, scaleCam(Float32Array.from(expected)), 5e-3, 'normalised map');
      } finally {
        model.dispose();
        input.dispose();
      }
    });

    it('smoothgrad with zero noise equals saliency; with noise it differs and is reproducible by seed', async () => {
      const model = chainModel('linear', 5);
      const input = randomInput([12, 12, 3], 6);
      try {
        const plain = await computeCam(model, input, request(model, 'saliency', 'conv2', {}, 1));
        const quiet = await computeCam(model, input, request(model, 'smoothgrad', 'conv2', { noise: 0, samples: 5, batchSize: 2 }, 1));
        assertClose(quiet.layerCam.data, plain.layerCam.data, 1e-6, 'smoothgrad(noise 0) = saliency');
        // 5 samples in batches of 2: 1 forward + 3 backward passes over 5 inputs.
        assert.deepStrictEqual([quiet.details?.passes, quiet.details?.inputsScored], [4, 6]);
        const noisy = await computeCam(model, input, request(model, 'smoothgrad', 'conv2', { noise: 0.2, samples: 8, seed: 4 }, 1));
        const again = await computeCam(model, input, request(model, 'smoothgrad', 'conv2', { noise: 0.2, samples: 8, seed: 4 }, 1));
        assert.deepStrictEqual(Array.from(noisy.layerCam.data), Array.from(again.layerCam.data));
        assert.ok(noisy.layerCam.data.some((v, i) => Math.abs(v - plain.layerCam.data[i]) > 1e-4), 'noise changes the map');
      } finally {
        model.dispose();
        input.dispose();
      }
    });

    it('Gauss-Legendre nodes integrate polynomials up to degree 2m − 1 exactly on [0, 1]', () => {
      for (const m of [1, 2, 5, 50]) {
        const { nodes, weights } = gaussLegendre(m);
        for (let degree = 0; degree < 2 * m && degree < 30; degree++) {
          const integral = nodes.reduce((s, x, i) => s + weights[i] * x ** degree, 0);
          assert.ok(Math.abs(integral - 1 / (degree + 1)) < 1e-12, `m=${m} degree ${degree}: ${integral}`);
        }
      }
    });

    for (const baseline of ['black', 'blurred'] as const) {
      it(`integrated-gradients completeness holds within 1% at 200 steps (${baseline} baseline), on a chain and a residual model`, async () => {
        for (const [model, shape, layer] of [
          [chainModel('linear', 3), [12, 12, 3], 'conv2'],
          [residualModel(4), [10, 10, 3], 'add'],
        ] as const) {
          const input = randomInput(shape as [number, number, number], 5);
          try {
            // The class whose score changes most between baseline and input: a real test of completeness.
            const base = baseline === 'black' ? tf.zerosLike(input) : await blurInput(input as tf.Tensor4D);
            const change = tf.tidy(() => (model.predict(input) as tf.Tensor2D).sub(model.predict(base) as tf.Tensor2D).abs().dataSync());
            base.dispose();
            const classIndex = change.indexOf(Math.max(...change));
            const result = await computeCam(model, input, request(model, 'integrated-gradients', layer, { steps: 200, baseline, batchSize: 64 }, classIndex));
            const check = result.details?.completeness;
            assert.ok(check, 'the completeness check is reported');
            assert.ok(Math.abs(check.scoreDifference) > 0.01, `score difference ${check.scoreDifference} is not trivially 0`);
            assert.ok(check.relativeError < 0.01, `${model.name}: sum ${check.attributionSum} vs ${check.scoreDifference}`);
            // Independent: the sum printed equals score(x) − score(baseline) computed with predict.
            const score = (model.predict(input) as tf.Tensor2D);
            const s = score.dataSync()[result.classIndex];
            score.dispose();
            assert.ok(Math.abs(s - check.baselineScore - check.scoreDifference) < 1e-4);
            // 200 steps in batches of 64: forward, 4 gradient passes, baseline score.
            assert.strictEqual(result.details?.passes, 6);
          } finally {
            input.dispose();
          }
        }
      });
    }

    it('guided-backprop equals a hand-written guided backward pass (ReLU layer, relu6 and fused relu activations)', async () => {
      const H = 4;
      const C = [2, 3, 3, 3];
      const input = tf.input({ shape: [H, H, C[0]], name: 'image' });
      const z1 = tf.layers.conv2d({ filters: C[1], kernelSize: 1, name: 'c1' }).apply(input) as tf.SymbolicTensor;
      const h1 = tf.layers.reLU({ name: 'r1' }).apply(z1) as tf.SymbolicTensor;
      const h2 = tf.layers.conv2d({ filters: C[2], kernelSize: 1, activation: 'relu6', name: 'c2' }).apply(h1) as tf.SymbolicTensor;
      const h3 = tf.layers.conv2d({ filters: C[3], kernelSize: 1, activation: 'relu', name: 'c3' }).apply(h2) as tf.SymbolicTensor;
      const gap = tf.layers.globalAveragePooling2d({}).apply(h3) as tf.SymbolicTensor;
      const out = tf.layers.dense({ units: 2, name: 'head' }).apply(gap) as tf.SymbolicTensor;
      const model = tf.model({ inputs: input, outputs: out });
      randomizeWeights(model, 38);
      const x = randomInput([H, H, C[0]], 32);
      try {
        const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
        const [W1, b1, W2, b2, W3, b3, Wd] = weights;
        const X = x.dataSync();
        const classIndex = 0;
        const conv = (v: number[], W: number[], b: number[], cin: number, cout: number) =>
          Array.from({ length: cout }, (_, o) => v.reduce((s, vi, i) => s + vi * W[i * cout + o], b[o]));
        const back = (d: number[], W: number[], cin: number, cout: number) => Array.from({ length: cin }, (_, i) => d.reduce((s, di, o) => s + di * W[i * cout + o], 0));
        const expected: number[] = [];
        let zerosSeen = 0;
        for (let p = 0; p < H * H; p++) {
          const xin = Array.from(X.slice(p * C[0], (p + 1) * C[0]));
          const zz1 = conv(xin, W1, b1, C[0], C[1]);
          const hh1 = zz1.map((v) => Math.max(v, 0));
          const zz2 = conv(hh1, W2, b2, C[1], C[2]);
          const hh2 = zz2.map((v) => Math.min(Math.max(v, 0), 6));
          const zz3 = conv(hh2, W3, b3, C[2], C[3]);
          const dh3 = Array.from({ length: C[3] }, (_, k) => Wd[k * 2 + classIndex] / (H * H));
          const dz3 = dh3.map((d, k) => (zz3[k] > 0 ? Math.max(d, 0) : 0));
          const dh2 = back(dz3, W3, C[2], C[3]);
          const dz2 = dh2.map((d, k) => (zz2[k] > 0 && zz2[k] < 6 ? Math.max(d, 0) : 0));
          const dh1 = back(dz2, W2, C[1], C[2]);
          const dz1 = dh1.map((d, k) => (zz1[k] > 0 ? Math.max(d, 0) : 0));
          // Negative gradients at open ReLUs: what the guided ReLUs must stop.
          zerosSeen += [dh1.filter((d, k) => d < 0 && zz1[k] > 0), dh2.filter((d, k) => d < 0 && zz2[k] > 0), dh3.filter((d, k) => d < 0 && zz3[k] > 0)]
            .filter((stopped) => stopped.length > 0).length;
          const dx = back(dz1, W1, C[0], C[1]);
          expected.push(Math.max(...dx.map(Math.abs)));
        }
        assert.ok(zerosSeen > 0, 'the fixture has negative gradients at an open ReLU (the test can fail)');
        const result = await computeCam(model, x, request(model, 'guided-backprop', 'c3', {}, classIndex));
        assertClose(result.layerCam.data, expected, 1e-6, 'guided backprop');
        const plain = await computeCam(model, x, request(model, 'saliency', 'c3', {}, classIndex));
        assert.ok(plain.layerCam.data.some((v, i) => Math.abs(v - expected[i]) > 1e-4), 'guided differs from the plain gradient');
      } finally {
        model.dispose();
        x.dispose();
      }
    });

    it('guided-gradcam is guided backprop times the normalised Grad-CAM at input size', async () => {
      const model = chainModel('linear', 11);
      const input = randomInput([12, 12, 3], 12);
      try {
        const guided = await computeCam(model, input, request(model, 'guided-backprop', 'conv2', {}, 0));
        const cam = await computeCam(model, input, request(model, 'gradcam', 'conv2', {}, 0));
        const result = await computeCam(model, input, request(model, 'guided-gradcam', 'conv2', {}, 0));
        assertClose(result.layerCam.data, guided.layerCam.data.map((v, i) => v * cam.cam.data[i]), 1e-6, 'guided × gradcam');
        assert.strictEqual(result.layer, 'conv2');
      } finally {
        model.dispose();
        input.dispose();
      }
    });

    it('occlusion: each pixel is the mean score drop over the patches covering it; batched', async () => {
      const model = chainModel('linear', 13) as tf.Sequential;
      const input = randomInput([12, 12, 3], 14);
      try {
        const patch = 4;
        const stride = 3;
        const starts = patchStarts(12, patch, stride);
        assert.deepStrictEqual(starts, [0, 3, 6, 8]);
        const classIndex = 3;
        const score = (x: tf.Tensor4D) => tf.tidy(() => (model.predict(x) as tf.Tensor2D).dataSync()[classIndex]);
        const base = score(input);
        const total = new Float64Array(144);
        const count = new Float64Array(144);
        const values = input.dataSync();
        for (const y of starts) {
          for (const x of starts) {
            const occluded = Float32Array.from(values);
            for (let r = y; r < y + patch; r++) for (let c = x; c < x + patch; c++) occluded.fill(0.5, (r * 12 + c) * 3, (r * 12 + c) * 3 + 3);
            const t = tf.tensor4d(occluded, [1, 12, 12, 3]);
            const drop = base - score(t);
            t.dispose();
            for (let r = y; r < y + patch; r++) for (let c = x; c < x + patch; c++) {
              total[r * 12 + c] += drop;
              count[r * 12 + c] += 1;
            }
          }
        }
        const expected = Array.from(total, (t, i) => Math.max(t / count[i], 0));
        assert.ok(Math.max(...expected) > 1e-3 && Math.min(...expected) < Math.max(...expected) / 2, 'patches change the score unevenly');
        const result = await computeCam(model, input, request(model, 'occlusion', 'conv2', { patch, stride, fill: 0.5, batchSize: 5 }, classIndex));
        assertClose(result.layerCam.data, expected, 1e-5, 'occlusion');
        // 16 patches in batches of 5: 1 forward + 4 passes.
        assert.deepStrictEqual([result.details?.passes, result.details?.inputsScored], [5, 17]);
      } finally {
        model.dispose();
        input.dispose();
      }
    });

    it('rejects bad options with a message naming the option', async () => {
      const model = chainModel('linear', 1);
      const input = randomInput([12, 12, 3], 1);
      try {
        for (const [options, pattern] of [
          [{ steps: 0 }, /steps must be a whole number from 1/],
          [{ patch: 13 }, /patch must be a whole number from 1 to 12/],
          [{ noise: -1 }, /noise must be a number from 0/],
          [{ fill: 2 }, /fill must be a gray level/],
          [{ baseline: 'white' as never }, /baseline must be one of black, blurred/],
        ] as const) {
          await assert.rejects(computeCam(model, input, request(model, 'occlusion', 'conv2', options as MethodOptions)), (error: unknown) => {
            assert.ok(error instanceof LensError && error.code === 'bad-request');
            assert.match(error.message, pattern);
            return true;
          });
        }
      } finally {
        model.dispose();
        input.dispose();
      }
    });
  });

  describe('every method on MobileNetV2- and ResNet-style models, on the wasm backend', () => {
    before(async () => {
      await initBackend('wasm');
    });
    after(async () => {
      await initBackend('cpu');
    });

    for (const [name, build, layer] of [
      ['MobileNetV2-style', buildMobileNetV2Style, MOBILENET_LAYERS.residualBlock],
      ['ResNet-style', buildResNetStyle, RESNET_LAYERS.firstBlock],
    ] as const) {
      it(`${name}: every method gives a finite map in [0, 1], with metrics, and no tensor growth`, async () => {
        const model = wrapInMemory(build());
        try {
          const picture = randomRgbaImage(40, 36, 3);
          const options: MethodOptions = { samples: 4, steps: 8, batchSize: 8 };
          // Warm-up (kernels and weights initialise lazily), then count tensors.
          await explain(model, picture, { method: 'gradcam' });
          const before = tf.memory().numTensors;
          const compared = await compareMethods(model, picture, METHOD_NAMES, { layer, options, metrics: true });
          assert.strictEqual(tf.memory().numTensors, before, 'no tensor growth across a compare run of all methods');
          assert.deepStrictEqual(compared.map((c) => c.method), [...METHOD_NAMES]);
          const classIndex = compared[0].result.classIndex;
          let nonEmpty = 0;
          for (const { method, result } of compared) {
            assert.strictEqual(result.backend, 'wasm');
            assert.strictEqual(result.classIndex, classIndex, `${method}: same class for every method`);
            assert.deepStrictEqual([result.cam.width, result.cam.height], [32, 32]);
            assert.ok(result.cam.data.every((v) => Number.isFinite(v) && v >= 0 && v <= 1), `${method}: map in [0, 1]`);
            nonEmpty += result.cam.data.some((v) => v > 0.5) ? 1 : 0;
            const m = result.metrics;
            assert.ok(m && Number.isFinite(m.deletion.auc) && Number.isFinite(m.roadCombined), `${method}: metrics`);
            assert.strictEqual(m.deletion.scores.length, 33);
          }
          // With random weights a CAM can be all zero after its ReLU (nothing supports the class there); most are not.
          assert.ok(nonEmpty >= METHOD_NAMES.length - 3, `${nonEmpty} non-empty maps`);
        } finally {
          model.dispose();
        }
      });
    }
  });

  it('compare stops between stages when cancelled, leaving no tensors behind', async () => {
    const model = wrapInMemory(buildResNetStyle());
    try {
      const picture = randomRgbaImage(32, 32, 5);
      await explain(model, picture, { method: 'gradcam' });
      const before = tf.memory().numTensors;
      const controller = new AbortController();
      const seen: string[] = [];
      await assert.rejects(
        compareMethods(model, picture, ['gradcam', 'scorecam', 'occlusion'], { options: { batchSize: 2 } }, {
          signal: controller.signal,
          onProgress: (p) => {
            seen.push(p.message);
            if (p.message.startsWith('scorecam') && p.message.includes('scoring channels')) controller.abort();
          },
        }),
        (error: unknown) => isCancelled(error),
      );
      assert.ok(seen.some((m) => m.startsWith('gradcam')) && !seen.some((m) => m.startsWith('occlusion')));
      assert.strictEqual(tf.memory().numTensors, before);
    } finally {
      model.dispose();
    }
  });

  it('the same class and layer for every compared method, and input-level results name the input', async () => {
    const model = wrapInMemory(chainModel('linear', 2));
    try {
      const results: CamResult[] = (await compareMethods(model, randomRgbaImage(12, 12, 2), ['gradcam', 'saliency', 'guided-gradcam'], { classIndex: 2, layer: 'conv1' })).map((c) => c.result);
      assert.deepStrictEqual(results.map((r) => r.classIndex), [2, 2, 2]);
      assert.deepStrictEqual(results.map((r) => r.layer), ['conv1', model.model.inputLayers[0].name, 'conv1']);
      assert.match(results[1].details?.layerCamNote ?? '', /input-size map/);
    } finally {
      model.dispose();
    }
  });
});
