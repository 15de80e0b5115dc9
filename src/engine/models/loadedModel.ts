// What every part of the engine holds a model by: the loaded model, its summary and its source.
// Kept apart from index.ts (which loads models and runs requests) so the inspect and explain
// modules can name the type without importing the engine's entry point.
import type { ModelFormat, ModelSummary, Preprocessing } from '../../shared/types';
import type { OutputSetting } from './modelLoader';
import type * as tf from '../tf';

export interface LoadedModel {
  readonly summary: ModelSummary;
  /** The whole model (every output); its passes return the default output. */
  readonly model: tf.LayersModel;
  /**
   * The model that explains output `index` (outputs.ts: a view over the same layers whose only
   * output is that one; the model itself when it has one output). Throws for an output that holds no scores.
   */
  outputModel(index: number): tf.LayersModel;
  dispose(): void;
}

/** Where a model came from, as modelLoader reports it. */
export interface ModelSource {
  path: string;
  labels: readonly string[] | null;
  labelsSource: string | null;
  preprocessing: Preprocessing;
  sidecar: string | null;
  /** Default 'layers-model'. */
  format?: ModelFormat;
  formatDetail?: string;
  /** cnn-lens.json's "output" settings (outputs.ts checks them against the outputs). */
  outputSettings?: readonly OutputSetting[];
  /** Output names and shapes as the format states them, when they differ from the rebuilt model's. */
  outputNames?: readonly string[];
  outputShapes?: readonly (readonly (number | string | null)[])[];
}
