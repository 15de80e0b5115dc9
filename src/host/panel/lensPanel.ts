// One CNN Lens panel: its webview, its view state, and the engine runs behind it. The host owns
// the truth (files, class, layer, colormap, opacity, last result); the webview displays it and
// sends the user's changes. Lifecycle follows webview-sample: `show` creates or reuses a panel,
// `revive` restores one after a window reload, and every listener is disposed with the panel.
// This class owns the webview and the order of things; the parts that need no vscode are its
// collaborators, each tested alone: viewStateStore (state), runScheduler (one run at a time, stale
// and cancelled runs), longRunGate (estimates), errorDisplay, overlayExport, layerSync, inspectHost.
import * as vscode from 'vscode';
import { binaryFormatOf, parsePytorchModelPath } from '../../shared/modelFormats';
import { LensError } from '../../shared/errors';
import { MessageChannelEndpoint } from '../../shared/messaging';
import { panelMessage } from '../../shared/messageGuards';
import { parseInspectState, tabOfView, type InspectView, type InspectViewState } from '../../shared/inspectPanel';
import type { LayerTab } from '../../shared/layerChoice';
import { panelTitle, type StatusLine } from '../../shared/statusLine';
import {
  baseName,
  type Bootstrap,
  type HostToWebview,
  type PanelModelInfo,
  type PanelResult,
  type PanelViewState,
  type WebviewToHost,
  type CompareCommand,
} from '../../shared/panel';
import { COLORMAPS, INPUT_LEVEL_METHODS, METHOD_LABELS, METHOD_NAMES, type Map2D, type MethodName, type ModelSummary } from '../../shared/types';
import { codeModelGate } from '../codeModels/trust';
import { errorMessage, reportError } from '../reportError';
import type { ModelDiscovery } from '../modelDiscovery';
import { readSettings } from '../settings';
import type { EngineClient } from '../../workerClient/client';
import { getPanelHtml, webviewOptions } from './html';
import { InspectHost } from './inspectHost';
import { chosenOutput, explanationLogLine, fitToModel, panelResultOf, toModelInfo, withImage, withModel, withOutput } from './panelState';
import type { ModelChangeHub } from './modelWatcher';
import { withPanelProgress, type BusyState, type PanelProgress } from './progress';
import { ErrorDisplay, type RunOrigin } from './errorDisplay';
import { LayerSync } from './layerSync';
import { LongRunGate } from './longRunGate';
import { exportOverlay } from './overlayExport';
import { RunScheduler, type RunTicket } from './runScheduler';
import { ViewStateStore } from './viewStateStore';
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

/** What to show besides image and model (CodeLens "Grad-CAM here" passes the layer). */
export interface ShowOptions {
  layer?: string;
  /** The method to run ("Grad-CAM here" runs Grad-CAM, whatever the panel ran before). */
  method?: MethodName;
}

/** What the last successful run produced, kept to replay to a new page and to export. */
interface LastRun {
  result: PanelResult;
  /** The map at the layer's resolution, for Export (the worker blends it at the image's own). */
  cam: Map2D;
}

export class LensPanel {
  static readonly viewType = 'cnnLens.panel';

  /** The view state and the inspection tabs' state, with their copies for a window reload. */
  private readonly store: ViewStateStore;
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
  /** The error shown in the panel (./errorDisplay.ts). */
  private readonly errors: ErrorDisplay;
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
  /** Estimates before long runs, and the user's go-ahead (./longRunGate.ts). */
  private readonly longRuns = new LongRunGate();
  /** One engine run at a time: a new one cancels the one in flight (./runScheduler.ts). */
  private readonly runs = new RunScheduler();
  private reloadModelOnNextRun = false;
  private isDisposed = false;
  /** Live refresh: the model's files (through the shared hub) and the image. */
  private fileWatchers: vscode.Disposable[] = [];
  private imageChangeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Activations, Filters and Model tabs: requests answered from the engine (see inspectHost.ts). */
  private readonly inspect: InspectHost;
  /** One layer for all tabs (./layerSync.ts). */
  private readonly layers: LayerSync;
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
    const restored = ViewStateStore.restore(saved, services.workspaceState, defaults);
    if (!restored) {
      services.output.appendLine(`[panel] a CNN Lens panel had no saved image/model to restore (state: ${typeof saved}); closing it.`);
      panel.dispose();
      return undefined;
    }
    const { state } = restored;
    services.output.appendLine(`[panel] restoring ${state.imagePath} with ${state.modelPath}${restored.fromHostCopy ? ' (from the host copy)' : ''}`);
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
    this.store = new ViewStateStore(services.workspaceState, state, () => this.compareSession?.stateChanged());
    this.errors = new ErrorDisplay({
      notify: (message) => this.notify(message),
      log: (line) => services.output.appendLine(line),
      // Not awaited: the notification stays up as long as the user likes; the panel must not wait.
      report: (context, error) => void reportError(context, error, { output: services.output, selectModel: () => this.selectModel() }),
    });
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
    this.layers = new LayerSync({
      engine: services.engine,
      store: this.store,
      saveInspect: (next) => this.saveInspectState(next),
      notify: (message) => this.notify(message),
      log: (line) => services.output.appendLine(line),
      closed: () => this.isDisposed,
      gradcamStale: () => {
        this.gradcamPending = true;
        this.runIfGradCamPending();
      },
    });
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
        requests: { ...this.inspect.requests, ready: () => this.onReady() },
        // The page is untrusted content: each message is checked before the host acts on it.
        validate: panelMessage,
        onInvalid: (error) => services.output.appendLine(`[panel] ${errorMessage(error)}`),
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
    return this.store.state;
  }

  private set state(next: PanelViewState) {
    this.store.state = next;
  }

  private get inspectState(): InspectViewState {
    return this.store.inspect;
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
        vscode.l10n.t('CNN Lens: this panel now uses {0}; new panels still start with the "cnnLens.modelPath" setting.', vscode.workspace.asRelativePath(uri)),
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

  /** "Export Overlay as PNG…" (./overlayExport.ts): what the panel shows, at the image's own resolution. */
  async exportOverlay(): Promise<void> {
    const { engine, output } = this.services;
    await exportOverlay({
      shown: () => {
        const last = this.last;
        // With the colormap and opacity the user sees now (the page repaints; the host keeps them).
        return last && { imagePath: last.result.imagePath, imageKey: last.result.imageKey, method: last.result.method, cam: last.cam, colormap: this.state.colormap, opacity: this.state.opacity };
      },
      // Blended and encoded in the worker, which holds the decoded image.
      exportOverlay: (request) => engine.exportOverlay(request),
      askTarget: async (suggested) =>
        (
          await vscode.window.showSaveDialog({
            title: vscode.l10n.t('CNN Lens: Export Overlay as PNG'),
            defaultUri: vscode.Uri.file(suggested),
            filters: { [vscode.l10n.t('PNG image')]: ['png'] },
            saveLabel: vscode.l10n.t('Export'),
          })
        )?.fsPath,
      write: (target, bytes) => Promise.resolve(vscode.workspace.fs.writeFile(vscode.Uri.file(target), bytes)),
      inform: (message, ...actions) => Promise.resolve(vscode.window.showInformationMessage(message, ...actions)),
      relative: (target) => vscode.workspace.asRelativePath(vscode.Uri.file(target)),
      open: async (target) => {
        await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(target), besideColumn(this.panel.viewColumn));
      },
      log: (line) => output.appendLine(line),
      report: (context, error) => reportError(context, error, { output }),
    });
  }

  /** "Grad-CAM here": bring the Grad-CAM tab to the front (the panel may be showing another tab). */
  showGradCamTab(): void {
    this.openTab({ ...this.inspectState, tab: 'gradcam' });
  }

  /** "Compare Methods…": bring the Compare tab to the front. */
  showCompareTab(): void {
    this.openTab({ ...this.inspectState, tab: 'compare' });
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
    this.store.inspect = state;
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

  /** A layer picked on one tab applies to the others (./layerSync.ts). */
  private shareFrom(from: LayerTab, layer: string): Promise<void> {
    return this.layers.shareFrom(from, layer);
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
    this.runs.dispose();
    clearTimeout(this.imageChangeTimer);
    this.fileWatchers.forEach((d) => d.dispose());
    this.endpoint.rejectAll(new LensError('The CNN Lens panel was closed.', 'closed'));
    this.disposed.fire();
    this.panel.dispose();
    this.disposables.forEach((d) => d.dispose());
  }

  // ------------------------------------------------------------------------------------------
  // Webview messages

  /** The page's handshake: it listens now; answered with what it needs to draw the pickers. */
  private onReady(): Bootstrap {
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
        break; // requests, answered by the request table (constructor)
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
        if (message.classIndex !== this.state.classIndex || message.layer !== this.state.layer) {
          markWalkthroughStep('changedClassOrLayer');
        }
        if (message.output !== undefined && message.output !== (this.state.output ?? this.model?.defaultOutput)) {
          // Another output: its own classes and default layer, remembered for this model.
          this.state = { ...withOutput(this.state, message.output), method: message.method };
          this.store.rememberOutput(message.output, this.model);
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
        this.runs.cancel();
        break;
      case 'compare':
        markWalkthroughStep('compared');
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
    const question = this.longRuns.question;
    if (question) {
      this.notify({ type: 'confirmRun', confirm: question });
    }
    this.errors.replay();
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
    this.gradcamPending = false;
    if (this.longRuns.withdraw()) {
      // Another choice replaces the run that waited for an answer.
      this.notify({ type: 'confirmRun' });
    }
    this.runs.start((ticket) => this.runOnce(ticket, origin));
  }

  private async runOnce(ticket: RunTicket, origin: RunOrigin): Promise<void> {
    const { engine, output } = this.services;
    const { signal } = ticket;
    const stale = () => ticket.stale();
    const imageName = baseName(this.state.imagePath);
    try {
      await withPanelProgress(
        {
          title: vscode.l10n.t('CNN Lens: {0} of {1}', METHOD_LABELS[this.state.method], imageName),
          controller: ticket,
          quiet: origin === 'refresh',
          // A newer run owns the progress bar; this one's last word must not clear it.
          show: (busy) => {
            if (this.runs.isCurrent(ticket)) {
              this.setBusy(busy);
            }
          },
        },
        async (progress) => {
          if (!engine.currentBackend) {
            progress.step(vscode.l10n.t('Starting the engine…'));
          }
          const backend = await engine.backendReport(signal);
          // takeReload first: it must be consumed even when this run reloads for its own reason.
          const reload = this.services.modelChanges.takeReload(this.state.modelPath) || this.reloadModelOnNextRun;
          this.reloadModelOnNextRun = false;
          if (reload || !this.model) {
            // Only when the model is really read: a class or layer change uses the loaded one.
            progress.step(vscode.l10n.t('Loading the model…'));
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
            const recalled = this.store.recallOutput(this.model);
            if (recalled !== undefined) {
              this.state = { ...this.state, output: recalled };
            }
          }
          this.state = fitToModel(this.state, this.model);
          if (this.layersFittedTo !== this.state.modelPath) {
            this.layersFittedTo = this.state.modelPath;
            void this.layers.keepLayers();
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
          progress.step(INPUT_LEVEL_METHODS.includes(state.method) ? `${label}…` : vscode.l10n.t('{0} at {1}…', label, layer), 0.1);
          const answer = await engine.explain(
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
          const { result } = answer;
          this.longRuns.learn(summary, result.method, result.layer, result.timings);
          this.images.receive(answer.display);
          const panelResult = panelResultOf(answer, summary, state, backend.detail);
          this.last = { result: panelResult, cam: result.cam };
          this.errors.clear();
          this.postResult(panelResult);
          output.appendLine(explanationLogLine(result, summary, state, imageName));
        },
      );
    } catch (error) {
      switch (RunScheduler.failureOf(error, ticket)) {
        case 'superseded':
          return; // a newer run's outcome is the one that matters
        case 'cancelled':
          output.appendLine(`[gradcam] ${imageName}: cancelled`);
          this.notify({ type: 'status', message: this.last ? vscode.l10n.t('Cancelled: showing the previous result.') : vscode.l10n.t('Cancelled.') });
          return;
        case 'failed':
          this.errors.fail(`${METHOD_LABELS[this.state.method]} of ${this.state.imagePath}`, error, origin);
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // Long runs: an estimate, and the user's go-ahead above a threshold (./longRunGate.ts)

  /**
   * True when the run may go ahead: it is short, or the user confirmed it before. Otherwise the
   * panel shows the estimate with a button to run it (answered in answerConfirm) and this run ends.
   */
  private async confirmedOrAsked(summary: ModelSummary, method: MethodName, layer: string, backend: string, progress: PanelProgress, signal: AbortSignal): Promise<boolean> {
    const question = await this.longRuns.check(summary, method, layer, backend, {
      step: (message) => progress.step(message),
      // A Grad-CAM at the same layer, whose forward pass the Score-CAM then reuses.
      timeForwardPass: async () => {
        const { result } = await this.services.engine.explain(
          { modelPath: this.state.modelPath, imagePath: this.state.imagePath, knownImageKey: this.images.latestKey, request: { method: 'gradcam', layer, classIndex: this.state.classIndex, output: this.state.output, topK: 1 } },
          { signal },
        );
        return result.timings;
      },
    });
    if (!question) {
      return true;
    }
    this.notify({ type: 'confirmRun', confirm: question });
    this.services.output.appendLine(`[estimate] ${question.text} Waiting for the go-ahead in the panel.`);
    return false;
  }

  private answerConfirm(id: number, run: boolean): void {
    const answered = this.longRuns.answer(id, run);
    if (!answered) {
      return; // an old question (its run was replaced meanwhile)
    }
    this.notify({ type: 'confirmRun' });
    if (run) {
      this.run();
      return;
    }
    const asked = METHOD_LABELS[this.state.method];
    // Left: the pickers go back to what the panel shows.
    const shown = this.last?.result;
    const method: MethodName = shown && shown.modelPath === this.state.modelPath ? shown.method : 'gradcam';
    const layer = shown && shown.modelPath === this.state.modelPath && !INPUT_LEVEL_METHODS.includes(shown.method) ? shown.layer : this.state.layer;
    this.state = { ...this.state, method, ...(layer !== undefined ? { layer } : {}) };
    this.notify({ type: 'viewState', state: this.state });
    this.notify({ type: 'status', message: shown ? vscode.l10n.t('{0} not run: showing the previous result.', asked) : vscode.l10n.t('{0} not run.', asked) });
    this.services.output.appendLine(`[estimate] not run: ${answered.text}`);
  }

  /** Compare view (compare.ts): like run(), one request at a time, cancelled by the next. */
  private compare(command: CompareCommand): void {
    this.runs.start(
      async (ticket) => {
        await this.compareSession?.run(command, ticket);
      },
      () => this.setBusy(undefined, 'compare'),
    );
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

  /** Shows the error in the panel (and, when the user asked for the work, as a notification: ./errorDisplay.ts). */
  private fail(context: string, error: unknown, origin: RunOrigin = 'user'): void {
    this.errors.fail(context, error, origin);
  }
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

/**
 * Ticks a Get Started step that no command marks (package.json walkthrough completionEvents
 * `onContext:cnnLens.walkthrough.<step>`): the user picked another class or layer, ran a comparison.
 */
function markWalkthroughStep(step: 'changedClassOrLayer' | 'compared'): void {
  void vscode.commands.executeCommand('setContext', `cnnLens.walkthrough.${step}`, true);
}
