// Messages between the extension host (src/host/panel/lensPanel.ts) and the panel's webview
// (webview/main.ts). Both sides use MessageChannelEndpoint from ./messaging: the webview's one
// request is `ready` (the handshake, answered with the bootstrap state); everything else is a
// command (webview -> host, no answer) or a notification (host -> webview). Pictures travel as
// typed arrays, never as JSON number arrays: each map once, 8-bit at display size, and the image once
// per file (keyed); the page colours and blends them (src/render/indexed.ts), so the colormap and
// opacity never cross. No vscode, no DOM: both tsconfigs compile this file.

import type { InspectHostToWebview, InspectWebviewToHost } from './inspectPanel';
import type { RequestBase } from './messaging';
import type { StatusLine } from './statusLine';
import type { ColormapName, ExplainedOutput, FaithfulnessMetrics, IndexedMap, MethodName, OutputKind, Prediction, RgbaImage } from './types';
import { COLORMAPS, METHOD_NAMES } from './types';
import { SETTING_DEFAULTS } from './settingDefaults';

/**
 * The small view state the webview keeps with setState and the serializer hands back after a
 * window reload. Paths are absolute file-system paths. Undefined class/layer mean "the default"
 * (top-1 prediction, the model's default CAM layer).
 */
export interface PanelViewState {
  modelPath: string;
  imagePath: string;
  classIndex?: number;
  layer?: string;
  /** The output explained (index in the model's output order); undefined: the model's default. */
  output?: number;
  method: MethodName;
  colormap: ColormapName;
  /** Heatmap opacity in the overlay, 0..1. */
  opacity: number;
}

/** A 4-D layer the user can pick as the CAM target. */
export interface LayerChoice {
  name: string;
  className: string;
  /** e.g. "14×14×32" */
  shape: string;
  isDefault: boolean;
}

/** An output the user can pick (the picker shows only when a model has several). */
export interface OutputChoice {
  index: number;
  /** As the model names it. */
  name: string;
  /** "1: gender", as the picker lists it. */
  label: string;
  /** "binary classifier (sigmoid) · 1×1". */
  description: string;
  /** null: not scores (a box or mask output), listed but not explainable. */
  kind: OutputKind | null;
  /** Its entries: classes, a binary output's two sides, a regression's values. */
  labels: string[];
  /** The output's own default CAM layer. */
  defaultLayer: string;
}

/** What the webview needs to know about the model to fill its pickers. */
export interface PanelModelInfo {
  path: string;
  fileName: string;
  name: string;
  /** The default output's labels (outputs[defaultOutput].labels). */
  labels: string[];
  /** Every output, in the model's order. */
  outputs: OutputChoice[];
  defaultOutput: number;
  layers: LayerChoice[];
  defaultLayer: string;
  inputShape: [number, number, number];
  /** The format and how the model was read (e.g. a PyTorch model's class, weights, input size). */
  detail: string;
  /** What the user must know about the numbers shown, e.g. "untrained weights", one per line. */
  notice?: string;
}

/** The image as the page shows it (at most DISPLAY_MAX_SIDE), with the key the page keeps it by. */
export interface PanelImage {
  key: string;
  image: RgbaImage;
}

export interface PanelResult {
  /** The request this result answers, so the webview can keep its pickers in step. */
  imagePath: string;
  modelPath: string;
  method: MethodName;
  layer: string;
  classIndex: number;
  className: string;
  score: number;
  /** The output explained and its kind (a regression's predictions are values). */
  output: ExplainedOutput;
  /** What the map explains, for the status line: "Grad-CAM of “spoof” (class 1: σ(z), +z 0.9) at trunk · output 1 “spoof” of 3". */
  explained: string;
  predictions: Prediction[];
  /** The key of the display image (PanelImage) the map is drawn over. */
  imageKey: string;
  /** The map at the display image's size, 8-bit: the page colours it in the chosen colormap and blends the overlay. */
  map: IndexedMap;
  /** The original image size (the export resolution). */
  originalWidth: number;
  originalHeight: number;
  backend: string;
  backendDetail: string;
  timings: Record<string, number>;
  /** Inputs of the method's sampling passes that helper workers computed (cnnLens.sampleWorkers). */
  inputsElsewhere?: number;
  /** The model input the image ran at, when the user should see it: "input 3×32×32 (found by trial…)". */
  input?: string;
  /** The Grad-CAM tab's status line ("Grad-CAM of Ankle boot at conv4 · 45 ms · wasm") and its tooltip. */
  status: StatusLine;
}

export interface Bootstrap {
  state: PanelViewState;
  imageFileName: string;
  modelFileName: string;
  colormaps: readonly ColormapName[];
  methods: readonly MethodName[];
}

// ---------------------------------------------------------------------------------------------
// Webview -> host

/** The webview's first message: it is listening now; answers with the bootstrap state. */
export interface ReadyRequest extends RequestBase<Bootstrap> {
  type: 'ready';
}

/** Class, layer, method or output changed: the engine runs again. */
export interface ChangeTargetCommand {
  type: 'changeTarget';
  classIndex?: number;
  layer?: string;
  method: MethodName;
  /** Another output: the host remembers it for this model, and the class and layer go back to its defaults. */
  output?: number;
}

/** Colormap or opacity changed: the page repainted itself; the host only keeps them (state restore, Export, new tabs). */
export interface ChangeAppearanceCommand {
  type: 'changeAppearance';
  colormap: ColormapName;
  opacity: number;
}

export interface OpenFileCommand {
  type: 'openFile';
  which: 'model' | 'image';
}

export interface SelectModelCommand {
  type: 'selectModel';
}

export interface ExportOverlayCommand {
  type: 'exportOverlay';
}

/** Cancels the computation in progress (same as the notification's Cancel). */
export interface CancelCommand {
  type: 'cancel';
}

/** The answer to a ConfirmRunNotification: run the long computation, or leave it. */
export interface ConfirmRunCommand {
  type: 'confirmRun';
  id: number;
  run: boolean;
}

/** Compare view (issue 4): run these methods on the panel's image, class and layer. */
export interface CompareCommand {
  type: 'compare';
  methods: MethodName[];
  metrics: boolean;
  /** The user saw the estimate (CompareConfirmNotification) and chose to run anyway: do not ask again. */
  confirmed?: boolean;
}

export type WebviewToHost =
  | InspectWebviewToHost
  | ReadyRequest
  | ChangeTargetCommand
  | ChangeAppearanceCommand
  | OpenFileCommand
  | SelectModelCommand
  | ExportOverlayCommand
  | CancelCommand
  | ConfirmRunCommand
  | CompareCommand;

// ---------------------------------------------------------------------------------------------
// Host -> webview

/** The panel now shows another image and/or model (Show Grad-CAM on a new file, Select Model). */
export interface FilesNotification {
  type: 'files';
  state: PanelViewState;
  imageFileName: string;
  modelFileName: string;
}

export interface ModelNotification {
  type: 'model';
  model: PanelModelInfo;
}

/**
 * A view is being recomputed (or no longer is): its progress bar, message and Cancel (webview/busy.ts).
 * The host sends one per step of the work; the webview shows it only after a moment, so fast work
 * does not flicker.
 */
export interface BusyNotification {
  type: 'busy';
  busy: boolean;
  /** What is running, e.g. "Loading the model…", "Grad-CAM at conv2…". */
  message?: string;
  /** How far it is, 0..1, when known (the bar is indeterminate otherwise). */
  fraction?: number;
  /** The view doing the work: 'gradcam' (default), 'compare', … */
  view?: string;
}

export interface ResultNotification {
  type: 'result';
  result: PanelResult;
  /** The display image, when the page does not hold the one the result names (a new file, a new page). */
  image?: PanelImage;
}

export interface ErrorNotification {
  type: 'error';
  /** Empty clears the error. */
  message: string;
  code?: string;
}

/** A note for a tab's status line ("Cancelled: showing the previous result."), shown until its next result. */
export interface StatusNotification {
  type: 'status';
  message: string;
  /** The tab it is about: 'gradcam' (default), 'compare', … */
  tab?: string;
}

/** A tab's status line (the Grad-CAM tab's comes with its result). */
export interface TabStatusNotification {
  type: 'tabStatus';
  tab: string;
  status: StatusLine;
}

/** The host changed the view state (a layer picked on another tab, a run declined): the pickers follow. */
export interface ViewStateNotification {
  type: 'viewState';
  state: PanelViewState;
}

/**
 * The layer picked on one tab now applies to these tabs too (src/shared/layerChoice.ts); the
 * webview records it without reloading (each view loads its layer when it is shown).
 */
export interface SharedLayerNotification {
  type: 'sharedLayer';
  activationLayer?: string;
  filterLayer?: string;
}

/**
 * A run estimated to take long (src/host/panel/runEstimate.ts) waits for the user: the panel shows the
 * estimate with a button to run it and one to leave it. `confirm` undefined takes the question away.
 */
export interface ConfirmRunNotification {
  type: 'confirmRun';
  confirm?: { id: number; text: string; action: string };
}

// ---------------------------------------------------------------------------------------------
// Compare view (issue 4, issue 16). The host says what is shown: the maps, times, the progress
// line, the estimate's words, whether the comparison still matches the panel; the page colours the
// maps over the image in the Grad-CAM tab's colormap and opacity.

/** One method in the compare view: its map at display resolution, times and metrics. */
export interface PanelCompareItem {
  method: MethodName;
  /** The layer used, or the model input for input-level methods. */
  layer: string;
  /** The map at the display image's size, 8-bit (the page blends it over the image). */
  map: IndexedMap;
  /** The method's own time (its map and predictions). */
  timeMs: number;
  /** Its faithfulness metrics' time, when asked (apart: they often take far longer than the map). */
  metricsMs?: number;
  metrics?: FaithfulnessMetrics;
}

export interface PanelCompare {
  imagePath: string;
  classIndex: number;
  className: string;
  /** The key of the display image (PanelImage): the first tile (the CLI's grid starts with it too), under every map. */
  imageKey: string;
  /** "Ankle boot (class 9) · p = 0.862": what the maps explain, under the input tile. */
  target: string;
  items: PanelCompareItem[];
}

export interface CompareNotification {
  type: 'compare';
  compare: PanelCompare;
  /** The display image, when the page does not hold the one the comparison names. */
  image?: PanelImage;
}

/** A comparison in progress (undefined: none). */
export interface CompareProgress {
  /** "Score-CAM (2 of 5): metrics", ready to show. */
  label: string;
  /** 0..1 of the whole run, when known. */
  fraction?: number;
  /** The engine's own line for the step ("scoring channels 17–32 of 1280"), for the tooltip. */
  detail?: string;
}

export interface CompareProgressNotification {
  type: 'compareProgress';
  progress?: CompareProgress;
  /** Once idle: what became of the last request ("Comparison cancelled.", an error naming the file and the fix). */
  note?: { text: string; error?: boolean };
}

/** The estimate is above the threshold: the panel asks before running (no modal). */
export interface CompareConfirm {
  methods: MethodName[];
  metrics: boolean;
  headline: string;
  details: string[];
}

export interface CompareConfirmNotification {
  type: 'compareConfirm';
  confirm?: CompareConfirm;
}

/** Why the comparison shown no longer matches the panel (undefined: it still does). */
export interface CompareStaleNotification {
  type: 'compareStale';
  reason?: string;
}

export type HostToWebview =
  | InspectHostToWebview
  | FilesNotification
  | ModelNotification
  | BusyNotification
  | ResultNotification
  | ErrorNotification
  | StatusNotification
  | TabStatusNotification
  | ViewStateNotification
  | SharedLayerNotification
  | ConfirmRunNotification
  | CompareNotification
  | CompareProgressNotification
  | CompareConfirmNotification
  | CompareStaleNotification;

// ---------------------------------------------------------------------------------------------
// State validation (the serializer and getState() hand back whatever was stored)

export const DEFAULT_VIEW: Pick<PanelViewState, 'method' | 'colormap' | 'opacity'> = {
  method: 'gradcam',
  colormap: SETTING_DEFAULTS.defaultColormap,
  opacity: SETTING_DEFAULTS.defaultOpacity,
};

export function isColormap(value: unknown): value is ColormapName {
  return typeof value === 'string' && (COLORMAPS as readonly string[]).includes(value);
}

export function isMethod(value: unknown): value is MethodName {
  return typeof value === 'string' && (METHOD_NAMES as readonly string[]).includes(value);
}

export function clampOpacity(value: unknown, fallback = DEFAULT_VIEW.opacity): number {
  const n = typeof value === 'number' ? value : Number.NaN;
  return Number.isFinite(n) ? Math.min(1, Math.max(0, n)) : fallback;
}

/**
 * Accepts a stored state only when it names both files; repairs the optional fields (an unknown
 * colormap from an older version becomes the default) rather than throwing the whole state away.
 */
export function parseViewState(value: unknown, defaults: Partial<PanelViewState> = {}): PanelViewState | undefined {
  if (typeof value !== 'object' || value === null) {
    return undefined;
  }
  const v = value as Record<string, unknown>;
  if (typeof v.modelPath !== 'string' || !v.modelPath || typeof v.imagePath !== 'string' || !v.imagePath) {
    return undefined;
  }
  const state: PanelViewState = {
    modelPath: v.modelPath,
    imagePath: v.imagePath,
    method: isMethod(v.method) ? v.method : (defaults.method ?? DEFAULT_VIEW.method),
    colormap: isColormap(v.colormap) ? v.colormap : (defaults.colormap ?? DEFAULT_VIEW.colormap),
    opacity: clampOpacity(v.opacity, defaults.opacity ?? DEFAULT_VIEW.opacity),
  };
  if (typeof v.classIndex === 'number' && Number.isInteger(v.classIndex) && v.classIndex >= 0) {
    state.classIndex = v.classIndex;
  }
  if (typeof v.layer === 'string' && v.layer) {
    state.layer = v.layer;
  }
  if (typeof v.output === 'number' && Number.isInteger(v.output) && v.output >= 0) {
    state.output = v.output;
  }
  return state;
}

/** The file name part of a path, for either separator (the webview has no `path` module). */
export function baseName(filePath: string): string {
  const parts = filePath.split(/[\\/]/);
  return parts[parts.length - 1] || filePath;
}
