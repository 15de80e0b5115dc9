// Which loader reads a model file. CNN Lens explains every format as a tfjs LayersModel: a TF.js
// LayersModel as it is; an ONNX graph rebuilt node by node (onnx/onnxModel.ts); a Keras .h5 or
// .keras file rebuilt from its Keras JSON with its weights (keras/loadKeras.ts); a TF.js graph
// model's TensorFlow ops as node layers (graphModel/loadGraphModel.ts).
import { binaryFormatOf } from '../../shared/modelFormats';
import type { ModelFormat, Preprocessing } from '../../shared/types';
import { loadLayersModelFromDisk, locateModelJson, type ModelFiles } from './modelLoader';
import * as fs from 'fs';
import { isGraphModelJson, loadGraphModelFromDisk } from './graphModel/loadGraphModel';
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
      if (await isGraphModelFile(modelPath)) {
        return { format: 'graph-model', ...(await loadGraphModelFromDisk(modelPath, overrides)) };
      }
      return { format: 'layers-model', ...(await loadLayersModelFromDisk(modelPath, overrides)) };
  }
}

/** A model.json whose content is a TF.js graph model; anything unreadable goes to the LayersModel loader, which explains it. */
async function isGraphModelFile(modelPath: string): Promise<boolean> {
  try {
    return isGraphModelJson(JSON.parse(await fs.promises.readFile(await locateModelJson(modelPath), 'utf8')));
  } catch {
    return false;
  }
}
