// Colours 8-bit maps from the host with a 256-entry RGB lookup table (also sent by the host) and
// draws them on canvases. The only "computation" the page does: one table lookup per pixel.

export function paintIndexed(canvas: HTMLCanvasElement, bytes: Uint8Array, width: number, height: number, lut: Uint8Array): void {
  putPixels(canvas, width, height, (rgba) => {
    for (let i = 0; i < width * height; i++) {
      const entry = bytes[i] * 3;
      rgba[i * 4] = lut[entry];
      rgba[i * 4 + 1] = lut[entry + 1];
      rgba[i * 4 + 2] = lut[entry + 2];
      rgba[i * 4 + 3] = 255;
    }
  });
}

/** RGB triples as they are (signed filter patches: 128 = zero). */
export function paintRgb(canvas: HTMLCanvasElement, bytes: Uint8Array, width: number, height: number): void {
  putPixels(canvas, width, height, (rgba) => {
    for (let i = 0; i < width * height; i++) {
      rgba[i * 4] = bytes[i * 3];
      rgba[i * 4 + 1] = bytes[i * 3 + 1];
      rgba[i * 4 + 2] = bytes[i * 3 + 2];
      rgba[i * 4 + 3] = 255;
    }
  });
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

/** A horizontal colour bar of the whole table, for legends. */
export function paintLegend(canvas: HTMLCanvasElement, lut: Uint8Array): void {
  paintIndexed(canvas, Uint8Array.from({ length: 256 }, (_, i) => i), 256, 1, lut);
}

/** Short numbers for captions: `digits` significant digits, no "-0". */
export function formatValue(value: number, digits = 3): string {
  if (!Number.isFinite(value)) {
    return String(value);
  }
  if (value === 0 || Object.is(value, -0)) {
    return '0';
  }
  const abs = Math.abs(value);
  return abs >= 1000 || abs < 0.001 ? value.toExponential(digits - 1) : value.toPrecision(digits).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
}

export function element<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}
