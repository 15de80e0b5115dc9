// Loads an .onnx file from disk (no fetch) with the labels and cnn-lens.json beside it.
import * as fs from 'fs';
import * as path from 'path';
import type { Preprocessing } from '../../../shared/types';
import { LensError } from '../../../shared/errors';
import { readModelCompanions, type ModelFiles } from '../modelLoader';
import { buildOnnxModel } from './onnxModel';

export interface OnnxFiles extends ModelFiles {
  /** "opset 13, pytorch 1.13.0, input [1, 3, 224, 224] NCHW (run as NHWC)" */
  formatDetail: string;
}

export async function loadOnnxModelFromDisk(modelPath: string, overrides: Preprocessing = {}): Promise<OnnxFiles> {
  const file = path.resolve(modelPath);
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (error as Error).message;
    throw new LensError(`Model file not found: ${file} (${reason}).`, 'bad-input');
  }
  const info = buildOnnxModel(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file, path.basename(file, path.extname(file)));
  try {
    const companions = await readModelCompanions(file, info.model, overrides);
    const producer = info.producer ? `, ${info.producer}` : '';
    return {
      model: info.model,
      modelPath: file,
      ...companions,
      outputNames: info.outputNames,
      outputShapes: info.outputShapes,
      formatDetail: `opset ${info.opset}${producer}, input [${info.onnxInputShape.join(', ')}] NCHW (run as NHWC)`,
    };
  } catch (error) {
    info.model.dispose();
    throw error;
  }
}
