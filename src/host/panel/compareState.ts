// The compare view's pure logic on the host (no `vscode`, so unit-tested directly): what a
// comparison was computed for and whether the panel still shows that (the "compare again" notice),
// the progress line's words, and the view's data built from the engine's results.
//
// Why the notice is decided here: the page used to mark the comparison stale on every `files`
// notification, and the host sends one whenever it shows files, even the same ones (the "Grad-CAM
// here" lens, Show Grad-CAM or Visualize Layer on the image already shown), so "The image or model
// changed" appeared when nothing had. Only the host knows what changed: the paths, the output, the
// class and layer the maps explain, and the files on disk (live refresh).
import { chosenOutput } from './panelState';
import type { PanelCompare, PanelModelInfo, PanelViewState } from '../../shared/panel';
import { t } from '../../shared/l10n';
import { formatDuration } from '../../shared/compareEstimate';
import { formatValue } from '../../shared/outputs';
import { INPUT_LEVEL_METHODS, METHOD_LABELS, type CamResult, type CompareStep, type IndexedMap, type MethodName } from '../../shared/types';
import type { ComparedResult } from '../../shared/worker';
import { LensError } from '../../shared/errors';

/** What a comparison explained: the files, output, class and layer, and the files' version on disk. */
export interface CompareTarget {
  imagePath: string;
  modelPath: string;
  output: number;
  classIndex: number;
  /** The request named no class: the maps explain the top-1 prediction, which is what "no class" still means for the same files. */
  topClass: boolean;
  /** The layer the CAM methods used; undefined when every method worked on the input. */
  layer?: string;
  /** Bumped by the panel when the model's or the image's files change on disk. */
  filesVersion: number;
}

/** The layer a state explains at: its own, else its output's default, else the model's. */
function effectiveLayer(state: PanelViewState, model: PanelModelInfo): string {
  return state.layer ?? chosenOutput(state, model).defaultLayer ?? model.defaultLayer;
}

export function compareTargetOf(
  state: PanelViewState,
  model: PanelModelInfo,
  first: Pick<CamResult, 'classIndex'> & { output: { index: number } },
  methods: readonly MethodName[],
  filesVersion: number,
): CompareTarget {
  const usesLayer = methods.some((method) => !INPUT_LEVEL_METHODS.includes(method));
  return {
    imagePath: state.imagePath,
    modelPath: state.modelPath,
    output: first.output.index,
    classIndex: first.classIndex,
    topClass: state.classIndex === undefined,
    ...(usesLayer ? { layer: effectiveLayer(state, model) } : {}),
    filesVersion,
  };
}

/**
 * Why the comparison no longer describes what the panel shows, in the words the Compare tab shows;
 * undefined while it still does. `model` is the panel's model as last loaded (undefined while a new
 * one loads: the paths then decide).
 */
export function staleReason(target: CompareTarget, state: PanelViewState, model: PanelModelInfo | undefined, filesVersion: number): string | undefined {
  const imageChanged = state.imagePath !== target.imagePath;
  const modelChanged = state.modelPath !== target.modelPath;
  if (imageChanged && modelChanged) {
    return t('The image and the model changed: compare again to update.');
  }
  if (imageChanged) {
    return t('The image changed: compare again to update.');
  }
  if (modelChanged) {
    return t('The model changed: compare again to update.');
  }
  if (filesVersion !== target.filesVersion) {
    return t('The model or image changed on disk: compare again to update.');
  }
  if (!model) {
    return undefined;
  }
  if ((state.output ?? model.defaultOutput) !== target.output) {
    return t('The output changed: compare again to update.');
  }
  const classIndex = state.classIndex ?? (target.topClass ? target.classIndex : undefined);
  if (classIndex !== target.classIndex) {
    return t('The class changed: compare again to update.');
  }
  if (target.layer !== undefined && effectiveLayer(state, model) !== target.layer) {
    return t('The layer changed: compare again to update.');
  }
  return undefined;
}

/** "Score-CAM (2 of 5)", "Score-CAM (2 of 5): metrics", with the estimate while it runs. */
export function compareProgressLabel(step: CompareStep | undefined, estimateMs?: number): string {
  const total = estimateMs !== undefined && estimateMs >= 2000 ? ` · ${t('{0} in all', formatDuration(estimateMs))}` : '';
  if (!step) {
    return `${t('Starting the comparison…')}${total}`;
  }
  const what = t('{0} ({1} of {2})', METHOD_LABELS[step.method], step.index + 1, step.of);
  return `${step.phase === 'metrics' ? t('Metrics of {0}', what) : what}…${total}`;
}

/** "Ankle boot (class 9) · p = 0.862", or a regression's value: what every map explains. */
export function targetLine(first: Pick<CamResult, 'className' | 'classIndex' | 'score' | 'predictions' | 'output'>): string {
  if (first.output.kind === 'regression') {
    return first.className === 'value' ? `value ${formatValue(first.score)}` : `${first.className}: value ${formatValue(first.score)}`;
  }
  const probability = first.predictions.find((p) => p.index === first.classIndex)?.probability;
  return `${first.className} (class ${first.classIndex})${probability !== undefined ? ` · p = ${probability.toFixed(3)}` : ''}`;
}

/**
 * The view's data: each method's map at the display image's size (the page blends it over the image,
 * as the CLI's grid draws them), with its times and metrics.
 */
export function buildPanelCompare(
  imagePath: string,
  imageKey: string,
  results: readonly Pick<ComparedResult, 'method' | 'result' | 'timeMs' | 'metricsMs'>[],
  maps: readonly IndexedMap[],
): PanelCompare {
  if (maps.length !== results.length) {
    throw new LensError(`The engine sent ${maps.length} maps for ${results.length} methods.`, 'invalid-message');
  }
  const first = results[0].result;
  return {
    imagePath,
    classIndex: first.classIndex,
    className: first.className,
    imageKey,
    target: targetLine(first),
    items: results.map(({ method, result, timeMs, metricsMs }, i) => ({
      method,
      layer: result.layer,
      map: maps[i],
      timeMs,
      ...(metricsMs !== undefined ? { metricsMs } : {}),
      ...(result.metrics ? { metrics: result.metrics } : {}),
    })),
  };
}
