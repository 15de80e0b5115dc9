// Keras models from disk: `.h5` (Keras 2 legacy HDF5: the model_config attribute plus the
// model_weights groups) and `.keras` (Keras 3: a zip with config.json and model.weights.h5).
// Both are rebuilt as a tfjs LayersModel from the Keras JSON (tfjs-layers reads Keras 2 model
// JSON natively; Keras 3's is converted first, keras3Config.ts) and given the file's weights
// layer by layer. HDF5 is read by jsfive (pure JS), zip by fflate. Layouts: see
// scripts/fixtures/export_keras.py, which writes fixtures the same way Keras does.
//
// Files are untrusted: the config is checked before tfjs builds it (kerasTopology.ts), every
// variable tfjs creates must match a dataset the file holds (weightShapes.ts), each dataset is
// checked before it is read (hdf5Weights.ts), and a .keras archive inflates only the entries used,
// within a budget (zipEntries.ts).
import * as fs from 'fs';
import * as path from 'path';
import type * as hdf5 from 'jsfive';
import type { ModelFormat, Preprocessing } from '../../../shared/types';
import { LensError } from '../../../shared/errors';
import { checkKerasTopology } from '../kerasTopology';
import { describeBytes, MAX_WEIGHT_BYTES, namingFile } from '../../limits';
import { readModelCompanions, type ModelFiles } from '../modelLoader';
import * as tf from '../../tf';
import { buildWithDeclaredWeights, type DeclaredWeights } from '../weightShapes';
import { datasetShape, Hdf5WeightReader, openHdf5 } from './hdf5Weights';
import { keras3ToKeras2 } from './keras3Config';
import { listZipEntries, readZipEntry, ZipError, type ZipEntry } from './zipEntries';

export interface KerasFiles extends ModelFiles {
  format: ModelFormat;
  formatDetail: string;
}

export async function loadKerasModelFromDisk(modelPath: string, format: 'keras' | 'keras-h5', overrides: Preprocessing = {}): Promise<KerasFiles> {
  const file = path.resolve(modelPath);
  const bytes = await readBytes(file);
  let built: { model: tf.LayersModel; detail: string };
  try {
    built = format === 'keras' ? await fromKeras3(bytes, file) : await fromKeras2H5(bytes, file);
  } catch (error) {
    // jsfive and tfjs throw strings and raw errors; every message names the file.
    throw namingFile(error, file, 'cannot be read as a Keras model');
  }
  const { model, detail } = built;
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
      throw new LensError(`${file}: the file is empty (0 bytes).`, 'bad-input');
    }
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (error) {
    if (error instanceof LensError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (error as Error).message;
    throw new LensError(`Model file not found: ${file} (${reason}).`, 'bad-input');
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

/**
 * Builds the LayersModel, naming unsupported layers by name and type. The config is checked first
 * and every variable tfjs creates against the weights the file declares.
 */
async function buildFromKerasJson(modelConfig: Record<string, unknown>, file: string, declared: DeclaredWeights): Promise<tf.LayersModel> {
  checkKerasTopology(modelConfig, file);
  const variablesBefore = new Set(Object.keys(tf.engine().registeredVariables));
  try {
    return await buildWithDeclaredWeights(declared, () => tf.models.modelFromJSON({ modelTopology: modelConfig } as unknown as tf.io.ModelJSON));
  } catch (error) {
    // Layers built before the failing one already hold initialised variables: free them.
    for (const [name, variable] of Object.entries(tf.engine().registeredVariables)) {
      if (!variablesBefore.has(name)) variable.dispose();
    }
    if (error instanceof LensError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /Unknown (?:layer|initializer|regularizer|constraint|activation)[^:]*: (\w+)/.exec(message);
    if (unknown) {
      const users = layersOfClass(modelConfig, unknown[1]);
      const named = users.length ? ` (layer${users.length > 1 ? 's' : ''} ${users.map((n) => `"${n}"`).join(', ')})` : '';
      throw new LensError(
        `${file}: "${unknown[1]}"${named} is not a layer type TF.js provides, so CNN Lens cannot rebuild this Keras model; custom layers and Lambda layers are not supported.`,
        'unsupported',
      );
    }
    throw new LensError(`${file}: TF.js cannot rebuild this Keras model: ${message}`, 'unsupported');
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

/** Reads a layer's arrays (after checking their count) and sets them, leaving no tensors behind. */
function setLayerWeights(layer: tf.layers.Layer, paths: string[], read: (path: string, index: number) => tf.Tensor, file: string, where: string): void {
  const values: tf.Tensor[] = [];
  try {
    if (paths.length !== layer.weights.length) {
      throw new LensError(
        `${file}: layer "${layer.name}" cannot take the weights in ${where}: ${paths.length} arrays for ${layer.weights.length} weights (${layer.weights.map((w) => w.originalName).join(', ')}).`,
        'bad-input',
      );
    }
    paths.forEach((datasetPath, i) => values.push(read(datasetPath, i)));
    layer.setWeights(values);
  } catch (error) {
    if (error instanceof LensError) throw error;
    throw new LensError(`${file}: layer "${layer.name}" cannot take the weights in ${where}: ${error instanceof Error ? error.message : String(error)}.`, 'bad-input');
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
    throw new LensError(
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
    throw new LensError(`${file}: the model_config attribute is not valid JSON (${(error as Error).message}).`, 'bad-input');
  }
  const weightsRoot = h5.keys.includes('model_weights') ? 'model_weights' : '';
  const root = (weightsRoot ? h5.get(weightsRoot) : h5) as hdf5.Group;
  const groupOf = (layer: string): hdf5.Group | null => {
    let group: hdf5.Group | hdf5.Dataset | null;
    try {
      group = root.get(layer);
    } catch (error) {
      throw new LensError(`${file}: the weights of layer "${layer}" cannot be read (${error instanceof Error ? error.message : String(error)}); the file is truncated or damaged.`, 'bad-input');
    }
    return group && 'keys' in group ? group : null;
  };
  // Keras 2 names each array "<layer>/<weight>:0" (a nested model's with its path in front).
  const arraysOf = (layer: string, group: hdf5.Group) =>
    stringListAttr(group, 'weight_names').map((name) => ({ name: name.replace(/:\d+$/, ''), path: `${weightsRoot}/${layer}/${name}` }));
  const declared: DeclaredWeights = {
    file,
    source: 'the file',
    totalValues: datasetValues(root),
    shapesFor(layer, weight) {
      let group: hdf5.Group | null;
      try {
        group = groupOf(layer);
      } catch {
        return undefined; // reading the weights after the build says what is wrong
      }
      if (!group) return undefined;
      const arrays = arraysOf(layer, group).map((a) => ({ ...a, shape: datasetShape(h5, a.path) }));
      if (arrays.some((a) => !a.shape)) return undefined; // unreadable: reading the weights says what is wrong
      const named = arrays.filter((a) => a.name === `${layer}/${weight}` || a.name.endsWith(`/${layer}/${weight}`));
      const shapes = (list: typeof arrays) => list.map((a) => a.shape as number[]);
      return named.length > 0 ? { key: `${layer}/${weight}`, shapes: shapes(named) } : { key: layer, shapes: shapes(arrays) };
    },
  };
  const reader = new Hdf5WeightReader(h5, bytes.length, file);
  const model = await withModel(buildFromKerasJson(config, file, declared), (m) => {
    for (const layer of layersWithWeights(m)) {
      const group = groupOf(layer.name);
      if (!group) {
        throw new LensError(`${file}: no weights for layer "${layer.name}" (group ${weightsRoot}/${layer.name} is missing).`, 'bad-input');
      }
      const paths = arraysOf(layer.name, group).map((a) => a.path);
      setLayerWeights(layer, paths, (datasetPath, i) => reader.read(datasetPath, layer.weights[i].shape as number[]), file, `${weightsRoot}/${layer.name}`);
    }
  });
  const version = stringAttr(h5, 'keras_version');
  return { model, detail: `Keras ${version ?? '2'} HDF5 (model_config + model_weights)` };
}

/** Entries a .keras archive needs; any others (assets, a zip bomb) are never inflated. */
const KERAS_ENTRIES = ['config.json', 'model.weights.h5', 'metadata.json'];
/** config.json and metadata.json are text describing the model: generous for any real one. */
const MAX_KERAS_JSON_BYTES = 64 * 1024 * 1024;

/** The archive's entries CNN Lens reads, within MAX_WEIGHT_BYTES (weights) and MAX_KERAS_JSON_BYTES (JSON). */
function readKerasArchive(bytes: Uint8Array, file: string): Map<string, Uint8Array> {
  const unreadable = (reason: string): LensError =>
    new LensError(`${file}: not a readable .keras archive (${reason}); the zip is truncated or not a Keras 3 model.`, 'bad-input');
  let entries: ZipEntry[];
  try {
    entries = listZipEntries(bytes);
  } catch (error) {
    throw unreadable(error instanceof Error ? error.message : String(error));
  }
  const out = new Map<string, Uint8Array>();
  for (const entry of entries.filter((e) => KERAS_ENTRIES.includes(e.name))) {
    const limit = entry.name.endsWith('.h5') ? MAX_WEIGHT_BYTES : MAX_KERAS_JSON_BYTES;
    if (entry.size > limit) {
      throw new LensError(
        `${file}: the archive's ${entry.name} declares ${describeBytes(entry.size)}, more than the ${describeBytes(limit)} CNN Lens reads from it.`,
        'bad-input',
      );
    }
    try {
      out.set(entry.name, readZipEntry(bytes, entry));
    } catch (error) {
      if (!(error instanceof ZipError)) throw error;
      throw unreadable(error.message);
    }
  }
  return out;
}

async function fromKeras3(bytes: Uint8Array, file: string): Promise<{ model: tf.LayersModel; detail: string }> {
  const entries = readKerasArchive(bytes, file);
  const configBytes = entries.get('config.json');
  const weightBytes = entries.get('model.weights.h5');
  if (!configBytes || !weightBytes) {
    const missing = [configBytes ? '' : 'config.json', weightBytes ? '' : 'model.weights.h5'].filter(Boolean).join(' and ');
    throw new LensError(`${file}: the .keras archive has no ${missing}; save the model with model.save("model.keras") (Keras 3).`, 'bad-input');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(configBytes));
  } catch (error) {
    throw new LensError(`${file}: config.json is not valid JSON (${(error as Error).message}).`, 'bad-input');
  }
  const config = keras3ToKeras2(raw as never, file);
  const h5 = openHdf5(weightBytes, file, 'model.weights.h5 inside it');
  // Keras 3 stores a layer's arrays as layers/<layer>/vars/0, 1, ... in the order of layer.weights.
  const varsOf = (layer: string): string[] | undefined => {
    let group: hdf5.Group | hdf5.Dataset | null;
    try {
      group = h5.get(`layers/${layer}/vars`);
    } catch (error) {
      throw new LensError(`${file}: the weights of layer "${layer}" in model.weights.h5 cannot be read (${error instanceof Error ? error.message : String(error)}); the file is truncated or damaged.`, 'bad-input');
    }
    return group && 'keys' in group ? group.keys.map((key) => `layers/${layer}/vars/${key}`) : undefined;
  };
  const declared: DeclaredWeights = {
    file,
    source: 'model.weights.h5',
    totalValues: datasetValues(h5),
    shapesFor(layer) {
      let shapes: (number[] | undefined)[] | undefined;
      try {
        shapes = varsOf(layer)?.map((p) => datasetShape(h5, p));
      } catch {
        return undefined; // reading the weights after the build says what is wrong
      }
      // Unreadable datasets: reading the weights says what is wrong.
      return shapes && shapes.every((s) => s !== undefined) ? { key: layer, shapes: shapes as number[][] } : undefined;
    },
  };
  const reader = new Hdf5WeightReader(h5, weightBytes.length, file);
  const model = await withModel(buildFromKerasJson(config, file, declared), (m) => {
    for (const layer of layersWithWeights(m)) {
      const where = `layers/${layer.name}/vars`;
      if (!varsOf(layer.name)) {
        throw new LensError(`${file}: model.weights.h5 has no weights for layer "${layer.name}" (no group ${where}).`, 'bad-input');
      }
      const paths = layer.weights.map((_, i) => `${where}/${i}`);
      setLayerWeights(layer, paths, (datasetPath, i) => reader.read(datasetPath, layer.weights[i].shape as number[]), file, where);
    }
  });
  const metadataBytes = entries.get('metadata.json');
  let version: string | undefined;
  try {
    version = metadataBytes ? (JSON.parse(new TextDecoder().decode(metadataBytes)) as { keras_version?: string }).keras_version : undefined;
  } catch {
    version = undefined; // metadata is only shown, never needed
  }
  return { model, detail: `Keras ${version ?? '3'} (config.json + model.weights.h5)` };
}

/** Values in every dataset under a group (a weights file holds nothing else), shapes only. */
function datasetValues(group: hdf5.Group, depth = 0): number {
  if (depth > 32) return 0;
  let total = 0;
  for (const key of group.keys) {
    let child: hdf5.Group | hdf5.Dataset | null = null;
    try {
      child = group.get(key);
    } catch {
      continue; // unreadable: reading it as a weight says so
    }
    if (child && 'shape' in child) {
      total += [...child.shape].reduce((a, b) => a * b, 1);
    } else if (child && 'keys' in child) {
      total += datasetValues(child, depth + 1);
    }
  }
  return total;
}
