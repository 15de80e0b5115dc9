// How every CLI command opens its --model: PyTorch sources and torch files through the user's Python
// (--python, --checkpoint; the CLI is run by the user, so their code may run), everything else
// through the engine's file loaders.
import type { LoadedModel } from '../engine/index';
import { isPytorchModelPath } from '../shared/modelFormats';
import type { BackendChoice, Preprocessing, PythonChoice, RgbaImage } from '../shared/types';

/** The flags every command that opens a model shares. */
export interface CommonOptions {
  modelPath: string;
  backend: BackendChoice;
  preprocessing: Preprocessing | undefined;
  /** PyTorch models: the interpreter (--python; else CNN_LENS_PYTHON; else found on the PATH) and --checkpoint. */
  python: PythonChoice;
  checkpoint?: string;
  /** Images over this many pixels are refused from their header (--max-image-megapixels). */
  maxImagePixels: number;
}

/**
 * The model, a backend being initialised. With the image it will explain, a PyTorch model that
 * runs at any size is loaded at the image's own size, as the extension does.
 */
export async function loadCliModel(common: CommonOptions, verbose: boolean, image?: RgbaImage): Promise<LoadedModel> {
  const model = await openModel(common, verbose, image);
  // Problems that do not stop the run (labels that do not fit the classes) go to stderr, one line each.
  for (const warning of model.summary.warnings ?? []) {
    process.stderr.write(`cnn-lens: warning: ${warning}\n`);
  }
  return model;
}

async function openModel(common: CommonOptions, verbose: boolean, image?: RgbaImage): Promise<LoadedModel> {
  if (isPytorchModelPath(common.modelPath)) {
    const { loadPytorchModel, ownSizeInput } = await import('../engine/models/pytorch/loadPytorch');
    const options = {
      python: common.python,
      checkpoint: common.checkpoint,
      preprocessing: common.preprocessing,
      // An export takes seconds (starting Python, importing torch): say what is happening.
      onProgress: (message: string) => process.stderr.write(`cnn-lens: ${message}\n`),
      log: (line: string) => verbose && process.stderr.write(`${line}\n`),
    };
    const model = await loadPytorchModel(common.modelPath, options);
    const input = image ? ownSizeInput(model.summary, image) : undefined;
    if (!input) {
      return model;
    }
    model.dispose();
    return loadPytorchModel(common.modelPath, { ...options, input });
  }
  if (common.checkpoint !== undefined) {
    throw new Error(`--checkpoint applies to PyTorch models (a .py file); ${common.modelPath} carries its own weights.`);
  }
  const engine = await import('../engine/index');
  return engine.loadModel(common.modelPath, { preprocessing: common.preprocessing });
}
