// Loads a TF.js LayersModel (model.json + weight shards) from disk, with the files that travel with
// it: labels and the cnn-lens.json sidecar (mean/std, labels file name).
//
// Everything is read with fs through a custom tf.io.IOHandler: no fetch, no file:// URLs, no network.
// model.json is untrusted input (it may come from any repository the user opens), so every path it
// names must stay inside the model's folder; weights are size-checked before tfjs sees them, and
// each failure is an LensError naming the file and what to fix.
import * as fs from 'fs';
import * as path from 'path';
import { OUTPUT_KINDS, type OutputKind, type Preprocessing } from '../../shared/types';
import { LensError } from '../../shared/errors';
import { checkFinite, checkFiniteFloat16 } from './finiteWeights';
import { checkPreprocessing, describeValues } from '../images/image';
import { checkKerasTopology } from './kerasTopology';
import { describeBytes, elementCount, MAX_WEIGHT_BYTES } from '../limits';
import * as tf from '../tf';
import { buildWithDeclaredWeights, type DeclaredWeights } from './weightShapes';

export interface ModelFiles {
  model: tf.LayersModel;
  /** Absolute path of model.json. */
  modelPath: string;
  /** Labels as read (their count is checked against the classes by the caller), or null. */
  labels: string[] | null;
  /** Absolute path of the file the labels came from, or null. */
  labelsSource: string | null;
  /** mean/std in effect: overrides win over the sidecar. */
  preprocessing: Preprocessing;
  /** Absolute path of the cnn-lens.json that was read, or null. */
  sidecar: string | null;
  /** The sidecar's "output" settings (kind, labels), with their labels files read; checked against the outputs by outputs.ts. */
  outputSettings: OutputSetting[];
  /** The outputs' names as the format states them (ONNX graph outputs, a graph model's signature), when they differ from the layers'. */
  outputNames?: string[];
  /** The outputs' shapes as the format states them (ONNX: NCHW, symbolic batch), for messages. */
  outputShapes?: (number | string | null)[][];
}

/** One entry of cnn-lens.json's "output": which output (name or index; absent: the only one), its kind, its labels. */
export interface OutputSetting {
  output?: string | number;
  kind?: OutputKind;
  labels?: { labels: string[]; source: string };
  /** The cnn-lens.json it comes from, for messages. */
  sidecar: string;
}

export const MODEL_FILE = 'model.json';
export const SIDECAR_FILE = 'cnn-lens.json';
/** Label files looked for beside model.json, in this order, when the sidecar names none. */
export const LABEL_FILES = ['labels.txt', 'labels.json', 'metadata.json'] as const;

/** Keys of cnn-lens.json: preprocessing and labels for every format; how to build a PyTorch model. */
const SIDECAR_KEYS = ['mean', 'std', 'labels', 'class', 'factory', 'args', 'kwargs', 'checkpoint', 'input', 'output'];
/** Keys of one "output" entry of cnn-lens.json. */
const OUTPUT_SETTING_KEYS = ['name', 'kind', 'labels'];

/** Bytes per stored value, by manifest dtype (or quantization dtype when quantized). */
const BYTES_PER_VALUE: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/**
 * Loads model.json (or a folder containing it) with its weights, labels and sidecar.
 * A backend must be initialised (initBackend) before calling this.
 */
export async function loadLayersModelFromDisk(modelPath: string, overrides: Preprocessing = {}): Promise<ModelFiles> {
  const modelJsonPath = await locateModelJson(modelPath);
  const folder = path.dirname(modelJsonPath);
  const realFolder = await fs.promises.realpath(folder);
  const modelJson = await readModelJson(modelJsonPath);
  const weights = await readWeights(modelJson, modelJsonPath, folder, realFolder);
  const sidecar = await readSidecar(folder, realFolder);
  const labels = await readLabels(folder, realFolder, sidecar);
  const outputSettings = await readOutputSettings(folder, realFolder, sidecar);
  const model = await buildModel(modelJson, weights, modelJsonPath);
  try {
    const channels = inputChannels(model);
    if (sidecar) {
      checkPreprocessing(sidecar.preprocessing, channels, sidecar.path);
    }
    checkPreprocessing(overrides, channels, 'mean/std settings (--mean/--std)');
    return {
      model,
      modelPath: modelJsonPath,
      labels: labels?.labels ?? null,
      labelsSource: labels?.source ?? null,
      preprocessing: mergePreprocessing(sidecar?.preprocessing ?? {}, overrides),
      sidecar: sidecar?.path ?? null,
      outputSettings,
    };
  } catch (error) {
    model.dispose();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// model.json

interface ModelJson {
  modelTopology: Record<string, unknown>;
  weightsManifest?: unknown;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  userDefinedMetadata?: Record<string, object>;
}

export async function locateModelJson(modelPath: string): Promise<string> {
  const absolute = path.resolve(modelPath);
  const stat = await statOrExplain(absolute, 'Model file');
  if (stat.isDirectory()) {
    const inside = path.join(absolute, MODEL_FILE);
    if (!fs.existsSync(inside)) {
      throw new LensError(`${absolute} is a folder without ${MODEL_FILE}; give the path of a TF.js model.json.`, 'bad-input');
    }
    return inside;
  }
  return absolute;
}

async function readModelJson(file: string): Promise<ModelJson> {
  const text = await readTextFile(file, 'Model file');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new LensError(`${file}: not valid JSON (${errorMessage(error)}); expected a TF.js LayersModel model.json.`, 'bad-input');
  }
  if (!isRecord(parsed)) {
    throw new LensError(`${file}: not a TF.js model.json (expected a JSON object with "modelTopology" and "weightsManifest").`, 'bad-input');
  }
  const topology = parsed.modelTopology;
  if (parsed.format === 'graph-model' || (isRecord(topology) && 'node' in topology)) {
    throw new LensError(
      `${file} is a TF.js graph model; CNN Lens reads LayersModels (Keras-style) for now, graph models come later. ` +
        'Export the Keras model with tensorflowjs_converter --output_format=tfjs_layers_model.',
      'unsupported',
    );
  }
  if (!isRecord(topology)) {
    throw new LensError(`${file}: has no "modelTopology" object, so it is not a TF.js LayersModel model.json.`, 'bad-input');
  }
  if (typeof topology.class_name !== 'string' && !isRecord(topology.model_config)) {
    throw new LensError(`${file}: "modelTopology" is not a Keras model description (no class_name or model_config).`, 'bad-input');
  }
  if (parsed.format !== undefined && parsed.format !== 'layers-model') {
    throw new LensError(`${file}: unknown model format "${String(parsed.format)}"; CNN Lens reads "layers-model".`, 'unsupported');
  }
  // Before tfjs sees it: a dangling or cyclic reference would hang tfjs, a huge input allocate.
  checkKerasTopology(topology, file);
  return parsed as unknown as ModelJson;
}

// ---------------------------------------------------------------------------------------------
// Weights

/**
 * The weights of any TF.js model.json (a graph model's too) by name, read from shards inside the
 * model's folder and size-checked exactly as a LayersModel's. The caller disposes the tensors.
 */
export async function readModelJsonWeights(modelJsonPath: string, weightsManifest: unknown): Promise<tf.NamedTensorMap> {
  const folder = path.dirname(modelJsonPath);
  const realFolder = await fs.promises.realpath(folder);
  // A graph's constants are not all weights: a one-value ±Infinity is a bound or a padding value.
  const weights = await readWeights({ modelTopology: {}, weightsManifest }, modelJsonPath, folder, realFolder, { infiniteScalars: true });
  return weights ? tf.io.decodeWeights(weights.data, weights.specs) : {};
}


interface LoadedWeights {
  specs: tf.io.WeightsManifestEntry[];
  data: ArrayBuffer;
}

interface GroupSpec {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

/**
 * Validates the manifest, checks the shards' sizes on disk against it (before reading anything),
 * reads every shard (inside the folder only) and refuses NaN or infinite weights.
 */
async function readWeights(
  modelJson: ModelJson,
  file: string,
  folder: string,
  realFolder: string,
  allow: { infiniteScalars?: boolean } = {},
): Promise<LoadedWeights | null> {
  if (modelJson.weightsManifest === undefined) {
    return null;
  }
  const groups = parseManifest(modelJson.weightsManifest, file);
  const groupSizes = groups.map((group) => group.weights.map((spec) => weightByteLength(spec, file)));
  const declaredBytes = groupSizes.flat().reduce((a, b) => a + b, 0);
  if (!(declaredBytes <= MAX_WEIGHT_BYTES)) {
    throw new LensError(
      `${file}: the weights manifest declares ${describeBytes(declaredBytes)} of weights, more than the ${describeBytes(MAX_WEIGHT_BYTES)} CNN Lens loads.`,
      'bad-input',
    );
  }
  const groupShards: { name: string; real: string; size: number }[][] = [];
  for (const [index, group] of groups.entries()) {
    const shards: { name: string; real: string; size: number }[] = [];
    for (const shardPath of group.paths) {
      const real = await resolveInsideFolder(shardPath, folder, realFolder, `${file}: weightsManifest path`, 'weight shard');
      shards.push({ name: shardPath, real, size: (await fs.promises.stat(real)).size });
    }
    const expected = groupSizes[index].reduce((a, b) => a + b, 0);
    if (shards.reduce((sum, shard) => sum + shard.size, 0) !== expected) {
      throw new LensError(describeSizeMismatch(file, index, shards, expected, folder), 'bad-input');
    }
    groupShards.push(shards);
  }
  const modelSpecs: tf.io.WeightsManifestEntry[] = [];
  const modelBytes: Uint8Array[] = [];
  for (const [index, group] of groups.entries()) {
    const shards = groupShards[index];
    const groupBytes = concatBytes(await Promise.all(shards.map((shard) => fs.promises.readFile(shard.real))));
    const sizes = groupSizes[index];
    if (groupBytes.length !== sizes.reduce((a, b) => a + b, 0)) {
      // The files changed between the size check and the read (a save in progress).
      throw new LensError(describeSizeMismatch(file, index, shards, sizes.reduce((a, b) => a + b, 0), folder), 'bad-input');
    }
    // Keep only model weights: optimizer state (saved with includeOptimizer) is useless for inference.
    let offset = 0;
    group.weights.forEach((spec, i) => {
      if (spec.group !== 'optimizer') {
        const bytes = groupBytes.subarray(offset, offset + sizes[i]);
        if (!(allow.infiniteScalars && isInfiniteScalar(spec, bytes))) {
          checkFiniteWeight(spec, bytes, file);
        }
        modelSpecs.push(spec);
        modelBytes.push(bytes);
      }
      offset += sizes[i];
    });
  }
  const data = concatBytes(modelBytes);
  // An exact ArrayBuffer: tfjs reads weightData from offset 0 to its end.
  return { specs: modelSpecs, data: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer };
}

/** Refuses a weight holding NaN or an infinity (float32, float16) or quantized with a non-finite scale. */
function checkFiniteWeight(spec: tf.io.WeightsManifestEntry, bytes: Uint8Array, file: string): void {
  const weight = `${file}: weight "${spec.name}"`;
  const quantization = spec.quantization;
  if (quantization?.dtype === 'float16') {
    checkFiniteFloat16(new Uint16Array(alignedCopy(bytes)), weight);
  } else if (quantization) {
    checkFinite([quantization.scale ?? 0, quantization.min ?? 0], `${weight}'s quantization scale and min`);
  } else if (spec.dtype === 'float32') {
    checkFinite(new Float32Array(alignedCopy(bytes)), weight);
  }
}

/** A one-value float32 weight holding +Infinity or -Infinity. */
function isInfiniteScalar(spec: tf.io.WeightsManifestEntry, bytes: Uint8Array): boolean {
  if (spec.dtype !== 'float32' || spec.quantization || bytes.length !== 4) return false;
  const value = new DataView(bytes.buffer, bytes.byteOffset, 4).getFloat32(0, true);
  return value === Infinity || value === -Infinity;
}

/** The bytes as an ArrayBuffer a typed array can view: themselves when aligned, else a copy. */
function alignedCopy(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset % 4 === 0 && bytes.byteLength % 4 === 0) {
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }
  return bytes.slice().buffer;
}

function parseManifest(manifest: unknown, file: string): GroupSpec[] {
  const fail = (what: string): never => {
    throw new LensError(`${file}: "weightsManifest" ${what}.`, 'bad-input');
  };
  if (!Array.isArray(manifest)) {
    return fail('must be a list of {paths, weights} groups');
  }
  return manifest.map((group: unknown, g) => {
    if (!isRecord(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      return fail(`group ${g + 1} must be an object with "paths" and "weights" lists`);
    }
    if (!group.paths.every((p): p is string => typeof p === 'string' && p.length > 0)) {
      return fail(`group ${g + 1} has a path that is not a non-empty string`);
    }
    group.weights.forEach((spec: unknown, w) => {
      const ok =
        isRecord(spec) &&
        typeof spec.name === 'string' &&
        Array.isArray(spec.shape) &&
        spec.shape.every((d) => Number.isInteger(d) && (d as number) >= 0) &&
        typeof spec.dtype === 'string';
      if (!ok) {
        fail(`group ${g + 1}, weight ${w + 1} needs a name, a shape of non-negative integers and a dtype`);
      }
    });
    return { paths: group.paths, weights: group.weights as tf.io.WeightsManifestEntry[] };
  });
}

function weightByteLength(spec: tf.io.WeightsManifestEntry, file: string): number {
  const storedType = spec.quantization?.dtype ?? spec.dtype;
  const bytes = BYTES_PER_VALUE[storedType];
  if (bytes === undefined) {
    throw new LensError(`${file}: weight "${spec.name}" has dtype "${storedType}", which a CNN weight cannot have.`, 'unsupported');
  }
  return spec.shape.reduce((a, b) => a * b, 1) * bytes;
}

function describeSizeMismatch(file: string, groupIndex: number, shards: { name: string; size: number }[], expected: number, folder: string): string {
  const actual = shards.reduce((sum, s) => sum + s.size, 0);
  if (shards.length === 1) {
    const shard = path.join(folder, shards[0].name);
    return `${shard}: weight shard has ${actual} bytes but ${path.basename(file)} expects ${expected} bytes (truncated, or from another model).`;
  }
  const list = shards.map((s) => `${s.name} (${s.size} bytes)`).join(', ');
  return `${file}: weights group ${groupIndex + 1} expects ${expected} bytes but its shards hold ${actual}: ${list} (truncated, or from another model).`;
}

// ---------------------------------------------------------------------------------------------
// Building the model

async function buildModel(modelJson: ModelJson, weights: LoadedWeights | null, file: string): Promise<tf.LayersModel> {
  // trainingConfig is left out on purpose: compiling it can fail on custom losses and CNN Lens never trains.
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: modelJson.modelTopology,
    format: modelJson.format,
    generatedBy: modelJson.generatedBy,
    convertedBy: modelJson.convertedBy,
    userDefinedMetadata: modelJson.userDefinedMetadata,
  };
  if (weights) {
    artifacts.weightSpecs = weights.specs;
    artifacts.weightData = weights.data;
  }
  const handler: tf.io.IOHandler = { load: async () => artifacts };
  const declared = declaredByManifest(weights?.specs ?? null, file);
  const model = await withCleanupOnFailure(() => buildWithDeclaredWeights(declared, () => tf.loadLayersModel(handler, { strict: true })), file);
  if (!weights && model.weights.length > 0) {
    const count = model.weights.length;
    model.dispose();
    throw new LensError(`${file}: has no "weightsManifest" but the model has ${count} weights; the weight files are missing.`, 'bad-input');
  }
  return model;
}

/**
 * The weights a manifest declares, for checking the variables tfjs creates (weightShapes.ts). A
 * variable is named "<layer>/<weight>"; a nested model's may carry its path in front.
 */
function declaredByManifest(specs: tf.io.WeightsManifestEntry[] | null, file: string): DeclaredWeights {
  const shapes = new Map<string, number[]>((specs ?? []).map((spec) => [spec.name, spec.shape]));
  return {
    file,
    source: specs ? 'the weights manifest' : 'model.json (it has no "weightsManifest": the weight files are missing)',
    totalValues: (specs ?? []).reduce((sum, spec) => sum + elementCount(spec.shape), 0),
    shapesFor(layer, weight) {
      const name = `${layer}/${weight}`;
      const exact = shapes.get(name);
      if (exact) return { key: name, shapes: [exact] };
      const nested = [...shapes.keys()].filter((key) => key.endsWith(`/${name}`));
      return nested.length > 0 ? { key: name, shapes: nested.map((key) => shapes.get(key) as number[]) } : undefined;
    },
  };
}

/**
 * Runs a tfjs model load so that a failure leaves nothing behind and says what is wrong. When
 * tfjs-layers fails half way it keeps what it built: the variables of the layers created so far and,
 * when the weights do not fit, the tensors it decoded from the shards. Variables are found by their
 * registry entry; decoded tensors by briefly wrapping LayersModel.loadWeights, the one place they
 * pass through, to dispose them when it throws.
 */
async function withCleanupOnFailure(load: () => Promise<tf.LayersModel>, file: string): Promise<tf.LayersModel> {
  const variablesBefore = new Set(Object.keys(tf.engine().registeredVariables));
  const prototype = tf.LayersModel.prototype as { loadWeights: (weights: tf.NamedTensorMap, strict?: boolean) => void };
  const original = prototype.loadWeights;
  prototype.loadWeights = function (this: unknown, decoded: tf.NamedTensorMap, strict?: boolean) {
    try {
      original.call(this, decoded, strict);
    } catch (error) {
      tf.dispose(Object.values(decoded));
      throw error;
    }
  };
  try {
    return await load();
  } catch (error) {
    for (const [name, variable] of Object.entries(tf.engine().registeredVariables)) {
      if (!variablesBefore.has(name)) {
        variable.dispose();
      }
    }
    throw explainLoadError(error, file);
  } finally {
    prototype.loadWeights = original;
  }
}

function explainLoadError(error: unknown, file: string): LensError {
  if (error instanceof LensError) {
    return error;
  }
  const message = errorMessage(error);
  const unset = /(\d+) of (\d+) weights are not set: (.*)/.exec(message);
  if (unset) {
    return new LensError(
      `${file}: the weights manifest lacks ${unset[1]} of the model's ${unset[2]} weights (${shorten(unset[3])}); the weight files do not belong to this model.`,
      'bad-input',
    );
  }
  const extra = /Provided weight data has no target variable: (.*)/.exec(message);
  if (extra) {
    return new LensError(
      `${file}: the weights manifest has weight "${extra[1]}", which the model does not have; the weight files do not belong to this model.`,
      'bad-input',
    );
  }
  const unknownLayer = /Unknown layer: (\w+)/.exec(message);
  if (unknownLayer) {
    return new LensError(
      `${file}: layer type "${unknownLayer[1]}" is not a TF.js built-in layer (a custom layer?); CNN Lens loads models made of built-in layers.`,
      'unsupported',
    );
  }
  return new LensError(`${file}: TF.js cannot build this model: ${message}`, 'bad-input');
}

function inputChannels(model: tf.LayersModel): number | undefined {
  const shape = model.inputs.length === 1 ? model.inputs[0].shape : undefined;
  const channels = shape && shape.length === 4 ? shape[3] : undefined;
  return typeof channels === 'number' ? channels : undefined;
}

/** What travels beside a model file of any format: labels and the cnn-lens.json sidecar. */
export type ModelCompanions = Omit<ModelFiles, 'model' | 'modelPath'>;

/**
 * Reads the labels and sidecar beside a model file (ONNX, Keras...) exactly as for model.json, and
 * checks mean/std against the model's input channels. Used by the loaders in formats.ts.
 */
export async function readModelCompanions(modelFile: string, model: tf.LayersModel, overrides: Preprocessing = {}): Promise<ModelCompanions> {
  const folder = path.dirname(modelFile);
  const realFolder = await fs.promises.realpath(folder);
  const sidecar = await readSidecar(folder, realFolder);
  const labels = await readLabels(folder, realFolder, sidecar);
  const outputSettings = await readOutputSettings(folder, realFolder, sidecar);
  const channels = inputChannels(model);
  if (sidecar) {
    checkPreprocessing(sidecar.preprocessing, channels, sidecar.path);
  }
  checkPreprocessing(overrides, channels, 'mean/std settings (--mean/--std)');
  return {
    labels: labels?.labels ?? null,
    labelsSource: labels?.source ?? null,
    preprocessing: mergePreprocessing(sidecar?.preprocessing ?? {}, overrides),
    sidecar: sidecar?.path ?? null,
    outputSettings,
  };
}

// ---------------------------------------------------------------------------------------------
// Sidecar and labels

/** How cnn-lens.json says to build a PyTorch model from its source (src/engine/models/pytorch/). */
export interface PytorchSidecar {
  /** The nn.Module class to build when the file defines several. */
  class?: string;
  /** A module-level function returning the model, e.g. "create_model". */
  factory?: string;
  /** Arguments for the class or factory. */
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  /** The weights file, relative to the sidecar's folder. */
  checkpoint?: string;
  /** The input as PyTorch takes it, [channels, height, width]. */
  input?: [number, number, number];
}

export interface Sidecar {
  path: string;
  preprocessing: Preprocessing;
  labels?: string;
  pytorch: PytorchSidecar;
  /** "output": what each output holds and its labels file (outputs.ts matches them to the outputs). */
  outputs: { output?: string | number; kind?: OutputKind; labels?: string }[];
}

/** The cnn-lens.json in a model's folder, checked, or null when there is none. */
export async function readSidecarBeside(modelFile: string): Promise<Sidecar | null> {
  const folder = path.dirname(modelFile);
  return readSidecar(folder, await fs.promises.realpath(folder));
}

async function readSidecar(folder: string, realFolder: string): Promise<Sidecar | null> {
  const file = path.join(folder, SIDECAR_FILE);
  if (!fs.existsSync(file)) {
    return null;
  }
  await resolveInsideFolder(SIDECAR_FILE, folder, realFolder, file, SIDECAR_FILE);
  const text = await readTextFile(file, 'Settings file');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new LensError(`${file}: not valid JSON (${errorMessage(error)}).`, 'bad-input');
  }
  if (!isRecord(parsed)) {
    throw new LensError(`${file}: expected a JSON object like {"mean":[0.5],"std":[0.5],"labels":"labels.txt"}.`, 'bad-input');
  }
  const unknown = Object.keys(parsed).filter((key) => !SIDECAR_KEYS.includes(key));
  if (unknown.length > 0) {
    throw new LensError(`${file}: unknown setting "${unknown[0]}" (known: ${SIDECAR_KEYS.join(', ')}).`, 'bad-input');
  }
  const preprocessing: Preprocessing = {};
  for (const key of ['mean', 'std'] as const) {
    const value = parsed[key];
    if (value === undefined) {
      continue;
    }
    if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new LensError(`${file}: "${key}" must be a list of numbers (one, or one per channel), all finite, got ${describeValues(value)}.`, 'bad-input');
    }
    preprocessing[key] = value as number[];
  }
  if (parsed.labels !== undefined && (typeof parsed.labels !== 'string' || parsed.labels.length === 0)) {
    throw new LensError(`${file}: "labels" must be the name of a labels file beside model.json, e.g. "labels.txt".`, 'bad-input');
  }
  return { path: file, preprocessing, labels: parsed.labels as string | undefined, pytorch: pytorchSidecar(parsed, file), outputs: outputSidecar(parsed.output, file) };
}

/**
 * "output": one object, or a list of them for a model with several outputs, each
 * {"name": NAME|INDEX, "kind": "classes"|"binary"|"regression", "labels": "file.txt"}; "name" may be
 * left out when the model has one output.
 */
function outputSidecar(value: unknown, file: string): Sidecar['outputs'] {
  if (value === undefined) {
    return [];
  }
  const example = '{"output": {"kind": "binary"}}, or [{"name": "gender", "kind": "binary", "labels": "gender.txt"}, …] for several outputs';
  const entries = Array.isArray(value) ? value : [value];
  if (entries.length === 0) {
    throw new LensError(`${file}: "output" must be an object or a non-empty list of objects, e.g. ${example}.`, 'bad-input');
  }
  return entries.map((entry: unknown, i) => {
    const where = Array.isArray(value) ? `"output" entry ${i + 1}` : '"output"';
    if (!isRecord(entry)) {
      throw new LensError(`${file}: ${where} must be an object, e.g. ${example}; got ${JSON.stringify(entry)}.`, 'bad-input');
    }
    const unknown = Object.keys(entry).filter((key) => !OUTPUT_SETTING_KEYS.includes(key));
    if (unknown.length > 0) {
      throw new LensError(`${file}: ${where} has an unknown key "${unknown[0]}" (known: ${OUTPUT_SETTING_KEYS.join(', ')}).`, 'bad-input');
    }
    const { name, kind, labels } = entry;
    if (name !== undefined && !(typeof name === 'string' && name.length > 0) && !(Number.isInteger(name) && (name as number) >= 0)) {
      throw new LensError(`${file}: ${where}: "name" must be an output's name or its index (0, 1, …), got ${JSON.stringify(name)}.`, 'bad-input');
    }
    if (kind !== undefined && !OUTPUT_KINDS.includes(kind as OutputKind)) {
      throw new LensError(`${file}: ${where}: "kind" must be one of ${OUTPUT_KINDS.map((k) => `"${k}"`).join(', ')}, got ${JSON.stringify(kind)}.`, 'bad-input');
    }
    if (labels !== undefined && !(typeof labels === 'string' && labels.length > 0)) {
      throw new LensError(`${file}: ${where}: "labels" must be the name of a labels file beside the model, e.g. "gender.txt".`, 'bad-input');
    }
    return {
      ...(name !== undefined ? { output: name as string | number } : {}),
      ...(kind !== undefined ? { kind: kind as OutputKind } : {}),
      ...(labels !== undefined ? { labels: labels as string } : {}),
    };
  });
}

/** The sidecar's "output" entries with their labels files read (inside the model's folder, as every labels file). */
async function readOutputSettings(folder: string, realFolder: string, sidecar: Sidecar | null): Promise<OutputSetting[]> {
  if (!sidecar) {
    return [];
  }
  const settings: OutputSetting[] = [];
  for (const entry of sidecar.outputs) {
    const setting: OutputSetting = { sidecar: sidecar.path, ...(entry.output !== undefined ? { output: entry.output } : {}), ...(entry.kind ? { kind: entry.kind } : {}) };
    if (entry.labels !== undefined) {
      const real = await resolveInsideFolder(entry.labels, folder, realFolder, `${sidecar.path}: "output" "labels"`, 'labels file');
      const source = path.join(folder, entry.labels);
      setting.labels = { labels: await parseLabelsFile(real, source), source };
    }
    settings.push(setting);
  }
  return settings;
}

function pytorchSidecar(parsed: Record<string, unknown>, file: string): PytorchSidecar {
  const fail = (key: string, what: string): never => {
    throw new LensError(`${file}: "${key}" must be ${what}, got ${JSON.stringify(parsed[key])}.`, 'bad-input');
  };
  const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;
  const result: PytorchSidecar = {};
  if (parsed.class !== undefined) {
    result.class = typeof parsed.class === 'string' && identifier.test(parsed.class) ? parsed.class : fail('class', 'the name of an nn.Module class, e.g. "SimpleCNN"');
  }
  if (parsed.factory !== undefined) {
    result.factory = typeof parsed.factory === 'string' && identifier.test(parsed.factory) ? parsed.factory : fail('factory', 'the name of a function returning the model, e.g. "create_model"');
  }
  if (parsed.args !== undefined) {
    result.args = Array.isArray(parsed.args) ? parsed.args : fail('args', 'a list of constructor arguments, e.g. [10]');
  }
  if (parsed.kwargs !== undefined) {
    result.kwargs = isRecord(parsed.kwargs) ? parsed.kwargs : fail('kwargs', 'an object of keyword arguments, e.g. {"num_classes": 10}');
  }
  if (parsed.checkpoint !== undefined) {
    result.checkpoint = typeof parsed.checkpoint === 'string' && parsed.checkpoint.length > 0 ? parsed.checkpoint : fail('checkpoint', 'the name of the weights file, e.g. "simple_cnn.pth"');
  }
  if (parsed.input !== undefined) {
    const input = parsed.input;
    const ok = Array.isArray(input) && input.length === 3 && input.every((d) => Number.isInteger(d) && d >= 1 && d <= 4096) && (input[0] === 1 || input[0] === 3);
    result.input = ok ? (input as [number, number, number]) : fail('input', 'the input as PyTorch takes it, [channels, height, width], e.g. [3, 224, 224] (1 or 3 channels, sides up to 4096)');
  }
  return result;
}

async function readLabels(folder: string, realFolder: string, sidecar: Sidecar | null): Promise<{ labels: string[]; source: string } | null> {
  if (sidecar?.labels !== undefined) {
    const real = await resolveInsideFolder(sidecar.labels, folder, realFolder, `${sidecar.path}: "labels"`, 'labels file');
    const source = path.join(folder, sidecar.labels);
    return { labels: await parseLabelsFile(real, source), source };
  }
  for (const name of LABEL_FILES) {
    const source = path.join(folder, name);
    if (!fs.existsSync(source)) {
      continue;
    }
    const real = await resolveInsideFolder(name, folder, realFolder, source, 'labels file');
    if (name === 'metadata.json') {
      // metadata.json (e.g. Teachable Machine's) carries other things; only its "labels" list matters.
      const parsed = parseJsonFile(await readTextFile(real, 'Labels file'), source);
      if (!isRecord(parsed) || parsed.labels === undefined) {
        continue;
      }
      return { labels: labelsFromJson(parsed, source), source };
    }
    return { labels: await parseLabelsFile(real, source), source };
  }
  return null;
}

/** labels.txt style (one label per line) unless the name ends in .json (a list, or {"labels": [...]}). */
async function parseLabelsFile(real: string, source: string): Promise<string[]> {
  const text = await readTextFile(real, 'Labels file', source);
  if (source.toLowerCase().endsWith('.json')) {
    return labelsFromJson(parseJsonFile(text, source), source);
  }
  const lines = text.split(/\r?\n/).map((line) => line.trim());
  while (lines.length > 0 && lines[lines.length - 1] === '') {
    lines.pop();
  }
  if (lines.length === 0) {
    throw new LensError(`${source}: no labels in the file (expected one label per line).`, 'bad-input');
  }
  return lines;
}

function labelsFromJson(parsed: unknown, source: string): string[] {
  const list = isRecord(parsed) ? parsed.labels : parsed;
  if (!Array.isArray(list) || list.length === 0 || !list.every((item) => typeof item === 'string')) {
    const shape = isRecord(parsed) ? 'a "labels" list of strings' : 'a non-empty JSON list of strings, e.g. ["cat", "dog"]';
    throw new LensError(`${source}: expected ${shape}.`, 'bad-input');
  }
  return list as string[];
}

function mergePreprocessing(sidecar: Preprocessing, overrides: Preprocessing): Preprocessing {
  const merged: Preprocessing = {};
  const mean = overrides.mean ?? sidecar.mean;
  const std = overrides.std ?? sidecar.std;
  if (mean) merged.mean = [...mean];
  if (std) merged.std = [...std];
  return merged;
}

// ---------------------------------------------------------------------------------------------
// Files

/**
 * The real path of `relative` if it names an existing file inside the model's folder. Refuses URLs,
 * absolute paths, any ".." segment, and links whose target lies outside the folder, so a model.json
 * from an untrusted repository cannot make CNN Lens read other files.
 */
async function resolveInsideFolder(relative: string, folder: string, realFolder: string, context: string, what: string): Promise<string> {
  const refuse = (reason: string): never => {
    throw new LensError(`${context} "${relative}" ${reason}; a ${what} must be a file inside the model's folder ${folder}.`, 'bad-input');
  };
  if (relative.includes('\0')) refuse('contains a NUL character');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(relative)) refuse('is a URL (nothing is downloaded)');
  if (path.isAbsolute(relative) || path.win32.isAbsolute(relative)) refuse('is an absolute path');
  if (relative.split(/[\\/]/).includes('..')) refuse('leads out of the folder through ".."');
  const candidate = path.join(folder, relative);
  let real: string;
  try {
    real = await fs.promises.realpath(candidate);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new LensError(`${context} "${relative}": missing ${what} (no file ${candidate}).`, 'bad-input');
    }
    throw new LensError(`${context} "${relative}": cannot read ${candidate} (${errorMessage(error)}).`, 'bad-input');
  }
  const inside = path.relative(realFolder, real);
  if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) {
    refuse(`is a link leading out of the folder (to ${real})`);
  }
  if (!(await fs.promises.stat(real)).isFile()) {
    refuse('is not a file');
  }
  return real;
}

async function statOrExplain(file: string, kind: string): Promise<fs.Stats> {
  try {
    return await fs.promises.stat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : errorMessage(error);
    throw new LensError(`${kind} not found: ${file} (${reason}).`, 'bad-input');
  }
}

/** Reads a UTF-8 text file; an empty file is an error naming `shownAs`. */
async function readTextFile(file: string, kind: string, shownAs = file): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : errorMessage(error);
    throw new LensError(`${kind} ${shownAs} cannot be read (${reason}).`, 'bad-input');
  }
  if (bytes.length === 0) {
    throw new LensError(`${shownAs}: the file is empty (0 bytes).`, 'bad-input');
  }
  return bytes.toString('utf8').replace(/^\uFEFF/, '');
}

function parseJsonFile(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new LensError(`${source}: not valid JSON (${errorMessage(error)}).`, 'bad-input');
  }
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) {
    return parts[0];
  }
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function shorten(list: string, max = 120): string {
  return list.length > max ? `${list.slice(0, max)}…` : list;
}

// ---------------------------------------------------------------------------------------------
// For models defined in code (src/engine/models/codeModel): the same safe reading, as parts.

/**
 * model.json and its weights as tfjs ModelArtifacts, for `tf.loadLayersModel('file://…')` inside a
 * code model, plus the files read (so live refresh follows them).
 */
export async function readModelArtifactsFromDisk(modelPath: string): Promise<{ artifacts: tf.io.ModelArtifacts; files: string[] }> {
  const modelJsonPath = await locateModelJson(modelPath);
  const folder = path.dirname(modelJsonPath);
  const realFolder = await fs.promises.realpath(folder);
  const modelJson = await readModelJson(modelJsonPath);
  const weights = await readWeights(modelJson, modelJsonPath, folder, realFolder);
  const shardFiles = weights ? parseManifest(modelJson.weightsManifest, modelJsonPath).flatMap((group) => group.paths.map((p) => path.join(folder, p))) : [];
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: modelJson.modelTopology,
    format: modelJson.format,
    generatedBy: modelJson.generatedBy,
    convertedBy: modelJson.convertedBy,
    ...(weights ? { weightSpecs: weights.specs, weightData: weights.data } : {}),
  };
  return { artifacts, files: [modelJsonPath, ...shardFiles] };
}

