// Top-k predictions from pre-softmax scores. Probabilities are a softmax of the logits computed
// here in double precision (max subtracted first), so a softmax model and its logit twin report
// the same numbers and no probability rounds to exactly 0 or 1 before it has to.
import type { Prediction } from '../protocol/types';
import { NonFiniteScoresError } from './errors';

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

/** Index of the largest value; the first one on ties, as numpy's argmax. */
export function argMax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) {
    if (values[i] > values[best]) {
      best = i;
    }
  }
  return best;
}

/** The k most likely classes, most likely first (ties keep the lower index first). */
export function topPredictions(logits: ArrayLike<number>, labels: readonly string[], k: number): Prediction[] {
  const probabilities = softmax(logits);
  const order = Array.from({ length: logits.length }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  return order.slice(0, Math.max(0, Math.min(k, order.length))).map((index) => ({
    index,
    label: labels[index] ?? `class ${index}`,
    probability: probabilities[index],
    score: logits[index],
  }));
}

/** Labels for every class: the given ones when they match the class count, else "class N". */
export function labelsFor(numClasses: number, labels: readonly string[] | null): string[] {
  if (labels && labels.length === numClasses) {
    return [...labels];
  }
  return Array.from({ length: numClasses }, (_, i) => `class ${i}`);
}

/**
 * Refuses NaN or infinite class scores: a softmax of them prints "NaN%" and a CAM of them is empty
 * or meaningless, with nothing saying why (NaN weights, a degenerate batch norm, an overflow).
 */
export function checkFiniteScores(logits: ArrayLike<number>): void {
  const bad: number[] = [];
  for (let i = 0; i < logits.length; i++) {
    if (!Number.isFinite(logits[i])) bad.push(i);
  }
  if (bad.length > 0) {
    const listed = bad.slice(0, 3).map((i) => `class ${i}: ${logits[i]}`).join(', ');
    throw new NonFiniteScoresError(`${listed}${bad.length > 3 ? `, and ${bad.length - 3} more` : ''} of ${logits.length} classes`);
  }
}
