// The image as the panel shows it: at most DISPLAY_MAX_SIDE on its longest side. The worker makes
// it once per decoded image (the panel's page keeps it by key, so another class, layer or method
// sends none) and sizes every map it returns to it; Export and the CLI use the original resolution.
import type { RgbaImage } from '../shared/types';

/** Longest side of the pictures posted to the panel; exports use the original resolution. */
export const DISPLAY_MAX_SIDE = 768;

/** Box-filter downscale so the longest side is at most `maxSide`; smaller images are returned as is. */
export function downscaleForDisplay(image: RgbaImage, maxSide = DISPLAY_MAX_SIDE): RgbaImage {
  const scale = maxSide / Math.max(image.width, image.height);
  if (scale >= 1) {
    return image;
  }
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  const out = new Uint8Array(width * height * 4);
  const sx = image.width / width;
  const sy = image.height / height;
  for (let y = 0; y < height; y++) {
    const y0 = Math.floor(y * sy);
    const y1 = Math.max(y0 + 1, Math.floor((y + 1) * sy));
    for (let x = 0; x < width; x++) {
      const x0 = Math.floor(x * sx);
      const x1 = Math.max(x0 + 1, Math.floor((x + 1) * sx));
      const sum = [0, 0, 0, 0];
      for (let yy = y0; yy < y1; yy++) {
        let i = (yy * image.width + x0) * 4;
        for (let xx = x0; xx < x1; xx++, i += 4) {
          sum[0] += image.data[i];
          sum[1] += image.data[i + 1];
          sum[2] += image.data[i + 2];
          sum[3] += image.data[i + 3];
        }
      }
      const n = (y1 - y0) * (x1 - x0);
      const o = (y * width + x) * 4;
      for (let c = 0; c < 4; c++) {
        out[o + c] = Math.round(sum[c] / n);
      }
    }
  }
  return { width, height, data: out };
}

