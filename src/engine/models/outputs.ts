// A model's outputs: what each holds (outputKinds.ts), its labels, and the model the engine runs to
// explain it. Multi-head models (age, gender and race from one face) have several outputs; the
// user picks the one to explain. Each output gets a view: a tfjs LayersModel over the same layers
// (weights shared, nothing copied) whose only output is that one, so the graph executor, the
// pipeline, the forward cache (keyed by the model object: one view per output) and the batching
// all run unchanged, computing only the layers that feed that output. A single-output model is its
// own view. Views are never disposed: they own no weights (the loaded model does).
import { outputShapeText } from '../../shared/outputs';
import type { ModelOutput, OutputKind } from '../../shared/types';
import { LensError } from '../../shared/errors';
import { defaultCamLayer, layerEntries } from '../execution/layers';
import { finalActivation, registerHead } from '../execution/graph';
import { defaultLabels, detectKind, entryCount, stripFor, type OutputHead } from './outputKinds';
import type { OutputSetting } from './modelLoader';
import * as tf from '../tf';

/** What a loaded model's outputs are and the model each one is explained with. */
export interface ModelOutputs {
  readonly outputs: ModelOutput[];
  /** Per output: its view (null for an output that holds no scores). */
  readonly views: (tf.LayersModel | null)[];
  /** The first output that holds scores. */
  readonly defaultOutput: number;
  /** Labels that fit no output, sidecar settings that change nothing: one line each. */
  readonly warnings: string[];
}

interface SourceDescription {
  /** The model file, for messages. */
  where: string;
  labels: readonly string[] | null;
  labelsSource: string | null;
  outputSettings?: readonly OutputSetting[];
  outputNames?: readonly string[];
  outputShapes?: readonly (readonly (number | string | null)[])[];
}

/** The loaded model each view belongs to, and its index there (ForwardCache.forgetModel drops every view's entries). */
const viewBases = new WeakMap<tf.LayersModel, { base: tf.LayersModel; output: number }>();

/** The loaded model a view was made from (the model itself for one that is not a view). */
export function baseOf(model: tf.LayersModel): tf.LayersModel {
  return viewBases.get(model)?.base ?? model;
}

/** A shape as users read it: 1×896×16 (a batch that is not fixed shows as 1). */
export const formatOutputShape = outputShapeText;

/**
 * Describes every output of a model, checks cnn-lens.json's "output" settings against them and
 * makes each output's view. Refuses a model none of whose outputs holds scores ("not a classifier").
 */
export function describeOutputs(model: tf.LayersModel, source: SourceDescription): ModelOutputs {
  const { where } = source;
  const count = model.outputs.length;
  const names = Array.from({ length: count }, (_, i) => source.outputNames?.[i] ?? model.outputNames?.[i] ?? model.outputs[i].sourceLayer.name);
  const shapes = Array.from({ length: count }, (_, i) => source.outputShapes?.[i] ?? model.outputs[i].shape);
  const holdsScores = model.outputs.map((t) => t.shape.length === 2 && typeof t.shape[1] === 'number' && t.shape[1] > 0);
  if (!holdsScores.some(Boolean)) {
    throw notAClassifier(where, shapes);
  }
  const listing = names.map((name, i) => `${i} "${name}" (${formatOutputShape(shapes[i])})`).join(', ');
  const settings = matchSettings(source.outputSettings ?? [], names, listing);
  const warnings: string[] = [];
  const outputs: ModelOutput[] = [];
  const views: (tf.LayersModel | null)[] = [];
  let modelLabelsUsed = false;
  for (let index = 0; index < count; index++) {
    const setting = settings.get(index);
    const activation = holdsScores[index] ? finalActivation(model, index) : null;
    if (!holdsScores[index]) {
      if (setting) {
        throw new LensError(
          `${setting.sidecar}: "output" sets output ${index} "${names[index]}", which is ${formatOutputShape(shapes[index])}: not scores of shape [N, units], so it cannot be explained. Outputs: ${listing}.`,
          'bad-input',
        );
      }
      outputs.push({ index, name: names[index], shape: [...shapes[index]], kind: null, kindSource: 'model', activation: null, labels: [], labelsSource: null, defaultCamLayer: '' });
      views.push(null);
      continue;
    }
    const units = model.outputs[index].shape[1] as number;
    const kind: OutputKind = setting?.kind ?? detectKind(units, activation);
    if (kind === 'binary' && units !== 1) {
      throw new LensError(
        `${setting?.sidecar}: "output" says output ${index} "${names[index]}" is "binary", but it has ${units} units; a binary classifier's output is one logit (for two softmax classes use "classes").`,
        'bad-input',
      );
    }
    const entries = entryCount(kind, units);
    let labels = defaultLabels(kind, entries);
    let labelsSource: string | null = null;
    if (setting?.labels) {
      if (setting.labels.labels.length === entries) {
        labels = [...setting.labels.labels];
        labelsSource = setting.labels.source;
      } else {
        warnings.push(labelsMismatch(setting.labels.source, setting.labels.labels.length, entries, kind, count > 1 ? names[index] : null));
      }
    } else if (source.labels && !modelLabelsUsed && source.labels.length === entries) {
      // The model's own labels file: one per class of the output, or a binary output's two sides.
      // With several outputs it names the first output it fits (set "labels" per output otherwise).
      labels = [...source.labels];
      labelsSource = source.labelsSource;
      modelLabelsUsed = true;
    }
    // A view's only output is this one (index 0); a single-output model is its own view.
    const head: OutputHead = { index: 0, output: index, kind, strip: stripFor(kind, activation) };
    const view = count === 1 ? model : tf.model({ inputs: model.inputs, outputs: model.outputs[index], name: `${model.name}_output_${index}` });
    registerHead(view, head);
    viewBases.set(view, { base: model, output: index });
    outputs.push({
      index,
      name: names[index],
      shape: [...shapes[index]],
      kind,
      kindSource: setting?.kind ? 'sidecar' : 'model',
      activation,
      labels,
      labelsSource,
      defaultCamLayer: camLayerOf(view, model),
    });
    views.push(view);
  }
  const defaultOutput = outputs.findIndex((o) => o.kind !== null);
  if (count > 1) {
    // Passes on the loaded model itself (activation maps, tools) return the default output.
    const first = outputs[defaultOutput];
    registerHead(model, { index: defaultOutput, output: defaultOutput, kind: first.kind as OutputKind, strip: stripFor(first.kind as OutputKind, first.activation) });
  }
  const unlabelled = outputs.filter((o) => o.kind !== null && !settings.get(o.index)?.labels);
  if (source.labels && !modelLabelsUsed && unlabelled.length > 0) {
    const first = unlabelled[0];
    warnings.push(labelsMismatch(source.labelsSource ?? 'the labels file', source.labels.length, first.labels.length, first.kind as OutputKind, null, count > 1));
  }
  return { outputs, views, defaultOutput, warnings };
}

function labelsMismatch(file: string, labels: number, entries: number, kind: OutputKind, output: string | null, several = false): string {
  const what = kind === 'binary' ? `a binary output (2 classes: 1 − σ(z), σ(z))` : kind === 'regression' ? `${entries} value${entries === 1 ? '' : 's'}` : `${entries} classes`;
  const whose = several ? 'no output of the model has that many entries' : `${output ? `output "${output}"` : 'the model'} has ${what}`;
  return (
    `${file} has ${labels} label${labels === 1 ? '' : 's'} but ${whose}; ` +
    `the labels are not used and classes are shown as "${kind === 'regression' ? 'value' : 'class N'}" (give one label per class, in class order${several ? ', or set "labels" per output in cnn-lens.json' : ''}).`
  );
}

/** The model's default CAM layer for this output: the last 4-D layer feeding it. */
function camLayerOf(view: tf.LayersModel, model: tf.LayersModel): string {
  try {
    return defaultCamLayer(view);
  } catch {
    return defaultCamLayer(model); // no 4-D layer feeds it: the request then says which layers do
  }
}

/** The sidecar's "output" entries by output index; an entry naming no output is an error listing them. */
function matchSettings(settings: readonly OutputSetting[], names: readonly string[], listing: string): Map<number, OutputSetting> {
  const matched = new Map<number, OutputSetting>();
  for (const setting of settings) {
    let index: number;
    if (setting.output === undefined) {
      if (names.length !== 1) {
        throw new LensError(`${setting.sidecar}: "output" must say which output it sets ("name": a name or an index): the model has ${names.length} outputs: ${listing}.`, 'bad-input');
      }
      index = 0;
    } else {
      index = typeof setting.output === 'number' ? setting.output : names.indexOf(setting.output);
      if (index < 0 || index >= names.length) {
        throw new LensError(`${setting.sidecar}: "output" names output ${JSON.stringify(setting.output)}, which the model does not have; its outputs: ${listing}.`, 'bad-input');
      }
    }
    if (matched.has(index)) {
      throw new LensError(`${setting.sidecar}: "output" sets output ${index} "${names[index]}" twice; keep one entry per output.`, 'bad-input');
    }
    matched.set(index, setting);
  }
  return matched;
}

/** "not a classifier: its output is 1×896×16": the model's outputs hold no scores to explain. */
export function notAClassifier(where: string, shapes: readonly (readonly (number | string | null)[])[]): LensError {
  const shown = shapes.map(formatOutputShape);
  const its = shown.length === 1 ? `its output is ${shown[0]}` : `its outputs are ${shown.join(', ')}`;
  const flat = shapes.length === 1 && shapes[0].length > 2 && shapes[0].slice(1).filter((d) => d !== 1).length <= 1;
  const hint = flat
    ? 'if these are class scores, flatten them in the model (x.flatten(1)) so the output is [N, classes]'
    : 'CNN Lens explains outputs of class scores, a binary logit or regression values, shaped [N, units], not boxes, heatmaps or masks';
  return new LensError(`${where}: not a classifier: ${its}; ${hint}.`, 'unsupported');
}

/**
 * The output a request names (its index, or its name; default the model's default output), checked:
 * an output that does not exist or holds no scores is the request's fault, listing the outputs.
 */
export function resolveOutput(outputs: readonly ModelOutput[], defaultOutput: number, requested: number | string | undefined): ModelOutput {
  if (requested === undefined) {
    return outputs[defaultOutput];
  }
  const listing = (): string => outputs.map((o) => `${o.index} "${o.name}" (${formatOutputShape(o.shape)}${o.kind ? `, ${o.kind}` : ', not scores'})`).join(', ');
  const byName = typeof requested === 'string' ? outputs.find((o) => o.name === requested) : undefined;
  const asIndex = typeof requested === 'number' ? requested : /^\d+$/.test(requested) && !byName ? Number(requested) : undefined;
  const found = byName ?? (asIndex !== undefined ? outputs[asIndex] : undefined);
  if (!found) {
    throw new LensError(`The model has no output ${JSON.stringify(requested)}; its outputs: ${listing()}. Give an index or a name.`, 'bad-request');
  }
  if (found.kind === null) {
    throw new LensError(`Output ${found.index} "${found.name}" is ${formatOutputShape(found.shape)}, not scores, so it cannot be explained; its outputs: ${listing()}.`, 'bad-request');
  }
  return found;
}

/** True when the layer (by its listed name) feeds the view's output; every layer feeds a model's only output. */
export function layerFeeds(view: tf.LayersModel, layer: string): boolean {
  return view === baseOf(view) || layerEntries(view).some((entry) => entry.info.name === layer);
}
