// Finding a listed layer (`outer/inner` for nested models) as an object, and deciding what it can
// show: activations by its output rank, filters by the weights it has. Shared by activations.ts and
// filters.ts, and by the worker's "which views does each layer offer" request (the quick pick
// offers Filters only where they can be drawn).
import type { FilterKind, LayerViews } from '../../shared/types';
import { LensError } from '../../shared/errors';
import { innerGraph } from '../execution/graph';
import { layerEntries, type LayerEntry } from '../execution/layers';
import { nodeFilterKind } from '../execution/nodeFilters';
import { nodePlanOf } from '../execution/nodeGraph';
import type * as tf from '../tf';

type Layer = tf.layers.Layer;

/** The listed entry (info + executor path) and the layer object itself. */
export interface FoundLayer {
  readonly entry: LayerEntry;
  readonly layer: Layer;
}

/** Every layer object under its listed name, in the order describeLayers lists them. */
function layerObjects(model: tf.LayersModel): Map<string, Layer> {
  const found = new Map<string, Layer>();
  const visit = (layers: readonly Layer[], prefix: string): void => {
    for (const layer of layers) {
      const name = prefix + layer.name;
      found.set(name, layer);
      if (innerGraph(layer)) {
        visit((layer as unknown as tf.LayersModel).layers, `${name}/`);
      }
    }
  };
  visit(model.layers, '');
  return found;
}

export function findLayer(model: tf.LayersModel, name: string): FoundLayer {
  const entries = layerEntries(model);
  const entry = entries.find((e) => e.info.name === name);
  const layer = layerObjects(model).get(name);
  if (!entry || !layer) {
    const names = entries.map((e) => `"${e.info.name}"`);
    const shown = names.length > 12 ? `${names.slice(0, 12).join(', ')}, … (${names.length} in all)` : names.join(', ');
    throw new LensError(`Layer "${name}" is not in model "${model.name}". Its layers: ${shown}.`, 'bad-request');
  }
  return { entry, layer };
}

/** The weight whose name ends with `suffix` (tfjs names them `<layer>/kernel`, `<layer>/depthwise_kernel`...). */
export function weightNamed(layer: Layer, suffix: string): tf.Tensor | undefined {
  const variable = layer.weights.find((w) => w.originalName === suffix || w.originalName.endsWith(`/${suffix}`));
  // read() returns the variable's own tensor: never dispose it.
  return variable?.read();
}

/**
 * What the layer's weights can be drawn as, or null. A Dense layer is drawable only as the first
 * weighted layer over the flattened image: then its kernel rows are pixels of the input.
 */
export function filterKindOf(model: tf.LayersModel, found: FoundLayer): FilterKind | null {
  // Node layers (ONNX, TF.js graph models) say where their kernel is; their class names are
  // operator types, and a graph model's "Conv2D" is not the Keras layer of that name.
  if (nodePlanOf(found.layer)) {
    return nodeFilterKind(found.layer);
  }
  const className = found.layer.getClassName();
  if (className === 'Conv2D' && weightNamed(found.layer, 'kernel')?.rank === 4) {
    return 'conv2d';
  }
  if (className === 'DepthwiseConv2D' && weightNamed(found.layer, 'depthwise_kernel')?.rank === 4) {
    return 'depthwise';
  }
  if (className === 'SeparableConv2D' && weightNamed(found.layer, 'depthwise_kernel')?.rank === 4) {
    return 'separable';
  }
  if (className === 'Dense') {
    const kernel = weightNamed(found.layer, 'kernel');
    const inputShape = model.inputs.length === 1 ? model.inputs[0].shape : [];
    const pixels = inputShape.slice(1).reduce<number>((a, d) => a * (d ?? Number.NaN), 1);
    if (kernel?.rank !== 2 || inputShape.length !== 4 || kernel.shape[0] !== pixels) {
      return null;
    }
    const entries = layerEntries(model);
    const index = entries.findIndex((e) => e.info.name === found.entry.info.name);
    const weightedBefore = entries.slice(0, index).some((e) => e.info.params > 0 && e.info.depth === found.entry.info.depth);
    return weightedBefore ? null : 'dense-image';
  }
  return null;
}

/** Maps for 4-D outputs (not the input itself), units for 2-D ones, nothing for other ranks. */
export function activationKindOf(entry: LayerEntry): 'maps' | 'units' | null {
  const shape = entry.info.outputShape;
  if (entry.info.className === 'InputLayer') {
    return null;
  }
  if (shape.length === 4 && shape.slice(1).every((d) => typeof d === 'number')) {
    return 'maps';
  }
  if (shape.length === 2 && typeof shape[1] === 'number') {
    return 'units';
  }
  return null;
}

export function describeLayerViews(model: tf.LayersModel): LayerViews[] {
  const objects = layerObjects(model);
  return layerEntries(model).map((entry) => {
    const layer = objects.get(entry.info.name);
    return {
      name: entry.info.name,
      activations: activationKindOf(entry),
      filters: layer ? filterKindOf(model, { entry, layer }) : null,
    };
  });
}
