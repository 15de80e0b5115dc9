// One CNN Lens panel: its webview, its view state, and the engine runs behind it. The host owns
// the truth (files, class, layer, colormap, opacity, last result); the webview displays it and
// sends the user's changes. Lifecycle follows webview-sample: `show` creates or reuses a panel,
// `revive` restores one after a window reload, and every listener is disposed with the panel.
import * as vscode from 'vscode';
import { renderOverlay } from '../engine/overlay';
import { MessageChannelEndpoint, isCancelled } from '../protocol/messaging';
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
} from '../protocol/panel';
import { COLORMAPS, METHOD_LABELS, METHOD_NAMES, type Map2D, type RgbaImage } from '../protocol/types';
import { errorCode, errorMessage, reportError } from '../commands/reportError';
import type { ModelDiscovery } from '../modelDiscovery';
import { readSettings } from '../settings';
import type { EngineClient } from '../worker/client';
import { getPanelHtml, webviewOptions } from './html';
import { describeTimings, downscaleForDisplay, fitToModel, renderViews, toModelInfo, withImage, withModel } from './panelState';
import type { PanelRegistry } from './registry';
import { runComparison, type CompareHost } from './compare';

export interface PanelServices {
  extensionUri: vscode.Uri;
  engine: EngineClient;
  discovery: ModelDiscovery;
  output: vscode.OutputChannel;
  registry: PanelRegistry<LensPanel>;
  /** Keeps the last panel's view state: the fallback when a restored webview brings none. */
  workspaceState: vscode.Memento;
}

const LAST_STATE_KEY = 'cnnLens.lastPanelState';

/** What the last successful run produced, kept to re-render and export without the engine. */
interface LastRun {
  result: PanelResult;
  cam: Map2D;
  /** The image at its original resolution (export). */
  original: RgbaImage;
  /** The image as shown (possibly downscaled). */
  display: RgbaImage;
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
  private lastError: { message: string; code?: string } | undefined;
  private busyMessage: string | undefined;
  private running: AbortController | undefined;
  /** Increases with every run; a run whose number is stale drops its result. */
  private generation = 0;
  private reloadModelOnNextRun = false;
  private isDisposed = false;
  /** Watches the model folder and the image, so a re-saved model or edited image shows at once. */
  private fileWatchers: vscode.Disposable[] = [];
  private fileChangeTimer: ReturnType<typeof setTimeout> | undefined;

  /** Shows image + model: reuses the current panel, else opens one beside the model file. */
  static async show(services: PanelServices, imageUri: vscode.Uri, modelUri: vscode.Uri): Promise<LensPanel> {
    const existing = services.registry.active;
    if (existing) {
      await existing.showFiles(imageUri, modelUri);
      return existing;
    }
    const settings = readSettings(imageUri);
    const state: PanelViewState = {
      imagePath: imageUri.fsPath,
      modelPath: modelUri.fsPath,
      method: 'gradcam',
      colormap: settings.defaultColormap,
      opacity: settings.defaultOpacity,
    };
    // The model definition in the first column, the panel beside it (and focused).
    await showModelFile(modelUri, vscode.ViewColumn.One);
    const panel = vscode.window.createWebviewPanel(
      LensPanel.viewType,
      panelTitle(state),
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
    this.endpoint = new MessageChannelEndpoint<HostToWebview, WebviewToHost>(
      // The webview channel takes no transfer list: VS Code moves typed arrays efficiently on its own.
      (envelope) => void this.panel.webview.postMessage(envelope),
      {
        onRequest: (message) => this.onRequest(message),
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
  async showFiles(imageUri: vscode.Uri, modelUri: vscode.Uri): Promise<void> {
    const modelChanged = modelUri.fsPath !== this.state.modelPath;
    this.state = withModel(withImage(this.state, imageUri.fsPath), modelUri.fsPath);
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

  async exportOverlay(): Promise<void> {
    const last = this.last;
    if (!last) {
      void vscode.window.showInformationMessage('CNN Lens: nothing to export yet; wait for the Grad-CAM to finish.');
      return;
    }
    const image = vscode.Uri.file(last.result.imagePath);
    const stem = baseName(last.result.imagePath).replace(/\.[^.]+$/, '');
    const target = await vscode.window.showSaveDialog({
      title: 'CNN Lens: Export Overlay',
      defaultUri: vscode.Uri.joinPath(image, '..', `${stem}.${last.result.method}.png`),
      filters: { 'PNG image': ['png'] },
      saveLabel: 'Export',
    });
    if (!target) {
      return;
    }
    try {
      // At the original resolution, with the colormap and opacity the user sees now.
      const overlay = renderOverlay(last.original, last.cam, this.state.colormap, this.state.opacity);
      const png = await this.services.engine.encodePng(overlay);
      await vscode.workspace.fs.writeFile(target, png);
      this.services.output.appendLine(`[export] ${target.fsPath} (${overlay.width}x${overlay.height}, ${png.byteLength} bytes)`);
      const open = await vscode.window.showInformationMessage(`CNN Lens: saved the overlay to ${vscode.workspace.asRelativePath(target)}.`, 'Open');
      if (open) {
        await vscode.commands.executeCommand('vscode.open', target, besideColumn(this.panel.viewColumn));
      }
    } catch (error) {
      await reportError(`exporting ${target.fsPath}`, error, { output: this.services.output });
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.isDisposed = true;
    this.running?.abort();
    clearTimeout(this.fileChangeTimer);
    this.fileWatchers.forEach((d) => d.dispose());
    this.endpoint.rejectAll(new Error('The CNN Lens panel was closed.'));
    this.disposed.fire();
    this.panel.dispose();
    this.disposables.forEach((d) => d.dispose());
  }

  // ------------------------------------------------------------------------------------------
  // Webview messages

  private onRequest(message: WebviewToHost): Bootstrap | undefined {
    if (message.type !== 'ready') {
      throw new Error(`"${message.type}" is a command, not a request.`);
    }
    this.webviewReady = true;
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
        break; // a request, answered by onRequest
      case 'changeTarget':
        this.state = { ...this.state, classIndex: message.classIndex, layer: message.layer, method: message.method };
        this.run();
        break;
      case 'changeAppearance':
        this.state = { ...this.state, colormap: message.colormap, opacity: message.opacity };
        this.rerender();
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
      this.notify({ type: 'result', result: this.last.result });
    }
    this.notify({ type: 'busy', busy: this.busyMessage !== undefined, message: this.busyMessage });
    if (this.lastError) {
      this.notify({ type: 'error', ...this.lastError });
    }
  }

  private announceFiles(): void {
    this.panel.title = panelTitle(this.state);
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
    const model = vscode.Uri.file(this.state.modelPath);
    const image = vscode.Uri.file(this.state.imagePath);
    // The whole model folder: weight shards, labels and cnn-lens.json change the result too.
    const modelWatcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.joinPath(model, '..'), '*'));
    const imageWatcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.joinPath(image, '..'), baseName(image.fsPath)));
    const onModel = () => this.onFileChanged(true);
    const onImage = () => this.onFileChanged(false);
    this.fileWatchers = [
      modelWatcher,
      imageWatcher,
      modelWatcher.onDidChange(onModel),
      modelWatcher.onDidCreate(onModel),
      imageWatcher.onDidChange(onImage),
      imageWatcher.onDidCreate(onImage),
    ];
  }

  /** Saving a model writes several files in a burst: wait for it to settle, then run once. */
  private onFileChanged(modelChanged: boolean): void {
    this.reloadModelOnNextRun ||= modelChanged;
    clearTimeout(this.fileChangeTimer);
    this.fileChangeTimer = setTimeout(() => {
      this.services.output.appendLine(`[panel] ${modelChanged ? 'model files' : 'image'} changed on disk; running again`);
      this.run();
    }, 700);
  }

  // ------------------------------------------------------------------------------------------
  // Engine runs

  /** Starts a run for the current state, cancelling the one in flight. Never throws. */
  private run(): void {
    this.running?.abort();
    const controller = new AbortController();
    this.running = controller;
    const generation = ++this.generation;
    void this.runOnce(controller, generation).finally(() => {
      if (generation === this.generation) {
        this.running = undefined;
        this.setBusy(undefined);
      }
    });
  }

  private async runOnce(controller: AbortController, generation: number): Promise<void> {
    const { engine, output } = this.services;
    const signal = controller.signal;
    const stale = () => generation !== this.generation || this.isDisposed;
    const imageName = baseName(this.state.imagePath);
    try {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `CNN Lens: ${METHOD_LABELS[this.state.method]} of ${imageName}`, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => controller.abort());
          let fraction = 0;
          const step = (message: string, next?: number) => {
            this.setBusy(message);
            const increment = next !== undefined && next > fraction ? (next - fraction) * 100 : undefined;
            fraction = next !== undefined ? Math.max(fraction, next) : fraction;
            progress.report({ message, increment });
          };

          step(engine.currentBackend ? 'loading the model…' : 'starting the engine…');
          const backend = await engine.backendReport(signal);
          step('loading the model…');
          const reload = this.reloadModelOnNextRun;
          this.reloadModelOnNextRun = false;
          const summary = await engine.loadModel(this.state.modelPath, { signal, reload });
          if (stale()) {
            return;
          }
          this.model = toModelInfo(summary, baseName(this.state.modelPath));
          this.state = fitToModel(this.state, this.model);
          this.notify({ type: 'model', model: this.model });

          const state = this.state;
          const layer = state.layer ?? summary.defaultCamLayer;
          step(`${state.method} at ${layer}…`, 0.1);
          const { result, image } = await engine.explain(
            {
              modelPath: state.modelPath,
              imagePath: state.imagePath,
              request: { method: state.method, layer: state.layer, classIndex: state.classIndex, topK: readSettings().topK },
            },
            { signal, onProgress: (p) => step(p.message, p.fraction !== undefined ? 0.1 + 0.85 * p.fraction : undefined) },
          );
          if (stale()) {
            return;
          }
          const display = downscaleForDisplay(image);
          const views = renderViews(display, result.cam, state.colormap, state.opacity);
          const panelResult: PanelResult = {
            imagePath: state.imagePath,
            modelPath: state.modelPath,
            method: result.method,
            layer: result.layer,
            classIndex: result.classIndex,
            className: result.className,
            score: result.score,
            predictions: result.predictions,
            image: display,
            originalWidth: image.width,
            originalHeight: image.height,
            views,
            backend: result.backend,
            backendDetail: backend.detail,
            timings: result.timings,
          };
          this.last = { result: panelResult, cam: result.cam, original: image, display };
          this.lastError = undefined;
          this.notify({ type: 'error', message: '' });
          this.notify({ type: 'result', result: panelResult });
          output.appendLine(
            `[gradcam] ${imageName} · model ${summary.name} (${state.modelPath}) · layer ${result.layer} · class ${result.classIndex} "${result.className}" · backend ${result.backend} · ${describeTimings(result.timings)}`,
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
      this.fail(`${METHOD_LABELS[this.state.method]} of ${this.state.imagePath}`, error);
    }
  }

  /** Compare view (compare.ts): like run(), one request at a time, cancelled by the next. */
  private compare(command: CompareCommand): void {
    this.running?.abort();
    const controller = new AbortController();
    this.running = controller;
    const generation = ++this.generation;
    const host: CompareHost = {
      engine: this.services.engine,
      output: this.services.output,
      state: this.state,
      notify: (message) => this.notify(message),
      setBusy: (message) => this.setBusy(message),
      fail: (context, error) => this.fail(context, error),
      stale: () => generation !== this.generation || this.isDisposed,
    };
    void runComparison(host, command, controller.signal).finally(() => {
      if (generation === this.generation) {
        this.running = undefined;
        this.setBusy(undefined);
      }
    });
  }

  /** Colormap or opacity: re-colour the last CAM in the host, no engine work. */
  private rerender(): void {
    if (!this.last) {
      return;
    }
    const views = renderViews(this.last.display, this.last.cam, this.state.colormap, this.state.opacity);
    this.last = { ...this.last, result: { ...this.last.result, views } };
    this.notify({ type: 'render', views });
  }

  private setBusy(message: string | undefined): void {
    this.busyMessage = message;
    this.notify({ type: 'busy', busy: message !== undefined, message });
  }

  /** Shows the error in the panel (the previous result stays) and as a notification. */
  private fail(context: string, error: unknown): void {
    this.lastError = { message: errorMessage(error), code: errorCode(error) };
    this.notify({ type: 'error', ...this.lastError });
    // Not awaited: the notification stays up as long as the user likes; the panel must not wait.
    void reportError(context, error, { output: this.services.output, selectModel: () => this.selectModel() });
  }
}

function panelTitle(state: PanelViewState): string {
  return `Grad-CAM: ${baseName(state.imagePath)}`;
}

/** The column next to the panel's, for the model file and opened files. */
function besideColumn(panelColumn: vscode.ViewColumn | undefined): vscode.ViewColumn {
  return panelColumn === vscode.ViewColumn.One ? vscode.ViewColumn.Two : vscode.ViewColumn.One;
}

async function showModelFile(uri: vscode.Uri, column: vscode.ViewColumn, preserveFocus = true): Promise<void> {
  try {
    await vscode.window.showTextDocument(uri, { viewColumn: column, preserveFocus, preview: true });
  } catch {
    // A model.json too large for the text editor still explains fine; the panel matters more.
  }
}
