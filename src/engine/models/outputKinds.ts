// What a model output holds, and how its scores are read (pytorch-grad-cam's targets):
//  - classes: the pre-softmax vector; probabilities are its softmax (ClassifierOutputTarget);
//  - binary: one unit whose value z is a binary classifier's logit (a sigmoid output is seen
//    through to z). The engine hands the pipeline two scores, [−z, +z], so class 0 (1 − σ(z)) is
//    explained with −z and class 1 (σ(z)) with +z, exactly BinaryClassifierOutputTarget(0 / 1);
//    each side's probability is σ of its score;
//  - regression: raw values, explained as they are (RawScoresOutputTarget), never a probability.
// Pure: no tensors. The executor (graph.ts) applies scoresFromOutput's rule with tf ops.
import type { OutputKind } from '../../shared/types';

/** A final activation the executor can look through to the score it is applied to. */
export type FinalActivation = 'softmax' | 'sigmoid';

/** How the executor reads one output of a model: which output, what it holds, what it looks through. */
export interface OutputHead {
  /** Index in this model's outputs (0 in an output's view). */
  readonly index: number;
  /** Index in the loaded model's outputs (what a request names; helpers select their view by it). */
  readonly output: number;
  readonly kind: OutputKind;
  /** The final activation left out, so the score is its input (softmax for classes, sigmoid for binary). */
  readonly strip: FinalActivation | null;
}

/**
 * The kind an output's size and final activation say it is: one unit behind a sigmoid is a binary
 * classifier, one unit without one a regression (a linear, ReLU or tanh output), anything else a
 * vector of class scores.
 */
export function detectKind(units: number, activation: FinalActivation | null): OutputKind {
  if (units === 1 && activation === 'sigmoid') return 'binary';
  if (units === 1 && activation !== 'softmax') return 'regression';
  return 'classes';
}

/** The activation the executor leaves out for a kind: softmax of class scores, sigmoid of a binary logit. */
export function stripFor(kind: OutputKind, activation: FinalActivation | null): FinalActivation | null {
  if (kind === 'classes' && activation === 'softmax') return 'softmax';
  if (kind === 'binary' && activation === 'sigmoid') return 'sigmoid';
  return null;
}

/** Entries the pipeline sees for an output of `units` values: two sides for a binary one. */
export function entryCount(kind: OutputKind, units: number): number {
  return kind === 'binary' ? 2 : units;
}

function sigmoid(x: number): number {
  // Both branches stay finite: exp of a large positive argument never happens.
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/**
 * Each entry's probability from the scores the pipeline sees: softmax over classes, σ(±z) for the
 * two sides of a binary output; null for a regression (values are not probabilities).
 */
export function probabilitiesOf(kind: OutputKind, scores: ArrayLike<number>): Float64Array | null {
  if (kind === 'regression') return null;
  if (kind === 'binary') return Float64Array.from({ length: scores.length }, (_, i) => sigmoid(scores[i]));
  return softmax(scores);
}

/**
 * What the faithfulness metrics follow for one entry: its probability (softmax; the chosen side's
 * σ for a binary output), or a regression's value.
 */
export function metricScore(kind: OutputKind, scores: ArrayLike<number>, index: number): number {
  if (kind === 'regression') return scores[index];
  if (kind === 'binary') return sigmoid(scores[index]);
  return softmax(scores)[index];
}

export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    max = Math.max(max, logits[i]);
  }
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    out[i] = Math.exp(logits[i] - max);
    sum += out[i];
  }
  for (let i = 0; i < out.length; i++) {
    out[i] /= sum;
  }
  return out;
}

/** Default labels of an output's entries: "class N", a binary output's two classes, a regression's "value". */
export function defaultLabels(kind: OutputKind, count: number): string[] {
  if (kind === 'regression') {
    return count === 1 ? ['value'] : Array.from({ length: count }, (_, i) => `value ${i}`);
  }
  return Array.from({ length: count }, (_, i) => `class ${i}`);
}
