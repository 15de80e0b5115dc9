// Filter grids: a layer's learned weights as pictures. Every drawable layer reduces to one kernel
// K[kh, kw, inputs, filters] (row-major, as tfjs stores Conv2D kernels):
//  - Conv2D: the kernel itself;
//  - DepthwiseConv2D / SeparableConv2D: the depthwise kernel [kh, kw, cin, mult], read as
//    [kh, kw, 1, cin·mult] (output channel c·mult + m, the order tfjs computes them in), so each
//    channel's kernel is one filter with one input;
//  - a first Dense layer over the flattened image: kernel [H·W·C, units] is [H, W, C, units] in the
//    same layout, so each unit's weights are an image;
//  - convolution nodes of ONNX and TF.js graph models: their kernels, whatever order the source
//    stores them in, brought to this one by nodeFilters.ts (a grouped ONNX Conv's filters each
//    read their group's inputs, a depthwise one's a single channel).
// The bank also keeps the source's own axis order (layout: HWIO for tfjs and TensorFlow, OIHW for
// ONNX and PyTorch), in which shapes are shown and the CLI writes each filter's weights, so they
// compare with the file's tensor directly.
// Weights are signed, so tiles use a symmetric scale: byte = 127.5 + 127.5·w/bound, 128 is zero,
// and a diverging colormap shows the sign.
import {
  FILTER_MODES,
  FILTER_SCALES,
  type FilterKind,
  type FilterLayout,
  type FilterMode,
  type FilterPage,
  type FilterPageRequest,
} from '../../shared/types';
import { boundedPageSize, clampPage } from './activations';
import { LensError } from '../../shared/errors';
import { filterKindOf, findLayer, weightNamed } from './layerViews';
import { readNodeFilters, type KernelBank } from '../execution/nodeFilters';
import type * as tf from '../tf';

export const DEFAULT_FILTER_PAGE_SIZE = 64;
export const MAX_FILTER_PAGE_SIZE = 512;
export const DEFAULT_INPUTS_PER_PAGE = 16;
export const MAX_INPUTS_PER_PAGE = 64;

/** A layer's weights as K[kernelHeight, kernelWidth, inputs, count], row-major (fields: nodeFilters.ts's KernelBank). */
export interface FilterBank extends KernelBank {
  readonly layer: string;
  readonly className: string;
}

export function readFilterBank(model: tf.LayersModel, layerName: string): FilterBank {
  const found = findLayer(model, layerName);
  const kind = filterKindOf(model, found);
  const className = found.layer.getClassName();
  if (!kind) {
    throw new LensError(
      `Layer "${layerName}" (${className}) has no filters to draw; CNN Lens draws Conv2D, DepthwiseConv2D and SeparableConv2D kernels, ` +
        'the Conv nodes of ONNX models (grouped and depthwise too) and the Conv2D and DepthwiseConv2dNative nodes of TF.js graph models (fused or not), ' +
        'and a first Dense layer over a flattened image input.',
      'bad-request',
    );
  }
  const node = readNodeFilters(found.layer);
  if (node) {
    return { layer: layerName, className, ...node };
  }
  // tfjs-layers keeps kernels HWIO (depthwise ones [kh, kw, channels, multiplier]).
  const base = { layer: layerName, className, kind, layout: 'HWIO' as const };
  if (kind === 'conv2d') {
    const kernel = weightNamed(found.layer, 'kernel') as tf.Tensor;
    const [kh, kw, inputs, count] = kernel.shape;
    return { ...base, kernelHeight: kh, kernelWidth: kw, inputs, count, groups: 1, data: Float32Array.from(kernel.dataSync()) };
  }
  if (kind === 'depthwise' || kind === 'separable') {
    const kernel = weightNamed(found.layer, 'depthwise_kernel') as tf.Tensor;
    const [kh, kw, channels, multiplier] = kernel.shape;
    return { ...base, kernelHeight: kh, kernelWidth: kw, inputs: 1, count: channels * multiplier, groups: channels, data: Float32Array.from(kernel.dataSync()) };
  }
  const kernel = weightNamed(found.layer, 'kernel') as tf.Tensor;
  const [, height, width, channels] = model.inputs[0].shape as number[];
  return { ...base, kernelHeight: height, kernelWidth: width, inputs: channels, count: kernel.shape[1] as number, groups: 1, data: Float32Array.from(kernel.dataSync()) };
}

/**
 * Modes a bank can be drawn in: RGB only over 3 inputs of an ungrouped kernel (a group's 3 inputs
 * are not red, green and blue); per-input tiles only over several.
 */
export function filterModes(bank: FilterBank): FilterMode[] {
  const modes: FilterMode[] = [];
  if (bank.inputs === 3 && bank.groups === 1) {
    modes.push('rgb');
  }
  modes.push('mean');
  if (bank.inputs > 1) {
    modes.push('channels');
  }
  return modes;
}

/** Weight K[y, x, input, filter]. */
function at(bank: FilterBank, y: number, x: number, input: number, filter: number): number {
  return bank.data[((y * bank.kernelWidth + x) * bank.inputs + input) * bank.count + filter];
}

/** The values a mode draws for one filter: [kh·kw·inputs] for rgb/channels (pixel-major), [kh·kw] for mean. */
function drawnValues(bank: FilterBank, filter: number, mode: FilterMode): Float32Array {
  const pixels = bank.kernelHeight * bank.kernelWidth;
  if (mode === 'mean') {
    const out = new Float32Array(pixels);
    for (let p = 0; p < pixels; p++) {
      let sum = 0;
      for (let i = 0; i < bank.inputs; i++) {
        sum += bank.data[(p * bank.inputs + i) * bank.count + filter];
      }
      out[p] = sum / bank.inputs;
    }
    return out;
  }
  const out = new Float32Array(pixels * bank.inputs);
  for (let j = 0; j < out.length; j++) {
    out[j] = bank.data[j * bank.count + filter];
  }
  return out;
}

function extent(values: Float32Array): { min: number; max: number; bound: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return { min, max, bound: Math.max(Math.abs(min), Math.abs(max)) };
}

/** Symmetric signed quantisation: -bound → 0, 0 → 128, +bound → 255; a zero bound draws all 128. */
export function quantizeSigned(value: number, bound: number): number {
  if (!(bound > 0)) {
    return 128;
  }
  return Math.round(127.5 + 127.5 * Math.min(1, Math.max(-1, value / bound)));
}

export function filterPage(bank: FilterBank, request: Omit<FilterPageRequest, 'layer'>): FilterPage {
  const modes = filterModes(bank);
  const mode = request.mode ?? modes[0];
  const scale = request.scale ?? 'filter';
  if (!(FILTER_MODES as readonly string[]).includes(mode) || !modes.includes(mode)) {
    throw new LensError(`Layer "${bank.layer}" cannot be drawn in "${String(mode)}" mode; it offers ${modes.join(', ')}.`, 'bad-request');
  }
  if (!(FILTER_SCALES as readonly string[]).includes(scale)) {
    throw new LensError(`Unknown scale "${String(scale)}": use ${FILTER_SCALES.join(', ')}.`, 'bad-request');
  }
  const { kernelHeight: kh, kernelWidth: kw } = bank;
  const pixels = kh * kw;

  // Which inputs each filter shows, in `channels` mode: a page of them.
  const inputsPerPage = Math.min(Math.max(Math.floor(request.inputsPerPage ?? DEFAULT_INPUTS_PER_PAGE), 1), MAX_INPUTS_PER_PAGE);
  const inputPageCount = mode === 'channels' ? Math.ceil(bank.inputs / inputsPerPage) : 1;
  const inputPage = clampPage(request.inputPage, inputPageCount);
  const inputs =
    mode === 'channels'
      ? Int32Array.from({ length: Math.min(inputsPerPage, bank.inputs - inputPage * inputsPerPage) }, (_, i) => inputPage * inputsPerPage + i)
      : new Int32Array(0);
  const tilesPerFilter = mode === 'channels' ? inputs.length : 1;
  const tileChannels: 1 | 3 = mode === 'rgb' ? 3 : 1;
  const bytesPerFilter = tilesPerFilter * pixels * tileChannels;

  const pageSize = boundedPageSize(request.pageSize ?? DEFAULT_FILTER_PAGE_SIZE, MAX_FILTER_PAGE_SIZE, bytesPerFilter);
  const pageCount = Math.max(1, Math.ceil(bank.count / pageSize));
  const page = clampPage(request.page, pageCount);
  const first = page * pageSize;
  const filters = Int32Array.from({ length: Math.min(pageSize, bank.count - first) }, (_, i) => first + i);

  let sharedBound = 0;
  if (scale === 'shared') {
    for (let f = 0; f < bank.count; f++) {
      sharedBound = Math.max(sharedBound, extent(drawnValues(bank, f, mode)).bound);
    }
  }
  const n = filters.length;
  const min = new Float32Array(n);
  const max = new Float32Array(n);
  const bound = new Float32Array(n);
  const tiles = new Uint8Array(n * bytesPerFilter);
  filters.forEach((f, i) => {
    const values = drawnValues(bank, f, mode);
    const e = extent(values);
    min[i] = e.min;
    max[i] = e.max;
    bound[i] = scale === 'shared' ? sharedBound : e.bound;
    const out = tiles.subarray(i * bytesPerFilter, (i + 1) * bytesPerFilter);
    if (mode === 'mean') {
      values.forEach((v, p) => (out[p] = quantizeSigned(v, bound[i])));
    } else if (mode === 'rgb') {
      for (let p = 0; p < pixels; p++) {
        for (let c = 0; c < 3; c++) {
          out[p * 3 + c] = quantizeSigned(values[p * bank.inputs + c], bound[i]);
        }
      }
    } else {
      inputs.forEach((input, t) => {
        for (let p = 0; p < pixels; p++) {
          out[t * pixels + p] = quantizeSigned(values[p * bank.inputs + input], bound[i]);
        }
      });
    }
  });
  return {
    layer: bank.layer,
    className: bank.className,
    kind: bank.kind,
    layout: bank.layout,
    kernelHeight: kh,
    kernelWidth: kw,
    inputChannels: bank.inputs,
    filterCount: bank.count,
    groups: bank.groups,
    modes,
    mode,
    scale,
    page,
    pageSize,
    pageCount,
    inputPage,
    inputPageCount,
    inputs,
    filters,
    tilesPerFilter,
    tileChannels,
    tiles,
    min,
    max,
    bound,
  };
}

/**
 * One filter's raw weights in the bank's layout, row-major (the JSON the CLI writes): [kh, kw, inputs]
 * for HWIO, [inputs, kh, kw] for OIHW, i.e. weight[filter] of the source's tensor.
 */
export function filterWeights(bank: FilterBank, filter: number): Float32Array {
  const { kernelHeight: kh, kernelWidth: kw, inputs } = bank;
  const out = new Float32Array(kh * kw * inputs);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < inputs; i++) {
        const index = bank.layout === 'OIHW' ? (i * kh + y) * kw + x : (y * kw + x) * inputs + i;
        out[index] = at(bank, y, x, i, filter);
      }
    }
  }
  return out;
}
