// Model files CNN Lens reads, by name: shared by the engine (which loader), the extension host
// (discovery, quick pick, custom editor) and the CLI. Pure: no tfjs, no vscode.
import type { ModelFormat } from './types';

/** The TF.js model file; told apart (LayersModel or graph model) by its content. */
export const MODEL_JSON = 'model.json';

/** Binary model formats by file extension (lower case, with the dot). */
export const BINARY_MODEL_EXTENSIONS: Readonly<Record<string, ModelFormat>> = {
  '.onnx': 'onnx',
  '.keras': 'keras',
  '.h5': 'keras-h5',
  '.hdf5': 'keras-h5',
};

/** What users call each format, for messages, the quick pick and the model summary. */
export const FORMAT_NAMES: Readonly<Record<ModelFormat, string>> = {
  'layers-model': 'TF.js LayersModel',
  'graph-model': 'TF.js graph model',
  onnx: 'ONNX',
  keras: 'Keras 3 (.keras)',
  'keras-h5': 'Keras 2 HDF5 (.h5)',
  pytorch: 'PyTorch',
};

/** PyTorch checkpoints, TorchScript files and pickled models, by extension. */
export const TORCH_FILE_EXTENSIONS: readonly string[] = ['.pt', '.pth', '.ckpt'];

/**
 * A PyTorch model path: a Python source (`model.py`, or `model.py:ClassName` to pick one class of
 * several), or a torch file (.pt/.pth/.ckpt: a TorchScript or pickled model, or a state_dict paired
 * with the .py beside it).
 */
export interface PytorchModelPath {
  file: string;
  className?: string;
  kind: 'source' | 'torch-file';
}

/** Parses a PyTorch model path, or null for other files. */
export function parsePytorchModelPath(modelPath: string): PytorchModelPath | null {
  const withClass = /^(.*\.py):([A-Za-z_][A-Za-z0-9_]*)$/i.exec(modelPath);
  if (withClass) {
    return { file: withClass[1], className: withClass[2], kind: 'source' };
  }
  if (/\.py$/i.test(modelPath)) {
    return { file: modelPath, kind: 'source' };
  }
  const lower = modelPath.toLowerCase();
  if (TORCH_FILE_EXTENSIONS.some((extension) => lower.endsWith(extension))) {
    return { file: modelPath, kind: 'torch-file' };
  }
  return null;
}

/** Whether loading this model runs the user's Python (so only in a trusted workspace). */
export function isPytorchModelPath(modelPath: string): boolean {
  return parsePytorchModelPath(modelPath) !== null;
}

/** The binary format a file name has by its extension, or null (model.json, folders, other files). */
export function binaryFormatOf(fileName: string): ModelFormat | null {
  const dot = fileName.lastIndexOf('.');
  const slash = Math.max(fileName.lastIndexOf('/'), fileName.lastIndexOf('\\'));
  if (dot <= slash) {
    return null;
  }
  return BINARY_MODEL_EXTENSIONS[fileName.slice(dot).toLowerCase()] ?? null;
}

/** Glob of the binary model files, for workspace.findFiles: `**\/*.{onnx,keras,h5,hdf5}`. */
export function binaryModelGlob(): string {
  return `**/*.{${Object.keys(BINARY_MODEL_EXTENSIONS).map((e) => e.slice(1)).join(',')}}`;
}
