// PyTorch models from their source. CNN Lens does not reimplement PyTorch: the user's Python
// builds the model from their model.py (or loads a TorchScript / pickled model), loads the
// checkpoint, finds the input size and exports ONNX (python/cnn_lens_torch.py); the engine then
// runs that graph like any ONNX model, with layers named after the modules the user wrote
// (moduleGraph.ts) and shapes shown as PyTorch shows them.
//
// Which files: `model.py` (or `model.py:ClassName`); the checkpoint given explicitly (CLI
// --checkpoint), else cnn-lens.json's "checkpoint", else a .pt/.pth/.ckpt beside the source with
// its stem, else the only such file in the folder, else none (untrained weights, said plainly). A
// torch file given as the model is used as it is when it holds a model (TorchScript, torch.save
// of a model), and paired with its source when it holds only weights.
import * as fs from 'fs';
import * as path from 'path';
import { parsePytorchModelPath, TORCH_FILE_EXTENSIONS } from '../../../shared/modelFormats';
import { definesPytorchModel, scanPythonSource } from '../../../shared/pythonSource';
import type { LayerInfo, ModelSummary, Preprocessing, PytorchBuild, PytorchModule, PythonChoice, SourceSite } from '../../../shared/types';
import { LensError, throwIfCancelled } from '../../../shared/errors';
import { wrapModel, type LoadedModel } from '../../index';
import { readModelCompanions, readSidecarBeside, type PytorchSidecar } from '../modelLoader';
import { buildOnnxModelFromProto, decodeOnnx } from '../onnx/onnxModel';
import type { GraphProto } from '../onnx/onnxProto';
import { ExportCache, defaultExportCacheDir } from './exportCache';
import { nameNodesByModule, type ModuleCall } from './moduleGraph';
import { bridgeScriptPath, fileDigest, runBridge } from './python';

export interface PytorchLoadOptions {
  python?: PythonChoice;
  /** Folder for kept exports (default: the user's cache folder). */
  cacheDir?: string;
  preprocessing?: Preprocessing;
  /** A checkpoint given explicitly (the CLI's --checkpoint): wins over cnn-lens.json and the folder. */
  checkpoint?: string;
  /** Export at this input, [channels, height, width] (an image's own size) instead of the usual one. */
  input?: [number, number, number];
  /** Keep the Python process for the next load (the engine worker: torch is imported once). */
  keepPythonAlive?: boolean;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
  log?: (line: string) => void;
}

/** What the bridge answers for an export (python/cnn_lens_torch.py, export()). */
export interface ExportAnswer {
  python: string;
  executable: string;
  torch: string;
  builtFrom: string;
  builtWith: string;
  modelClass: string;
  scripted: boolean;
  input: [number, number, number];
  inputSource: PytorchBuild['inputSource'];
  tried: { shape: number[]; outcome: string }[];
  flexible: boolean;
  classes: number;
  checkpoint: { path: string; form: string } | null;
  parameters: number;
  modules: { name: string; className: string; params: number; ownParams: number; site?: SourceSite; weights?: Record<string, [number, number, number]> }[];
  builderSite: SourceSite | null;
  sourceFiles: string[];
  seconds: number;
  /** Seconds per step of the export (build, size, export, describe), for the log. */
  phases?: Record<string, number>;
}

/** What to run: resolved from the model path, the sidecar and the folder, before Python starts. */
export interface PytorchPlan {
  /** The file the bridge opens first: the .py source, or the torch file given as the model. */
  source: string;
  /** A torch file given as the model: a model of its own, or weights for `pairedSource`. */
  standalone: boolean;
  pairedSource?: string;
  className?: string;
  checkpoint: string | null;
  sidecar: PytorchSidecar;
  sidecarPath: string | null;
}

const CHECKPOINT_EXTENSIONS = TORCH_FILE_EXTENSIONS;

/** Resolves which source, class and checkpoint a model path means. Reads the folder, runs nothing. */
export async function planPytorchModel(modelPath: string, explicitCheckpoint?: string): Promise<PytorchPlan> {
  const parsed = parsePytorchModelPath(modelPath);
  if (!parsed) {
    throw new LensError(`${modelPath} is not a PyTorch model (a .py source, or a .pt/.pth/.ckpt file).`, 'bad-request');
  }
  const file = path.resolve(parsed.file);
  const folder = path.dirname(file);
  if (!fs.existsSync(file)) {
    throw new LensError(`Model file not found: ${file} (no such file).`, 'bad-input');
  }
  const sidecar = await readSidecarBeside(file);
  const settings = sidecar?.pytorch ?? {};
  const className = parsed.className ?? settings.class;
  if (parsed.kind === 'torch-file') {
    return {
      source: file,
      standalone: true,
      pairedSource: await pairedSourceOf(file),
      className,
      checkpoint: null,
      sidecar: settings,
      sidecarPath: sidecar?.path ?? null,
    };
  }
  let checkpoint: string | null = null;
  const given = explicitCheckpoint ?? (settings.checkpoint !== undefined ? path.resolve(folder, settings.checkpoint) : undefined);
  if (given !== undefined) {
    checkpoint = path.resolve(given);
    if (!fs.existsSync(checkpoint)) {
      const from = explicitCheckpoint !== undefined ? '--checkpoint' : `"checkpoint" in ${sidecar?.path}`;
      throw new LensError(`Checkpoint not found: ${checkpoint} (named by ${from}).`, 'bad-input');
    }
  } else {
    checkpoint = await checkpointBeside(file);
  }
  return { source: file, standalone: false, className, checkpoint, sidecar: settings, sidecarPath: sidecar?.path ?? null };
}

/** A .pt/.pth/.ckpt with the source's stem, else the only one in the folder, else null. */
async function checkpointBeside(source: string): Promise<string | null> {
  const folder = path.dirname(source);
  const stem = path.basename(source, path.extname(source));
  const entries = await fs.promises.readdir(folder);
  const torchFiles = entries.filter((name) => CHECKPOINT_EXTENSIONS.includes(path.extname(name).toLowerCase())).sort();
  const sameStem = torchFiles.find((name) => path.basename(name, path.extname(name)) === stem);
  if (sameStem) {
    return path.join(folder, sameStem);
  }
  return torchFiles.length === 1 ? path.join(folder, torchFiles[0]) : null;
}

/** The model source a weights file belongs to: same stem .py, else the only model source in the folder. */
export async function pairedSourceOf(torchFile: string): Promise<string | undefined> {
  const folder = path.dirname(torchFile);
  const stem = path.basename(torchFile, path.extname(torchFile));
  const sources = await modelSourcesIn(folder);
  return sources.find((file) => path.basename(file, '.py') === stem) ?? (sources.length === 1 ? sources[0] : undefined);
}

/** The .py files of a folder that define a PyTorch model, read as text. */
export async function modelSourcesIn(folder: string): Promise<string[]> {
  const names = (await fs.promises.readdir(folder)).filter((name) => /\.py$/i.test(name)).sort();
  const found: string[] = [];
  for (const name of names) {
    const file = path.join(folder, name);
    try {
      if (definesPytorchModel(scanPythonSource(await fs.promises.readFile(file, 'utf8')))) {
        found.push(file);
      }
    } catch {
      // unreadable: not a model source
    }
  }
  return found;
}

/** Runs the bridge for a plan (or takes the kept export) and returns the ONNX file and the answer. */
async function exportPlan(plan: PytorchPlan, options: PytorchLoadOptions): Promise<{ onnxPath: string; answer: ExportAnswer; cached: boolean }> {
  const cache = new ExportCache(options.cacheDir ?? defaultExportCacheDir());
  const input = options.input ?? plan.sidecar.input ?? null;
  const request = {
    op: 'export',
    source: plan.source,
    standalone: plan.standalone,
    pairedSource: plan.pairedSource ?? null,
    className: plan.className ?? null,
    factory: plan.sidecar.factory ?? null,
    args: plan.sidecar.args ?? [],
    kwargs: plan.sidecar.kwargs ?? {},
    checkpoint: plan.checkpoint,
    input,
    inputOrigin: options.input ? 'image' : 'sidecar',
    sidecar: plan.sidecarPath,
  };
  const key = ExportCache.keyOf({ request, python: options.python?.path ?? 'PATH', bridge: await fileDigest(bridgeScriptPath()) });
  const kept = await cache.lookup<ExportAnswer>(key);
  if (kept) {
    options.log?.(`pytorch: ${path.basename(plan.source)}: export kept from an earlier run (${kept.onnxPath})`);
    return { ...kept, cached: true };
  }
  await cache.prepare();
  const at = input ? ` at ${input.join('×')}` : '';
  options.onProgress?.(`Running ${path.basename(plan.source)} with Python and exporting it${at}…`);
  const onnxPath = cache.onnxPath(key);
  const { answer, python } = await runBridge<ExportAnswer>(options.python ?? {}, { ...request, onnxPath }, {
    signal: options.signal,
    cwd: path.dirname(plan.source),
    log: options.log,
    keepAlive: options.keepPythonAlive,
  });
  options.log?.(`pytorch: ${path.basename(plan.source)}: ${answer.builtWith} with ${python} (torch ${answer.torch}), input ${answer.input.join('×')} (${answer.inputSource}), exported in ${answer.seconds} s (${Object.entries(answer.phases ?? {}).map(([step, s]) => `${step} ${s}`).join(', ')})`);
  const read = [plan.source, plan.pairedSource, plan.checkpoint, ...answer.sourceFiles].filter((f): f is string => typeof f === 'string');
  await cache.store(key, answer, read);
  return { onnxPath, answer, cached: false };
}

/** Loads a PyTorch model (see the top of this file). A backend must be initialised. */
export async function loadPytorchModel(modelPath: string, options: PytorchLoadOptions = {}): Promise<LoadedModel> {
  const plan = await planPytorchModel(modelPath, options.checkpoint);
  throwIfCancelled(options.signal);
  const { onnxPath, answer } = await exportPlan(plan, options);
  throwIfCancelled(options.signal);
  const shown = `${answer.builtFrom} (exported to ONNX by torch ${answer.torch})`;
  const proto = decodeOnnx(new Uint8Array(await fs.promises.readFile(onnxPath)), shown);
  const named = nameNodesByModule(proto.graph as GraphProto, shown);
  const info = buildOnnxModelFromProto({ ...proto, graph: named.graph }, shown, answer.modelClass);
  let loaded: LoadedModel;
  try {
    const companions = await readModelCompanions(answer.builtFrom, info.model, options.preprocessing);
    loaded = wrapModel(info.model, {
      path: path.resolve(parsePytorchModelPath(modelPath)?.file ?? modelPath),
      ...companions,
      // As the export named them ("scores"; "output_0", "output_1"… for a tuple): the marks' removal renames the graph's values.
      outputNames: (proto.graph as GraphProto).output.map((o) => o.name),
      outputShapes: info.outputShapes,
      format: 'pytorch',
      formatDetail: describeBuild(answer),
    });
  } catch (error) {
    info.model.dispose();
    throw error;
  }
  const { summary } = loaded;
  const engineLayers = summary.layers;
  summary.layers = engineLayers.map((layer) => asModuleLayer(layer, named.modules, answer));
  const engineDefault = summary.defaultCamLayer;
  summary.defaultCamLayer = defaultModuleLayer(engineLayers, named.modules) ?? summary.defaultCamLayer;
  // Each output's default layer too (the one a request without a layer uses), where it was the engine's.
  summary.outputs = summary.outputs.map((o) => (o.defaultCamLayer === engineDefault ? { ...o, defaultCamLayer: summary.defaultCamLayer } : o));
  summary.totalParams = answer.parameters;
  summary.shapeOrder = 'NCHW';
  summary.pytorch = {
    source: answer.builtFrom,
    builtWith: answer.builtWith,
    checkpoint: answer.checkpoint,
    python: answer.executable,
    pythonVersion: answer.python,
    torchVersion: answer.torch,
    input: answer.input,
    inputSource: answer.inputSource,
    flexible: answer.flexible,
    modelClass: answer.modelClass,
    ...(answer.builderSite ? { builderSite: answer.builderSite } : {}),
    modules: modulesWithLayers(answer, named.modules),
  };
  const watched = [plan.source, plan.pairedSource, plan.checkpoint, plan.sidecarPath, ...answer.sourceFiles];
  summary.sourceFiles = [...new Set(watched.filter((f): f is string => typeof f === 'string'))];
  return loaded;
}

/** One line for the panel, the summary and the CLI: what was built, from which weights, at which size. */
export function describeBuild(answer: ExportAnswer): string {
  // A TorchScript or pickled model file is its own weights.
  const weights = answer.checkpoint
    ? answer.checkpoint.path === answer.builtFrom
      ? ''
      : `, weights ${path.basename(answer.checkpoint.path)} (${answer.checkpoint.form})`
    : ', untrained weights (no checkpoint found: put a .pt/.pth beside the .py, or name it in cnn-lens.json as "checkpoint")';
  const size = answer.input.join('×');
  const how =
    answer.inputSource === 'sidecar'
      ? 'set in cnn-lens.json'
      : answer.inputSource === 'image'
        ? "the image's own size"
        : 'found by trial; set "input" in cnn-lens.json to choose it';
  return `${answer.builtWith} from ${path.basename(answer.builtFrom)}${weights}; input ${size} (${how}); PyTorch ${answer.torch}, Python ${answer.python}`;
}

/** The bridge's modules with the layers each one's calls became. */
function modulesWithLayers(answer: ExportAnswer, calls: ReadonlyMap<string, ModuleCall>): PytorchModule[] {
  const layersOf = new Map<string, string[]>();
  for (const [layer, call] of calls) {
    layersOf.set(call.module, [...(layersOf.get(call.module) ?? []), layer]);
  }
  return answer.modules.map((m) => ({
    name: m.name,
    className: m.className,
    params: m.params,
    ...(m.site ? { site: m.site } : {}),
    ...(m.weights ? { weights: m.weights } : {}),
    layers: layersOf.get(m.name) ?? [],
  }));
}

/** A layer as PyTorch describes it: the module's class and parameter count (functional nodes own none). */
function asModuleLayer(layer: LayerInfo, modules: ReadonlyMap<string, ModuleCall>, answer: ExportAnswer): LayerInfo {
  if (layer.className === 'InputLayer') {
    return layer;
  }
  const call = modules.get(layer.name);
  const module = call ? answer.modules.find((m) => m.name === call.module) : undefined;
  return module ? { ...layer, className: module.className, params: module.params } : { ...layer, params: 0 };
}

const CONVOLUTIONS = new Set(['Conv', 'ConvTranspose']);

/**
 * The layer CAMs use by default, as the field chooses: the outermost module that contains the last
 * convolution and has a 4-D output with more than one cell (SimpleCNN: conv2; ResNet: layer4;
 * VGG, MobileNet, DenseNet: features), pytorch-grad-cam's `layer4[-1]` / `features[-1]` maps.
 * Undefined when the last convolution belongs to no module (a functional F.conv2d).
 */
export function defaultModuleLayer(layers: readonly LayerInfo[], modules: ReadonlyMap<string, ModuleCall>): string | undefined {
  const lastConv = [...layers].reverse().find((layer) => CONVOLUTIONS.has(layer.className));
  const owner = lastConv ? modules.get(lastConv.name)?.module : undefined;
  if (!owner) {
    return undefined;
  }
  const parts = owner.split('.');
  for (let depth = 1; depth <= parts.length; depth++) {
    const module = parts.slice(0, depth).join('.');
    // The module's last call (a container called once; a reused block: its last use).
    const layer = [...layers].reverse().find((l) => modules.get(l.name)?.module === module);
    const [, height, width] = layer?.outputShape ?? [];
    if (layer?.spatial && (height ?? 2) * (width ?? 2) > 1) {
      return layer.name;
    }
  }
  return undefined;
}

/** Images at most this many pixels, with sides of at least OWN_SIZE_MIN_SIDE, run at their own size. */
export const OWN_SIZE_MAX_PIXELS = 512 * 512;
export const OWN_SIZE_MIN_SIDE = 32;

/**
 * The input at which a PyTorch model runs an image when that differs from its loaded one: a model
 * that takes any size (adaptive pooling) and has no size set is fed the image at its own size, as
 * a PyTorch user would, within bounds (a large photo runs at the usual size; a tiny one too).
 */
export function ownSizeInput(summary: ModelSummary, image: { width: number; height: number }): [number, number, number] | undefined {
  const build = summary.pytorch;
  const [height, width, channels] = summary.inputShape;
  const own =
    build?.flexible === true &&
    build.inputSource === 'trial' &&
    image.width * image.height <= OWN_SIZE_MAX_PIXELS &&
    Math.min(image.width, image.height) >= OWN_SIZE_MIN_SIDE &&
    (image.height !== height || image.width !== width);
  return own ? [channels, image.height, image.width] : undefined;
}
