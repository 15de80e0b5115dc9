// Which loader reads a model file. CNN Lens explains every format as a tfjs LayersModel: a TF.js
// LayersModel as it is; an ONNX graph rebuilt node by node (onnx/onnxModel.ts); a Keras .h5 or
// .keras file rebuilt from its Keras JSON with its weights (keras/loadKeras.ts).
import { binaryFormatOf } from '../protocol/modelFormats';
import type { ModelFormat, Preprocessing } from '../protocol/types';
import { loadLayersModelFromDisk, type ModelFiles } from './modelLoader';
import { loadKerasModelFromDisk } from './keras/loadKeras';
import { loadOnnxModelFromDisk } from './onnx/loadOnnx';

export interface LoadedModelFiles extends ModelFiles {
  format: ModelFormat;
  /** One line about the file beyond the summary (opset, producer, layout), if any. */
  formatDetail?: string;
}

/** Loads any supported model file with its labels and sidecar. A backend must be initialised. */
export async function loadModelFromDisk(modelPath: string, overrides: Preprocessing = {}): Promise<LoadedModelFiles> {
  switch (binaryFormatOf(modelPath)) {
    case 'onnx':
      return { format: 'onnx', ...(await loadOnnxModelFromDisk(modelPath, overrides)) };
    case 'keras':
    case 'keras-h5':
      return loadKerasModelFromDisk(modelPath, binaryFormatOf(modelPath) as 'keras' | 'keras-h5', overrides);
    default:
      return { format: 'layers-model', ...(await loadLayersModelFromDisk(modelPath, overrides)) };
  }
}
