// Top-k predictions from pre-softmax scores. Probabilities are a softmax of the logits computed
// here in double precision (max subtracted first), so a softmax model and its logit twin report
// the same numbers and no probability rounds to exactly 0 or 1 before it has to.
import type { OutputKind, Prediction } from '../../shared/types';
import { NonFiniteScoresError } from '../../shared/errors';
import { probabilitiesOf, softmax } from '../models/outputKinds';

export { softmax };

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

/**
 * The k most likely classes, most likely first (ties keep the lower index first). A binary output's
 * scores are [−z, +z] (outputKinds.ts), so its two sides sort like classes; a regression's values
 * are listed in their own order, as values, without probabilities.
 */
export function topPredictions(logits: ArrayLike<number>, labels: readonly string[], k: number, kind: OutputKind = 'classes'): Prediction[] {
  const count = Math.max(0, Math.min(k, logits.length));
  if (kind === 'regression') {
    return Array.from({ length: count }, (_, index) => ({ index, label: labels[index] ?? `value ${index}`, score: logits[index], value: logits[index] }));
  }
  const probabilities = probabilitiesOf(kind, logits) as Float64Array;
  const order = Array.from({ length: logits.length }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  return order.slice(0, count).map((index) => ({
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
