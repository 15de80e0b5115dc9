// What one pass costs here and now, for the comparison's estimate (protocol/compareEstimate.ts):
// one forward pass of this model (as the metrics and Score-CAM score their batches, through
// sharedLogits) and one ROAD imputation per pixel. Measured rather than guessed from the model's
// size, because the backend (tfjs-node, wasm, cpu), the machine and what else runs on it change
// the answer by 10× or more.
import type { Preprocessing, RgbaImage } from '../../shared/types';
import { throwIfCancelled } from '../../shared/errors';
import { toModelInput } from '../images/image';
import { noisyLinearImpute } from './metrics/imputation';
import { sharedLogits, type RunContext } from './pipeline';
import { uniformRandom } from './random';
import type * as tf from '../tf';

/** Measured imputation costs per input size (the solver's cost per pixel varies with the size: fixed costs weigh on small grids). */
const imputationCosts = new Map<string, number>();

/** Timed passes: at least MIN_TIMED, more while they fit in TIMING_BUDGET_MS (a 1 ms model gets many, a 100 ms one three). */
const MIN_TIMED = 3;
const MAX_TIMED = 15;
const TIMING_BUDGET_MS = 150;

/**
 * Wall time of one forward pass of one image: two passes warm the kernels and weights up (the first
 * can take 30× longer), then the fastest of the timed ones (the others running on the same cores
 * only ever make a pass slower).
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
  // On ONNX Runtime (context.native) the passes a comparison runs are timed there.
  const logits = sharedLogits(network, numClasses, { signal: context.signal, native: context.native });
  try {
    let best = Infinity;
    let spent = 0;
    for (let pass = 0; pass < 2 + MAX_TIMED; pass++) {
      throwIfCancelled(context.signal);
      const started = performance.now();
      const out = await logits(input);
      await out.data();
      out.dispose();
      const took = performance.now() - started;
      if (pass >= 2) {
        best = Math.min(best, took);
        spent += took;
        if (pass - 1 >= MIN_TIMED && spent >= TIMING_BUDGET_MS) {
          break;
        }
      }
    }
    return best;
  } finally {
    input.dispose();
  }
}

/**
 * One ROAD imputation's time per pixel at the model's input size, with the middle fraction's
 * removal (half the pixels, in one central blob as a map's most relevant region tends to be):
 * the fastest of several, once per size and process. The first solves run 5-10× slower while the JIT
 * compiles the solver, and the metrics run 18 of them per map, so the warm figure is the one that counts.
 */
export function measureImputationMsPerPixel(height: number, width: number, channels: number): number {
  const key = `${height}x${width}x${channels}`;
  let cost = imputationCosts.get(key);
  if (cost === undefined) {
    const random = uniformRandom(7);
    const problem = (h: number, w: number) => {
      const values = Float32Array.from({ length: h * w * channels }, () => random());
      const removed = new Uint8Array(h * w);
      // A centred disc over half the pixels: π r² = h·w / 2.
      const radius = Math.sqrt((h * w) / 2 / Math.PI);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          removed[y * w + x] = Math.hypot(y + 0.5 - h / 2, x + 0.5 - w / 2) <= radius ? 1 : 0;
        }
      }
      return { values, removed };
    };
    const warm = problem(16, 16);
    noisyLinearImpute(warm.values, 16, 16, channels, warm.removed);
    const { values, removed } = problem(height, width);
    // The fastest of 3 to 8 solves, as many as fit in ~400 ms: the JIT takes several solves to settle.
    let best = Infinity;
    let spent = 0;
    for (let run = 0; run < 8 && (run < 3 || spent < 400); run++) {
      const started = performance.now();
      noisyLinearImpute(values, height, width, channels, removed);
      const took = performance.now() - started;
      best = Math.min(best, took);
      spent += took;
    }
    cost = best / (height * width);
    imputationCosts.set(key, cost);
  }
  return cost;
}
