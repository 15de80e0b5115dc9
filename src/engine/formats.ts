// Which loader reads a model file. CNN Lens explains every format as a tfjs LayersModel: a TF.js
// LayersModel as it is; an ONNX graph rebuilt node by node (onnx/onnxModel.ts).
import * as path from 'path';
import type { ModelFormat, Preprocessing } from '../protocol/types';
import { loadLayersModelFromDisk, type ModelFiles } from './modelLoader';
import { loadOnnxModelFromDisk } from './onnx/loadOnnx';

/** File extensions (lower case) of the binary model formats; model.json is told apart by content. */
export const MODEL_FILE_EXTENSIONS: Readonly<Record<string, ModelFormat>> = {
  '.onnx': 'onnx',
};

export interface LoadedModelFiles extends ModelFiles {
  format: ModelFormat;
  /** One line about the file beyond the summary (opset, producer, layout), if any. */
  formatDetail?: string;
}

/** The format a path names by its extension, or null for model.json (or a folder holding one). */
export function formatOfPath(modelPath: string): ModelFormat | null {
  return MODEL_FILE_EXTENSIONS[path.extname(modelPath).toLowerCase()] ?? null;
}

/** Loads any supported model file with its labels and sidecar. A backend must be initialised. */
export async function loadModelFromDisk(modelPath: string, overrides: Preprocessing = {}): Promise<LoadedModelFiles> {
  switch (formatOfPath(modelPath)) {
    case 'onnx':
      return { format: 'onnx', ...(await loadOnnxModelFromDisk(modelPath, overrides)) };
    default:
      return { format: 'layers-model', ...(await loadLayersModelFromDisk(modelPath, overrides)) };
  }
}
