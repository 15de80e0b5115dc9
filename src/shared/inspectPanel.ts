// Host <-> webview messages of the panel's layer inspection tabs (Activations, Filters, Model). The
// webview asks (requests with answers, cancellable: a newer page request cancels the older one); the
// host answers from the engine worker. Pictures are 8-bit maps (Uint8Array) plus the 256-entry LUTs
// sent once with the model info; the webview only looks colours up. No vscode, no DOM.
import type { RequestBase } from './messaging';
import {
  ACTIVATION_SCALES,
  ACTIVATION_SORTS,
  FILTER_MODES,
  FILTER_SCALES,
  type ActivationChannel,
  type ActivationChannelRequest,
  type ActivationPage,
  type ActivationPageRequest,
  type ActivationScale,
  type ActivationSort,
  type FilterMode,
  type FilterPage,
  type FilterPageRequest,
  type FilterScale,
  type LayerInfo,
  type LayerViews,
  type ModelFormat,
} from './types';
import type { ShapeOrder } from './shapes';

/** The panel's built-in tabs; other modules may register more (see webview/tabs.ts). */
export const INSPECT_VIEWS = ['activations', 'filters', 'summary'] as const;
export type InspectView = (typeof INSPECT_VIEWS)[number];

/** What the Activations, Filters and Model tabs need to know about the model. */
export interface InspectModelInfo {
  modelPath: string;
  imagePath: string;
  name: string;
  format: ModelFormat;
  /** How the model was read (format details; a PyTorch model's class, weights and input size). */
  formatDetail?: string;
  /** Shapes as the model's framework shows them ('NCHW': PyTorch). */
  shapeOrder?: ShapeOrder;
  inputShape: [number, number, number];
  totalParams: number;
  numClasses: number;
  /** What the model outputs, in a few words: "10 classes (softmax)", "binary classifier (sigmoid)", "3 outputs". */
  outputsText: string;
  backend: string;
  defaultCamLayer: string;
  layers: LayerInfo[];
  views: LayerViews[];
}

/**
 * The small state of the inspection tabs, kept with the panel's view state (setState) and by the
 * host (the fallback after a reload in a browser), so a reloaded panel opens the same tab and layer.
 */
export interface InspectViewState {
  /** The open tab: 'gradcam', 'activations', 'filters', 'model', or one another module registered. */
  tab: string;
  /** Layer shown in the Activations tab. */
  activationLayer?: string;
  /** Layer shown in the Filters tab. */
  filterLayer?: string;
  sort: ActivationSort;
  scale: ActivationScale;
  hideDead: boolean;
  filterMode?: FilterMode;
  filterScale: FilterScale;
}

export const DEFAULT_INSPECT_STATE: InspectViewState = {
  tab: 'gradcam',
  sort: 'index',
  scale: 'channel',
  hideDead: false,
  filterScale: 'filter',
};

/** Repairs whatever was stored (an older version, a hand-edited state) into a valid state. */
export function parseInspectState(value: unknown): InspectViewState {
  const v = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const pick = <T extends string>(x: unknown, choices: readonly T[], fallback: T): T =>
    typeof x === 'string' && (choices as readonly string[]).includes(x) ? (x as T) : fallback;
  const state: InspectViewState = {
    tab: typeof v.tab === 'string' && /^[a-z][a-z0-9-]*$/.test(v.tab) ? v.tab : DEFAULT_INSPECT_STATE.tab,
    sort: pick(v.sort, ACTIVATION_SORTS, DEFAULT_INSPECT_STATE.sort),
    scale: pick(v.scale, ACTIVATION_SCALES, DEFAULT_INSPECT_STATE.scale),
    hideDead: v.hideDead === true,
    filterScale: pick(v.filterScale, FILTER_SCALES, DEFAULT_INSPECT_STATE.filterScale),
  };
  if (typeof v.activationLayer === 'string' && v.activationLayer) {
    state.activationLayer = v.activationLayer;
  }
  if (typeof v.filterLayer === 'string' && v.filterLayer) {
    state.filterLayer = v.filterLayer;
  }
  if (typeof v.filterMode === 'string' && (FILTER_MODES as readonly string[]).includes(v.filterMode)) {
    state.filterMode = v.filterMode as FilterMode;
  }
  return state;
}

/** Formats whose layers carry Keras's trainable flag (operator graphs and PyTorch modules have none). */
const TRAINABLE_FORMATS: readonly ModelFormat[] = ['layers-model', 'keras', 'keras-h5'];

/**
 * Whether the Model tab shows a Trainable column: only where the format has the flag and some layer
 * with weights is frozen. Anywhere else "yes" on every row (or "no" where the flag does not exist)
 * says nothing and costs a column.
 */
export function showsTrainable(info: Pick<InspectModelInfo, 'format' | 'layers'>): boolean {
  return TRAINABLE_FORMATS.includes(info.format) && info.layers.some((layer) => layer.params > 0 && !layer.trainable);
}

/** The tab a "Visualize Layer…" view opens. */
export function tabOfView(view: InspectView): string {
  return view === 'summary' ? 'model' : view;
}

// Webview -> host requests

export interface InspectModelRequest extends RequestBase<InspectModelInfo> {
  type: 'inspectModel';
}
export interface InspectActivationsRequest extends RequestBase<ActivationPage> {
  type: 'inspectActivations';
  request: ActivationPageRequest;
}
export interface InspectChannelRequest extends RequestBase<ActivationChannel> {
  type: 'inspectChannel';
  request: ActivationChannelRequest;
}
export interface InspectFiltersRequest extends RequestBase<FilterPage> {
  type: 'inspectFilters';
  request: FilterPageRequest;
}
/** The tab or its settings changed (no answer): the host keeps a copy for restoring. */
export interface InspectStateCommand {
  type: 'inspectState';
  state: InspectViewState;
}

/**
 * The user picked a layer on the Activations or Filters tab (its picker, a Model-tab row): the host
 * applies it to the other tabs (src/shared/layerChoice.ts). Said apart from inspectState, which
 * also carries layers the host set itself, so an echo is never taken for a pick.
 */
export interface PickLayerCommand {
  type: 'pickLayer';
  tab: 'activations' | 'filters';
  layer: string;
}

export type InspectRequest = InspectModelRequest | InspectActivationsRequest | InspectChannelRequest | InspectFiltersRequest;
export type InspectWebviewToHost = InspectRequest | InspectStateCommand | PickLayerCommand;

export function isInspectRequest(message: { type: string }): message is InspectRequest {
  return message.type === 'inspectModel' || message.type === 'inspectActivations' || message.type === 'inspectChannel' || message.type === 'inspectFilters';
}

// Host -> webview

/** Open a tab (and layer), e.g. from "Visualize Layer…" or a CodeLens; also the restore fallback. */
export interface ShowInspectNotification {
  type: 'showInspect';
  state: InspectViewState;
  /** True when a command asked for it (switch even if the page restored its own tab). */
  reveal: boolean;
}

/** The model or image changed: the inspection tabs ask again. */
export interface InspectInvalidateNotification {
  type: 'inspectInvalidate';
}

export type InspectHostToWebview = ShowInspectNotification | InspectInvalidateNotification;
