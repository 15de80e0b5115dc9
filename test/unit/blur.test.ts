// The Gaussian blur behind the insertion/deletion metrics and Integrated Gradients' blurred
// baseline (src/engine/explain/blur.ts): its values against a direct 2-D sum, clamped edges, and
// the kept last blur, which must never hand back a stale or shared array.
import { strict as assert } from 'assert';
import { blurValues, gaussianKernel } from '../../src/engine/explain/blur';

/** The blur as one 2-D sum with clamped coordinates: the reference. */
function directBlur(values: Float32Array, height: number, width: number, channels: number, sigma: number): Float64Array {
  const kernel = gaussianKernel(sigma);
  const radius = (kernel.length - 1) / 2;
  const clamp = (v: number, max: number) => Math.min(max, Math.max(0, v));
  const out = new Float64Array(values.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let dy = -radius; dy <= radius; dy++) {
          for (let dx = -radius; dx <= radius; dx++) {
            sum += kernel[dy + radius] * kernel[dx + radius] * values[(clamp(y + dy, height - 1) * width + clamp(x + dx, width - 1)) * channels + c];
          }
        }
        out[(y * width + x) * channels + c] = sum;
      }
    }
  }
  return out;
}

describe('Gaussian blur', () => {
  const height = 13;
  const width = 11;
  const channels = 3;
  const values = Float32Array.from({ length: height * width * channels }, (_, i) => Math.sin(i * 1.7) + (i % 5) * 0.1);

  it('equals the direct 2-D sum with clamped edges, and keeps a constant image constant', () => {
    const blurred = blurValues(values, height, width, channels, 2);
    const expected = directBlur(values, height, width, channels, 2);
    for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(blurred[i] - expected[i]) < 1e-5, `value ${i}: ${blurred[i]} vs ${expected[i]}`);
    const flat = blurValues(new Float32Array(height * width * channels).fill(0.25), height, width, channels, 2);
    assert.ok(flat.every((v) => Math.abs(v - 0.25) < 1e-6));
  });

  it('the kept last blur: the same input gives the same values in a new array; another input or sigma is blurred anew', () => {
    const first = blurValues(values, height, width, channels, 2);
    first.fill(7); // the caller owns what it gets
    const again = blurValues(values, height, width, channels, 2);
    const expected = directBlur(values, height, width, channels, 2);
    for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(again[i] - expected[i]) < 1e-5);
    const changed = values.slice();
    changed[40] += 1;
    const other = blurValues(changed, height, width, channels, 2);
    const expectedOther = directBlur(changed, height, width, channels, 2);
    assert.ok(Math.abs(other[40] - expectedOther[40]) < 1e-5 && Math.abs(other[40] - expected[40]) > 1e-3);
    const wider = blurValues(changed, height, width, channels, 3);
    const expectedWider = directBlur(changed, height, width, channels, 3);
    for (let i = 0; i < expectedWider.length; i++) assert.ok(Math.abs(wider[i] - expectedWider[i]) < 1e-5);
  });
});
