// `npm run bench -- --repaint-only`: what a colormap or opacity change and a new explanation cost the
// panel, before and after the one picture pipeline (issue 14), on an image shown at 768×768.
//
// Before, the host coloured the heatmap and blended the overlay (renderHeatmap + renderOverlay at the
// display size, the functions the CLI still uses) and posted both as RGBA on every change; each
// explanation brought the full-resolution image from the worker, which the host downscaled. After,
// the worker sends each map once, 8-bit at display size, and the display image once per file; the
// page colours and blends (src/render/indexed.ts, timed here in Node into Uint8ClampedArray buffers
// as the page's ImageData) and a change posts nothing. Bytes are the typed-array payloads of the
// messages; the worker's replies are measured on real requests through the engine worker.
import * as path from 'path';
import * as fs from 'fs';
import * as os from 'os';
import * as engine from '../../src/engine';
import { colormapLut } from '../../src/render/colormap';
import { downscaleForDisplay } from '../../src/render/display';
import { blendIndexed, colorIndexed } from '../../src/render/indexed';
import { indexedCam, renderHeatmap, renderOverlay } from '../../src/render/overlay';
import type { Map2D, RgbaImage } from '../../src/shared/types';
import { EngineClient } from '../../src/workerClient/client';
import { PageImages } from '../../src/host/panel/pageImages';

export interface RepaintReport {
  displaySide: number;
  originalSide: number;
  before: { bytesPerChange: number; hostMsPerChange: number; explainBytesWorkerToHost: number; explainBytesHostToPage: number; hostMsPerExplain: number };
  after: {
    bytesPerChange: number;
    hostMsPerChange: number;
    pageMsPerChange: number;
    firstExplainBytesWorkerToHost: number;
    explainBytesWorkerToHost: number;
    firstExplainBytesHostToPage: number;
    explainBytesHostToPage: number;
    workerMsPerExplain: number;
  };
}

/** The bytes of every typed array in a message (what structured cloning copies in bulk). */
export function payloadBytes(value: unknown, seen = new Set<unknown>()): number {
  if (ArrayBuffer.isView(value)) {
    return value.byteLength;
  }
  if (typeof value !== 'object' || value === null || seen.has(value)) {
    return 0;
  }
  seen.add(value);
  return Object.values(value).reduce<number>((sum, v) => sum + payloadBytes(v, seen), 0);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function timed(runs: number, work: () => void): number {
  work(); // warm the JIT
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    work();
    times.push(performance.now() - t);
  }
  return median(times);
}

/** A photo-like image: smooth gradients and some texture, opaque. */
function syntheticImage(side: number): RgbaImage {
  const data = new Uint8Array(side * side * 4);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const i = (y * side + x) * 4;
      data[i] = (x * 255) / side;
      data[i + 1] = (y * 255) / side;
      data[i + 2] = ((x ^ y) * 7) & 255;
      data[i + 3] = 255;
    }
  }
  return { width: side, height: side, data };
}

export async function benchRepaint(modelPath: string, runs: number): Promise<RepaintReport> {
  const originalSide = 1536;
  const original = syntheticImage(originalSide);
  const display = downscaleForDisplay(original);
  const side = display.width;
  const cam: Map2D = { width: 14, height: 14, data: Float32Array.from({ length: 196 }, (_, i) => ((i * 37) % 196) / 195) };

  // Before: per change the host ran renderViews (heatmap + overlay) and posted both.
  const oldViews = () => ({ heatmap: renderHeatmap(cam, side, side, 'turbo'), overlay: renderOverlay(display, cam, 'turbo', 0.6) });
  const hostMsBefore = timed(runs, oldViews);
  const bytesBefore = payloadBytes(oldViews());

  // After: the page colours the 8-bit map and blends it over the image, into its ImageData buffers.
  const map = indexedCam(cam, side, side);
  const heatOut = new Uint8ClampedArray(side * side * 4);
  const overlayOut = new Uint8ClampedArray(side * side * 4);
  const pageMs = timed(runs, () => {
    const lut = colormapLut('turbo');
    colorIndexed(map.data, lut, heatOut);
    blendIndexed(display, map.data, lut, 0.6, overlayOut);
  });

  // The explanations themselves, through the real worker: the reply of a first request for the
  // image, and of another class of the same image (the host says which image it holds).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-repaint-'));
  const imagePath = path.join(dir, 'photo.png');
  fs.writeFileSync(imagePath, await engine.encodePng(original));
  const dist = path.resolve(__dirname, '..', '..', 'dist');
  const client = new EngineClient({ workerPath: path.join(dist, 'worker.js'), wasmDir: dist, backend: () => 'wasm', log: () => undefined });
  try {
    await client.loadModel(modelPath);
    const images = new PageImages();
    const first = await client.explain({ modelPath, imagePath, request: { method: 'gradcam', classIndex: 0 } });
    images.receive(first.display);
    const firstToPage = payloadBytes({ map: first.map, image: images.show('gradcam', first.display.key) });
    const again = await client.explain({ modelPath, imagePath, request: { method: 'gradcam', classIndex: 1 }, knownImageKey: images.latestKey });
    images.receive(again.display);
    const againToPage = payloadBytes({ map: again.map, image: images.show('gradcam', again.display.key) });
    // Before, every explanation carried the full image (worker → host), and the host posted the
    // display image, heatmap and overlay (host → page) after downscaling and rendering.
    const hostMsPerExplainBefore = timed(Math.max(3, Math.min(runs, 7)), () => {
      const shown = downscaleForDisplay(original);
      renderHeatmap(cam, shown.width, shown.height, 'turbo');
      renderOverlay(shown, cam, 'turbo', 0.6);
    });
    const workerMs = timed(runs, () => indexedCam(cam, side, side));
    return {
      displaySide: side,
      originalSide,
      before: {
        bytesPerChange: bytesBefore,
        hostMsPerChange: hostMsBefore,
        explainBytesWorkerToHost: original.data.byteLength + payloadBytes(first.result),
        explainBytesHostToPage: display.data.byteLength + bytesBefore,
        hostMsPerExplain: hostMsPerExplainBefore,
      },
      after: {
        bytesPerChange: 0,
        hostMsPerChange: 0,
        pageMsPerChange: pageMs,
        firstExplainBytesWorkerToHost: payloadBytes(first),
        explainBytesWorkerToHost: payloadBytes(again),
        firstExplainBytesHostToPage: firstToPage,
        explainBytesHostToPage: againToPage,
        workerMsPerExplain: workerMs,
      },
    };
  } finally {
    client.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function repaintLines(r: RepaintReport): string[] {
  const mb = (bytes: number) => (bytes >= 1e5 ? `${(bytes / 1e6).toFixed(2)} MB` : `${bytes} B`);
  const ms = (value: number) => `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;
  return [
    `Repaint (issue 14): an image of ${r.originalSide}² shown at ${r.displaySide}², heatmap and overlay (2×${r.displaySide}²):`,
    '',
    '| | host rendered (before; today\'s render code) | page colours (after) |',
    '|---|---:|---:|',
    `| host → page per opacity or colormap change | ${mb(r.before.bytesPerChange)} | ${mb(r.after.bytesPerChange)} (nothing posted) |`,
    `| host work per change | ${ms(r.before.hostMsPerChange)} | none |`,
    `| page colouring per change (Node, the page's code) | none (drew posted RGBA) | ${ms(r.after.pageMsPerChange)} |`,
    `| worker → host per explanation (first of an image / another class) | ${mb(r.before.explainBytesWorkerToHost)} / ${mb(r.before.explainBytesWorkerToHost)} | ${mb(r.after.firstExplainBytesWorkerToHost)} / ${mb(r.after.explainBytesWorkerToHost)} |`,
    `| host → page per explanation (first of an image / another class) | ${mb(r.before.explainBytesHostToPage)} / ${mb(r.before.explainBytesHostToPage)} | ${mb(r.after.firstExplainBytesHostToPage)} / ${mb(r.after.explainBytesHostToPage)} |`,
    `| picture work per explanation | host ${ms(r.before.hostMsPerExplain)} (downscale + render) | worker ${ms(r.after.workerMsPerExplain)} (map to 8 bits) |`,
  ];
}
