// Draws media/icon.png (the Marketplace and Extensions view icon, 128×128): a magnifying lens whose
// glass shows a Grad-CAM-like heat blob in the turbo colormap, the product in one picture. Drawn
// with the engine's own colormap and PNG encoder, antialiased by 4×4 supersampling, so it is
// reproducible: `npx tsx scripts/media/make-icon.ts`.
import * as fs from 'fs';
import * as path from 'path';
import { colormapIndex, colormapLut } from '../../src/render/colormap';
import { encodePng } from '../../src/engine/images/image';

const SIZE = 128;
const SAMPLES = 4;
const lut = colormapLut('turbo');
const glass = { x: 54, y: 54, r: 38 };
const rim = 7;

/** RGBA (0..1, alpha premultiplied later) of one point. */
function shade(x: number, y: number): [number, number, number, number] {
  const dx = x - glass.x;
  const dy = y - glass.y;
  const d = Math.hypot(dx, dy);
  // Handle: a thick rounded bar from the rim towards the bottom right corner.
  const t = Math.max(0, Math.min(1, ((x - 86) * 1 + (y - 86) * 1) / (2 * 30)));
  const hx = 86 + t * 30;
  const hy = 86 + t * 30;
  if (Math.hypot(x - hx, y - hy) <= 9) {
    return [0.78, 0.8, 0.84, 1];
  }
  if (d <= glass.r) {
    // Two evidence blobs, the stronger up left, as a Grad-CAM of an object shows.
    const heat = Math.exp(-((dx + 10) ** 2 + (dy + 8) ** 2) / (2 * 15 ** 2)) + 0.55 * Math.exp(-((dx - 16) ** 2 + (dy - 14) ** 2) / (2 * 9 ** 2));
    const i = colormapIndex(Math.min(1, heat)) * 3;
    return [lut[i] / 255, lut[i + 1] / 255, lut[i + 2] / 255, 1];
  }
  if (d <= glass.r + rim) {
    return [0.9, 0.91, 0.94, 1];
  }
  return [0, 0, 0, 0];
}

async function main(): Promise<void> {
  const data = new Uint8Array(SIZE * SIZE * 4);
  for (let py = 0; py < SIZE; py++) {
    for (let px = 0; px < SIZE; px++) {
      const sum = [0, 0, 0, 0];
      for (let sy = 0; sy < SAMPLES; sy++) {
        for (let sx = 0; sx < SAMPLES; sx++) {
          const [r, g, b, a] = shade(px + (sx + 0.5) / SAMPLES, py + (sy + 0.5) / SAMPLES);
          sum[0] += r * a;
          sum[1] += g * a;
          sum[2] += b * a;
          sum[3] += a;
        }
      }
      const n = SAMPLES * SAMPLES;
      const alpha = sum[3] / n;
      const at = (py * SIZE + px) * 4;
      for (let c = 0; c < 3; c++) {
        data[at + c] = alpha > 0 ? Math.min(255, Math.round((255 * sum[c]) / sum[3])) : 0;
      }
      data[at + 3] = Math.round(255 * alpha);
    }
  }
  const out = path.join(__dirname, '..', '..', 'media', 'icon.png');
  fs.writeFileSync(out, await encodePng({ width: SIZE, height: SIZE, data }));
  console.log(`wrote ${out}`);
}

void main();
