// Filters of node layers (nodeGraph.ts): the convolution nodes of ONNX models (Conv, grouped and
// depthwise ones included) and of TF.js graph models (Conv2D, DepthwiseConv2dNative, fused or not)
// keep their kernels as plain constants in their slots, in the axis order their loader stored them
// in (NodeKernel says which). Here a kernel becomes the bank filters.ts draws, K[kh, kw, inputs,
// filters] row-major (the order tfjs keeps Conv2D kernels in), and the bank keeps the source's own
// order (layout) for the shapes it shows.
//
// The constants are the file's weights (or what constant-only nodes such as Identity made of them):
// the engine's batch-norm folding (batchNormFold.ts) keeps its folded filters apart and never
// writes a slot, so nothing folded is ever drawn.
import type { FilterKind, FilterLayout } from '../../shared/types';
import { nodePlanOf, type NodeKernel } from './nodeGraph';
import type * as tf from '../tf';

/** A kernel as the filter grids draw it, whichever layer holds it (FilterBank adds the layer's names). */
export interface KernelBank {
  readonly kind: FilterKind;
  /** The source's axis order, for shapes shown and weights written (data is K[kh, kw, inputs, count] regardless). */
  readonly layout: FilterLayout;
  readonly kernelHeight: number;
  readonly kernelWidth: number;
  /** Inputs each filter reads (a group's for grouped convolutions, 1 for depthwise ones). */
  readonly inputs: number;
  readonly count: number;
  /** Groups the filters split into, in order, each reading its own `inputs` channels (FilterPage.groups). */
  readonly groups: number;
  /** K[kh, kw, inputs, count], row-major. */
  readonly data: Float32Array;
}

type Bank = Omit<KernelBank, 'data' | 'layout'>;

interface KernelConstant {
  readonly kernel: NodeKernel;
  readonly weights: tf.Tensor;
}

/** The node's kernel description and its constant, when the layer is a node with a 4-D float kernel. */
function kernelConstant(layer: tf.layers.Layer): KernelConstant | undefined {
  const plan = nodePlanOf(layer);
  const kernel = plan?.kernel;
  const slot = plan && kernel ? plan.slots[kernel.slot] : undefined;
  // A kernel fed at run time (computed from the image) is not a learned weight: nothing to draw.
  if (!kernel || !slot || !('constant' in slot)) {
    return undefined;
  }
  const weights = slot.constant;
  return weights.rank === 4 && weights.dtype === 'float32' ? { kernel, weights } : undefined;
}

/** The bank's dimensions from the stored shape, or undefined when the groups do not divide the filters. */
function bankOf({ kernel, weights }: KernelConstant): Bank | undefined {
  const [a, b, c, d] = weights.shape as [number, number, number, number];
  switch (kernel.stored) {
    case 'OHWI': {
      // ONNX: [out, kh, kw, in/group]. group == input channels with one input each is depthwise;
      // its output o reads input channel floor(o / multiplier), the order tfjs's depthwise uses.
      const groups = kernel.groups;
      if (!Number.isInteger(groups) || groups < 1 || a % groups !== 0) {
        return undefined;
      }
      const kind = groups > 1 && d === 1 ? 'depthwise' : 'conv2d';
      return { kind, kernelHeight: b, kernelWidth: c, inputs: d, count: a, groups };
    }
    case 'HWIO':
      return { kind: 'conv2d', kernelHeight: a, kernelWidth: b, inputs: c, count: d, groups: 1 };
    case 'HWCM':
      // [kh, kw, channels, multiplier] read as [kh, kw, 1, channels·multiplier], as for DepthwiseConv2D.
      return { kind: 'depthwise', kernelHeight: a, kernelWidth: b, inputs: 1, count: c * d, groups: c };
  }
}

/** What a node layer's kernel is drawn as; null when the node has none (or not one CNN Lens can draw). */
export function nodeFilterKind(layer: tf.layers.Layer): FilterKind | null {
  const found = kernelConstant(layer);
  return (found && bankOf(found)?.kind) ?? null;
}

/** The node layer's kernel as a filter bank, or undefined when it has none (see nodeFilterKind). */
export function readNodeFilters(layer: tf.layers.Layer): KernelBank | undefined {
  const found = kernelConstant(layer);
  const bank = found && bankOf(found);
  if (!found || !bank) {
    return undefined;
  }
  // dataSync() of the layer's own constant: read, never disposed.
  const stored = found.weights.dataSync() as Float32Array;
  const data = found.kernel.stored === 'OHWI' ? ohwiToHwio(stored, bank) : Float32Array.from(stored);
  return { ...bank, layout: found.kernel.layout, data };
}

/** [out, kh, kw, in] → [kh, kw, in, out], both row-major. */
function ohwiToHwio(ohwi: Float32Array, bank: Bank): Float32Array {
  const { kernelHeight: kh, kernelWidth: kw, inputs, count } = bank;
  const hwio = new Float32Array(ohwi.length);
  for (let o = 0; o < count; o++) {
    for (let y = 0; y < kh; y++) {
      for (let x = 0; x < kw; x++) {
        for (let i = 0; i < inputs; i++) {
          hwio[((y * kw + x) * inputs + i) * count + o] = ohwi[((o * kh + y) * kw + x) * inputs + i];
        }
      }
    }
  }
  return hwio;
}
