// Faithfulness metrics of a map: does the model's confidence follow it? Every perturbed input is
// scored by batched forward passes; scores are the probability of the explained class (softmax; a
// binary output's chosen side: σ(±z)), or a regression's value, which has no probability.
//  - deletion / insertion (Petsiuk et al., 2018, RISE): pixels replaced by a blurred copy's, or
//    restored onto the blurred copy, most important first, in `DELETION_STEPS` equal steps; area
//    under the curve (trapezoid over the fraction 0..1). Deletion: lower is better; insertion:
//    higher is better. RISE deletes to black; CNN Lens deletes to the blurred image (as RISE's
//    insertion starts from it) because scattered black pixels push any image off the data: on the
//    sample model a map of random pixels then "wins" deletion by breaking the image, not by
//    finding the evidence. Both curves now run between the same two images.
//  - ROAD (Rong et al., 2022; pytorch-grad-cam's ROADMostRelevantFirst / LeastRelevantFirst and
//    ROADCombined): 10%..90% of the pixels removed, most or least relevant first, and imputed by
//    noisy linear imputation (imputation.ts). The fraction removed is exact (pixels ranked by the
//    map, ties in raster order); the reference thresholds at a percentile instead.
//  - confidence change (pytorch-grad-cam's CamMultImageConfidenceChange): the probability for the
//    input multiplied by the map, minus the probability for the input.
import type { FaithfulnessMetrics, Map2D, MetricCurve, OutputKind } from '../../../shared/types';
import { blurValues, defaultBlurSigma } from '../blur';
import { metricScore } from '../../models/outputKinds';
import * as tf from '../../tf';
import { noisyLinearImpute } from './imputation';

export const DELETION_STEPS = 32;
export const ROAD_FRACTIONS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

export interface MetricsContext {
  /** Pre-softmax scores of a batch (helpers may compute part of it); caller disposes. Counted by the caller. */
  logits(batch: tf.Tensor4D): tf.Tensor2D | Promise<tf.Tensor2D>;
  /** What the scores are (outputKinds.ts); default classes. */
  kind?: OutputKind;
  step(message: string, fraction?: number): Promise<void>;
  batchSize: number;
  seed: number;
}

/** Pixel indices by decreasing map value; ties keep raster order (a stable sort). */
export function rankPixels(map: Map2D): Int32Array {
  const order = Array.from({ length: map.data.length }, (_, i) => i);
  order.sort((a, b) => map.data[b] - map.data[a] || a - b);
  return Int32Array.from(order);
}

export function trapezoidAuc(fractions: readonly number[], scores: readonly number[]): number {
  let area = 0;
  for (let i = 1; i < fractions.length; i++) {
    area += ((scores[i] + scores[i - 1]) / 2) * (fractions[i] - fractions[i - 1]);
  }
  return area;
}

export async function computeMetrics(input: tf.Tensor4D, cam: Map2D, classIndex: number, context: MetricsContext): Promise<FaithfulnessMetrics> {
  const started = performance.now();
  const [, height, width, channels] = input.shape;
  if (cam.width !== width || cam.height !== height) {
    throw new Error(`Metrics need the map at the input size ${width}x${height}, got ${cam.width}x${cam.height}.`);
  }
  const values = (await input.data()) as Float32Array;
  const pixels = height * width;
  const order = rankPixels(cam);
  const counter = { passes: 0, inputs: 0 };

  // Every perturbed image is described by a function that fills it, so a batch is built only when scored.
  type Fill = (out: Float32Array) => void;
  const images: Fill[] = [];
  const add = (fill: Fill): number => images.push(fill) - 1;

  const prefix = (count: number, source: Float32Array, base: Float32Array): Fill => (out) => {
    out.set(base);
    for (let k = 0; k < count; k++) {
      const p = order[k];
      for (let c = 0; c < channels; c++) {
        out[p * channels + c] = source[p * channels + c];
      }
    }
  };
  const original = add((out) => out.set(values));
  const fractions = Array.from({ length: DELETION_STEPS + 1 }, (_, k) => k / DELETION_STEPS);
  const counts = fractions.map((f) => Math.round(f * pixels));
  const blurred = blurValues(values, height, width, channels, defaultBlurSigma(height, width));
  const deletionIds = counts.map((count) => add(prefix(count, blurred, values)));
  const insertionIds = counts.map((count) => add(prefix(count, values, blurred)));
  const road = (mostRelevantFirst: boolean, fraction: number, seed: number): Fill => (out) => {
    const removed = new Uint8Array(pixels);
    const count = Math.round(fraction * pixels);
    for (let k = 0; k < count; k++) {
      removed[order[mostRelevantFirst ? k : pixels - 1 - k]] = 1;
    }
    out.set(noisyLinearImpute(values, height, width, channels, removed, { seed }));
  };
  const morfIds = ROAD_FRACTIONS.map((f, i) => add(road(true, f, context.seed + i)));
  const lerfIds = ROAD_FRACTIONS.map((f, i) => add(road(false, f, context.seed + 100 + i)));
  const multiplied = add((out) => {
    for (let p = 0; p < pixels; p++) {
      for (let c = 0; c < channels; c++) {
        out[p * channels + c] = values[p * channels + c] * cam.data[p];
      }
    }
  });

  const probabilities = new Float64Array(images.length);
  for (let start = 0; start < images.length; start += context.batchSize) {
    await context.step(`metrics: scoring perturbed images ${start + 1}–${Math.min(start + context.batchSize, images.length)} of ${images.length}`, start / images.length);
    const size = Math.min(context.batchSize, images.length - start);
    const data = new Float32Array(size * pixels * channels);
    for (let b = 0; b < size; b++) {
      images[start + b](data.subarray(b * pixels * channels, (b + 1) * pixels * channels));
    }
    const batch = tf.tensor4d(data, [size, height, width, channels]);
    const logits = await context.logits(batch);
    counter.passes += 1;
    counter.inputs += size;
    const rows = (await logits.data()) as Float32Array;
    tf.dispose([batch, logits]);
    const classes = rows.length / size;
    for (let b = 0; b < size; b++) {
      probabilities[start + b] = metricScore(context.kind ?? 'classes', rows.subarray(b * classes, (b + 1) * classes), classIndex);
    }
  }

  const base = probabilities[original];
  const curve = (ids: number[], xs: number[]): MetricCurve => {
    const scores = ids.map((id) => probabilities[id]);
    return { fractions: xs, scores, auc: trapezoidAuc(xs, scores) };
  };
  const roadFractions = [0, ...ROAD_FRACTIONS];
  const morf = curve([original, ...morfIds], roadFractions);
  const lerf = curve([original, ...lerfIds], roadFractions);
  const meanChange = (ids: number[]) => ids.reduce((sum, id) => sum + probabilities[id] - base, 0) / ids.length;
  return {
    probability: base,
    scoreKind: context.kind === 'regression' ? 'value' : 'probability',
    deletion: curve(deletionIds, fractions),
    insertion: curve(insertionIds, fractions),
    roadMostRelevantFirst: morf,
    roadLeastRelevantFirst: lerf,
    roadCombined: (meanChange(lerfIds) - meanChange(morfIds)) / 2,
    confidenceChange: probabilities[multiplied] - base,
    passes: counter.passes,
    inputsScored: counter.inputs,
    timeMs: performance.now() - started,
  };
}
