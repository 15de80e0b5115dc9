// What one pass costs here and now, for the comparison's estimate (protocol/compareEstimate.ts):
// one forward pass of this model (as the metrics and Score-CAM score their batches, through
// sharedLogits) and one ROAD imputation per pixel. Measured rather than guessed from the model's
// size, because the backend (tfjs-node, wasm, cpu), the machine and what else runs on it change
// the answer by 10× or more.
import type { Preprocessing, RgbaImage } from '../protocol/types';
import { throwIfCancelled } from './errors';
import { toModelInput } from './image';
import { noisyLinearImpute } from './metrics/imputation';
import { sharedLogits, type RunContext } from './pipeline';
import { uniformRandom } from './random';
import type * as tf from './tf';

/** Side of the grid the imputation is timed on: large enough that the solver's fixed costs are small. */
const IMPUTATION_PROBE_SIDE = 48;

let imputationMsPerPixel: number | undefined;

/**
 * Wall time of one forward pass of one image: a first pass warms the kernels and weights up (it can
 * take 30× longer), then the faster of two timed passes.
 */
export async function measureForwardMs(
  network: tf.LayersModel,
  numClasses: number,
  image: RgbaImage,
  inputShape: [number, number, number],
  preprocessing: Preprocessing,
  context: RunContext = {},
): Promise<number> {
  const input = toModelInput(image, inputShape, preprocessing);
  const logits = sharedLogits(network, numClasses, { signal: context.signal });
  try {
    let best = Infinity;
    for (let pass = 0; pass < 3; pass++) {
      throwIfCancelled(context.signal);
      const started = performance.now();
      const out = await logits(input);
      await out.data();
      out.dispose();
      if (pass > 0) {
        best = Math.min(best, performance.now() - started);
      }
    }
    return best;
  } finally {
    input.dispose();
  }
}

/** One ROAD imputation's time per pixel (half the pixels removed, as at ROAD's middle fraction); measured once per process. */
export function measureImputationMsPerPixel(channels = 3): number {
  if (imputationMsPerPixel === undefined) {
    const side = IMPUTATION_PROBE_SIDE;
    const random = uniformRandom(7);
    const values = Float32Array.from({ length: side * side * channels }, () => random());
    const removed = new Uint8Array(side * side);
    for (let p = 0; p < removed.length; p++) {
      removed[p] = random() < 0.5 ? 1 : 0;
    }
    noisyLinearImpute(values, side, side, channels, removed); // warm-up (JIT)
    const started = performance.now();
    noisyLinearImpute(values, side, side, channels, removed);
    imputationMsPerPixel = (performance.now() - started) / (side * side);
  }
  return imputationMsPerPixel;
}
