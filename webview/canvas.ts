// Draws pictures on canvases. Every view colours its maps with the same code (src/render/indexed.ts,
// also the worker's Export and the CLI's), writing straight into the canvas's ImageData; the page
// gets 8-bit maps and the image, never coloured pixels, so a colormap or opacity change is painted
// here without a message. putImageData needs no image URL, so the CSP's img-src stays out of it, and
// the canvas keeps the exact pixels (no re-encoding).
import { blendIndexed, colorIndexed, LEGEND_INDICES, rgbToRgba } from '../src/render/indexed';
import type { IndexedMap, RgbaImage } from '../src/shared/types';

export function drawRgba(canvas: HTMLCanvasElement, image: RgbaImage): void {
  const { width, height, data } = image;
  if (data.length !== width * height * 4) {
    throw new Error(`${canvas.id}: ${width}x${height} RGBA needs ${width * height * 4} bytes, got ${data.length}.`);
  }
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d');
  if (!context) {
    throw new Error(`${canvas.id}: no 2D context.`);
  }
  // ImageData wants a Uint8ClampedArray over the same bytes (no copy).
  const pixels = new Uint8ClampedArray(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  context.putImageData(new ImageData(pixels, width, height), 0, 0);
  canvas.setAttribute('aria-label', `${canvas.id} ${width}×${height}`);
}

/** An 8-bit map coloured through a table of 256 RGB triples (a heatmap, a channel, a filter). */
export function paintIndexed(canvas: HTMLCanvasElement, bytes: Uint8Array, width: number, height: number, lut: Uint8Array): void {
  if (bytes.length !== width * height) {
    throw new Error(`${canvas.id || 'canvas'}: a ${width}x${height} map needs ${width * height} bytes, got ${bytes.length}.`);
  }
  putPixels(canvas, width, height, (rgba) => colorIndexed(bytes, lut, rgba));
}

/** The map coloured through `lut` and blended over the image (same size) with opacity `alpha`. */
export function paintOverlay(canvas: HTMLCanvasElement, image: RgbaImage, map: IndexedMap, lut: Uint8Array, alpha: number): void {
  if (map.width !== image.width || map.height !== image.height) {
    throw new Error(`${canvas.id || 'canvas'}: a ${map.width}x${map.height} map cannot be drawn over a ${image.width}x${image.height} image.`);
  }
  putPixels(canvas, image.width, image.height, (rgba) => blendIndexed(image, map.data, lut, alpha, rgba));
}

/** RGB triples as they are (signed filter patches: 128 = zero). */
export function paintRgb(canvas: HTMLCanvasElement, bytes: Uint8Array, width: number, height: number): void {
  putPixels(canvas, width, height, (rgba) => rgbToRgba(bytes, width * height, rgba));
}

/** A horizontal colour bar of the whole table, for legends. */
export function paintLegend(canvas: HTMLCanvasElement, lut: Uint8Array): void {
  paintIndexed(canvas, LEGEND_INDICES, 256, 1, lut);
}

export function clearCanvas(canvas: HTMLCanvasElement): void {
  canvas.width = 0;
  canvas.height = 0;
}

/** Sizes the canvas and draws the RGBA pixels `fill` writes (nothing when it has no 2D context). */
function putPixels(canvas: HTMLCanvasElement, width: number, height: number, fill: (rgba: Uint8ClampedArray) => void): void {
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d');
  if (!context) {
    return;
  }
  const image = context.createImageData(width, height);
  fill(image.data);
  context.putImageData(image, 0, 0);
}
