// Gaussian blur of a model input, for Integrated Gradients' blurred baseline and the insertion
// metric's starting image (Petsiuk et al.'s RISE inserts pixels into a blurred copy). Separable,
// edges clamped (a zero-padded blur would darken the border and add an edge the model can see).
import * as tf from '../tf';

/** Blur strength used by the engine: a sixteenth of the shorter side, at least 2 pixels. */
export function defaultBlurSigma(height: number, width: number): number {
  return Math.max(2, Math.min(height, width) / 16);
}

export function gaussianKernel(sigma: number): Float64Array {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const kernel = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    kernel[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
    sum += kernel[i + radius];
  }
  return kernel.map((v) => v / sum);
}

/**
 * The last blur, kept with a copy of its input: every method of a Compare scores its map's metrics
 * on the same input, and the blur of a 224² input costs about 100 ms (a 6σ-wide kernel), where
 * comparing the values costs a fraction of a millisecond.
 */
let lastBlur: { values: Float32Array; height: number; width: number; channels: number; sigma: number; blurred: Float32Array } | undefined;

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  }
  return true;
}

/** Blurs [1, H, W, C] values (row-major NHWC) in plain arrays; returns a new array the caller may change. */
export function blurValues(values: Float32Array, height: number, width: number, channels: number, sigma: number): Float32Array {
  const last = lastBlur;
  if (last && last.height === height && last.width === width && last.channels === channels && last.sigma === sigma && sameValues(last.values, values)) {
    return last.blurred.slice();
  }
  const blurred = blurUncached(values, height, width, channels, sigma);
  lastBlur = { values: values.slice(), height, width, channels, sigma, blurred: blurred.slice() };
  return blurred;
}

function blurUncached(values: Float32Array, height: number, width: number, channels: number, sigma: number): Float32Array {
  const kernel = gaussianKernel(sigma);
  const radius = (kernel.length - 1) / 2;
  const clamp = (v: number, max: number) => (v < 0 ? 0 : v > max ? max : v);
  const horizontal = new Float32Array(values.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let k = -radius; k <= radius; k++) {
          sum += kernel[k + radius] * values[(y * width + clamp(x + k, width - 1)) * channels + c];
        }
        horizontal[(y * width + x) * channels + c] = sum;
      }
    }
  }
  const out = new Float32Array(values.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let k = -radius; k <= radius; k++) {
          sum += kernel[k + radius] * horizontal[(clamp(y + k, height - 1) * width + x) * channels + c];
        }
        out[(y * width + x) * channels + c] = sum;
      }
    }
  }
  return out;
}

/** A blurred copy of a one-image batch; caller disposes. */
export async function blurInput(input: tf.Tensor4D, sigma?: number): Promise<tf.Tensor4D> {
  const [, height, width, channels] = input.shape;
  const values = (await input.data()) as Float32Array;
  const blurred = blurValues(values, height, width, channels, sigma ?? defaultBlurSigma(height, width));
  return tf.tensor4d(blurred, [1, height, width, channels]);
}
