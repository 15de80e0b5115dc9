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
};

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
