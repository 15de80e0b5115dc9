// The layer list users choose from, and the CAM target layer. Layers of a model nested as a layer
// (a base network inside a classifier) are listed after it as `outer/inner`, so they can be chosen
// like any other. A CAM layer is recognised by its 4-D (batch, height, width, channels) output,
// never by class name: DepthwiseConv2D, SeparableConv2D, Add, Activation, BatchNormalization or a
// nested model can all be the last spatial layer.
import type { LayerInfo } from '../../shared/types';
import { LensError } from '../../shared/errors';
import { appliesLayer, innerGraph, type GraphContainer, type LayerPath } from './graph';
import type * as tf from '../tf';

/** A listed layer with the path the graph executor needs to reach it. */
export interface LayerEntry {
  readonly info: LayerInfo;
  readonly path: LayerPath;
}

interface DescribableLayer {
  readonly name: string;
  readonly trainable: boolean;
  readonly outputShape: unknown;
  getClassName(): string;
  countParams(): number;
}

/**
 * Every layer in execution order, nested models' layers right after the nested model itself.
 * The listed name follows the nesting users see; the path follows the graph that runs. They differ
 * when a model is the first layer of a Sequential (Keras's `Sequential([base, pooling, dense])`):
 * tfjs then splices the base's layers into the Sequential's own graph instead of calling the base.
 */
export function layerEntries(model: tf.LayersModel): LayerEntry[] {
  // A loaded model's layers never change, and the walk is quadratic in the layer count (5 ms on
  // MobileNetV2, paid by every request that names a layer): computed once per model.
  let entries = entriesByModel.get(model);
  if (!entries) {
    entries = walkLayers(model);
    entriesByModel.set(model, entries);
  }
  return [...entries];
}

const entriesByModel = new WeakMap<tf.LayersModel, readonly LayerEntry[]>();

function walkLayers(model: tf.LayersModel): LayerEntry[] {
  const entries: LayerEntry[] = [];
  const visit = (layers: readonly DescribableLayer[], parent: LayerPath, graph: GraphContainer, graphPath: LayerPath): void => {
    for (const layer of layers) {
      const namePath = [...parent, layer.name];
      const inner = innerGraph(layer);
      const called = appliesLayer(graph, layer);
      const path = called ? [...graphPath, layer.name] : [...graphPath, splicedOutputLayer(layer)];
      const outputShape = shapeOf(layer);
      const className = layer.getClassName();
      entries.push({
        path,
        info: {
          name: namePath.join('/'),
          className,
          outputShape,
          params: paramsOf(layer),
          trainable: layer.trainable,
          // An InputLayer is 4-D but has no activation of its own to weight.
          spatial: outputShape.length === 4 && className !== 'InputLayer',
          depth: parent.length,
          ...(parent.length > 0 ? { parent: parent.join('/') } : {}),
        },
      });
      if (inner) {
        const innerLayers = (layer as unknown as tf.LayersModel).layers as unknown as DescribableLayer[];
        if (called) {
          visit(innerLayers, namePath, inner, path);
        } else {
          visit(innerLayers, namePath, graph, graphPath);
        }
      }
    }
  };
  visit(model.layers as unknown as DescribableLayer[], [], innerGraph(model) as GraphContainer, []);
  return entries;
}

/** A spliced-in model runs as its own layers: its output is its last layer's. */
function splicedOutputLayer(layer: DescribableLayer): string {
  const outputs = (layer as unknown as { outputs?: tf.SymbolicTensor[] }).outputs;
  return outputs?.[0]?.sourceLayer.name ?? layer.name;
}

export function describeLayers(model: tf.LayersModel): LayerInfo[] {
  return layerEntries(model).map((entry) => entry.info);
}

function shapeOf(layer: DescribableLayer): (number | null)[] {
  try {
    const shape = layer.outputShape;
    // A layer with several outputs reports a list of shapes: none of them is "the" output.
    if (Array.isArray(shape) && shape.every((d) => d === null || typeof d === 'number')) {
      return shape as (number | null)[];
    }
  } catch {
    // tfjs throws for a layer applied several times with different shapes; list it without one.
  }
  return [];
}

function paramsOf(layer: DescribableLayer): number {
  try {
    return layer.countParams();
  } catch {
    return 0; // an unbuilt layer has no weights yet
  }
}

/**
 * The last layer with a 4-D output: the layer just before the head (pooling, flatten, dense).
 * A 1x1 map (an ONNX GlobalAveragePool, a keepdims mean) has nothing to localise, so the last
 * larger one wins when there is one.
 */
export function defaultCamLayer(model: tf.LayersModel): string {
  const all = layerEntries(model).filter((e) => e.info.spatial);
  const withArea = all.filter((e) => (e.info.outputShape[1] ?? 2) * (e.info.outputShape[2] ?? 2) > 1);
  const spatial = withArea.length > 0 ? withArea : all;
  if (spatial.length === 0) {
    throw new LensError(
      `Model "${model.name}" has no layer with a 4-D (batch, height, width, channels) output, so there is no ` +
        'spatial activation for a class activation map; CNN Lens explains convolutional image models.',
      'unsupported',
    );
  }
  return spatial[spatial.length - 1].info.name;
}

/** Finds a CAM target layer by its listed name; unknown or non-4-D names are the request's fault. */
export function resolveCamLayer(model: tf.LayersModel, name: string): LayerEntry {
  const entries = layerEntries(model);
  const entry = entries.find((e) => e.info.name === name);
  if (!entry) {
    throw new LensError(`Layer "${name}" is not in model "${model.name}". ${describeChoices(entries)}`, 'bad-request');
  }
  if (!entry.info.spatial) {
    const shape = entry.info.outputShape.length ? `[${entry.info.outputShape.map((d) => d ?? 'null').join(', ')}]` : 'unknown';
    const why = entry.info.className === 'InputLayer' ? 'it is the model input' : `its output shape ${shape} is not 4-D (batch, height, width, channels)`;
    throw new LensError(`Layer "${name}" cannot be a CAM layer: ${why}. ${describeChoices(entries)}`, 'bad-request');
  }
  return entry;
}

/** "4-D layers you can choose: a, b, … (N in all)", the last ones first since they are the usual picks. */
function describeChoices(entries: readonly LayerEntry[]): string {
  const names = entries.filter((e) => e.info.spatial).map((e) => `"${e.info.name}"`);
  if (names.length === 0) {
    return 'The model has no 4-D layer.';
  }
  const shown = names.slice(-5).reverse();
  const more = names.length > shown.length ? `, … (${names.length} in all)` : '';
  return `4-D layers you can choose: ${shown.join(', ')}${more}.`;
}
