// The one colouring code of every picture CNN Lens shows: 8-bit maps coloured through a 256-entry
// table, and a map blended over an image. The panel's page paints the Grad-CAM, Activations, Filters
// and Compare views with it, the worker renders Export with it, and the CLI writes its PNGs with it,
// so the three can never disagree by a level. Plain typed arrays: no DOM, no tensors.
import type { Map2D, RgbaImage } from '../shared/types';

/** Where the pixels go: a new array, or a canvas's ImageData buffer (filled in place, no copy). */
type RgbaOut = Uint8Array | Uint8ClampedArray;

/**
 * The table index for a value: floor(255 * v) like np.uint8(255 * mask) in pytorch-grad-cam (a cast
 * truncates), after clamping to [0,1]; NaN maps to 0 so a degenerate map never yields garbage.
 */
export function colormapIndex(value: number): number {
  if (!(value > 0)) {
    return 0;
  }
  if (value >= 1) {
    return 255;
  }
  return Math.floor(255 * value);
}

/** A [0, 1] map as table indices (colormapIndex of each value). */
export function quantizeUnitMap(map: Map2D): Uint8Array {
  const count = map.width * map.height;
  if (map.data.length !== count) {
    throw new Error(`Map data holds ${map.data.length} values but its size is ${map.width}x${map.height}.`);
  }
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    out[i] = colormapIndex(map.data[i]);
  }
  return out;
}

/** Opaque RGBA of an 8-bit map through a table of 256 RGB triples. */
export function colorIndexed(indices: Uint8Array, lut: Uint8Array): Uint8Array;
export function colorIndexed<T extends RgbaOut>(indices: Uint8Array, lut: Uint8Array, out: T): T;
export function colorIndexed(indices: Uint8Array, lut: Uint8Array, out: RgbaOut = new Uint8Array(indices.length * 4)): RgbaOut {
  checkLut(lut);
  checkOut(out, indices.length);
  if (out.byteOffset % 4 === 0) {
    // One 32-bit write per pixel: the table's RGBA words are packed through a byte view, so the
    // platform's byte order never matters.
    const words = new Uint32Array(out.buffer, out.byteOffset, indices.length);
    const table = rgbaWords(lut);
    for (let i = 0; i < indices.length; i++) {
      words[i] = table[indices[i]];
    }
    return out;
  }
  for (let i = 0, o = 0; i < indices.length; i++, o += 4) {
    const entry = indices[i] * 3;
    out[o] = lut[entry];
    out[o + 1] = lut[entry + 1];
    out[o + 2] = lut[entry + 2];
    out[o + 3] = 255;
  }
  return out;
}

/** The table as 256 opaque RGBA words in this platform's byte order. */
function rgbaWords(lut: Uint8Array): Uint32Array {
  const bytes = new Uint8Array(256 * 4);
  for (let i = 0; i < 256; i++) {
    bytes[i * 4] = lut[i * 3];
    bytes[i * 4 + 1] = lut[i * 3 + 1];
    bytes[i * 4 + 2] = lut[i * 3 + 2];
    bytes[i * 4 + 3] = 255;
  }
  return new Uint32Array(bytes.buffer);
}

/** Opaque RGBA of RGB triples as they are (a filter's three input channels, 128 = zero). */
export function rgbToRgba(rgb: Uint8Array, pixels: number): Uint8Array;
export function rgbToRgba<T extends RgbaOut>(rgb: Uint8Array, pixels: number, out: T): T;
export function rgbToRgba(rgb: Uint8Array, pixels: number, out: RgbaOut = new Uint8Array(pixels * 4)): RgbaOut {
  if (rgb.length !== pixels * 3) {
    throw new Error(`RGB data holds ${rgb.length} bytes but ${pixels} pixels need ${pixels * 3}.`);
  }
  checkOut(out, pixels);
  for (let i = 0, o = 0; i < pixels * 3; i += 3, o += 4) {
    out[o] = rgb[i];
    out[o + 1] = rgb[i + 1];
    out[o + 2] = rgb[i + 2];
    out[o + 3] = 255;
  }
  return out;
}

/**
 * The coloured map blended over the image, pixel for pixel (both at the same size):
 * out = round((1 - alpha) * image + alpha * lut[index]) per channel. A transparent image is
 * composited over black first, as the model saw it (engine/images/image.ts), so the overlay shows
 * the pixels the explanation is about. Output alpha is 255.
 */
export function blendIndexed(image: RgbaImage, indices: Uint8Array, lut: Uint8Array, alpha: number): Uint8Array;
export function blendIndexed<T extends RgbaOut>(image: RgbaImage, indices: Uint8Array, lut: Uint8Array, alpha: number, out: T): T;
export function blendIndexed(image: RgbaImage, indices: Uint8Array, lut: Uint8Array, alpha: number, out: RgbaOut = new Uint8Array(image.width * image.height * 4)): RgbaOut {
  if (!Number.isFinite(alpha) || alpha < 0 || alpha > 1) {
    throw new RangeError(`Overlay opacity must be a number between 0 and 1, got ${alpha}.`);
  }
  const count = image.width * image.height;
  if (image.data.length !== count * 4) {
    throw new Error(`Image data holds ${image.data.length} bytes but ${image.width}x${image.height} RGBA needs ${count * 4}.`);
  }
  if (indices.length !== count) {
    throw new Error(`The map holds ${indices.length} values but the ${image.width}x${image.height} image needs ${count}: resize it first.`);
  }
  checkLut(lut);
  checkOut(out, count);
  const keep = 1 - alpha;
  const pixels = image.data;
  // For an opaque pixel (the usual case) keep * (v * 1) is keep * v, so every output byte is
  // round(keep * v + alpha * h) for an image byte v and a table byte h: 65536 values computed once
  // with the formula's own expression (the same doubles, the same bytes), then one lookup per channel.
  const blended = new Uint8Array(256 * 256);
  for (let v = 0; v < 256; v++) {
    const imageTerm = keep * v;
    for (let h = 0; h < 256; h++) {
      blended[(v << 8) | h] = Math.round(imageTerm + alpha * h);
    }
  }
  for (let i = 0, p = 0; i < count; i++, p += 4) {
    const entry = indices[i] * 3;
    const a = pixels[p + 3];
    if (a === 255) {
      out[p] = blended[(pixels[p] << 8) | lut[entry]];
      out[p + 1] = blended[(pixels[p + 1] << 8) | lut[entry + 1]];
      out[p + 2] = blended[(pixels[p + 2] << 8) | lut[entry + 2]];
    } else {
      const opacity = a / 255;
      out[p] = Math.round(keep * (pixels[p] * opacity) + alpha * lut[entry]);
      out[p + 1] = Math.round(keep * (pixels[p + 1] * opacity) + alpha * lut[entry + 1]);
      out[p + 2] = Math.round(keep * (pixels[p + 2] * opacity) + alpha * lut[entry + 2]);
    }
    out[p + 3] = 255;
  }
  return out;
}

/** The whole table as a row of 256 indices, for a legend's colour bar. */
export const LEGEND_INDICES: Uint8Array = Uint8Array.from({ length: 256 }, (_, i) => i);

function checkLut(lut: Uint8Array): void {
  if (lut.length !== 768) {
    throw new Error(`A colour table holds 256 RGB triples (768 bytes), got ${lut.length}.`);
  }
}

function checkOut(out: RgbaOut, pixels: number): void {
  if (out.length !== pixels * 4) {
    throw new Error(`The RGBA buffer holds ${out.length} bytes but ${pixels} pixels need ${pixels * 4}.`);
  }
}
