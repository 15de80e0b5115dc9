// What every CLI command shares: the flags (OPTIONS, Values), their checks (commonOptions,
// renderOptions), the explain session (engine, model, image, class, helper workers) and atomic
// output files. main.ts dispatches commands and compare.ts runs one; both import from here, so
// neither imports the other.
import * as fs from 'fs';
import * as path from 'path';
import type { parseArgs } from 'util';
import { BACKEND_CHOICES, COLORMAPS } from '../shared/types';
import type { BackendChoice, ColormapName, ModelOutput, ModelSummary, Preprocessing, PythonChoice } from '../shared/types';
import { DEFAULT_MAX_IMAGE_MEGAPIXELS, MAX_IMAGE_MEGAPIXELS, megapixelsToPixels } from '../shared/imageLimit';
import { SETTING_DEFAULTS } from '../shared/settingDefaults';
import { UsageError, parseNumberList, parseClassArg } from './format';
import { METHOD_OPTION_FLAGS } from './methodFlags';
import type { SamplePool } from '../engine/explain/samplePool';
import { HelperEngines } from '../worker/helperEngines';
import { loadCliModel, type CommonOptions } from './loadModel';
export type { CommonOptions } from './loadModel';

export const OPTIONS = {
  model: { type: 'string' },
  checkpoint: { type: 'string' },
  python: { type: 'string' },
  'max-image-megapixels': { type: 'string' },
  layer: { type: 'string' },
  class: { type: 'string' },
  output: { type: 'string' },
  method: { type: 'string' },
  colormap: { type: 'string' }, // gradcam and methods default to jet, activations to viridis
  alpha: { type: 'string', default: String(SETTING_DEFAULTS.defaultOpacity) },
  mean: { type: 'string' },
  std: { type: 'string' },
  backend: { type: 'string', default: SETTING_DEFAULTS.backend },
  'top-k': { type: 'string', default: String(SETTING_DEFAULTS.topK) },
  'sample-workers': { type: 'string', default: '0' },
  out: { type: 'string' },
  heatmap: { type: 'string' },
  json: { type: 'string' },
  metrics: { type: 'boolean', default: false },
  methods: { type: 'string' },
  'rank-by': { type: 'string' },
  columns: { type: 'string' },
  ...METHOD_OPTION_FLAGS,
  verbose: { type: 'boolean', default: false },
  // activations / filters (src/cli/inspect.ts)
  scale: { type: 'string' },
  sort: { type: 'string' },
  'hide-dead': { type: 'boolean', default: false },
  mode: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

export function commonOptions(values: Values): CommonOptions {
  if (!values.model) {
    throw new UsageError('--model PATH is required.');
  }
  const backend = values.backend as BackendChoice;
  if (!BACKEND_CHOICES.includes(backend)) {
    throw new UsageError(`--backend must be one of ${BACKEND_CHOICES.join(', ')}, not "${values.backend}".`);
  }
  const preprocessing: Preprocessing = {};
  if (values.mean !== undefined) {
    preprocessing.mean = parseNumberList('--mean', values.mean);
  }
  if (values.std !== undefined) {
    preprocessing.std = parseNumberList('--std', values.std);
    if (preprocessing.std.some((s) => s <= 0)) {
      throw new UsageError('--std values must be greater than 0.');
    }
  }
  const python: PythonChoice = values.python
    ? { path: values.python, source: '--python' }
    : process.env.CNN_LENS_PYTHON
      ? { path: process.env.CNN_LENS_PYTHON, source: 'the CNN_LENS_PYTHON environment variable' }
      : {};
  return {
    modelPath: path.resolve(values.model),
    backend,
    maxImagePixels: maxImagePixelsOf(values['max-image-megapixels']),
    preprocessing: values.mean !== undefined || values.std !== undefined ? preprocessing : undefined,
    python,
    ...(values.checkpoint !== undefined ? { checkpoint: path.resolve(values.checkpoint) } : {}),
  };
}

/** --max-image-megapixels as pixels; the engine's default without it. */
function maxImagePixelsOf(flag: string | undefined): number {
  if (flag === undefined) {
    return megapixelsToPixels(DEFAULT_MAX_IMAGE_MEGAPIXELS);
  }
  const megapixels = Number(flag);
  if (!Number.isFinite(megapixels) || megapixels <= 0 || megapixels > MAX_IMAGE_MEGAPIXELS) {
    throw new UsageError(`--max-image-megapixels must be a number above 0 and at most ${MAX_IMAGE_MEGAPIXELS}, not "${flag}".`);
  }
  return megapixelsToPixels(megapixels);
}

/** Checks of the flags every explaining command shares. */
export function renderOptions(values: Values): { colormap: ColormapName; alpha: number; topK: number } {
  const colormap = (values.colormap ?? SETTING_DEFAULTS.defaultColormap) as ColormapName;
  if (!(COLORMAPS as readonly string[]).includes(colormap)) {
    throw new UsageError(`--colormap must be one of ${COLORMAPS.join(', ')}, not "${values.colormap}".`);
  }
  const alpha = Number(values.alpha);
  if (!Number.isFinite(alpha) || alpha < 0 || alpha > 1) {
    throw new UsageError(`--alpha must be a number from 0 to 1, not "${values.alpha}".`);
  }
  const topK = Number(values['top-k']);
  if (!Number.isInteger(topK) || topK < 1) {
    throw new UsageError(`--top-k must be a positive whole number, not "${values['top-k']}".`);
  }
  return { colormap, alpha, topK };
}

/**
 * What explaining commands (a method, compare) start from: the engine on the chosen backend, the
 * model, the decoded image and the --class index. The caller disposes the model.
 */
export async function openExplainSession(common: CommonOptions, values: Values, imagePath: string) {
  // The engine (and tfjs) load only once the arguments are known to be good: fast usage errors.
  const helperCount = Number(values['sample-workers']);
  if (!Number.isInteger(helperCount) || helperCount < 0 || helperCount > 8) {
    throw new UsageError(`--sample-workers must be a whole number from 0 to 8, not "${values['sample-workers']}".`);
  }
  const engine = await import('../engine/index');
  const backendReport = await engine.initBackend(common.backend);
  // The image first: a PyTorch model that runs at any size runs at the image's own size.
  const image = await engine.readImage(imagePath, { maxPixels: common.maxImagePixels });
  const model = await loadCliModel(common, values.verbose === true, image);
  let helpers: HelperEngines | undefined;
  const close = () => {
    helpers?.dispose();
    model.dispose();
  };
  try {
    // The output first: --class is read against its labels (a binary output's two sides, a regression's values).
    const output = resolveOutputArg(engine, model.summary, values.output);
    const classIndex = values.class === undefined ? undefined : parseClassArg(values.class, output.labels);
    let samplePool: SamplePool | undefined;
    // ONNX Runtime already runs a batch on every core: helpers would load the model for nothing.
    const native = helperCount > 0 && engine.runsNatively(model, output.index);
    if (native && values.verbose) {
      process.stderr.write('cnn-lens: ONNX Runtime runs this model on every core; --sample-workers is not used.\n');
    }
    if (helperCount > 0 && !native) {
      // Helpers are engine workers (dist/worker.js beside this bundle) holding the model; a run is
      // one request, so wait for them to load it rather than leave them unused.
      helpers = new HelperEngines(
        { helpers: helperCount, workerPath: path.join(__dirname, 'worker.js') },
        backendReport.backend,
        engine.defaultWasmDir(),
        { python: common.python },
        (line) => values.verbose && process.stderr.write(`${line}\n`),
      );
      const build = model.summary.pytorch;
      samplePool = await helpers.ready({
        modelPath: common.modelPath,
        preprocessing: model.summary.preprocessing,
        allowCode: true,
        load: 1,
        ...(build?.inputSource === 'image' ? { input: build.input } : {}),
      });
      if (!samplePool) {
        process.stderr.write('cnn-lens: the sample workers could not load the model; running in one worker.\n');
      }
    }
    return { engine, backendReport, model, image, classIndex, output, samplePool, close };
  } catch (error) {
    close();
    throw error;
  }
}

/** --output N|NAME as the model's output (default: its first that holds scores); unknown ones list the outputs. */
function resolveOutputArg(engine: typeof import('../engine/index'), summary: ModelSummary, flag: string | undefined): ModelOutput {
  if (flag !== undefined && flag.trim() === '') {
    throw new UsageError('--output needs an output index or name.');
  }
  try {
    return engine.resolveOutput(summary.outputs, summary.defaultOutput, flag);
  } catch (error) {
    // The model's file names the problem: "--output 5: model.onnx has no output 5; its outputs: …".
    throw new Error(`--output ${flag}: ${summary.path}: ${error instanceof Error ? error.message.replace(/^The model has/, 'has') : String(error)}`);
  }
}

/**
 * Writes an output file whole or not at all: into a temporary file beside it, then renamed over it,
 * so a failure (a full disk, a kill) never leaves a truncated PNG or JSON where a good one was.
 */
export function writeFile(filePath: string, data: Uint8Array | string): void {
  const temporary = path.join(path.dirname(filePath), `.${path.basename(filePath)}.${process.pid}.tmp`);
  try {
    fs.mkdirSync(path.dirname(filePath), { recursive: true });
    fs.writeFileSync(temporary, data);
    fs.renameSync(temporary, filePath);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`${filePath}: cannot write the output (${reason}).`);
  }
}
