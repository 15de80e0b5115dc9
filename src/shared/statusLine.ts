// What the panel's status line and title say, per tab. The line is short and human ("Grad-CAM of
// Ankle boot at conv4 · 45 ms · wasm"); everything a developer wants (the exact score, each stage's
// time, the backend's full description) goes to its tooltip and the output channel. The host
// computes both (the webview only displays), so they are pure functions of what the host knows. No
// vscode, no DOM: both tsconfigs compile this file.
import { splitBackendDetail } from './backendText';
import { binarySide } from './outputs';
import { INPUT_LEVEL_METHODS, METHOD_LABELS, type ExplainedOutput, type MethodName } from './types';

/** One tab's status line: the text shown and the tooltip with the details. */
export interface StatusLine {
  text: string;
  tooltip: string;
}

/** "45 ms", "1.2 s", "42 s", "2 min 5 s": a duration as people say it (no "1041 ms"). */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) {
    return '?';
  }
  // Thresholds where rounding would carry over: 999.6 ms reads "1.0 s", not "1000 ms".
  if (ms < 999.5) {
    return `${Math.round(ms)} ms`;
  }
  if (ms < 9_950) {
    return `${(ms / 1000).toFixed(1)} s`;
  }
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) {
    return `${seconds} s`;
  }
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
}

/** "forward 351 ms · gradients 81 ms · request 1041 ms": every stage the engine timed, for tooltips and the log. */
export function timingBreakdown(timings: Record<string, number>): string {
  return Object.entries(timings)
    .filter(([, ms]) => Number.isFinite(ms))
    .map(([stage, ms]) => `${stage.replace(/Ms$/, '')} ${Math.round(ms)} ms`)
    .join(' · ');
}

/** The time the user waited for a result: the worker's whole request when it measured it, else the engine's total. */
export function requestTime(timings: Record<string, number>): number | undefined {
  const ms = timings.requestMs ?? timings.total;
  return Number.isFinite(ms) ? ms : undefined;
}

/** What the Grad-CAM tab's status line is made of (a PanelResult without its pictures). */
export interface ExplanationFacts {
  method: MethodName;
  layer: string;
  classIndex: number;
  className: string;
  output: ExplainedOutput;
  /** The backend's short name ("wasm") and its full description ("wasm (SIMD, 1 thread) (skipped: …)"). */
  backend: string;
  backendDetail: string;
  timings: Record<string, number>;
  /** The full account of the explained score (panelState.ts explainedLine). */
  explained: string;
  originalWidth: number;
  originalHeight: number;
  /** The model input the image ran at, when the user should know it. */
  input?: string;
  inputsElsewhere?: number;
}

/** "Ankle boot", "spoof (σ(z))", "the value 21.7": what was explained, without the numbers behind it. */
function explainedWhat(facts: Pick<ExplanationFacts, 'output' | 'className' | 'classIndex'>): string {
  switch (facts.output.kind) {
    case 'binary':
      return `${facts.className} (${binarySide(facts.classIndex)})`;
    case 'regression':
      return facts.className === 'value' ? 'the value' : facts.className;
    default:
      return facts.className;
  }
}

/** "Grad-CAM of Ankle boot at conv4 · 45 ms · wasm", with the exact score, stages and backend in the tooltip. */
export function explanationStatus(facts: ExplanationFacts): StatusLine {
  const method = METHOD_LABELS[facts.method] ?? facts.method;
  const where = INPUT_LEVEL_METHODS.includes(facts.method) ? 'the input' : facts.layer;
  const parts = [`${method} of ${explainedWhat(facts)} at ${where}`];
  if (facts.output.of > 1) {
    parts.push(`output “${facts.output.name}”`);
  }
  const ms = requestTime(facts.timings);
  if (ms !== undefined) {
    parts.push(formatDuration(ms));
  }
  parts.push(facts.backend);
  const backend = splitBackendDetail(facts.backendDetail);
  const tooltip = [
    facts.explained,
    [`image ${facts.originalWidth}×${facts.originalHeight}`, facts.input].filter(Boolean).join(' · '),
    `backend: ${backend.running}${backend.skipped.length > 0 ? ` (skipped: ${backend.skipped.join('; ')})` : ''}`,
    `time: ${timingBreakdown(facts.timings)}`,
    facts.inputsElsewhere ? `${facts.inputsElsewhere} samples on helper workers` : '',
  ].filter(Boolean);
  return { text: parts.join(' · '), tooltip: tooltip.join('\n') };
}

/** The Activations tab: "Activations of conv3 · 48 channels · 12 ms · wasm". */
export function activationsStatus(facts: {
  layer: string;
  className: string;
  kind: 'maps' | 'units';
  channelCount: number;
  deadCount: number;
  width: number;
  height: number;
  ms: number;
  backend: string;
  imageName: string;
}): StatusLine {
  const what = facts.kind === 'maps' ? `${facts.channelCount} channels` : `${facts.channelCount} units`;
  return {
    text: [`Activations of ${facts.layer}`, what, formatDuration(facts.ms), facts.backend].join(' · '),
    tooltip: [
      `${facts.layer} (${facts.className}) for ${facts.imageName}`,
      facts.kind === 'maps' ? `${facts.channelCount} maps of ${facts.height}×${facts.width}, ${facts.deadCount} dead (zero everywhere)` : `${facts.channelCount} unit values`,
      `backend: ${facts.backend}`,
      `time: page ${Math.round(facts.ms)} ms (the layer's output is computed once per image and kept)`,
    ].join('\n'),
  };
}

/** The Filters tab: "Filters of conv1 · 8 filters · 3 ms" (weights are read, not computed: no backend). */
export function filtersStatus(facts: { layer: string; className: string; filterCount: number; shape: string; layout: string; ms: number; modelName: string }): StatusLine {
  return {
    text: [`Filters of ${facts.layer}`, `${facts.filterCount} filters`, formatDuration(facts.ms)].join(' · '),
    tooltip: [`${facts.layer} (${facts.className}) of ${facts.modelName}`, `weights ${facts.shape} ${facts.layout}`, `time: page ${Math.round(facts.ms)} ms`].join('\n'),
  };
}

/** The Model tab: "sample_cnn · 11 layers · 50,954 parameters · wasm". */
export function modelStatus(facts: { name: string; layerCount: number; totalParams: number; backend: string; backendDetail: string; formatDetail?: string; ms: number }): StatusLine {
  return {
    text: [facts.name, `${facts.layerCount} layers`, `${facts.totalParams.toLocaleString('en-US')} parameters`, facts.backend].join(' · '),
    tooltip: [facts.formatDetail, `backend: ${facts.backendDetail}`, `time: ${Math.round(facts.ms)} ms`].filter(Boolean).join('\n'),
  };
}

/** What the panel's title is made of: the tab shown and what it shows. */
export interface TitleFacts {
  tab: string;
  imageName: string;
  modelName: string;
  /** The layer the tab shows (Activations, Filters), when known. */
  layer?: string;
}

const TAB_TITLES: Readonly<Record<string, string>> = {
  gradcam: 'Grad-CAM',
  activations: 'Activations',
  filters: 'Filters',
  model: 'Model',
  compare: 'Compare',
};

/**
 * The editor tab's title follows the panel's tab: "Grad-CAM: sample.png", "Activations: conv3 ·
 * sample.png", "Filters: conv1 · model.json" (weights belong to the model, not the image),
 * "Model: model.json". A tab another module registered is named by its id.
 */
export function panelTitle(facts: TitleFacts): string {
  const name = TAB_TITLES[facts.tab] ?? (facts.tab ? facts.tab[0].toUpperCase() + facts.tab.slice(1) : 'CNN Lens');
  const file = facts.tab === 'filters' || facts.tab === 'model' ? facts.modelName : facts.imageName;
  const layer = (facts.tab === 'activations' || facts.tab === 'filters') && facts.layer ? `${facts.layer} · ` : '';
  return `${name}: ${layer}${file}`;
}

/** Whether a title is one of the panel's (e2e tests find the panel's editor tab by it). */
export const PANEL_TITLE_PATTERN = /^(Grad-CAM|Activations|Filters|Model|Compare): /;
