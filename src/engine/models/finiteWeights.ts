// NaN and infinite weights, found where a loader has the values in hand. A NaN weight gives NaN
// scores ("NaN%") or, in a batch norm's variance, plausible scores with an all-zero map; either way
// nothing would say why. Each loader names the file and the weight, so the message points at it.
import { LensError } from '../../shared/errors';
import type * as tf from '../tf';

/** Where values are not finite: how many, and the first one. */
export interface NonFinite {
  count: number;
  index: number;
  value: number;
}

/** The non-finite values among `values`, or undefined when all are finite. */
export function findNonFinite(values: ArrayLike<number>): NonFinite | undefined {
  let found: NonFinite | undefined;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v - v !== 0) {
      // NaN - NaN and Infinity - Infinity are NaN; a finite v gives 0 (the fast test in a hot loop)
      if (found) found.count++;
      else found = { count: 1, index: i, value: v };
    }
  }
  return found;
}

/** "holds NaN at index 17 (3 non-finite values of 864)" */
export function describeNonFinite(found: NonFinite, total: number): string {
  const others = found.count > 1 ? `${found.count} non-finite values of ${total}` : `of ${total} values`;
  return `holds ${found.value} at index ${found.index} (${others})`;
}

/** Refuses non-finite values: `weight` says which, e.g. `/x/model.h5: weight "conv1/kernel:0"`. */
export function checkFinite(values: ArrayLike<number>, weight: string): void {
  const found = findNonFinite(values);
  if (found) {
    throw new LensError(`${weight} ${describeNonFinite(found, values.length)}; a model with NaN or infinite weights computes NaN scores. Re-export it from a checkpoint without them.`, 'bad-input');
  }
}

/** Half-precision bit patterns with every exponent bit set are infinities and NaNs. */
export function checkFiniteFloat16(bits: Uint16Array, weight: string): void {
  for (let i = 0; i < bits.length; i++) {
    if ((bits[i] & 0x7c00) === 0x7c00) {
      const value = bits[i] & 0x03ff ? NaN : bits[i] & 0x8000 ? -Infinity : Infinity;
      throw new LensError(`${weight} holds ${value} at index ${i} (float16); a model with NaN or infinite weights computes NaN scores. Re-export it from a checkpoint without them.`, 'bad-input');
    }
  }
}

/** Every weight of a built model (a model defined in code sets them itself), read back and checked. */
export function checkFiniteModelWeights(model: tf.LayersModel, file: string): void {
  for (const weight of model.weights) {
    if (weight.dtype !== 'float32') continue;
    const values = weight.read().dataSync() as Float32Array;
    checkFinite(values, `${file}: weight "${weight.originalName}"`);
  }
}
