// Activation: wire the collaborators and register commands and the panel serializer. Nothing
// heavy happens here: the engine worker (tfjs, wasm) starts on the first request a panel makes.
// VS Code activates this on a CNN Lens command or when restoring a CNN Lens panel.
import * as vscode from 'vscode';
import { codeModelGate } from './codeModels/trust';
import { exportOverlayCommand } from './commands/exportOverlay';
import { selectModelCommand } from './commands/selectModel';
import { explainAtLayer, showGradCamAtLayer } from './commands/showGradCamAtLayer';
import { EXPLAIN_AT_LAYER_COMMAND, GRADCAM_AT_LAYER_COMMAND } from './lens/layerLenses';
import { codeModelKind, modelJsonKind, registerModelLenses } from './lens/register';
import { isPythonModel, PythonModelLenses } from './lens/pythonLenses';
import { ModelSummaryCache } from './lens/summaryCache';
import { PythonErrorDiagnostics } from './pythonDiagnostics';
import { showGradCam } from './commands/showGradCam';
import { visualizeLayer } from './commands/visualizeLayer';
import { ModelViewerProvider } from './editors/modelViewer';
import { ModelDiscovery } from './modelDiscovery';
import { LensPanel, type PanelServices } from './panel/lensPanel';
import { PanelRegistry } from './panel/registry';
import { createModelChangeHub } from './panel/vscodeFileEvents';
import { choosePython, type PythonEnvironmentsApi } from './pythonChoice';
import { megapixelsToPixels } from '../shared/imageLimit';
import { affects, readSettings } from './settings';
import { EngineClient } from '../workerClient/client';

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('CNN Lens');
  const dist = vscode.Uri.joinPath(context.extensionUri, 'dist');
  // A PyTorch model's code error also lands as a squiggle on its line.
  const pythonErrors = new PythonErrorDiagnostics();
  const engine = new EngineClient({
    workerPath: vscode.Uri.joinPath(dist, 'worker.js').fsPath,
    wasmDir: dist.fsPath,
    backend: () => readSettings().backend,
    sampleWorkers: () => readSettings().sampleWorkers,
    maxImagePixels: () => megapixelsToPixels(readSettings().maxImageMegapixels),
    log: (line) => output.appendLine(`[engine] ${line}`),
    // Models defined in code and PyTorch models run only in a trusted workspace (src/host/codeModels/trust.ts).
    allowCode: (modelPath) => codeModelGate(modelPath, vscode.workspace.isTrusted).allowCode,
    onLoaded: (modelPath, error) => pythonErrors.loaded(modelPath, error),
    // PyTorch models: the interpreter (asked when a worker starts) and exports kept in global storage.
    pytorch: async () => ({
      python: await choosePython(readSettings().pythonPath, await pythonExtension.environments(), vscode.workspace.workspaceFolders?.[0]?.uri, (line) =>
        output.appendLine(`[python] ${line}`),
      ),
      exportCacheDir: vscode.Uri.joinPath(context.globalStorageUri, 'torch-exports').fsPath,
    }),
  });
  // Asked only when a worker starts (not at activation); another selected interpreter restarts the engine.
  const pythonExtension = new PythonExtension(() => {
    if (!readSettings().pythonPath) {
      engine.restart('the Python extension selected another interpreter');
      registry.all().forEach((panel) => panel.rerun());
    }
  });
  // The engine's memory (tfjs's WebAssembly heap never shrinks) goes back when the last panel closes:
  // the engine process ends, and the next request (a panel, a lens) starts a fresh one.
  const registry = new PanelRegistry<LensPanel>(() => engine.restart('the last CNN Lens panel closed: its memory is given back'));
  // Live refresh: one set of model-file watchers for every panel and CodeLens.
  const modelChanges = createModelChangeHub();
  const services: PanelServices = {
    extensionUri: context.extensionUri,
    engine,
    discovery: new ModelDiscovery(context.workspaceState),
    output,
    registry,
    workspaceState: context.workspaceState,
    modelChanges: modelChanges.hub,
  };
  // CodeLens and hover on model files: summaries from the engine, loaded when a model file is shown.
  const summaries = new ModelSummaryCache((modelPath, { reload }) => {
    const gate = codeModelGate(modelPath, vscode.workspace.isTrusted);
    return gate.refusal ? Promise.reject(gate.refusal) : engine.loadModel(modelPath, { reload });
  }, modelChanges.hub);

  context.subscriptions.push(
    output,
    { dispose: () => engine.dispose() },
    registry,
    modelChanges.disposable,
    vscode.commands.registerCommand('cnnLens.showGradCam', (target?: unknown) => showGradCam(services, target)),
    vscode.commands.registerCommand('cnnLens.selectModel', () => selectModelCommand(services)),
    vscode.commands.registerCommand('cnnLens.exportOverlay', () => exportOverlayCommand(services)),
    vscode.commands.registerCommand(GRADCAM_AT_LAYER_COMMAND, (args: unknown) => showGradCamAtLayer(services, args)),
    vscode.commands.registerCommand(EXPLAIN_AT_LAYER_COMMAND, (args: unknown) => explainAtLayer(services, args)),
    // Args: { modelPath?, layer?, view?: 'activations' | 'filters' | 'summary' } (CodeLens and other callers).
    vscode.commands.registerCommand('cnnLens.visualizeLayer', (args?: unknown) => visualizeLayer(services, args)),
    summaries,
    registerModelLenses(summaries, [modelJsonKind, codeModelKind]),
    new PythonModelLenses(summaries),
    pythonErrors,
    trackPythonModelEditor(),
    ModelViewerProvider.register(services),
    vscode.window.registerWebviewPanelSerializer(LensPanel.viewType, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
        LensPanel.revive(services, panel, state);
      },
    }),
    // A panel that refused to run model code runs it once the user trusts the workspace.
    vscode.workspace.onDidGrantWorkspaceTrust(() => registry.all().forEach((panel) => panel.refresh('the workspace is trusted now'))),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (affects(event, 'backend')) {
        // The backend is chosen once per worker: start a new one and show its result.
        engine.restart(`"cnnLens.backend" is now ${readSettings().backend}`);
        registry.all().forEach((panel) => panel.rerun());
      } else if (affects(event, 'sampleWorkers')) {
        // Helpers are started by the worker at its start: the next worker has the new number.
        engine.restart(`"cnnLens.sampleWorkers" is now ${readSettings().sampleWorkers}`);
      } else if (affects(event, 'maxImageMegapixels')) {
        // The limit is given to each engine at its start; an image refused before may open now.
        engine.restart(`"cnnLens.maxImageMegapixels" is now ${readSettings().maxImageMegapixels}`);
        registry.all().forEach((panel) => panel.rerun());
      } else if (affects(event, 'pythonPath')) {
        // The interpreter is given to each worker at its start; PyTorch models load again with the new one.
        engine.restart(`"cnnLens.pythonPath" is now ${readSettings().pythonPath || 'empty'}`);
        registry.all().forEach((panel) => panel.rerun());
      }
    }),
  );
  context.subscriptions.push(pythonExtension);
}

/**
 * The context key `cnnLens.pythonModel`: the active editor shows a .py file that defines a PyTorch
 * model (a text scan, no Python), so its title and context menus offer Show Grad-CAM and Visualize Layer.
 */
function trackPythonModelEditor(): vscode.Disposable {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const update = () => {
    const document = vscode.window.activeTextEditor?.document;
    void vscode.commands.executeCommand('setContext', 'cnnLens.pythonModel', document !== undefined && isPythonModel(document));
  };
  update();
  return vscode.Disposable.from(
    vscode.window.onDidChangeActiveTextEditor(update),
    vscode.workspace.onDidChangeTextDocument((event) => {
      if (event.document === vscode.window.activeTextEditor?.document && event.document.languageId === 'python') {
        clearTimeout(timer);
        timer = setTimeout(update, 300);
      }
    }),
    { dispose: () => clearTimeout(timer) },
  );
}

/**
 * The Python extension's environments API, when it is installed: activated the first time CNN Lens
 * needs an interpreter, and followed from then on (selecting another interpreter calls `onChange`).
 */
class PythonExtension implements vscode.Disposable {
  private static readonly ID = 'ms-python.python';
  private subscription: vscode.Disposable | undefined;

  constructor(private readonly onChange: () => void) {}

  async environments(): Promise<PythonEnvironmentsApi | undefined> {
    const extension = vscode.extensions.getExtension<{ environments?: PythonEnvironmentsApi & { onDidChangeActiveEnvironmentPath?: vscode.Event<unknown> } }>(
      PythonExtension.ID,
    );
    if (!extension) {
      return undefined;
    }
    try {
      const environments = (extension.isActive ? extension.exports : await extension.activate())?.environments;
      this.subscription ??= environments?.onDidChangeActiveEnvironmentPath?.(() => this.onChange());
      return environments;
    } catch {
      return undefined;
    }
  }

  dispose(): void {
    this.subscription?.dispose();
  }
}

export function deactivate(): void {
  // Everything is in context.subscriptions (the worker is terminated by the engine's dispose).
}
