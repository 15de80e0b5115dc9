// Integrated Gradients (Sundararajan et al., 2017), as Captum computes it with its default
// Gauss-Legendre rule: attr = (x − x') ⊙ Σ_i w_i ∇S(x' + α_i (x − x')), with m nodes α_i on [0, 1]
// and weights w_i summing to 1; the gradients are computed in batches. Baseline x': a black image
// or a blurred copy of the input (Sturmfels et al., "Visualizing the Impact of Feature Attribution
// Baselines"). Completeness — Σ attr = S(x) − S(x') — is checked and reported: a large error
// means too few steps.
import { blurInput } from '../blur';
import type { InputAttributionMethod } from '../pipeline';
import * as tf from '../../tf';

/** Gauss-Legendre nodes and weights on [0, 1] (weights sum to 1), by Newton's method on P_m. */
export function gaussLegendre(m: number): { nodes: Float64Array; weights: Float64Array } {
  const nodes = new Float64Array(m);
  const weights = new Float64Array(m);
  for (let i = 0; i < Math.ceil(m / 2); i++) {
    let z = Math.cos((Math.PI * (i + 0.75)) / (m + 0.5));
    let derivative = 0;
    for (let iteration = 0; iteration < 100; iteration++) {
      let p1 = 1;
      let p2 = 0;
      for (let j = 1; j <= m; j++) {
        const p3 = p2;
        p2 = p1;
        p1 = ((2 * j - 1) * z * p2 - (j - 1) * p3) / j;
      }
      derivative = (m * (z * p1 - p2)) / (z * z - 1);
      const previous = z;
      z = previous - p1 / derivative;
      if (Math.abs(z - previous) < 1e-15) {
        break;
      }
    }
    // Nodes ±z on [−1, 1] with weight 2/((1 − z²)P'²); mapped to [0, 1], weights halved.
    const weight = 1 / ((1 - z * z) * derivative * derivative);
    nodes[i] = (1 - z) / 2;
    nodes[m - 1 - i] = (1 + z) / 2;
    weights[i] = weight;
    weights[m - 1 - i] = weight;
  }
  return { nodes, weights };
}

export const integratedGradients: InputAttributionMethod = {
  name: 'integrated-gradients',
  usesGradients: true,
  usesLayer: false,
  reduce: 'max-abs',
  optionNames: ['steps', 'baseline', 'batchSize'],
  async attribute(inputs) {
    const { input, options } = inputs;
    const [, height, width, channels] = input.shape;
    let baseline: tf.Tensor4D;
    if (options.baseline === 'blurred') {
      baseline = await blurInput(input);
    } else {
      const black = inputs.greyLevel(0);
      baseline = tf.tidy(() => tf.mul(tf.onesLike(input), black) as tf.Tensor4D);
      black.dispose();
    }
    const { nodes, weights } = gaussLegendre(options.steps);
    let total = tf.zeros([1, height, width, channels]) as tf.Tensor4D;
    const difference = tf.sub(input, baseline) as tf.Tensor4D;
    try {
      for (let start = 0; start < options.steps; start += options.batchSize) {
        await inputs.step(`steps ${start + 1}–${Math.min(start + options.batchSize, options.steps)} of ${options.steps}`, start / options.steps);
        const size = Math.min(options.batchSize, options.steps - start);
        const alphas = tf.tensor4d(Float32Array.from(nodes.subarray(start, start + size)), [size, 1, 1, 1]);
        const batch = tf.tidy(() => tf.add(baseline, tf.mul(alphas, difference)) as tf.Tensor4D);
        const gradients = await inputs.inputGradients(batch);
        const next = tf.tidy(() => {
          const stepWeights = tf.tensor4d(Float32Array.from(weights.subarray(start, start + size)), [size, 1, 1, 1]);
          return tf.add(total, tf.sum(tf.mul(gradients, stepWeights), 0, true)) as tf.Tensor4D;
        });
        tf.dispose([alphas, batch, gradients, total]);
        total = next;
      }
      const attribution = tf.mul(difference, total) as tf.Tensor4D;
      const sum = tf.sum(attribution);
      const attributionSum = (await sum.data())[0];
      sum.dispose();
      const baselineScore = (await inputs.classScores(baseline))[0];
      const scoreDifference = inputs.score - baselineScore;
      inputs.report({
        completeness: {
          attributionSum,
          scoreDifference,
          baselineScore,
          relativeError: Math.abs(attributionSum - scoreDifference) / Math.max(Math.abs(scoreDifference), 1e-6),
        },
      });
      return attribution;
    } finally {
      tf.dispose([baseline, difference, total]);
    }
  },
};
