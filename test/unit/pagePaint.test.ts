// The one picture pipeline (issue 14): the page colours the 8-bit maps the worker sends and blends
// the overlay itself: webview/canvas.ts writes what src/render/indexed.ts computes straight into the
// canvas's ImageData (the page's only colouring code, tested here in Node). These tests hold it to
// the pixels the host used to post: the heatmap and overlay as the host rendered them before (the
// formulas written out here, independently of the code under test), byte for byte, for every
// colormap, opacities, odd sizes and transparent pixels, into the Uint8ClampedArray an ImageData holds.
import * as assert from 'assert';
import { colormapLut, ACTIVATION_COLORMAP, FILTER_COLORMAP, divergingLut } from '../../src/render/colormap';
import { blendIndexed, colorIndexed, LEGEND_INDICES, rgbToRgba } from '../../src/render/indexed';
import { indexedCam, renderHeatmap, renderOverlay, resizeMap } from '../../src/render/overlay';
import { COLORMAPS, type ColormapName, type Map2D, type RgbaImage } from '../../src/shared/types';

/** A deterministic pseudo-random sequence (no flaky seeds). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function randomCam(width: number, height: number, next: () => number): Map2D {
  // Values past both ends and a NaN too: the quantisation clamps them as the host did.
  const data = Float32Array.from({ length: width * height }, (_, i) => (i === 3 ? Number.NaN : next() * 1.2 - 0.1));
  return { width, height, data };
}

function randomImage(width: number, height: number, next: () => number, transparent: boolean): RgbaImage {
  const data = Uint8Array.from({ length: width * height * 4 }, (_, i) => (i % 4 === 3 && !transparent ? 255 : Math.floor(next() * 256)));
  return { width, height, data };
}

/** The host's heatmap before issue 14: each resized value's table entry, floor(255 v) clamped, NaN 0. */
function previousHeatmap(cam: Map2D, width: number, height: number, colormap: ColormapName): Uint8Array {
  const resized = resizeMap(cam, width, height);
  const lut = colormapLut(colormap);
  const out = new Uint8Array(width * height * 4);
  resized.data.forEach((v, i) => {
    const index = !(v > 0) ? 0 : v >= 1 ? 255 : Math.floor(255 * v);
    out.set([lut[index * 3], lut[index * 3 + 1], lut[index * 3 + 2], 255], i * 4);
  });
  return out;
}

/** The host's overlay before issue 14: round((1 - a) * image * (alpha / 255) + a * heat), alpha 255. */
function previousOverlay(image: RgbaImage, cam: Map2D, colormap: ColormapName, alpha: number): Uint8Array {
  const heat = previousHeatmap(cam, image.width, image.height, colormap);
  const out = new Uint8Array(image.data.length);
  for (let i = 0; i < out.length; i += 4) {
    const opacity = image.data[i + 3] / 255;
    for (let c = 0; c < 3; c++) {
      out[i + c] = Math.round((1 - alpha) * (image.data[i + c] * opacity) + alpha * heat[i + c]);
    }
    out[i + 3] = 255;
  }
  return out;
}

/** What the page does: fill the ImageData buffer of a canvas of the map's size. */
function pageHeatmap(map: { width: number; height: number; data: Uint8Array }, lut: Uint8Array): Uint8ClampedArray {
  return colorIndexed(map.data, lut, new Uint8ClampedArray(map.width * map.height * 4));
}

function pageOverlay(image: RgbaImage, map: { data: Uint8Array }, lut: Uint8Array, alpha: number): Uint8ClampedArray {
  return blendIndexed(image, map.data, lut, alpha, new Uint8ClampedArray(image.width * image.height * 4));
}

function same(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.strictEqual(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) {
      assert.fail(`${what}: byte ${i} (pixel ${Math.floor(i / 4)}, channel ${i % 4}) is ${actual[i]}, the host rendered ${expected[i]}`);
    }
  }
}

describe('one picture pipeline: the page paints what the host used to post', () => {
  const cases = [
    { cam: [14, 14], size: [300, 211], transparent: false },
    { cam: [7, 5], size: [33, 61], transparent: true },
    { cam: [224, 224], size: [200, 150], transparent: false }, // an input-level map, shown smaller
  ];

  it('the heatmap: the 8-bit map coloured in the page equals the host\'s heatmap, every colormap', () => {
    const next = random(14);
    for (const { cam: [cw, ch], size: [w, h] } of cases) {
      const cam = randomCam(cw, ch, next);
      const map = indexedCam(cam, w, h);
      assert.deepStrictEqual([map.width, map.height, map.data.length, map.low, map.high], [w, h, w * h, 0, 1]);
      for (const colormap of COLORMAPS) {
        same(pageHeatmap(map, colormapLut(colormap)), previousHeatmap(cam, w, h, colormap), `${colormap} ${w}x${h} heatmap`);
        same(colorIndexed(map.data, colormapLut(colormap)), renderHeatmap(cam, w, h, colormap).data, `${colormap} heatmap, CLI`);
      }
    }
  });

  it('the overlay: blended in the page equals the host\'s overlay byte for byte (opacities 0..1, transparent pixels over black)', () => {
    const next = random(41);
    for (const { cam: [cw, ch], size: [w, h], transparent } of cases) {
      const cam = randomCam(cw, ch, next);
      const image = randomImage(w, h, next, transparent);
      const map = indexedCam(cam, w, h);
      for (const colormap of COLORMAPS) {
        for (const alpha of [0, 0.05, 0.3, 0.5, 0.55, 0.77, 1]) {
          const expected = previousOverlay(image, cam, colormap, alpha);
          same(pageOverlay(image, map, colormapLut(colormap), alpha), expected, `${colormap} α=${alpha} ${w}x${h}${transparent ? ' transparent' : ''} overlay`);
          // The CLI's and Export's overlay is the same code at the image's own size.
          same(renderOverlay(image, cam, colormap, alpha).data, expected, `${colormap} α=${alpha} CLI overlay`);
        }
      }
    }
  });

  it('opacity 0 shows the image (over black), 1 the heatmap; the colormap matters', () => {
    const next = random(7);
    const image = randomImage(40, 30, next, false);
    const map = indexedCam(randomCam(4, 4, next), 40, 30);
    const lut = colormapLut('jet');
    same(blendIndexed(image, map.data, lut, 0), image.data, 'opacity 0');
    same(blendIndexed(image, map.data, lut, 1), colorIndexed(map.data, lut), 'opacity 1');
    assert.notDeepStrictEqual(Array.from(colorIndexed(map.data, colormapLut('viridis'))), Array.from(colorIndexed(map.data, lut)));
  });

  it('refuses what cannot be drawn: a map of another size, a short table, an opacity outside [0, 1]', () => {
    const image = randomImage(4, 4, random(1), false);
    assert.throws(() => blendIndexed(image, new Uint8Array(12), colormapLut('jet'), 0.5), /holds 12 values but the 4x4 image needs 16/);
    assert.throws(() => blendIndexed(image, new Uint8Array(16), new Uint8Array(10), 0.5), /256 RGB triples/);
    assert.throws(() => blendIndexed(image, new Uint8Array(16), colormapLut('jet'), 1.5), /between 0 and 1/);
    assert.throws(() => blendIndexed(image, new Uint8Array(16), colormapLut('jet'), Number.NaN), /between 0 and 1/);
    assert.throws(() => colorIndexed(new Uint8Array(5), colormapLut('jet'), new Uint8ClampedArray(16)), /holds 16 bytes but 5 pixels need 20/);
  });

  it('the inspection tabs use the same tables and code: legends, a diverging zero, RGB filter patches', () => {
    const legend = colorIndexed(LEGEND_INDICES, colormapLut(ACTIVATION_COLORMAP));
    assert.strictEqual(legend.length, 256 * 4);
    same([...legend.subarray(0, 3), ...legend.subarray(255 * 4, 255 * 4 + 3)], [...colormapLut('viridis').subarray(0, 3), ...colormapLut('viridis').subarray(765, 768)], 'legend ends');
    const zero = colorIndexed(Uint8Array.of(128), divergingLut(FILTER_COLORMAP));
    same(zero.subarray(0, 3), divergingLut('coolwarm').subarray(128 * 3, 128 * 3 + 3), 'a zero weight is the diverging table\'s middle');
    same(rgbToRgba(Uint8Array.of(1, 2, 3, 250, 251, 252), 2, new Uint8ClampedArray(8)), [1, 2, 3, 255, 250, 251, 252, 255], 'RGB patch');
  });
});
