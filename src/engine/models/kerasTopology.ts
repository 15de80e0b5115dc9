// Checks a Keras model topology (a TF.js model.json's modelTopology, a Keras .h5's model_config, a
// .keras config converted by keras3Config.ts) before tfjs-layers sees it:
//  - every inbound_nodes reference names a layer of the model and a call of it that happens.
//    tfjs-layers' Container.fromConfig re-queues a node whose inputs do not exist yet and loops
//    until the queue is empty, so a misspelled name or a cycle spins forever;
//  - declared input shapes are within the model-input limits (limits.ts): tfjs builds variables
//    from them, and every image is resized to them.
// Weights are checked as tfjs creates them (weightShapes.ts).
import { LensError } from '../../shared/errors';
import { checkModelInputSize, checkTensorSize } from '../limits';

type Json = unknown;
type JsonObject = Record<string, unknown>;

const MODEL_CLASSES = new Set(['Sequential', 'Model', 'Functional']);
/** Where a Keras layer config may declare its input shape (tfjs accepts both spellings). */
const INPUT_SHAPE_KEYS = ['batch_input_shape', 'batchInputShape', 'batch_shape', 'input_shape', 'inputShape'];

function isObject(value: Json): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks a topology as tfjs-layers' modelFromJSON would take it (a model_config wrapper included). */
export function checkKerasTopology(topology: Json, file: string): void {
  const model = isObject(topology) && isObject(topology.model_config) ? topology.model_config : topology;
  if (isObject(model)) {
    checkModel(model, file, '');
  }
}

function layerConfigs(model: JsonObject): Json[] {
  const config = model.config;
  // Old Keras wrote a Sequential's config as the list of its layers; tfjs still reads that.
  if (Array.isArray(config)) return config;
  return isObject(config) && Array.isArray(config.layers) ? config.layers : [];
}

function isNestedModel(layer: Json): layer is JsonObject {
  return isObject(layer) && typeof layer.class_name === 'string' && MODEL_CLASSES.has(layer.class_name) && (Array.isArray(layer.config) || (isObject(layer.config) && Array.isArray(layer.config.layers)));
}

function layerName(layer: JsonObject): string {
  const config = isObject(layer.config) ? layer.config : {};
  return String(layer.name ?? config.name ?? '');
}

function checkModel(model: JsonObject, file: string, prefix: string): void {
  const layers = layerConfigs(model);
  for (const layer of layers) {
    if (!isObject(layer)) continue; // tfjs refuses it with its own message
    checkDeclaredInputShape(layer, file, `${prefix}${layerName(layer)}`);
    if (isNestedModel(layer)) {
      checkModel(layer, file, `${prefix}${layerName(layer)}/`);
    }
  }
  if (model.class_name === 'Model' || model.class_name === 'Functional') {
    checkFunctionalWiring(layers.filter(isObject), isObject(model.config) ? model.config : {}, file, prefix);
  }
}

function checkDeclaredInputShape(layer: JsonObject, file: string, name: string): void {
  const config = isObject(layer.config) ? layer.config : {};
  const owner = `${file}: layer "${name}"`;
  for (const key of INPUT_SHAPE_KEYS) {
    const shape = config[key];
    if (!Array.isArray(shape)) continue;
    const dims = shape.filter((d) => d !== null);
    if (!dims.every((d) => Number.isInteger(d) && (d as number) > 0)) {
      const shown = shape.map((d) => (d === null ? 'null' : JSON.stringify(d))).join(', ');
      throw new LensError(`${owner} declares ${key} [${shown}], which is not a list of positive whole numbers (or null for any size).`, 'bad-input');
    }
    // A batch shape is [batch, height, width, channels]; an input shape leaves the batch out.
    const image = key.startsWith('batch') ? shape.slice(1) : shape;
    if (image.length === 3 && typeof image[0] === 'number' && typeof image[1] === 'number') {
      checkModelInputSize(image[0], image[1], owner);
    }
    checkTensorSize(dims as number[], `${owner}'s input`);
  }
}

/** One reference of an inbound node: [layer name, node index, tensor index, kwargs?]. */
interface Reference {
  layer: string;
  node: number;
}

/**
 * Replays tfjs-layers' Container.fromConfig on names and counts only: a node can be processed
 * once every layer it reads has been called often enough (node index < calls so far); processing
 * it is one more call of its layer. tfjs loops until every node is processed, so any node that
 * can never be processed would hang it. Which nodes can be is the same whatever the order, as
 * calls only increase.
 */
function checkFunctionalWiring(layers: JsonObject[], config: JsonObject, file: string, prefix: string): void {
  const calls = new Map<string, number>();
  for (const layer of layers) {
    const name = layerName(layer);
    if (calls.has(name)) {
      throw new LensError(`${file}: two layers are named "${prefix}${name}"; a Keras model's layer names are unique.`, 'bad-input');
    }
    // Made with one call already: an InputLayer, a nested functional model, a Sequential with an input shape.
    calls.set(name, hasCallOfItsOwn(layer) ? 1 : 0);
  }
  const pending: { layer: string; refs: Reference[] }[] = [];
  for (const layer of layers) {
    const name = layerName(layer);
    const nodes = layer.inbound_nodes ?? layer.inboundNodes ?? [];
    if (!Array.isArray(nodes)) {
      throw new LensError(`${file}: layer "${prefix}${name}" has "inbound_nodes" that is not a list.`, 'bad-input');
    }
    for (const node of nodes) {
      if (!Array.isArray(node)) continue; // tfjs refuses it ("Corrupted configuration")
      pending.push({ layer: name, refs: node.map((ref) => reference(ref, file, `layer "${prefix}${name}"`, calls, prefix)) });
    }
  }
  for (let progress = true; progress && pending.length > 0; ) {
    progress = false;
    for (let i = 0; i < pending.length; i++) {
      const { layer, refs } = pending[i];
      if (refs.every((ref) => (calls.get(ref.layer) as number) > ref.node)) {
        calls.set(layer, (calls.get(layer) as number) + 1);
        pending.splice(i--, 1);
        progress = true;
      }
    }
  }
  if (pending.length > 0) {
    const stuck = [...new Set(pending.map((p) => `"${prefix}${p.layer}"`))];
    const first = pending[0];
    const waitingFor = first.refs.find((ref) => (calls.get(ref.layer) as number) <= ref.node) as Reference;
    throw new LensError(
      `${file}: the layer graph cannot be built: ${stuck.slice(0, 4).join(', ')}${stuck.length > 4 ? ` and ${stuck.length - 4} more` : ''} ` +
        `wait for each other's outputs (a cycle) or for a call that never happens (layer "${prefix}${first.layer}" reads call ${waitingFor.node} of "${prefix}${waitingFor.layer}").`,
      'bad-input',
    );
  }
  for (const key of ['input_layers', 'output_layers']) {
    const refs = config[key];
    if (!Array.isArray(refs)) continue;
    // A one-input model may give the single [layer, node, tensor] rather than a list of them.
    const list = refs.length === 3 && typeof refs[0] === 'string' ? [refs] : refs;
    for (const ref of list) {
      const { layer, node } = reference(ref, file, `the model's ${key}`, calls, prefix);
      if ((calls.get(layer) as number) <= node) {
        throw new LensError(`${file}: the model's ${key} name call ${node} of layer "${prefix}${layer}", which is called ${calls.get(layer)} time(s).`, 'bad-input');
      }
    }
  }
}

function hasCallOfItsOwn(layer: JsonObject): boolean {
  if (layer.class_name === 'InputLayer' || layer.class_name === 'Model' || layer.class_name === 'Functional') return true;
  if (layer.class_name !== 'Sequential') return false;
  const first = layerConfigs(layer)[0];
  const config = isObject(first) && isObject(first.config) ? first.config : {};
  return (isObject(first) && first.class_name === 'InputLayer') || INPUT_SHAPE_KEYS.some((key) => Array.isArray(config[key]));
}

/** A reference [layer name, node index, tensor index, kwargs?] read by `reader` ("layer "conv2""), checked. */
function reference(ref: Json, file: string, reader: string, calls: Map<string, number>, prefix: string): Reference {
  if (!Array.isArray(ref) || typeof ref[0] !== 'string' || !Number.isInteger(ref[1]) || (ref[1] as number) < 0 || (ref.length > 2 && !Number.isInteger(ref[2]))) {
    throw new LensError(`${file}: ${reader} has the input reference ${JSON.stringify(ref)}; expected [layer name, node index, tensor index].`, 'bad-input');
  }
  if (!calls.has(ref[0])) {
    throw new LensError(`${file}: ${reader} reads layer "${prefix}${ref[0]}", which the model does not have.`, 'bad-input');
  }
  return { layer: ref[0], node: ref[1] as number };
}
