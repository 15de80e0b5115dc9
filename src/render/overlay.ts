// Turns a CAM into pictures: the map resized to an image's resolution, coloured, and blended over the
// image. Pure TypeScript on typed arrays (no tfjs), so it also runs where no backend is initialised
// and re-rendering for a new colormap or opacity costs no tensor work.
import type { ColormapName, IndexedMap, Map2D, RgbaImage } from '../shared/types';
import { applyColormap, colormapLut } from './colormap';
import { blendIndexed, quantizeUnitMap } from './indexed';
import { LensError } from '../shared/errors';

/**
 * Bilinear resize with half-pixel centres and edges clamped: output pixel x samples the source at
 * (x + 0.5) * srcW / dstW - 0.5. This is cv2.resize(..., INTER_LINEAR) on float maps and
 * tf.image.resizeBilinear(..., halfPixelCenters=true). Downscaling does not antialias (neither does
 * cv2.resize INTER_LINEAR): each output pixel reads only its 2x2 source neighbours.
 */
export function resizeMap(map: Map2D, width: number, height: number): Map2D {
  checkSize(width, height);
  if (map.width < 1 || map.height < 1 || map.data.length !== map.width * map.height) {
    throw new Error(`Cannot resize a ${map.width}x${map.height} map holding ${map.data.length} values.`);
  }
  const xs = samplePositions(map.width, width);
  const ys = samplePositions(map.height, height);
  const out = new Float32Array(width * height);
  const src = map.data;
  for (let y = 0; y < height; y++) {
    const rowA = ys.low[y] * map.width;
    const rowB = ys.high[y] * map.width;
    const fy = ys.frac[y];
    for (let x = 0; x < width; x++) {
      const x0 = xs.low[x];
      const x1 = xs.high[x];
      const fx = xs.frac[x];
      const top = src[rowA + x0] + (src[rowA + x1] - src[rowA + x0]) * fx;
      const bottom = src[rowB + x0] + (src[rowB + x1] - src[rowB + x0]) * fx;
      out[y * width + x] = top + (bottom - top) * fy;
    }
  }
  return { width, height, data: out };
}

/** The CAM resized to width x height and coloured with the colormap (opaque). */
export function renderHeatmap(cam: Map2D, width: number, height: number, colormap: ColormapName): RgbaImage {
  return applyColormap(resizeMap(cam, width, height), colormap);
}

/**
 * The CAM blended over the image at the image's resolution: out = (1 - alpha) * image + alpha * heatmap,
 * per channel, rounded to 8 bits. A transparent image is first composited over black, as the model
 * saw it (see image.ts), so the overlay shows the pixels the explanation is about. Output alpha is 255.
 */
export function renderOverlay(image: RgbaImage, cam: Map2D, colormap: ColormapName, alpha: number): RgbaImage {
  if (!Number.isFinite(alpha) || alpha < 0 || alpha > 1) {
    throw new LensError(`Overlay opacity must be a number between 0 and 1, got ${alpha}.`, 'bad-request');
  }
  const data = blendIndexed(image, quantizeUnitMap(resizeMap(cam, image.width, image.height)), colormapLut(colormap), alpha);
  return { width: image.width, height: image.height, data };
}

/**
 * A CAM (normalised to [0, 1]) as the panel's page receives it: resized to width x height and
 * quantised once. The page colours these bytes in any colormap and opacity (indexed.ts), which
 * equals renderHeatmap / renderOverlay at that size byte for byte.
 */
export function indexedCam(cam: Map2D, width: number, height: number): IndexedMap {
  return { width, height, data: quantizeUnitMap(resizeMap(cam, width, height)), low: 0, high: 1 };
}

interface Samples {
  low: Int32Array;
  high: Int32Array;
  frac: Float64Array;
}

/** For each output index along one axis: the two source indices to blend and the weight of the second. */
function samplePositions(srcSize: number, dstSize: number): Samples {
  const low = new Int32Array(dstSize);
  const high = new Int32Array(dstSize);
  const frac = new Float64Array(dstSize);
  const scale = srcSize / dstSize;
  for (let i = 0; i < dstSize; i++) {
    const position = (i + 0.5) * scale - 0.5;
    const floor = Math.floor(position);
    // Clamp to the edge: before the first centre and after the last, the edge value holds.
    const a = Math.min(Math.max(floor, 0), srcSize - 1);
    const b = Math.min(Math.max(floor + 1, 0), srcSize - 1);
    low[i] = a;
    high[i] = b;
    frac[i] = a === b ? 0 : position - floor;
  }
  return { low, high, frac };
}

function checkSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`Cannot resize a map to ${width}x${height}: the size must be positive integers.`);
  }
}
