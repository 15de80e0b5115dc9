// Keras models from disk: `.h5` (Keras 2 legacy HDF5: the model_config attribute plus the
// model_weights groups) and `.keras` (Keras 3: a zip with config.json and model.weights.h5).
// Both are rebuilt as a tfjs LayersModel from the Keras JSON (tfjs-layers reads Keras 2 model
// JSON natively; Keras 3's is converted first, keras3Config.ts) and given the file's weights
// layer by layer. HDF5 is read by jsfive (pure JS), zip by fflate. Layouts: see
// scripts/fixtures/export_keras.py, which writes fixtures the same way Keras does.
import * as fs from 'fs';
import * as path from 'path';
import { unzipSync } from 'fflate';
import * as hdf5 from 'jsfive';
import type { ModelFormat, Preprocessing } from '../../protocol/types';
import { EngineError } from '../errors';
import { readModelCompanions, type ModelFiles } from '../modelLoader';
import * as tf from '../tf';
import { keras3ToKeras2 } from './keras3Config';

export interface KerasFiles extends ModelFiles {
  format: ModelFormat;
  formatDetail: string;
}

export async function loadKerasModelFromDisk(modelPath: string, format: 'keras' | 'keras-h5', overrides: Preprocessing = {}): Promise<KerasFiles> {
  const file = path.resolve(modelPath);
  const bytes = await readBytes(file);
  const { model, detail } = format === 'keras' ? await fromKeras3(bytes, file) : await fromKeras2H5(bytes, file);
  try {
    const companions = await readModelCompanions(file, model, overrides);
    return { model, modelPath: file, ...companions, format, formatDetail: detail };
  } catch (error) {
    model.dispose();
    throw error;
  }
}

async function readBytes(file: string): Promise<Uint8Array> {
  try {
    const buffer = await fs.promises.readFile(file);
    if (buffer.length === 0) {
      throw new EngineError(`${file}: the file is empty (0 bytes).`, 'bad-input');
    }
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (error) {
    if (error instanceof EngineError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (error as Error).message;
    throw new EngineError(`Model file not found: ${file} (${reason}).`, 'bad-input');
  }
}

function openHdf5(bytes: Uint8Array, file: string, what: string): hdf5.File {
  try {
    const copy = bytes.slice().buffer;
    const h5 = new hdf5.File(copy, path.basename(file));
    void h5.keys; // reading the root group's links fails early on a truncated file
    return h5;
  } catch (error) {
    throw new EngineError(
      `${file}: ${what} is not a readable HDF5 file (${error instanceof Error ? error.message : String(error)}); the file is truncated or not a Keras model.`,
      'bad-input',
    );
  }
}

function stringAttr(group: hdf5.Group, name: string): string | undefined {
  const value = group.attrs[name];
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  return undefined;
}

function stringListAttr(group: hdf5.Group, name: string): string[] {
  const value = group.attrs[name];
  const list = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  return list.map((v) => (v instanceof Uint8Array ? new TextDecoder().decode(v) : String(v)));
}

function readDataset(h5: hdf5.File, datasetPath: string, file: string): tf.Tensor {
  let dataset: hdf5.Group | hdf5.Dataset | null;
  let values: ArrayLike<number>;
  try {
    dataset = h5.get(datasetPath);
    if (!dataset || !('shape' in dataset)) {
      throw new EngineError(`${file}: no weight dataset "${datasetPath}" (the file does not follow the Keras layout).`, 'bad-input');
    }
    values = dataset.value as ArrayLike<number>;
  } catch (error) {
    if (error instanceof EngineError) throw error;
    throw new EngineError(`${file}: weight "${datasetPath}" cannot be read (${error instanceof Error ? error.message : String(error)}); the file is truncated or damaged.`, 'bad-input');
  }
  const dtype = String(dataset.dtype);
  if (!/^[<>]f[48]$/.test(dtype)) {
    throw new EngineError(`${file}: weight "${datasetPath}" has dtype ${dtype}; CNN Lens reads float32/float64 Keras weights.`, 'unsupported');
  }
  return tf.tensor(Float32Array.from(values), dataset.shape);
}

/** Builds the LayersModel, naming unsupported layers by name and type. */
async function buildFromKerasJson(modelConfig: Record<string, unknown>, file: string): Promise<tf.LayersModel> {
  const variablesBefore = new Set(Object.keys(tf.engine().registeredVariables));
  try {
    return await tf.models.modelFromJSON({ modelTopology: modelConfig } as unknown as tf.io.ModelJSON);
  } catch (error) {
    // Layers built before the failing one already hold initialised variables: free them.
    for (const [name, variable] of Object.entries(tf.engine().registeredVariables)) {
      if (!variablesBefore.has(name)) variable.dispose();
    }
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /Unknown (?:layer|initializer|regularizer|constraint|activation)[^:]*: (\w+)/.exec(message);
    if (unknown) {
      const users = layersOfClass(modelConfig, unknown[1]);
      const named = users.length ? ` (layer${users.length > 1 ? 's' : ''} ${users.map((n) => `"${n}"`).join(', ')})` : '';
      throw new EngineError(
        `${file}: "${unknown[1]}"${named} is not a layer type TF.js provides, so CNN Lens cannot rebuild this Keras model; custom layers and Lambda layers are not supported.`,
        'unsupported',
      );
    }
    throw new EngineError(`${file}: TF.js cannot rebuild this Keras model: ${message}`, 'unsupported');
  }
}

function layersOfClass(config: unknown, className: string): string[] {
  const found: string[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(visit);
    } else if (value && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      if (record.class_name === className) {
        const name = (record.config as Record<string, unknown> | undefined)?.name ?? record.name;
        if (typeof name === 'string') found.push(name);
      }
      Object.values(record).forEach(visit);
    }
  };
  visit(config);
  return found;
}

/** Every layer with weights, nested models' layers included (Keras saves them by their own names). */
function layersWithWeights(model: tf.LayersModel): tf.layers.Layer[] {
  const out: tf.layers.Layer[] = [];
  const visit = (layers: tf.layers.Layer[]): void => {
    for (const layer of layers) {
      if (layer instanceof tf.LayersModel) {
        visit(layer.layers);
      } else if (layer.weights.length > 0) {
        out.push(layer);
      }
    }
  };
  visit(model.layers);
  return out;
}

function setLayerWeights(layer: tf.layers.Layer, values: tf.Tensor[], file: string, where: string): void {
  try {
    if (values.length !== layer.weights.length) {
      throw new Error(`${values.length} arrays for ${layer.weights.length} weights (${layer.weights.map((w) => w.originalName).join(', ')})`);
    }
    layer.setWeights(values);
  } catch (error) {
    throw new EngineError(`${file}: layer "${layer.name}" cannot take the weights in ${where}: ${error instanceof Error ? error.message : String(error)}.`, 'bad-input');
  } finally {
    tf.dispose(values);
  }
}

async function withModel(build: Promise<tf.LayersModel>, fill: (model: tf.LayersModel) => void): Promise<tf.LayersModel> {
  const model = await build;
  try {
    fill(model);
    return model;
  } catch (error) {
    model.dispose();
    throw error;
  }
}

async function fromKeras2H5(bytes: Uint8Array, file: string): Promise<{ model: tf.LayersModel; detail: string }> {
  const h5 = openHdf5(bytes, file, 'the .h5 file');
  const configText = stringAttr(h5, 'model_config');
  if (!configText) {
    const weightsOnly = h5.keys.includes('model_weights') || stringListAttr(h5, 'layer_names').length > 0;
    throw new EngineError(
      weightsOnly
        ? `${file} holds weights only (model.save_weights); CNN Lens needs the whole model: save it with model.save("model.h5") or model.save("model.keras").`
        : `${file}: no "model_config" attribute, so this HDF5 file is not a Keras model saved with model.save("model.h5").`,
      'bad-input',
    );
  }
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(configText) as Record<string, unknown>;
  } catch (error) {
    throw new EngineError(`${file}: the model_config attribute is not valid JSON (${(error as Error).message}).`, 'bad-input');
  }
  const weightsRoot = h5.keys.includes('model_weights') ? 'model_weights' : '';
  const root = (weightsRoot ? h5.get(weightsRoot) : h5) as hdf5.Group;
  const model = await withModel(buildFromKerasJson(config, file), (m) => {
    for (const layer of layersWithWeights(m)) {
      const group = root.get(layer.name) as hdf5.Group | null;
      if (!group) {
        throw new EngineError(`${file}: no weights for layer "${layer.name}" (group ${weightsRoot}/${layer.name} is missing).`, 'bad-input');
      }
      const names = stringListAttr(group, 'weight_names');
      const values = names.map((name) => readDataset(h5, `${weightsRoot}/${layer.name}/${name}`, file));
      setLayerWeights(layer, values, file, `${weightsRoot}/${layer.name}`);
    }
  });
  const version = stringAttr(h5, 'keras_version');
  return { model, detail: `Keras ${version ?? '2'} HDF5 (model_config + model_weights)` };
}

async function fromKeras3(bytes: Uint8Array, file: string): Promise<{ model: tf.LayersModel; detail: string }> {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (error) {
    throw new EngineError(
      `${file}: not a readable .keras archive (${error instanceof Error ? error.message : String(error)}); the zip is truncated or not a Keras 3 model.`,
      'bad-input',
    );
  }
  const configBytes = entries['config.json'];
  const weightBytes = entries['model.weights.h5'];
  if (!configBytes || !weightBytes) {
    const missing = [configBytes ? '' : 'config.json', weightBytes ? '' : 'model.weights.h5'].filter(Boolean).join(' and ');
    throw new EngineError(`${file}: the .keras archive has no ${missing}; save the model with model.save("model.keras") (Keras 3).`, 'bad-input');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(configBytes));
  } catch (error) {
    throw new EngineError(`${file}: config.json is not valid JSON (${(error as Error).message}).`, 'bad-input');
  }
  const config = keras3ToKeras2(raw as never, file);
  const h5 = openHdf5(weightBytes, file, 'model.weights.h5 inside it');
  const model = await withModel(buildFromKerasJson(config, file), (m) => {
    for (const layer of layersWithWeights(m)) {
      const where = `layers/${layer.name}/vars`;
      const group = h5.get(where) as hdf5.Group | null;
      if (!group) {
        throw new EngineError(`${file}: model.weights.h5 has no weights for layer "${layer.name}" (no group ${where}).`, 'bad-input');
      }
      const values = layer.weights.map((_, i) => readDataset(h5, `${where}/${i}`, file));
      setLayerWeights(layer, values, file, where);
    }
  });
  const metadata = entries['metadata.json'] ? (JSON.parse(new TextDecoder().decode(entries['metadata.json'])) as { keras_version?: string }) : {};
  return { model, detail: `Keras ${metadata.keras_version ?? '3'} (config.json + model.weights.h5)` };
}
