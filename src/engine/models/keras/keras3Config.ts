// Keras 3's config.json (serialization_lib.serialize_keras_object) rewritten as the Keras 2 model
// JSON that tfjs-layers deserialises (the same JSON a Keras 2 .h5 holds as model_config).
// Differences handled, as Keras 3.x writes them:
//  - every object is {"module", "class_name", "config", "registered_name", "build_config"...}:
//    only class_name and config are kept;
//  - dtype is a DTypePolicy object: its name ("float32"); mixed precision is refused;
//  - InputLayer has batch_shape (Keras 2: batch_input_shape); a Sequential lists it first, tfjs
//    wants the shape on the first real layer instead;
//  - a Functional layer's inbound_nodes are [{"args": [...], "kwargs": {...}}] where args hold
//    {"class_name": "__keras_tensor__", "config": {"keras_history": [layer, node, tensor]}};
//    Keras 2 writes [[[layer, node, tensor, kwargs], ...]];
//  - input_layers / output_layers of a one-input model may be a single [layer, node, tensor].
import { LensError } from '../../../shared/errors';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Converts a Keras 3 model config (the whole config.json) to {class_name, config} Keras 2 style. */
export function keras3ToKeras2(config: Json, file: string): JsonObject {
  if (!isObject(config) || typeof config.class_name !== 'string' || !isObject(config.config)) {
    throw new LensError(`${file}: config.json is not a Keras model config (no "class_name" and "config").`, 'bad-input');
  }
  return convertModel(config, file);
}

function convertModel(model: JsonObject, file: string): JsonObject {
  const className = model.class_name as string;
  const config = model.config as JsonObject;
  const layers = Array.isArray(config.layers) ? config.layers : [];
  if (className === 'Sequential') {
    const converted = layers.filter(isObject).map((layer) => convertLayer(layer, file, false));
    const first = converted[0];
    if (first && first.class_name === 'InputLayer') {
      const shape = (first.config as JsonObject).batch_input_shape;
      converted.shift();
      if (converted[0] && shape !== undefined) {
        (converted[0].config as JsonObject).batch_input_shape = shape;
      }
    } else if (converted[0] && Array.isArray(config.build_input_shape)) {
      (converted[0].config as JsonObject).batch_input_shape = config.build_input_shape;
    }
    return { class_name: 'Sequential', config: { name: config.name ?? 'sequential', layers: converted } };
  }
  if (className === 'Functional' || className === 'Model') {
    return {
      class_name: 'Model',
      config: {
        name: config.name ?? 'model',
        layers: layers.filter(isObject).map((layer) => convertLayer(layer, file, true)),
        input_layers: tensorRefs(config.input_layers),
        output_layers: tensorRefs(config.output_layers),
      },
    };
  }
  throw new LensError(`${file}: the model is a "${className}"; CNN Lens reads Sequential and Functional Keras models (a subclassed model has no config to rebuild).`, 'unsupported');
}

function tensorRefs(value: Json | undefined): Json {
  if (Array.isArray(value) && value.length === 3 && typeof value[0] === 'string') {
    return [value];
  }
  return value ?? [];
}

function convertLayer(layer: JsonObject, file: string, functional: boolean): JsonObject {
  const className = layer.class_name as string;
  if ((className === 'Sequential' || className === 'Functional' || className === 'Model') && isObject(layer.config) && Array.isArray((layer.config as JsonObject).layers)) {
    const nested = convertModel(layer, file);
    return functional ? { ...nested, name: layer.name ?? (layer.config as JsonObject).name, inbound_nodes: convertInbound(layer.inbound_nodes) } : nested;
  }
  const config = convertValue(layer.config ?? {}, file) as JsonObject;
  if (className === 'InputLayer' && config.batch_shape !== undefined) {
    config.batch_input_shape = config.batch_shape;
    delete config.batch_shape;
  }
  for (const key of ['sparse', 'ragged', 'optional']) {
    if (className === 'InputLayer') delete config[key];
  }
  const out: JsonObject = { class_name: className, config };
  if (functional) {
    out.name = (layer.name ?? config.name) as Json;
    out.inbound_nodes = convertInbound(layer.inbound_nodes);
  }
  return out;
}

/** Nested objects: initializers, regularizers, constraints, dtype policies. */
function convertValue(value: Json, file: string): Json {
  if (Array.isArray(value)) {
    return value.map((v) => convertValue(v, file));
  }
  if (!isObject(value)) {
    return value;
  }
  if (value.class_name === 'DTypePolicy' || value.class_name === 'FloatDTypePolicy') {
    const name = isObject(value.config) ? value.config.name : undefined;
    if (name !== 'float32') {
      throw new LensError(`${file}: a layer uses the dtype policy "${String(name)}"; CNN Lens runs float32 models (save the model with float32 weights).`, 'unsupported');
    }
    return 'float32';
  }
  if (typeof value.class_name === 'string' && 'config' in value) {
    return { class_name: value.class_name, config: convertValue(value.config ?? {}, file) };
  }
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = convertValue(v, file);
  }
  return out;
}

function convertInbound(nodes: Json | undefined): Json {
  if (!Array.isArray(nodes)) {
    return [];
  }
  return nodes.map((node) => {
    if (!isObject(node)) {
      return node; // already Keras 2 style
    }
    const refs: Json[] = [];
    const collect = (value: Json | undefined): void => {
      if (Array.isArray(value)) {
        value.forEach(collect);
      } else if (isObject(value) && value.class_name === '__keras_tensor__' && isObject(value.config)) {
        const history = value.config.keras_history;
        if (Array.isArray(history)) {
          refs.push([history[0], history[1], history[2], {}]);
        }
      }
    };
    collect(node.args);
    return refs;
  });
}
