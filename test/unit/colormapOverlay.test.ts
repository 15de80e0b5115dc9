// Colormaps against published OpenCV / matplotlib values, map resizing against hand-computed
// half-pixel bilinear values (and tfjs's resizeBilinear), and the overlay blend arithmetic.
import * as assert from 'assert';
import { applyColormap, colormapIndex, colormapLut } from '../../src/render/colormap';
import { renderHeatmap, renderOverlay, resizeMap } from '../../src/render/overlay';
import { LensError } from '../../src/shared/errors';
import { initBackend } from '../../src/engine/backend';
import * as tf from '../../src/engine/tf';
import { COLORMAPS } from '../../src/shared/types';
import type { Map2D, RgbaImage } from '../../src/shared/types';

function map(width: number, height: number, values: number[]): Map2D {
  return { width, height, data: Float32Array.from(values) };
}

function rgbAt(lut: Uint8Array, index: number): number[] {
  return [...lut.subarray(index * 3, index * 3 + 3)];
}

function assertClose(actual: ArrayLike<number>, expected: number[], tolerance = 1e-6): void {
  assert.strictEqual(actual.length, expected.length);
  expected.forEach((want, i) => assert.ok(Math.abs(actual[i] - want) <= tolerance, `[${i}] = ${actual[i]}, expected ${want}`));
}

describe('colormaps', () => {
  it('has 256 RGB entries per colormap', () => {
    for (const name of COLORMAPS) {
      assert.strictEqual(colormapLut(name).length, 768, name);
    }
  });

  it('matches OpenCV COLORMAP_JET (pytorch-grad-cam colours)', () => {
    const jet = colormapLut('jet');
    // cv2.applyColorMap(np.arange(256, dtype=np.uint8), cv2.COLORMAP_JET), BGR reversed to RGB.
    assert.deepStrictEqual(rgbAt(jet, 0), [0, 0, 128]);
    assert.deepStrictEqual(rgbAt(jet, 64), [0, 128, 255]);
    assert.deepStrictEqual(rgbAt(jet, 127), [126, 255, 130]);
    assert.deepStrictEqual(rgbAt(jet, 128), [130, 255, 126]);
    assert.deepStrictEqual(rgbAt(jet, 191), [255, 128, 0]);
    assert.deepStrictEqual(rgbAt(jet, 255), [128, 0, 0]);
  });

  it('matches matplotlib viridis and inferno and Google Turbo at ends and middle', () => {
    const expected: Record<string, [number[], number[], number[]]> = {
      // matplotlib cmap(0.0), cmap(0.5) (= entry 128), cmap(1.0), times 255 rounded.
      viridis: [[68, 1, 84], [33, 145, 140], [253, 231, 37]],
      inferno: [[0, 0, 4], [188, 55, 84], [252, 255, 164]],
      turbo: [[48, 18, 59], [164, 252, 60], [122, 4, 3]],
    };
    for (const [name, [first, middle, last]] of Object.entries(expected)) {
      const lut = colormapLut(name as 'viridis');
      assert.deepStrictEqual(rgbAt(lut, 0), first, `${name}[0]`);
      assert.deepStrictEqual(rgbAt(lut, 128), middle, `${name}[128]`);
      assert.deepStrictEqual(rgbAt(lut, 255), last, `${name}[255]`);
    }
  });

  it('indexes like np.uint8(255 * mask): truncating, clamped, NaN to 0', () => {
    assert.deepStrictEqual([0, 0.5, 0.999, 1, -0.2, 1.7, Number.NaN].map(colormapIndex), [0, 127, 254, 255, 0, 255, 0]);
    const image = applyColormap(map(3, 1, [0, 0.5, 1]), 'jet');
    assert.deepStrictEqual([...image.data], [0, 0, 128, 255, 126, 255, 130, 255, 128, 0, 0, 255]);
  });
});

describe('resizeMap', () => {
  it('upsamples 2x2 to 4x4 with half-pixel centres and clamped edges', () => {
    // Source [[0, 1], [2, 3]] = x + 2y. Output x samples (x + 0.5) / 2 - 0.5 = -1/4, 1/4, 3/4, 5/4,
    // clamped to [0, 1]: 0, 1/4, 3/4, 1 (same along y), so out = sx + 2 sy.
    const out = resizeMap(map(2, 2, [0, 1, 2, 3]), 4, 4);
    const s = [0, 0.25, 0.75, 1];
    const expected: number[] = [];
    for (const sy of s) for (const sx of s) expected.push(sx + 2 * sy);
    assert.deepStrictEqual([out.width, out.height], [4, 4]);
    assertClose(out.data, expected);
  });

  it('downsamples without antialiasing (2x2 neighbours only), also at non-integer scales', () => {
    // 4 -> 2: samples at 0.5 and 2.5 => 5 and 25.
    assertClose(resizeMap(map(4, 1, [0, 10, 20, 30]), 2, 1).data, [5, 25]);
    // 3 -> 2: samples at (0.5) * 1.5 - 0.5 = 0.25 and 1.75 => 0.75 and 5.25.
    assertClose(resizeMap(map(3, 1, [0, 3, 6]), 2, 1).data, [0.75, 5.25]);
    // 1 -> 3: every output reads the single value.
    assertClose(resizeMap(map(1, 1, [0.4]), 3, 1).data, [0.4, 0.4, 0.4]);
  });

  it('agrees with tf.image.resizeBilinear(halfPixelCenters=true)', async () => {
    await initBackend('cpu');
    const values = Array.from({ length: 5 * 7 }, (_, i) => Math.sin(i * 1.3) * 0.5 + 0.5);
    for (const [w, h] of [
      [11, 13],
      [3, 2],
      [7, 5],
    ]) {
      const ours = resizeMap(map(7, 5, values), w, h);
      const theirs = tf.tidy(() =>
        tf.image.resizeBilinear(tf.tensor4d(values, [1, 5, 7, 1]), [h, w], false, true).dataSync(),
      );
      assertClose(ours.data, [...theirs], 1e-5);
    }
  });

  it('refuses impossible sizes', () => {
    assert.throws(() => resizeMap(map(2, 1, [0, 1]), 0, 3), /positive integers/);
    assert.throws(() => resizeMap(map(2, 2, [0, 1]), 3, 3), /holding 2 values/);
  });
});

describe('heatmap and overlay', () => {
  it('renders a heatmap at the requested size', () => {
    const heat = renderHeatmap(map(2, 1, [0, 1]), 4, 2, 'jet');
    assert.deepStrictEqual([heat.width, heat.height, heat.data.length], [4, 2, 32]);
    // Output x = 0 clamps to source 0 (jet[0]); x = 3 clamps to source 1 (jet[255]).
    assert.deepStrictEqual([...heat.data.subarray(0, 4)], [0, 0, 128, 255]);
    assert.deepStrictEqual([...heat.data.subarray(12, 16)], [128, 0, 0, 255]);
  });

  it('blends out = (1 - alpha) * image + alpha * heatmap after compositing the image over black', () => {
    const image: RgbaImage = { width: 2, height: 1, data: new Uint8Array([100, 50, 200, 255, 100, 50, 200, 0]) };
    const cam = map(1, 1, [1]); // jet[255] = (128, 0, 0) everywhere
    const out = renderOverlay(image, cam, 'jet', 0.25);
    // Opaque: 0.75 * (100, 50, 200) + 0.25 * (128, 0, 0) = (107, 37.5, 150) -> 38 rounds half up.
    // Transparent: composited to black first, so only the heatmap's share: (32, 0, 0).
    assert.deepStrictEqual([...out.data], [107, 38, 150, 255, 32, 0, 0, 255]);
    assert.deepStrictEqual([...renderOverlay(image, cam, 'jet', 0).data], [100, 50, 200, 255, 0, 0, 0, 255]);
    assert.deepStrictEqual([...renderOverlay(image, cam, 'jet', 1).data], [128, 0, 0, 255, 128, 0, 0, 255]);
  });

  it('resizes the CAM to the image resolution', () => {
    const image: RgbaImage = { width: 4, height: 1, data: new Uint8Array(16).fill(0) };
    const out = renderOverlay(image, map(2, 1, [0, 1]), 'viridis', 1);
    // Black image, alpha 1: pure heatmap. Resized map: 0, 0.25, 0.75, 1 -> viridis[0, 63, 191, 255].
    const viridis = colormapLut('viridis');
    [0, 63, 191, 255].forEach((index, x) => {
      assert.deepStrictEqual([...out.data.subarray(x * 4, x * 4 + 3)], rgbAt(viridis, index), `pixel ${x}`);
    });
  });

  it('refuses an opacity outside [0, 1]', () => {
    const image: RgbaImage = { width: 1, height: 1, data: new Uint8Array([1, 2, 3, 255]) };
    for (const alpha of [-0.1, 1.5, Number.NaN]) {
      assert.throws(
        () => renderOverlay(image, map(1, 1, [0]), 'jet', alpha),
        (e: unknown) => e instanceof LensError && e.code === 'bad-request',
      );
    }
  });
});
