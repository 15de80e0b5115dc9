// Activation maps: what every channel of a layer outputs for one image. One forward pass with a tap
// at the layer (graph.ts, so layers inside nested models work too) gives the output; it is kept as
// channel-major floats with per-channel statistics, and pages of it are quantised to 8 bits for
// display. Nothing here keeps a tensor: the cache holds plain Float32Arrays.
import {
  ACTIVATION_SCALES,
  ACTIVATION_SORTS,
  MAX_INSPECTION_PAGE_BYTES,
  type ActivationChannel,
  type ActivationKind,
  type ActivationPage,
  type ActivationPageRequest,
  type RgbaImage,
} from '../../shared/types';
import { cancelledError, LensError, throwIfCancelled } from '../../shared/errors';
import { forwardWithTaps } from '../execution/graph';
import { toModelInput } from '../images/image';
import type { LoadedModel } from '../models/loadedModel';
import { activationKindOf, findLayer } from './layerViews';
import type { RunContext } from '../explain/pipeline';
import * as tf from '../tf';

/** A grid tile needs no more than this many pixels a side; larger maps are area-averaged for the grid. */
export const MAX_TILE_SIDE = 64;
export const DEFAULT_ACTIVATION_PAGE_SIZE = 64;
export const MAX_ACTIVATION_PAGE_SIZE = 512;

/** One layer's output for one image, channel-major: channel c's map is data[c·h·w, (c+1)·h·w). */
export interface LayerActivations {
  readonly layer: string;
  readonly className: string;
  readonly kind: ActivationKind;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly data: Float32Array;
  readonly min: Float32Array;
  readonly mean: Float32Array;
  readonly max: Float32Array;
  /** 1 where the channel is exactly zero everywhere. */
  readonly dead: Uint8Array;
}

/** Runs the model on the image up to `layerName` and returns that layer's output. */
export async function computeActivations(model: LoadedModel, image: RgbaImage, layerName: string, context: RunContext = {}): Promise<LayerActivations> {
  const { entry } = findLayer(model.model, layerName);
  const kind = activationKindOf(entry);
  if (!kind) {
    const shape = entry.info.outputShape.map((d) => d ?? 'null').join(', ');
    const why = entry.info.className === 'InputLayer' ? 'it is the model input' : `its output shape is [${shape}]`;
    throw new LensError(
      `Layer "${layerName}" has no activations to draw: ${why}; CNN Lens draws 4-D outputs as maps and 2-D outputs as unit values.`,
      'bad-request',
    );
  }
  throwIfCancelled(context.signal);
  context.onProgress?.({ message: `Running the model to layer "${layerName}"`, fraction: 0 });
  const input = toModelInput(image, model.summary.inputShape, model.summary.preprocessing);
  let output: tf.Tensor;
  try {
    // As the model computes it: an output layer's own output (its softmax or sigmoid applied) is
    // what a user inspecting it expects, not the score CAMs differentiate.
    const { logits, taps } = forwardWithTaps(model.model, input, [entry.path], { asIs: true });
    if (taps[0] !== logits) {
      logits.dispose();
    }
    output = taps[0];
  } finally {
    input.dispose();
  }
  try {
    await new Promise<void>((resolve) => setImmediate(resolve));
    throwIfCancelled(context.signal);
    const values = (await output.data()) as Float32Array;
    const shape = output.shape as number[];
    const [height, width, channels] = kind === 'maps' ? [shape[1], shape[2], shape[3]] : [1, 1, shape[1]];
    return fromChannelsLast(layerName, entry.info.className, kind, values, height, width, channels);
  } finally {
    output.dispose();
  }
}

/** Builds LayerActivations from an NHWC (batch 1) or [1, units] buffer. Exported for tests. */
export function fromChannelsLast(
  layer: string,
  className: string,
  kind: ActivationKind,
  values: Float32Array,
  height: number,
  width: number,
  channels: number,
): LayerActivations {
  const area = height * width;
  if (values.length !== area * channels) {
    throw new Error(`Layer "${layer}": ${values.length} values do not make ${height}×${width}×${channels}.`);
  }
  const data = new Float32Array(values.length);
  const min = new Float32Array(channels).fill(Infinity);
  const max = new Float32Array(channels).fill(-Infinity);
  const sum = new Float64Array(channels);
  const dead = new Uint8Array(channels).fill(1);
  for (let p = 0; p < area; p++) {
    const row = p * channels;
    for (let c = 0; c < channels; c++) {
      const v = values[row + c];
      data[c * area + p] = v;
      if (v < min[c]) min[c] = v;
      if (v > max[c]) max[c] = v;
      sum[c] += v;
      if (v !== 0) dead[c] = 0;
    }
  }
  const mean = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    mean[c] = sum[c] / area;
  }
  return { layer, className, kind, height, width, channels, data, min, mean, max, dead };
}

/** One layer's computation, shared by every request that waits for it. */
interface CacheEntry {
  readonly promise: Promise<LayerActivations>;
  readonly controller: AbortController;
  /** Requests waiting for it that have not given up. */
  waiters: number;
  settled: boolean;
  /** Progress goes to the most recent waiter. */
  onProgress?: RunContext['onProgress'];
}

/**
 * Keeps the last image's activations, per model and layer, so paging, re-sorting and clicking a
 * channel never run the model again. A new image (or a reloaded model) starts afresh. Requests for
 * a layer being computed share the computation; one request's cancel ends only its own wait, and
 * the computation stops only when every request waiting for it has cancelled.
 */
export class ActivationCache {
  private model: tf.LayersModel | undefined;
  private imageKey: string | undefined;
  private readonly layers = new Map<string, CacheEntry>();

  constructor(private readonly maxLayers = 8) {}

  get(model: LoadedModel, imageKey: string, image: () => Promise<RgbaImage>, layer: string, context: RunContext = {}): Promise<LayerActivations> {
    if (context.signal?.aborted) {
      return Promise.reject(cancelledError());
    }
    if (this.model !== model.model || this.imageKey !== imageKey) {
      this.clear();
      this.model = model.model;
      this.imageKey = imageKey;
    }
    const entry = this.layers.get(layer) ?? this.start(model, image, layer);
    entry.waiters++;
    entry.onProgress = context.onProgress ?? entry.onProgress;
    return new Promise<LayerActivations>((resolve, reject) => {
      const onAbort = () => {
        reject(cancelledError());
        if (--entry.waiters === 0 && !entry.settled) {
          entry.controller.abort();
        }
      };
      context.signal?.addEventListener('abort', onAbort, { once: true });
      entry.promise.then(
        (acts) => {
          context.signal?.removeEventListener('abort', onAbort);
          resolve(acts);
        },
        (error: unknown) => {
          context.signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  private start(model: LoadedModel, image: () => Promise<RgbaImage>, layer: string): CacheEntry {
    const controller = new AbortController();
    const entry: CacheEntry = {
      controller,
      waiters: 0,
      settled: false,
      promise: image().then((pixels) =>
        computeActivations(model, pixels, layer, { signal: controller.signal, onProgress: (p) => entry.onProgress?.(p) }),
      ),
    };
    this.layers.set(layer, entry);
    entry.promise.then(
      () => (entry.settled = true),
      () => {
        entry.settled = true;
        // A failed or cancelled run must not stay cached.
        if (this.layers.get(layer) === entry) {
          this.layers.delete(layer);
        }
      },
    );
    while (this.layers.size > this.maxLayers) {
      this.layers.delete(this.layers.keys().next().value as string);
    }
    return entry;
  }

  /** Whether a layer's activations for this model and image are ready without a forward pass. */
  has(model: LoadedModel, imageKey: string, layer: string): boolean {
    return this.model === model.model && this.imageKey === imageKey && this.layers.has(layer);
  }

  clear(): void {
    this.layers.clear();
    this.model = undefined;
    this.imageKey = undefined;
  }
}

/** Channel order for a sort: index ascending, or by mean/max descending (ties by index). */
export function sortChannels(acts: LayerActivations, sort: ActivationPageRequest['sort'], hideDead: boolean): number[] {
  const order: number[] = [];
  for (let c = 0; c < acts.channels; c++) {
    if (!(hideDead && acts.dead[c])) {
      order.push(c);
    }
  }
  // Units are a ranking: top first unless the index order is asked for explicitly.
  const key = sort === 'mean' ? acts.mean : sort === 'max' ? acts.max : acts.kind === 'units' && sort === undefined ? acts.max : null;
  if (key) {
    order.sort((a, b) => key[b] - key[a] || a - b);
  }
  return order;
}

/** One page of channels, quantised to 8 bits (see ActivationPage). */
export function activationPage(acts: LayerActivations, request: ActivationPageRequest): ActivationPage {
  const sort = request.sort ?? (acts.kind === 'units' ? 'max' : 'index');
  const scale = request.scale ?? 'channel';
  if (!(ACTIVATION_SORTS as readonly string[]).includes(sort)) {
    throw new LensError(`Unknown sort "${String(sort)}": use ${ACTIVATION_SORTS.join(', ')}.`, 'bad-request');
  }
  if (!(ACTIVATION_SCALES as readonly string[]).includes(scale)) {
    throw new LensError(`Unknown scale "${String(scale)}": use ${ACTIVATION_SCALES.join(', ')}.`, 'bad-request');
  }
  const hideDead = request.hideDead === true;
  const order = sortChannels(acts, request.sort ?? sort, hideDead);
  const { tileHeight, tileWidth, factor } = tileSize(acts);
  const tileBytes = acts.kind === 'maps' ? tileHeight * tileWidth : 0;
  const pageSize = boundedPageSize(request.pageSize ?? DEFAULT_ACTIVATION_PAGE_SIZE, MAX_ACTIVATION_PAGE_SIZE, tileBytes);
  const pageCount = Math.max(1, Math.ceil(order.length / pageSize));
  const page = clampPage(request.page, pageCount);
  const channels = Int32Array.from(order.slice(page * pageSize, (page + 1) * pageSize));

  let layerMin = Infinity;
  let layerMax = -Infinity;
  for (let c = 0; c < acts.channels; c++) {
    layerMin = Math.min(layerMin, acts.min[c]);
    layerMax = Math.max(layerMax, acts.max[c]);
  }
  const n = channels.length;
  const min = new Float32Array(n);
  const mean = new Float32Array(n);
  const max = new Float32Array(n);
  const low = new Float32Array(n);
  const high = new Float32Array(n);
  const maps = new Uint8Array(n * tileBytes);
  const area = acts.height * acts.width;
  channels.forEach((c, i) => {
    min[i] = acts.min[c];
    mean[i] = acts.mean[c];
    max[i] = acts.max[c];
    low[i] = scale === 'shared' ? layerMin : acts.min[c];
    high[i] = scale === 'shared' ? layerMax : acts.max[c];
    if (tileBytes > 0) {
      const map = acts.data.subarray(c * area, (c + 1) * area);
      const tile = factor > 1 ? areaAverage(map, acts.width, acts.height, factor, tileWidth, tileHeight) : map;
      quantize(tile, low[i], high[i], maps.subarray(i * tileBytes, (i + 1) * tileBytes));
    }
  });
  return {
    layer: acts.layer,
    className: acts.className,
    kind: acts.kind,
    height: acts.height,
    width: acts.width,
    channelCount: acts.channels,
    deadCount: acts.dead.reduce((a, d) => a + d, 0),
    listedCount: order.length,
    page,
    pageSize,
    pageCount,
    sort,
    scale,
    hideDead,
    layerMin: Number.isFinite(layerMin) ? layerMin : 0,
    layerMax: Number.isFinite(layerMax) ? layerMax : 0,
    channels,
    min,
    mean,
    max,
    low,
    high,
    tileHeight: acts.kind === 'maps' ? tileHeight : 0,
    tileWidth: acts.kind === 'maps' ? tileWidth : 0,
    maps,
  };
}

/** One channel at full resolution, its own min..max as 0..255. */
export function activationChannel(acts: LayerActivations, channel: number): ActivationChannel {
  if (!Number.isInteger(channel) || channel < 0 || channel >= acts.channels) {
    throw new LensError(`Layer "${acts.layer}" has channels 0 to ${acts.channels - 1}; there is no channel ${channel}.`, 'bad-request');
  }
  const area = acts.height * acts.width;
  const map = new Uint8Array(area);
  quantize(acts.data.subarray(channel * area, (channel + 1) * area), acts.min[channel], acts.max[channel], map);
  return {
    layer: acts.layer,
    channel,
    height: acts.height,
    width: acts.width,
    min: acts.min[channel],
    mean: acts.mean[channel],
    max: acts.max[channel],
    map,
  };
}

/** Linear low..high → 0..255, rounded; a flat range (a dead or constant channel) is all 0. */
export function quantize(values: ArrayLike<number>, low: number, high: number, out: Uint8Array): void {
  const range = high - low;
  for (let i = 0; i < values.length; i++) {
    out[i] = range > 0 ? Math.round(Math.min(1, Math.max(0, (values[i] - low) / range)) * 255) : 0;
  }
}

/** The page size asked for, within [1, max] and lowered until the page's pixels fit the byte bound. */
export function boundedPageSize(requested: number, max: number, bytesPerItem: number): number {
  let size = Number.isFinite(requested) ? Math.floor(requested) : max;
  size = Math.min(Math.max(size, 1), max);
  if (bytesPerItem > 0) {
    size = Math.min(size, Math.max(1, Math.floor(MAX_INSPECTION_PAGE_BYTES / bytesPerItem)));
  }
  return size;
}

export function clampPage(page: number | undefined, pageCount: number): number {
  const p = page !== undefined && Number.isFinite(page) ? Math.floor(page) : 0;
  return Math.min(Math.max(p, 0), pageCount - 1);
}

function tileSize(acts: LayerActivations): { tileHeight: number; tileWidth: number; factor: number } {
  const factor = Math.max(1, Math.ceil(Math.max(acts.height, acts.width) / MAX_TILE_SIDE));
  return { tileHeight: Math.ceil(acts.height / factor), tileWidth: Math.ceil(acts.width / factor), factor };
}

/** Mean over factor×factor blocks (clipped at the right and bottom edges): no aliasing when shrinking. */
function areaAverage(map: Float32Array, width: number, height: number, factor: number, outWidth: number, outHeight: number): Float32Array {
  const out = new Float32Array(outWidth * outHeight);
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      let sum = 0;
      let count = 0;
      for (let sy = y * factor; sy < Math.min(height, (y + 1) * factor); sy++) {
        for (let sx = x * factor; sx < Math.min(width, (x + 1) * factor); sx++) {
          sum += map[sy * width + sx];
          count++;
        }
      }
      out[y * outWidth + x] = sum / count;
    }
  }
  return out;
}
