// One CNN Lens panel: its webview, its view state, and the engine runs behind it. The host owns
// the truth (files, class, layer, colormap, opacity, last result); the webview displays it and
// sends the user's changes. Lifecycle follows webview-sample: `show` creates or reuses a panel,
// `revive` restores one after a window reload, and every listener is disposed with the panel.
import * as vscode from 'vscode';
import { binaryFormatOf, parsePytorchModelPath } from '../../shared/modelFormats';
import { pytorchInputNote } from '../../shared/modelNotes';
import { MessageChannelEndpoint, isCancelled, type HandlerContext } from '../../shared/messaging';
import { isInspectRequest, parseInspectState, tabOfView, type InspectView, type InspectViewState } from '../../shared/inspectPanel';
import { keepLayers, shareLayer, type LayerAbilities, type LayerSlots, type LayerTab } from '../../shared/layerChoice';
import { explanationStatus, panelTitle, type StatusLine } from '../../shared/statusLine';
import {
  baseName,
  parseViewState,
  type Bootstrap,
  type HostToWebview,
  type PanelModelInfo,
  type PanelResult,
  type PanelViewState,
  type WebviewToHost,
  type CompareCommand,
} from '../../shared/panel';
import { COLORMAPS, DEFAULT_METHOD_OPTIONS, INPUT_LEVEL_METHODS, METHOD_LABELS, METHOD_NAMES, type Map2D, type MethodName, type ModelSummary } from '../../shared/types';
import { codeModelGate } from '../codeModels/trust';
import { errorCode, errorMessage, reportError } from '../reportError';
import type { ModelDiscovery } from '../modelDiscovery';
import { readSettings } from '../settings';
import type { EngineClient } from '../../workerClient/client';
import { getPanelHtml, webviewOptions } from './html';
import { InspectHost } from './inspectHost';
import {
  chosenOutput,
  describeTimings,
  explainedLine,
  fitToModel,
  recallOutput,
  rememberOutput,
  toModelInfo,
  withImage,
  withModel,
  withOutput,
  type OutputMemory,
} from './panelState';
import type { ModelChangeHub } from './modelWatcher';
import { withPanelProgress, type BusyState, type PanelProgress } from './progress';
import { estimateRun, learnCost, needsConfirmation, type MeasuredCost } from './runEstimate';
import type { PanelRegistry } from './registry';
import { CompareSession } from './compare';
import { PageImages } from './pageImages';

export interface PanelServices {
  extensionUri: vscode.Uri;
  engine: EngineClient;
  discovery: ModelDiscovery;
  output: vscode.OutputChannel;
  registry: PanelRegistry<LensPanel>;
  /** Keeps the last panel's view state: the fallback when a restored webview brings none. */
  workspaceState: vscode.Memento;
  /** Live refresh: tells the panel when its model's files changed (see ./modelWatcher). */
  modelChanges: ModelChangeHub;
}

/**
 * Why a run starts. `user`: the user asked (a command, a picker), so errors also pop up as a
 * notification and a long run (./progress.ts) shows one. `refresh`: files changed under the user's
 * hands while editing, so a long run shows in the status bar and an error in the panel only (over
 * the dimmed previous result) instead of a notification on every save.
 */
type RunOrigin = 'user' | 'refresh';

/** What to show besides image and model (CodeLens "Grad-CAM here" passes the layer). */
export interface ShowOptions {
  layer?: string;
  /** The method to run ("Grad-CAM here" runs Grad-CAM, whatever the panel ran before). */
  method?: MethodName;
}

const LAST_STATE_KEY = 'cnnLens.lastPanelState';
/** The inspection tabs' state (open tab, layers, toggles): the host's copy, as LAST_STATE_KEY. */
const LAST_INSPECT_KEY = 'cnnLens.lastInspectState';
/** The output chosen for each model with several (panelState.ts OutputMemory). */
const OUTPUT_MEMORY_KEY = 'cnnLens.outputByModel';

/** What the last successful run produced, kept to replay to a new page and to export. */
interface LastRun {
  result: PanelResult;
  /** The map at the layer's resolution, for Export (the worker blends it at the image's own). */
  cam: Map2D;
}

export class LensPanel {
  static readonly viewType = 'cnnLens.panel';

  private currentState!: PanelViewState;
  private readonly endpoint: MessageChannelEndpoint<HostToWebview, WebviewToHost>;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly activated = new vscode.EventEmitter<void>();
  private readonly disposed = new vscode.EventEmitter<void>();
  /** True between the webview's `ready` and the page going away (hidden or reloaded). */
  private webviewReady = false;
  private model: PanelModelInfo | undefined;
  private last: LastRun | undefined;
  /** The display images the worker sent and the page holds (each posted once; ./pageImages.ts). */
  private readonly images = new PageImages();
  private lastError: { message: string; code?: string } | undefined;
  /** Each view's progress (replayed to a page rebuilt while work runs). */
  private readonly busyByView = new Map<string, BusyState>();
  /** Each inspection tab's last status line (the Grad-CAM tab's travels with its result). */
  private readonly tabStatus = new Map<string, StatusLine>();
  /** The layer the Activations and Filters tabs last showed, as answered (for the title). */
  private readonly shownLayers: { activations?: string; filters?: string } = {};
  /** The Grad-CAM layer changed while another tab was shown: run when the Grad-CAM tab comes back. */
  private gradcamPending = false;
  /** The model the inspection tabs' layers were last checked against (Change Model keeps those it has). */
  private layersFittedTo: string | undefined;
  /** What each model's runs measured this session, for estimates before long runs (./runEstimate.ts). */
  private readonly costs = new Map<string, MeasuredCost>();
  /** Long runs the user confirmed (model, method, layer): not asked again this session. */
  private readonly confirmedRuns = new Set<string>();
  /** The long run waiting for the user's answer in the panel. */
  private pendingConfirm: { id: number; key: string; text: string; action: string } | undefined;
  private confirmSeq = 0;
  private running: AbortController | undefined;
  /** Increases with every run; a run whose number is stale drops its result. */
  private generation = 0;
  private reloadModelOnNextRun = false;
  private isDisposed = false;
  /** Live refresh: the model's files (through the shared hub) and the image. */
  private fileWatchers: vscode.Disposable[] = [];
  private imageChangeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Activations, Filters and Model tabs: requests answered from the engine (see inspectHost.ts). */
  private readonly inspect: InspectHost;
  private inspectState: InspectViewState;
  /** A command asked for a tab while the page was not listening: switch to it on `ready`. */
  private revealInspectOnReady = false;
  /** The Compare tab: its last comparison, progress and whether it still matches (compare.ts). */
  private compareSession: CompareSession | undefined;

  /** Shows image + model: reuses the current panel, else opens one beside the model file. */
  static async show(services: PanelServices, imageUri: vscode.Uri, modelUri: vscode.Uri, options: ShowOptions = {}): Promise<LensPanel> {
    const existing = services.registry.active;
    if (existing) {
      await existing.showFiles(imageUri, modelUri, options);
      return existing;
    }
    const settings = readSettings(imageUri);
    const state: PanelViewState = {
      imagePath: imageUri.fsPath,
      modelPath: modelUri.fsPath,
      method: options.method ?? 'gradcam',
      colormap: settings.defaultColormap,
      opacity: settings.defaultOpacity,
      ...(options.layer ? { layer: options.layer } : {}),
    };
    // The model definition in the first column, the panel beside it (and focused).
    await showModelFile(modelUri, vscode.ViewColumn.One);
    const panel = vscode.window.createWebviewPanel(
      LensPanel.viewType,
      panelTitle({ tab: 'gradcam', imageName: baseName(state.imagePath), modelName: baseName(state.modelPath) }),
      { viewColumn: vscode.ViewColumn.Two, preserveFocus: false },
      webviewOptions(services.extensionUri),
    );
    const lens = new LensPanel(panel, services, state);
    lens.run();
    return lens;
  }

  /** Restores a panel after a window reload from the state its webview saved. */
  static revive(services: PanelServices, panel: vscode.WebviewPanel, saved: unknown): LensPanel | undefined {
    const settings = readSettings();
    const defaults = { colormap: settings.defaultColormap, opacity: settings.defaultOpacity };
    // The webview's own state is the normal source. In a browser (code-server) a reload can come
    // before the workbench stored it, so the host's copy of the last panel state backs it up.
    const state = parseViewState(saved, defaults) ?? parseViewState(services.workspaceState.get(LAST_STATE_KEY), defaults);
    if (!state) {
      services.output.appendLine(`[panel] a CNN Lens panel had no saved image/model to restore (state: ${typeof saved}); closing it.`);
      panel.dispose();
      return undefined;
    }
    services.output.appendLine(`[panel] restoring ${state.imagePath} with ${state.modelPath}${parseViewState(saved) ? '' : ' (from the host copy)'}`);
    panel.webview.options = webviewOptions(services.extensionUri);
    const lens = new LensPanel(panel, services, state);
    lens.run();
    return lens;
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly services: PanelServices,
    state: PanelViewState,
  ) {
    this.state = state;
    this.compareSession = new CompareSession({
      engine: services.engine,
      output: services.output,
      state: () => this.state,
      model: () => this.model,
      images: this.images,
      // The compare view's notes belong on its own tab's status line.
      notify: (message) => this.notify(message.type === 'status' ? { ...message, tab: message.tab ?? 'compare' } : message),
      fail: (context, error) => this.fail(context, error),
    });
    this.inspectState = parseInspectState(services.workspaceState.get(LAST_INSPECT_KEY));
    this.inspect = new InspectHost({
      engine: services.engine,
      files: () => ({ modelPath: this.state.modelPath, imagePath: this.state.imagePath }),
      log: (line) => services.output.appendLine(line),
      status: (tab, line) => {
        this.tabStatus.set(tab, line);
        this.notify({ type: 'tabStatus', tab, status: line });
      },
      shown: (tab, layer) => {
        this.shownLayers[tab] = layer;
        this.updateTitle();
      },
    });
    this.endpoint = new MessageChannelEndpoint<HostToWebview, WebviewToHost>(
      // The webview channel takes no transfer list: VS Code moves typed arrays efficiently on its own.
      (envelope) => void this.panel.webview.postMessage(envelope),
      {
        onRequest: (message, context) => this.onRequest(message, context),
        onEvent: (message) => this.onCommand(message),
      },
    );
    panel.iconPath = {
      light: vscode.Uri.joinPath(services.extensionUri, 'media', 'lens-light.svg'),
      dark: vscode.Uri.joinPath(services.extensionUri, 'media', 'lens-dark.svg'),
    };
    panel.webview.html = getPanelHtml({ webview: panel.webview, extensionUri: services.extensionUri });
    this.disposables.push(
      panel.webview.onDidReceiveMessage((data: unknown) => this.endpoint.handle(data)),
      panel.onDidDispose(() => this.dispose()),
      panel.onDidChangeViewState(({ webviewPanel }) => {
        if (!webviewPanel.visible) {
          this.webviewReady = false; // the page is torn down; it asks for everything again on `ready`
        }
        if (webviewPanel.active) {
          this.activated.fire();
        }
      }),
      this.activated,
      this.disposed,
    );
    services.registry.add(this);
    this.updateTitle();
    this.watchFiles();
  }

  get active(): boolean {
    return this.panel.active;
  }

  private get state(): PanelViewState {
    return this.currentState;
  }

  private set state(next: PanelViewState) {
    this.currentState = next;
    void this.services.workspaceState.update(LAST_STATE_KEY, next);
    this.compareSession?.stateChanged();
  }

  get viewState(): Readonly<PanelViewState> {
    return this.state;
  }

  onDidBecomeActive(listener: () => void): vscode.Disposable {
    return this.activated.event(listener);
  }

  onDidDispose(listener: () => void): vscode.Disposable {
    return this.disposed.event(listener);
  }

  /** Another image and/or model in this panel; the class resets, the layer too if the model changed. */
  async showFiles(imageUri: vscode.Uri, modelUri: vscode.Uri, options: ShowOptions = {}): Promise<void> {
    const modelChanged = modelUri.fsPath !== this.state.modelPath;
    this.state = withModel(withImage(this.state, imageUri.fsPath), modelUri.fsPath);
    if (options.layer) {
      this.state = { ...this.state, layer: options.layer };
      // "Grad-CAM here" at conv2: the Activations and Filters tabs look at conv2 too.
      void this.shareFrom('gradcam', options.layer);
    }
    if (options.method) {
      this.state = { ...this.state, method: options.method };
    }
    if (modelChanged) {
      this.model = undefined;
    }
    this.watchFiles();
    await showModelFile(modelUri, besideColumn(this.panel.viewColumn));
    this.panel.reveal(this.panel.viewColumn, false);
    this.announceFiles();
    this.run();
  }

  /** "Change Model…": asks for a model, remembers it, and explains the same image with it. */
  async selectModel(): Promise<void> {
    const uri = await this.services.discovery.select();
    if (!uri) {
      return;
    }
    if (readSettings(uri).modelPath) {
      void vscode.window.showInformationMessage(
        `CNN Lens: this panel now uses ${vscode.workspace.asRelativePath(uri)}; new panels still start with the "cnnLens.modelPath" setting.`,
      );
    }
    await this.showFiles(vscode.Uri.file(this.state.imagePath), uri);
  }

  /** Runs again after something outside changed (the backend setting, the model on disk). */
  rerun(options: { reloadModel?: boolean } = {}): void {
    this.reloadModelOnNextRun ||= options.reloadModel === true;
    this.run();
  }

  /**
   * Live refresh's single entry point: re-runs whatever the panel currently shows, without asking
   * the user anything. Every view re-renders through here, so a view added to `run()` follows its
   * model for free. The model is loaded fresh when its files changed (the ModelChangeHub's
   * `takeReload`, shared with the CodeLens cache so one save costs one load) or when `reloadModel`
   * says so. A model that no longer loads leaves the previous result on screen, dimmed, under the
   * error; the next change that fixes it recovers.
   */
  refresh(reason: string, options: { reloadModel?: boolean } = {}): void {
    if (this.isDisposed) {
      return;
    }
    this.services.output.appendLine(`[refresh] ${reason}; running ${this.state.method} again`);
    this.compareSession?.filesChanged();
    this.reloadModelOnNextRun ||= options.reloadModel === true;
    this.run('refresh');
  }

  async exportOverlay(): Promise<void> {
    const last = this.last;
    if (!last) {
      void vscode.window.showInformationMessage('CNN Lens: nothing to export yet; wait for the Grad-CAM to finish.');
      return;
    }
    const image = vscode.Uri.file(last.result.imagePath);
    const stem = baseName(last.result.imagePath).replace(/\.[^.]+$/, '');
    const target = await vscode.window.showSaveDialog({
      title: 'CNN Lens: Export Overlay as PNG',
      defaultUri: vscode.Uri.joinPath(image, '..', `${stem}.${last.result.method}.png`),
      filters: { 'PNG image': ['png'] },
      saveLabel: 'Export',
    });
    if (!target) {
      return;
    }
    try {
      // At the original resolution, with the colormap and opacity the user sees now: blended and
      // encoded in the worker, which holds the decoded image.
      const { imagePath, imageKey } = last.result;
      const { png, width, height } = await this.services.engine.exportOverlay({ imagePath, imageKey, cam: last.cam, colormap: this.state.colormap, opacity: this.state.opacity });
      await vscode.workspace.fs.writeFile(target, png);
      this.services.output.appendLine(`[export] ${target.fsPath} (${width}x${height}, ${png.byteLength} bytes)`);
      const open = await vscode.window.showInformationMessage(`CNN Lens: saved the overlay to ${vscode.workspace.asRelativePath(target)}.`, 'Open');
      if (open) {
        await vscode.commands.executeCommand('vscode.open', target, besideColumn(this.panel.viewColumn));
      }
    } catch (error) {
      await reportError(`exporting ${target.fsPath}`, error, { output: this.services.output });
    }
  }

  /** "Grad-CAM here": bring the Grad-CAM tab to the front (the panel may be showing another tab). */
  showGradCamTab(): void {
    this.openTab({ ...this.inspectState, tab: 'gradcam' });
  }

  /** "Visualize Layer…": open the Activations, Filters or Model tab (at a layer) in this panel. */
  async showInspect(view: InspectView, layer?: string): Promise<void> {
    const next: InspectViewState = { ...this.inspectState, tab: tabOfView(view) };
    if (layer !== undefined && view === 'activations') {
      next.activationLayer = layer;
    } else if (layer !== undefined && view === 'filters') {
      next.filterLayer = layer;
      delete next.filterMode; // the new layer's own default (RGB only where it has 3 inputs)
    }
    this.openTab(next);
    if (layer !== undefined && view !== 'summary') {
      await this.shareFrom(view, layer);
    }
  }

  private openTab(next: InspectViewState): void {
    this.saveInspectState(next);
    this.revealInspectOnReady = !this.webviewReady;
    this.panel.reveal(this.panel.viewColumn, false);
    this.notify({ type: 'showInspect', state: next, reveal: true });
    this.runIfGradCamPending();
  }

  private saveInspectState(state: InspectViewState): void {
    this.inspectState = state;
    void this.services.workspaceState.update(LAST_INSPECT_KEY, state);
    this.updateTitle();
  }

  /** The editor tab's title follows the panel's tab (src/shared/statusLine.ts panelTitle). */
  private updateTitle(): void {
    const tab = this.inspectState.tab;
    const layer =
      tab === 'activations' ? (this.inspectState.activationLayer ?? this.shownLayers.activations ?? this.model?.defaultLayer) :
      tab === 'filters' ? (this.inspectState.filterLayer ?? this.shownLayers.filters) :
      undefined;
    this.panel.title = panelTitle({ tab, imageName: baseName(this.state.imagePath), modelName: baseName(this.state.modelPath), layer });
  }

  // ------------------------------------------------------------------------------------------
  // One layer for all tabs (src/shared/layerChoice.ts)

  /** Which layers each tab can show in the current model; undefined when the model does not load. */
  private async layerAbilities(): Promise<LayerAbilities | undefined> {
    try {
      const { engine } = this.services;
      const summary: ModelSummary = await engine.loadModel(this.state.modelPath);
      const views = await engine.layerViews(this.state.modelPath);
      return {
        gradcam: new Set(summary.layers.filter((l) => l.spatial).map((l) => l.name)),
        activations: new Set(views.filter((v) => v.activations).map((v) => v.name)),
        filters: new Set(views.filter((v) => v.filters).map((v) => v.name)),
      };
    } catch {
      return undefined; // the run reports why the model does not load
    }
  }

  private layerSlots(): LayerSlots {
    return { gradcam: this.state.layer, activations: this.inspectState.activationLayer, filters: this.inspectState.filterLayer };
  }

  /**
   * The user picked `layer` on tab `from`: every tab that can show it follows. The Grad-CAM tab runs
   * again at once when it is the one shown, else when it is shown next (no engine work for a tab
   * nobody looks at); the inspection tabs load their layer when they are shown.
   */
  private async shareFrom(from: LayerTab, layer: string): Promise<void> {
    const abilities = await this.layerAbilities();
    if (!abilities || this.isDisposed) {
      return;
    }
    const before = this.layerSlots();
    const after = shareLayer(before, from, layer, abilities);
    if (after === before) {
      return;
    }
    if (after.activations !== this.inspectState.activationLayer || after.filters !== this.inspectState.filterLayer) {
      const next: InspectViewState = { ...this.inspectState, activationLayer: after.activations, filterLayer: after.filters };
      if (after.filters !== this.inspectState.filterLayer) {
        delete next.filterMode; // the new layer's own default
      }
      this.saveInspectState(next);
      this.notify({ type: 'sharedLayer', activationLayer: after.activations, filterLayer: after.filters });
    }
    if (from !== 'gradcam' && after.gradcam !== this.state.layer && after.gradcam !== undefined) {
      this.state = { ...this.state, layer: after.gradcam };
      this.notify({ type: 'viewState', state: this.state });
      this.services.output.appendLine(`[panel] ${from} shows ${layer}: Grad-CAM follows`);
      this.gradcamPending = true;
      this.runIfGradCamPending();
    }
  }

  /** Another model: the Activations and Filters tabs keep their layers where it has them, else go back to their defaults. */
  private async keepInspectLayers(): Promise<void> {
    const abilities = await this.layerAbilities();
    if (!abilities || this.isDisposed) {
      return;
    }
    const before = this.layerSlots();
    const kept = keepLayers(before, abilities);
    if (kept.activations === before.activations && kept.filters === before.filters) {
      return;
    }
    const next: InspectViewState = { ...this.inspectState, activationLayer: kept.activations, filterLayer: kept.filters };
    if (kept.filters === undefined) {
      delete next.filterLayer;
      delete next.filterMode;
    }
    if (kept.activations === undefined) {
      delete next.activationLayer;
    }
    this.saveInspectState(next);
    this.notify({ type: 'sharedLayer', activationLayer: kept.activations, filterLayer: kept.filters });
  }

  /** Runs the Grad-CAM that a layer picked elsewhere made stale, once its tab is the one shown. */
  private runIfGradCamPending(): void {
    if (this.gradcamPending && this.inspectState.tab === 'gradcam' && !this.isDisposed) {
      this.gradcamPending = false;
      this.run();
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.isDisposed = true;
    this.running?.abort();
    clearTimeout(this.imageChangeTimer);
    this.fileWatchers.forEach((d) => d.dispose());
    this.endpoint.rejectAll(new Error('The CNN Lens panel was closed.'));
    this.disposed.fire();
    this.panel.dispose();
    this.disposables.forEach((d) => d.dispose());
  }

  // ------------------------------------------------------------------------------------------
  // Webview messages

  private onRequest(message: WebviewToHost, context: HandlerContext): Bootstrap | Promise<unknown> | undefined {
    if (isInspectRequest(message)) {
      return this.inspect.handle(message, context.signal);
    }
    if (message.type !== 'ready') {
      throw new Error(`"${message.type}" is a command, not a request.`);
    }
    this.webviewReady = true;
    this.images.pageReset();
    // The page may be new (first open, shown again after hiding, reloaded): after the bootstrap
    // reply goes out, replay what it has missed.
    setTimeout(() => this.replay(), 0);
    return {
      state: this.state,
      imageFileName: baseName(this.state.imagePath),
      modelFileName: baseName(this.state.modelPath),
      colormaps: COLORMAPS,
      methods: METHOD_NAMES,
    };
  }

  private onCommand(message: WebviewToHost): void {
    switch (message.type) {
      case 'ready':
      case 'inspectModel':
      case 'inspectActivations':
      case 'inspectChannel':
      case 'inspectFilters':
        break; // requests, answered by onRequest
      case 'inspectState':
        this.saveInspectState(parseInspectState(message.state));
        this.runIfGradCamPending();
        break;
      case 'pickLayer':
        // A layer picked on the Activations or Filters tab (or a Model-tab row) applies to the other tabs.
        void this.shareFrom(message.tab, message.layer);
        break;
      case 'changeTarget': {
        const layerBefore = this.state.layer;
        if (message.output !== undefined && message.output !== (this.state.output ?? this.model?.defaultOutput)) {
          // Another output: its own classes and default layer, remembered for this model.
          this.state = { ...withOutput(this.state, message.output), method: message.method };
          this.rememberOutput(message.output);
        } else {
          this.state = { ...this.state, classIndex: message.classIndex, layer: message.layer, method: message.method };
        }
        this.run();
        if (message.layer !== undefined && message.layer !== layerBefore && this.state.layer === message.layer) {
          void this.shareFrom('gradcam', message.layer);
        }
        break;
      }
      case 'confirmRun':
        this.answerConfirm(message.id, message.run);
        break;
      case 'changeAppearance':
        // The page repainted every view itself: kept for Export, a restored panel and new tabs; nothing is posted.
        this.state = { ...this.state, colormap: message.colormap, opacity: message.opacity };
        break;
      case 'openFile':
        void this.openFile(message.which);
        break;
      case 'selectModel':
        this.selectModel().catch((error: unknown) => this.fail('selecting a model', error));
        break;
      case 'exportOverlay':
        void this.exportOverlay();
        break;
      case 'cancel':
        this.running?.abort();
        break;
      case 'compare':
        this.compare(message);
        break;
    }
  }

  private notify(message: HostToWebview): void {
    if (this.webviewReady && !this.isDisposed) {
      this.endpoint.emit(message);
    }
  }

  private replay(): void {
    if (this.model) {
      this.notify({ type: 'model', model: this.model });
    }
    if (this.last) {
      this.postResult(this.last.result);
    }
    for (const [view, busy] of this.busyByView) {
      this.notify({ type: 'busy', busy: true, message: busy.message, fraction: busy.fraction, view });
    }
    for (const [tab, status] of this.tabStatus) {
      this.notify({ type: 'tabStatus', tab, status });
    }
    if (this.pendingConfirm) {
      const { id, text, action } = this.pendingConfirm;
      this.notify({ type: 'confirmRun', confirm: { id, text, action } });
    }
    if (this.lastError) {
      this.notify({ type: 'error', ...this.lastError });
    }
    // The page restores its own tab from getState at once; the host's copy (updated on every change)
    // then wins, as a browser may restore a page state older than the last change.
    this.notify({ type: 'showInspect', state: this.inspectState, reveal: this.revealInspectOnReady });
    this.revealInspectOnReady = false;
    this.compareSession?.replay();
  }

  private announceFiles(): void {
    this.updateTitle();
    this.notify({
      type: 'files',
      state: this.state,
      imageFileName: baseName(this.state.imagePath),
      modelFileName: baseName(this.state.modelPath),
    });
  }

  private async openFile(which: 'model' | 'image'): Promise<void> {
    const uri = vscode.Uri.file(which === 'model' ? this.state.modelPath : this.state.imagePath);
    const column = besideColumn(this.panel.viewColumn);
    if (which === 'model') {
      await showModelFile(uri, column, false);
    } else {
      await vscode.commands.executeCommand('vscode.open', uri, { viewColumn: column, preview: true });
    }
  }

  private watchFiles(): void {
    this.fileWatchers.forEach((d) => d.dispose());
    const modelPath = this.state.modelPath;
    const image = vscode.Uri.file(this.state.imagePath);
    const imageWatcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.joinPath(image, '..'), baseName(image.fsPath)));
    const onImage = () => {
      // An image editor saving writes once; a short settle still merges change+create.
      clearTimeout(this.imageChangeTimer);
      this.imageChangeTimer = setTimeout(() => this.refresh(`${baseName(this.state.imagePath)} changed on disk`), 300);
    };
    this.fileWatchers = [
      this.services.modelChanges.watch(modelPath, (files) => {
        if (modelPath === this.state.modelPath) {
          this.refresh(`${files.map((file) => baseName(file)).join(', ')} changed`);
        }
      }),
      imageWatcher,
      imageWatcher.onDidChange(onImage),
      imageWatcher.onDidCreate(onImage),
    ];
  }

  // ------------------------------------------------------------------------------------------
  // Engine runs

  /** Starts a run for the current state, cancelling the one in flight. Never throws. */
  private run(origin: RunOrigin = 'user'): void {
    this.running?.abort();
    this.gradcamPending = false;
    if (this.pendingConfirm) {
      // Another choice replaces the run that waited for an answer.
      this.pendingConfirm = undefined;
      this.notify({ type: 'confirmRun' });
    }
    const controller = new AbortController();
    this.running = controller;
    const generation = ++this.generation;
    void this.runOnce(controller, generation, origin).finally(() => {
      if (generation === this.generation) {
        this.running = undefined;
      }
    });
  }

  private async runOnce(controller: AbortController, generation: number, origin: RunOrigin): Promise<void> {
    const { engine, output } = this.services;
    const signal = controller.signal;
    const stale = () => generation !== this.generation || this.isDisposed;
    const imageName = baseName(this.state.imagePath);
    try {
      await withPanelProgress(
        {
          title: `CNN Lens: ${METHOD_LABELS[this.state.method]} of ${imageName}`,
          controller,
          quiet: origin === 'refresh',
          // A newer run owns the progress bar; this one's last word must not clear it.
          show: (busy) => {
            if (generation === this.generation) {
              this.setBusy(busy);
            }
          },
        },
        async (progress) => {
          if (!engine.currentBackend) {
            progress.step('Starting the engine…');
          }
          const backend = await engine.backendReport(signal);
          // takeReload first: it must be consumed even when this run reloads for its own reason.
          const reload = this.services.modelChanges.takeReload(this.state.modelPath) || this.reloadModelOnNextRun;
          this.reloadModelOnNextRun = false;
          if (reload || !this.model) {
            // Only when the model is really read: a class or layer change uses the loaded one.
            progress.step('Loading the model…');
          }
          // A model defined in code runs only in a trusted workspace (src/host/codeModels/trust.ts).
          const gate = codeModelGate(this.state.modelPath, vscode.workspace.isTrusted);
          if (gate.refusal) {
            throw gate.refusal;
          }
          const summary = await engine.loadModel(this.state.modelPath, { signal, reload });
          if (stale()) {
            return;
          }
          // Follow what the model read besides its own folder (a labels file the sidecar names).
          this.services.modelChanges.setExtraFiles(
            this.state.modelPath,
            [summary.labelsSource, summary.sidecar, ...(summary.sourceFiles ?? [])].filter((file): file is string => !!file),
          );
          this.model = toModelInfo(summary, baseName(this.state.modelPath));
          if (this.state.output === undefined && this.model.outputs.length > 1) {
            const recalled = recallOutput(this.services.workspaceState.get(OUTPUT_MEMORY_KEY), this.state.modelPath, this.model);
            if (recalled !== undefined) {
              this.state = { ...this.state, output: recalled };
            }
          }
          this.state = fitToModel(this.state, this.model);
          if (this.layersFittedTo !== this.state.modelPath) {
            this.layersFittedTo = this.state.modelPath;
            void this.keepInspectLayers();
          }
          this.notify({ type: 'model', model: this.model });
          // The inspection tabs ask again (answered from the worker's cache unless the model or image changed).
          this.notify({ type: 'inspectInvalidate' });
          this.updateTitle();

          const state = this.state;
          const layer = state.layer ?? chosenOutput(state, this.model).defaultLayer ?? summary.defaultCamLayer;
          if (!(await this.confirmedOrAsked(summary, state.method, layer, backend.backend, progress, signal)) || stale()) {
            return;
          }
          const label = METHOD_LABELS[state.method];
          progress.step(INPUT_LEVEL_METHODS.includes(state.method) ? `${label}…` : `${label} at ${layer}…`, 0.1);
          const { result, map, display } = await engine.explain(
            {
              modelPath: state.modelPath,
              imagePath: state.imagePath,
              knownImageKey: this.images.latestKey,
              request: { method: state.method, layer: state.layer, classIndex: state.classIndex, output: state.output, topK: readSettings().topK },
            },
            { signal, onProgress: (p) => progress.step(`${label}: ${p.message}`, p.fraction !== undefined ? 0.1 + 0.85 * p.fraction : undefined) },
          );
          if (stale()) {
            return;
          }
          this.learn(summary, result.method, result.layer, result.timings);
          this.images.receive(display);
          const facts = {
            method: result.method,
            layer: result.layer,
            classIndex: result.classIndex,
            className: result.className,
            output: result.output,
            explained: explainedLine(result),
            backend: result.backend,
            backendDetail: backend.detail,
            timings: result.timings,
            originalWidth: display.originalWidth,
            originalHeight: display.originalHeight,
            inputsElsewhere: result.details?.inputsElsewhere,
            input: pytorchInputNote(summary, result.cam.width, result.cam.height),
          };
          const panelResult: PanelResult = {
            ...facts,
            imagePath: state.imagePath,
            modelPath: state.modelPath,
            score: result.score,
            predictions: result.predictions,
            imageKey: display.key,
            map,
            status: explanationStatus(facts),
          };
          this.last = { result: panelResult, cam: result.cam };
          this.lastError = undefined;
          this.notify({ type: 'error', message: '' });
          this.postResult(panelResult);
          const explainedOutput = result.output.of > 1 ? ` · output ${result.output.index} "${result.output.name}" (${result.output.kind})` : '';
          output.appendLine(
            `[gradcam] ${imageName} · model ${summary.name} (${state.modelPath})${explainedOutput} · layer ${result.layer} · class ${result.classIndex} "${result.className}" · backend ${result.backend} · ${describeTimings(result.timings)}`,
          );
        },
      );
    } catch (error) {
      if (stale()) {
        return; // superseded by a newer run: its outcome is the one that matters
      }
      if (isCancelled(error) || errorCode(error) === 'cancelled') {
        output.appendLine(`[gradcam] ${imageName}: cancelled`);
        this.notify({ type: 'status', message: this.last ? 'Cancelled: showing the previous result.' : 'Cancelled.' });
        return;
      }
      this.fail(`${METHOD_LABELS[this.state.method]} of ${this.state.imagePath}`, error, origin);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Long runs: an estimate, and the user's go-ahead above a threshold (./runEstimate.ts)

  /**
   * True when the run may go ahead: it is short, or the user confirmed it before. Otherwise the
   * panel shows the estimate with a button to run it (answered in answerConfirm) and this run ends.
   * A Score-CAM on a model whose forward pass was never timed first times one (a Grad-CAM at the same
   * layer, whose forward pass the Score-CAM then reuses).
   */
  private async confirmedOrAsked(summary: ModelSummary, method: MethodName, layer: string, backend: string, progress: PanelProgress, signal: AbortSignal): Promise<boolean> {
    const key = `${summary.path}\n${method}\n${layer}`;
    const channels = channelsOf(summary, layer);
    if (method !== 'scorecam' || channels === undefined || this.confirmedRuns.has(key)) {
      return true;
    }
    const plan = { method, layer, channels, batchSize: DEFAULT_METHOD_OPTIONS.batchSize, backend };
    let cost = this.costs.get(summary.path) ?? {};
    if (cost.forwardMs === undefined && cost.scoreCamMsPerChannel === undefined && channels > 4 * plan.batchSize) {
      progress.step('Timing one forward pass for an estimate…');
      const { result } = await this.services.engine.explain(
        { modelPath: this.state.modelPath, imagePath: this.state.imagePath, knownImageKey: this.images.latestKey, request: { method: 'gradcam', layer, classIndex: this.state.classIndex, output: this.state.output, topK: 1 } },
        { signal },
      );
      this.learn(summary, 'gradcam', layer, result.timings);
      cost = this.costs.get(summary.path) ?? {};
    }
    const estimate = estimateRun(plan, cost);
    if (!needsConfirmation(estimate)) {
      return true;
    }
    const id = ++this.confirmSeq;
    this.pendingConfirm = { id, key, text: estimate.text, action: estimate.action };
    this.notify({ type: 'confirmRun', confirm: { id, text: estimate.text, action: estimate.action } });
    this.services.output.appendLine(`[estimate] ${estimate.text} Waiting for the go-ahead in the panel.`);
    return false;
  }

  private answerConfirm(id: number, run: boolean): void {
    const pending = this.pendingConfirm;
    if (!pending || pending.id !== id) {
      return; // an old question (its run was replaced meanwhile)
    }
    this.pendingConfirm = undefined;
    this.notify({ type: 'confirmRun' });
    if (run) {
      this.confirmedRuns.add(pending.key);
      this.run();
      return;
    }
    // Left: the pickers go back to what the panel shows.
    const shown = this.last?.result;
    const method: MethodName = shown && shown.modelPath === this.state.modelPath ? shown.method : 'gradcam';
    const layer = shown && shown.modelPath === this.state.modelPath && !INPUT_LEVEL_METHODS.includes(shown.method) ? shown.layer : this.state.layer;
    this.state = { ...this.state, method, ...(layer !== undefined ? { layer } : {}) };
    this.notify({ type: 'viewState', state: this.state });
    this.notify({ type: 'status', message: `${pending.action.replace(/^Run /, '')} not run${shown ? ': showing the previous result' : ''}.` });
    this.services.output.appendLine(`[estimate] not run: ${pending.text}`);
  }

  /** Keeps what a run measured for the next estimate. */
  private learn(summary: ModelSummary, method: MethodName, layer: string, timings: Record<string, number>): void {
    const cost = this.costs.get(summary.path) ?? {};
    this.costs.set(summary.path, learnCost(cost, { method, timings, channels: channelsOf(summary, layer) }));
  }

  /** Compare view (compare.ts): like run(), one request at a time, cancelled by the next. */
  private compare(command: CompareCommand): void {
    this.running?.abort();
    const controller = new AbortController();
    this.running = controller;
    const generation = ++this.generation;
    const run = { signal: controller.signal, stale: () => generation !== this.generation || this.isDisposed, abort: () => controller.abort() };
    void this.compareSession?.run(command, run).finally(() => {
      if (generation === this.generation) {
        this.running = undefined;
        this.setBusy(undefined, 'compare');
      }
    });
  }

  /** Keeps the output chosen for this model in workspaceState, recalled when the model is shown again. */
  private rememberOutput(index: number): void {
    const choice = this.model ? chosenOutput({ ...this.state, output: index }, this.model) : undefined;
    if (!choice || choice.index !== index) {
      return;
    }
    const memory = this.services.workspaceState.get<OutputMemory>(OUTPUT_MEMORY_KEY);
    void this.services.workspaceState.update(OUTPUT_MEMORY_KEY, rememberOutput(memory, this.state.modelPath, choice));
  }

  /** A Grad-CAM result to the page, with the display image when the page does not hold it yet. */
  private postResult(result: PanelResult): void {
    if (this.webviewReady && !this.isDisposed) {
      this.notify({ type: 'result', result, image: this.images.show('gradcam', result.imageKey) });
    }
  }

  /** A view's in-panel progress (webview/busy.ts); undefined: its work ended. */
  private setBusy(busy: BusyState | undefined, view = 'gradcam'): void {
    if (busy) {
      this.busyByView.set(view, busy);
    } else {
      this.busyByView.delete(view);
    }
    this.notify({ type: 'busy', busy: busy !== undefined, message: busy?.message, fraction: busy?.fraction, view });
  }

  /**
   * Shows the error in the panel, over the previous result (dimmed), and, when the user asked for
   * the run, as a notification. After a live refresh it goes to the panel and the output channel
   * only: the user is editing, and fixing the file clears it.
   */
  private fail(context: string, error: unknown, origin: RunOrigin = 'user'): void {
    this.lastError = { message: errorMessage(error), code: errorCode(error) };
    this.notify({ type: 'error', ...this.lastError });
    if (origin === 'refresh') {
      this.services.output.appendLine(`[refresh] ${context} failed: ${this.lastError.message}`);
      return;
    }
    // Not awaited: the notification stays up as long as the user likes; the panel must not wait.
    void reportError(context, error, { output: this.services.output, selectModel: () => this.selectModel() });
  }
}

/** Channels of a layer's 4-D output (channels last, as the engine keeps every format), if it has one. */
function channelsOf(summary: ModelSummary, layer: string): number | undefined {
  const shape = summary.layers.find((l) => l.name === layer)?.outputShape;
  const channels = shape && shape.length === 4 ? shape[3] : undefined;
  return typeof channels === 'number' && channels > 0 ? channels : undefined;
}

/** The column next to the panel's, for the model file and opened files. */
function besideColumn(panelColumn: vscode.ViewColumn | undefined): vscode.ViewColumn {
  return panelColumn === vscode.ViewColumn.One ? vscode.ViewColumn.Two : vscode.ViewColumn.One;
}

async function showModelFile(modelUri: vscode.Uri, column: vscode.ViewColumn, preserveFocus = true): Promise<void> {
  // `model.py:SimpleCNN` is the file model.py.
  const pytorch = parsePytorchModelPath(modelUri.fsPath);
  const uri = pytorch ? vscode.Uri.file(pytorch.file) : modelUri;
  try {
    if (binaryFormatOf(uri.fsPath) || pytorch?.kind === 'torch-file') {
      // A binary model (.onnx, .keras, .h5) opens in its default editor, CNN Lens's model viewer, not as text.
      await vscode.commands.executeCommand('vscode.open', uri, { viewColumn: column, preserveFocus, preview: true });
      return;
    }
    await vscode.window.showTextDocument(uri, { viewColumn: column, preserveFocus, preview: true });
  } catch {
    // A model.json too large for the text editor still explains fine; the panel matters more.
  }
}
