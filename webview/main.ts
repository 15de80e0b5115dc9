// The CNN Lens panel page. It displays what the host sends (the image once, each map once as 8-bit
// values, the top predictions, pickers) and reports the user's changes. Its only computing is
// painting: it colours the maps and blends the overlays itself (./canvas.ts, src/render/indexed.ts),
// so a colormap or opacity change is repainted here without a round trip. Its first message is
// the `ready` request; the host answers with the bootstrap state and then pushes notifications.
// The small view state is mirrored into setState so VS Code can restore the panel after a reload.
import { t } from './l10n';
import './components';
import { MessageChannelEndpoint } from '../src/shared/messaging';
import type { StatusLine } from '../src/shared/statusLine';
import { defaultLayerMark } from '../src/shared/layerNames';
import {
  baseName,
  isMethod,
  DEFAULT_VIEW,
  parseViewState,
  type Bootstrap,
  type HostToWebview,
  type OutputChoice,
  type PanelModelInfo,
  type PanelResult,
  type PanelViewState,
  type PanelImage,
  type ReadyRequest,
  type WebviewToHost,
} from '../src/shared/panel';
import { INPUT_LEVEL_METHODS, METHOD_LABELS, type ColormapName, type MethodName, type OutputKind } from '../src/shared/types';
import { binarySide } from '../src/shared/outputs';
import { drawRgba, paintIndexed, paintOverlay } from './canvas';
import { colormapLut } from '../src/render/colormap';
import { ShownImages } from './shownImages';
import { createCompareView } from './compareView';
import { BusyIndicator, busyIndicatorFor, registerBusyView } from './busy';
import { panelTabs, registerTab } from './tabs';
import type { VscodeButton, VscodeSingleSelect } from './components';
import { layerOption, selectedTitle, setOptions, selectValue } from './pickers';
import { renderPredictions } from './predictions';
import { vscodeApi } from './vscodeApi';
import { createInspection } from './inspect';
import { ExplanationRegion } from './explain';
import { methodExplanation } from '../src/shared/explanations';
import type { InspectViewState } from '../src/shared/inspectPanel';

const api = vscodeApi<PanelViewState & { inspect?: unknown }>();

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) {
    throw new Error(`CNN Lens panel: #${id} is missing from the page.`);
  }
  return element as T;
}

const ui = {
  modelLink: byId<HTMLAnchorElement>('model-link'),
  imageLink: byId<HTMLAnchorElement>('image-link'),
  selectModel: byId<VscodeButton>('select-model'),
  exportButton: byId<VscodeButton>('export'),
  outputControl: byId<HTMLDivElement>('output-control'),
  outputSelect: byId<VscodeSingleSelect>('output-select'),
  classSelect: byId<VscodeSingleSelect>('class-select'),
  layerSelect: byId<VscodeSingleSelect>('layer-select'),
  methodSelect: byId<VscodeSingleSelect>('method-select'),
  colormapSelect: byId<VscodeSingleSelect>('colormap-select'),
  opacity: byId<HTMLInputElement>('opacity'),
  opacityValue: byId<HTMLOutputElement>('opacity-value'),
  busy: byId<HTMLDivElement>('busy'),
  panelBusy: byId<HTMLDivElement>('panel-busy'),
  confirm: byId<HTMLDivElement>('confirm-run'),
  confirmText: byId<HTMLParagraphElement>('confirm-run-text'),
  confirmRun: byId<VscodeButton>('confirm-run-go'),
  confirmSkip: byId<VscodeButton>('confirm-run-skip'),
  error: byId<HTMLDivElement>('error'),
  modelNotice: byId<HTMLDivElement>('model-notice'),
  image: byId<HTMLCanvasElement>('image'),
  heatmap: byId<HTMLCanvasElement>('heatmap'),
  overlay: byId<HTMLCanvasElement>('overlay'),
  views: document.querySelector<HTMLElement>('main.views'),
  predictions: byId<HTMLOListElement>('predictions'),
  predictionsTitle: byId<HTMLHeadingElement>('predictions-title'),
  status: byId<HTMLElement>('status'),
  statusDetailsToggle: byId<VscodeButton>('status-details-toggle'),
  statusDetails: byId<HTMLPreElement>('status-details'),
};

// ⓘ beside the Method picker: what the chosen method's map shows, under the controls.
const methodInfo = new ExplanationRegion('method-explanation');
const methodRow = document.createElement('div');
methodRow.className = 'control-row';
ui.methodSelect.replaceWith(methodRow);
methodRow.append(ui.methodSelect, methodInfo.button('method-info', t('What does this method show?'), () => [methodExplanation(chosenMethod())]));
document.querySelector('#panel-gradcam > section.controls')?.after(methodInfo.element);

let view: PanelViewState | undefined = parseViewState(api.getState());
let model: PanelModelInfo | undefined;
/** The display images the Grad-CAM and Compare tabs show, by key (sent once by the host). */
const images = new ShownImages();
const compareView = createCompareView(byId<HTMLElement>('compare'), (command) => send(command), () => ({
  lut: colormapLut(view?.colormap ?? DEFAULT_VIEW.colormap),
  opacity: view?.opacity ?? DEFAULT_VIEW.opacity,
}));
// Compare sits beside Grad-CAM (same class and layer); inspect.ts registers the other tabs.
registerTab({ id: 'compare', label: t('Compare'), panel: byId<HTMLElement>('compare'), order: 15 });
let result: PanelResult | undefined;
/** Each tab's status line (the host computes them) and a note that replaces it until the tab's next result. */
const statuses = new Map<string, StatusLine>();
const notes = new Map<string, string>();
/** The long run the host asks about (runEstimate.ts), while the question is shown. */
let confirmId: number | undefined;

const endpoint = new MessageChannelEndpoint<WebviewToHost, HostToWebview>((envelope) => api.postMessage(envelope), {
  requests: {}, // the host only notifies the page
  onEvent: (message) => onNotification(message),
});
window.addEventListener('message', (event: MessageEvent<unknown>) => endpoint.handle(event.data));

function send(message: WebviewToHost): void {
  endpoint.emit(message);
}

// Progress: the Grad-CAM tab's bar sits above its pictures; views that register none (see busy.ts)
// show theirs on one under the tab bar.
const cancelWork = () => send({ type: 'cancel' });
const gradcamBusy = new BusyIndicator({ element: ui.busy, testid: 'busy', region: ui.views ?? undefined, onCancel: cancelWork });
registerBusyView('gradcam', gradcamBusy);
const fallbackBusy = new BusyIndicator({ element: ui.panelBusy, testid: 'panel-busy', onCancel: cancelWork });

function saveState(): void {
  if (view) {
    api.setState(inspectState ? { ...view, inspect: inspectState } : view);
  }
}

// ---------------------------------------------------------------------------------------------
// Inspection tabs (Activations, Filters, Model): see inspect.ts. Their state is saved with the view
// state and copied to the host, which restores it after a reload when the page has none.

let inspectState: InspectViewState | undefined;
const inspection = createInspection(
  {
    request: (message, signal) => endpoint.request(message, { signal, timeoutMs: 300_000 }),
    saveState: (state) => {
      inspectState = state;
      saveState();
      send({ type: 'inspectState', state });
    },
    pickLayer: (tab, layer) => send({ type: 'pickLayer', tab, layer }),
    image: () => images.of('gradcam'),
  },
  api.getState()?.inspect,
  byId<HTMLElement>('panel-gradcam'),
);

// ---------------------------------------------------------------------------------------------
// Host -> page

function onNotification(message: HostToWebview): void {
  switch (message.type) {
    case 'files':
      view = withOwnAppearance(message.state);
      saveState();
      showFiles(message.modelFileName, message.imageFileName);
      // A CodeLens may have asked for another method or layer with the files ("Explain here…").
      selectValue(ui.methodSelect, view.method);
      showLayerUse(view.method);
      ui.views?.classList.add('stale');
      // Not the Compare tab: the host says whether its comparison still matches (compareStale),
      // since the same files are announced again by the lens, Show Grad-CAM and Visualize Layer.
      break;
    case 'model':
      model = message.model;
      fillModelPickers();
      showModelDetail();
      break;
    case 'busy': {
      const view = message.view ?? 'gradcam';
      (busyIndicatorFor(view) ?? fallbackBusy).update(message.busy, message.message, message.fraction);
      if (message.busy) {
        notes.delete(view);
        renderStatus();
      }
      break;
    }
    case 'result':
      showResult(message.result, message.image);
      break;
    case 'error':
      ui.error.textContent = message.message;
      ui.error.hidden = message.message === '';
      // The last good result stays visible but dimmed: it no longer matches the files (live
      // refresh of a model that stopped loading). The next result clears both.
      ui.views?.classList.toggle('stale', message.message !== '' && result !== undefined);
      document.body.classList.toggle('result-stale', message.message !== '' && result !== undefined);
      break;
    case 'status':
      notes.set(message.tab ?? 'gradcam', message.message);
      renderStatus();
      break;
    case 'tabStatus':
      statuses.set(message.tab, message.status);
      notes.delete(message.tab);
      renderStatus();
      break;
    case 'viewState':
      // The host changed the state (a layer picked on another tab, a long run left): the pickers follow.
      view = withOwnAppearance(message.state);
      saveState();
      selectValue(ui.methodSelect, view.method);
      fillModelPickers();
      showLayerUse(view.method);
      break;
    case 'sharedLayer':
      inspection.sharedLayer({ activationLayer: message.activationLayer, filterLayer: message.filterLayer });
      break;
    case 'confirmRun':
      showConfirm(message.confirm);
      break;
    case 'showInspect':
      inspection.show(message.state, message.reveal);
      break;
    case 'inspectInvalidate':
      inspection.invalidate();
      break;
    case 'compare':
      compareView.show(message.compare, shownImage('compare', message.compare.imageKey, message.image));
      break;
    case 'compareProgress':
      compareView.setProgress(message.progress, message.note);
      break;
    case 'compareConfirm':
      compareView.confirm(message.confirm);
      break;
    case 'compareStale':
      compareView.setStale(message.reason);
      break;
  }
}

/**
 * The page owns the colormap and opacity (the host keeps a copy, which may lag a change still on
 * its way): a state from the host keeps the page's own.
 */
function withOwnAppearance(state: PanelViewState): PanelViewState {
  return view ? { ...state, colormap: view.colormap, opacity: view.opacity } : state;
}

function applyBootstrap(boot: Bootstrap): void {
  view = boot.state;
  saveState();
  showFiles(boot.modelFileName, boot.imageFileName);
  setOptions(
    ui.methodSelect,
    boot.methods.map((method) => ({ value: method, label: methodLabel(method) })),
    view.method,
  );
  showLayerUse(view.method);
  setOptions(
    ui.colormapSelect,
    boot.colormaps.map((colormap) => ({ value: colormap, label: colormap })),
    view.colormap,
  );
  showOpacity(view.opacity);
  renderStatus();
}

/** The estimate of a long run, with its button, where the run's pictures would appear (or nothing). */
function showConfirm(confirm: { id: number; text: string; action: string } | undefined): void {
  confirmId = confirm?.id;
  ui.confirm.hidden = !confirm;
  ui.confirmText.textContent = confirm?.text ?? '';
  ui.confirmRun.textContent = confirm?.action ?? '';
  if (confirm) {
    ui.confirmRun.focus();
  }
}

function answerConfirm(run: boolean): void {
  if (confirmId !== undefined) {
    send({ type: 'confirmRun', id: confirmId, run });
    showConfirm(undefined);
  }
}

function showFiles(modelFileName: string, imageFileName: string): void {
  ui.modelLink.textContent = modelFileName;
  ui.modelLink.title = view ? t('Open {0}', view.modelPath) : '';
  ui.imageLink.textContent = imageFileName;
  ui.imageLink.title = view ? t('Open {0}', view.imagePath) : '';
}

/** How the model was read, on the model link; a warning above the tabs when its numbers mean nothing yet. */
function showModelDetail(): void {
  if (!model) {
    return;
  }
  ui.modelLink.title = view ? `${t('Open {0}', view.modelPath)}\n${model.detail}` : model.detail;
  ui.modelNotice.textContent = model.notice ?? '';
  ui.modelNotice.hidden = !model.notice;
}

/** The output the pickers show: the view's, else the model's default. */
function currentOutput(): OutputChoice | undefined {
  if (!model) {
    return undefined;
  }
  return model.outputs[view?.output ?? model.defaultOutput] ?? model.outputs[model.defaultOutput];
}

function fillModelPickers(): void {
  if (!model) {
    return;
  }
  const output = currentOutput();
  // The output picker only for a model with several; outputs that hold no scores are not offered.
  ui.outputControl.hidden = model.outputs.length <= 1;
  setOptions(
    ui.outputSelect,
    model.outputs.filter((o) => o.kind !== null).map((o) => ({ value: String(o.index), label: o.label, description: o.description })),
    String(output?.index ?? model.defaultOutput),
  );
  ui.outputSelect.title = output?.description ?? '';
  const defaultLayer = output?.defaultLayer ?? model.defaultLayer;
  setOptions(
    ui.layerSelect,
    model.layers.map((layer) => layerOption(layer.name, { suffix: layer.name === defaultLayer ? defaultLayerMark() : '', description: `${layer.className} ${layer.shape}` })),
    view?.layer ?? (result?.output.index === output?.index ? result?.layer : undefined) ?? defaultLayer,
  );
  const labels = output?.labels ?? model.labels;
  const selectedClass = view?.classIndex ?? (result?.output.index === output?.index ? result?.classIndex : undefined) ?? 0;
  setOptions(ui.classSelect, labels.map((label, index) => ({ value: String(index), label: classOptionLabel(output?.kind ?? 'classes', label, index) })), String(selectedClass));
}

/** "1: spoof (σ(z))" for a binary output's sides, "0: value" for a regression, "3: cat" for classes. */
function classOptionLabel(kind: OutputKind | null, label: string, index: number): string {
  return kind === 'binary' ? `${index}: ${label} (${binarySide(index)})` : `${index}: ${label}`;
}

/** The image a view now shows; an error on the page if the host sent none the page lacks (a bug, said plainly). */
function shownImage(which: 'gradcam' | 'compare', key: string, sent: PanelImage | undefined) {
  const image = images.show(which, key, sent);
  if (!image) {
    ui.error.textContent = t('CNN Lens: the panel is missing the image to draw on. Run "Developer: Reload Webviews" or show the image again.');
    ui.error.hidden = false;
  }
  return image;
}

function showResult(next: PanelResult, sent: PanelImage | undefined): void {
  const image = shownImage('gradcam', next.imageKey, sent);
  if (!image) {
    return;
  }
  result = next;
  if (view && model && next.modelPath === view.modelPath && (view.output ?? model.defaultOutput) !== next.output.index) {
    // The host recalled the output chosen for this model before: the pickers follow it.
    view = { ...view, output: next.output.index };
    saveState();
    fillModelPickers();
  }
  ui.views?.classList.remove('stale');
  document.body.classList.remove('result-stale');
  drawRgba(ui.image, image);
  drawViews();
  renderPredictions(ui.predictions, next.predictions, next.classIndex, next.output.kind, (index) => {
    // A row picked with the mouse or the keyboard: explain that class.
    if (index !== (view?.classIndex ?? result?.classIndex)) {
      gradcamBusy.startedBy(ui.classSelect);
      changeTarget({ classIndex: index });
    }
  });
  ui.predictionsTitle.textContent = next.output.kind === 'regression' ? t('Value') : next.output.kind === 'binary' ? t('Prediction (binary classifier)') : t('Top predictions');
  if (model) {
    selectValue(ui.outputSelect, String(next.output.index));
    // Input-level results name the model input as their layer, which is not a choice in the picker.
    if (!usesNoLayer(next.method)) {
      selectValue(ui.layerSelect, next.layer);
    }
    selectValue(ui.classSelect, String(next.classIndex));
  }
  selectValue(ui.methodSelect, next.method);
  showLayerUse(next.method);
  ui.exportButton.disabled = false;
  statuses.set('gradcam', next.status);
  notes.delete('gradcam');
  renderStatus();
}

/** The heatmap and the overlay of the result, in the page's colormap and opacity. */
function drawViews(): void {
  const image = images.of('gradcam');
  if (!result || !view || !image) {
    return;
  }
  const { map } = result;
  const lut = colormapLut(view.colormap);
  paintIndexed(ui.heatmap, map.data, map.width, map.height, lut);
  paintOverlay(ui.overlay, image, map, lut, view.opacity);
  for (const canvas of [ui.heatmap, ui.overlay]) {
    canvas.setAttribute('aria-label', `${canvas.id} ${map.width}×${map.height}`);
  }
}

/** The status line of the tab shown: its note, else its status (each tab its own, never the last Grad-CAM's). */
function renderStatus(): void {
  const tab = panelTabs().active ?? 'gradcam';
  const note = notes.get(tab);
  const status = statuses.get(tab);
  ui.status.textContent = note ?? status?.text ?? (tab === 'gradcam' && !result ? t('Starting…') : '');
  ui.status.title = status?.tooltip ?? '';
  ui.status.dataset.tab = tab;
  // The tooltip's details, also for the keyboard: a Details button shows them under the line.
  const details = note === undefined ? (status?.tooltip ?? '') : '';
  ui.statusDetails.textContent = details;
  ui.statusDetailsToggle.hidden = details === '';
  ui.statusDetails.hidden = details === '' || ui.statusDetailsToggle.getAttribute('aria-expanded') !== 'true';
}

ui.statusDetailsToggle.addEventListener('click', () => {
  const expanded = ui.statusDetailsToggle.getAttribute('aria-expanded') === 'true';
  ui.statusDetailsToggle.setAttribute('aria-expanded', String(!expanded));
  renderStatus();
});

function methodLabel(method: MethodName): string {
  return METHOD_LABELS[method] ?? method;
}

/** Saliency, SmoothGrad, Integrated Gradients, Guided Backprop and Occlusion work at the input. */
function usesNoLayer(method: MethodName): boolean {
  return INPUT_LEVEL_METHODS.includes(method);
}

/** The method the picker shows (its value may run ahead of the view state while a change is sent). */
function chosenMethod(): MethodName {
  const picked = ui.methodSelect.value;
  return isMethod(picked) ? picked : (view?.method ?? 'gradcam');
}

/** The layer picker is disabled (and says why) while an input-level method is chosen. */
function showLayerUse(method: MethodName): void {
  methodInfo.refresh();
  const unused = usesNoLayer(method);
  ui.layerSelect.disabled = unused;
  ui.layerSelect.title = unused ? t('{0} works on the input pixels: the layer is not used', methodLabel(method)) : selectedTitle(ui.layerSelect);
}

function showOpacity(opacity: number): void {
  ui.opacity.value = String(opacity);
  ui.opacityValue.textContent = `${Math.round(opacity * 100)}%`;
}

// ---------------------------------------------------------------------------------------------
// Page -> host

function changeTarget(change: Partial<Pick<PanelViewState, 'classIndex' | 'layer' | 'method' | 'output'>>): void {
  if (!view) {
    return;
  }
  view = { ...view, ...change };
  saveState();
  send({ type: 'changeTarget', classIndex: view.classIndex, layer: view.layer, method: view.method, output: view.output });
}

/**
 * Colormap or opacity: every view is repainted here from the maps it has (no message needed); the
 * host is told only to keep them (Export, state restore). Slider moves fire fast: at most one
 * repaint and one message per animation frame.
 */
let appearancePending = false;
function changeAppearance(change: Partial<Pick<PanelViewState, 'colormap' | 'opacity'>>): void {
  if (!view) {
    return;
  }
  view = { ...view, ...change };
  saveState();
  if (appearancePending) {
    return;
  }
  appearancePending = true;
  requestAnimationFrame(() => {
    appearancePending = false;
    if (view) {
      drawViews();
      compareView.repaint();
      send({ type: 'changeAppearance', colormap: view.colormap, opacity: view.opacity });
    }
  });
}

ui.outputSelect.addEventListener('change', () => {
  const index = Number(ui.outputSelect.value);
  if (view && model && Number.isInteger(index) && index !== (view.output ?? model.defaultOutput)) {
    // Another output: its classes and default layer (the host does the same and remembers the choice).
    const { classIndex: _class, layer: _layer, ...rest } = view;
    view = { ...rest, output: index };
    fillModelPickers();
    gradcamBusy.startedBy(ui.outputSelect);
    changeTarget({});
  }
});
ui.classSelect.addEventListener('change', () => {
  const index = Number(ui.classSelect.value);
  if (Number.isInteger(index) && index !== (view?.classIndex ?? result?.classIndex)) {
    gradcamBusy.startedBy(ui.classSelect);
    changeTarget({ classIndex: index });
  }
});
ui.layerSelect.addEventListener('change', () => {
  const layer = ui.layerSelect.value;
  if (layer && layer !== (view?.layer ?? result?.layer)) {
    gradcamBusy.startedBy(ui.layerSelect);
    changeTarget({ layer });
  }
});
ui.methodSelect.addEventListener('change', () => {
  const method = ui.methodSelect.value as MethodName;
  if (method && method !== view?.method) {
    showLayerUse(method);
    gradcamBusy.startedBy(ui.methodSelect);
    changeTarget({ method });
  }
});
ui.confirmRun.addEventListener('click', () => answerConfirm(true));
ui.confirmSkip.addEventListener('click', () => answerConfirm(false));
panelTabs().onDidChange(() => renderStatus());
ui.colormapSelect.addEventListener('change', () => {
  const colormap = ui.colormapSelect.value as ColormapName;
  if (colormap && colormap !== view?.colormap) {
    changeAppearance({ colormap });
  }
});
ui.opacity.addEventListener('input', () => {
  const opacity = Number(ui.opacity.value);
  ui.opacityValue.textContent = `${Math.round(opacity * 100)}%`;
  changeAppearance({ opacity });
});
ui.modelLink.addEventListener('click', (event) => {
  event.preventDefault();
  send({ type: 'openFile', which: 'model' });
});
ui.imageLink.addEventListener('click', (event) => {
  event.preventDefault();
  send({ type: 'openFile', which: 'image' });
});
ui.selectModel.addEventListener('click', () => send({ type: 'selectModel' }));
ui.exportButton.addEventListener('click', () => send({ type: 'exportOverlay' }));

// ---------------------------------------------------------------------------------------------
// Handshake

async function start(): Promise<void> {
  // Until the host answers, show what the saved state knows (after a reload: the same files).
  if (view) {
    showFiles(baseName(view.modelPath), baseName(view.imagePath));
  }
  renderStatus();
  try {
    applyBootstrap(await endpoint.request<ReadyRequest>({ type: 'ready' }, { timeoutMs: 30_000 }));
  } catch (error) {
    ui.error.textContent = t('The panel could not reach CNN Lens ({0}). Close it and run "CNN Lens: Show Grad-CAM" again.', error instanceof Error ? error.message : String(error));
    ui.error.hidden = false;
  }
}

void start();
