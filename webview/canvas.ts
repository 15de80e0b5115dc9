// Draws RGBA pixels from the host on a canvas. putImageData needs no image URL, so the CSP's
// img-src stays out of it, and the canvas keeps the exact pixels (no re-encoding).
import type { RgbaImage } from '../src/shared/types';

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

export function clearCanvas(canvas: HTMLCanvasElement): void {
  canvas.width = 0;
  canvas.height = 0;
}
