// Activation: wire the collaborators and register commands and the panel serializer. Nothing
// heavy happens here: the engine worker (tfjs, wasm) starts on the first request a panel makes.
// VS Code activates this on a CNN Lens command or when restoring a CNN Lens panel.
import * as vscode from 'vscode';
import { exportOverlayCommand } from './commands/exportOverlay';
import { selectModelCommand } from './commands/selectModel';
import { showGradCam } from './commands/showGradCam';
import { ModelViewerProvider } from './editors/modelViewer';
import { ModelDiscovery } from './modelDiscovery';
import { LensPanel, type PanelServices } from './panel/lensPanel';
import { PanelRegistry } from './panel/registry';
import { affects, readSettings } from './settings';
import { EngineClient } from './worker/client';

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('CNN Lens');
  const dist = vscode.Uri.joinPath(context.extensionUri, 'dist');
  const engine = new EngineClient({
    workerPath: vscode.Uri.joinPath(dist, 'worker.js').fsPath,
    wasmDir: dist.fsPath,
    backend: () => readSettings().backend,
    log: (line) => output.appendLine(`[engine] ${line}`),
  });
  const registry = new PanelRegistry<LensPanel>();
  const services: PanelServices = {
    extensionUri: context.extensionUri,
    engine,
    discovery: new ModelDiscovery(context.workspaceState),
    output,
    registry,
    workspaceState: context.workspaceState,
  };

  context.subscriptions.push(
    output,
    { dispose: () => engine.dispose() },
    registry,
    vscode.commands.registerCommand('cnnLens.showGradCam', (target?: unknown) => showGradCam(services, target)),
    vscode.commands.registerCommand('cnnLens.selectModel', () => selectModelCommand(services)),
    vscode.commands.registerCommand('cnnLens.exportOverlay', () => exportOverlayCommand(services)),
    ModelViewerProvider.register(services),
    vscode.window.registerWebviewPanelSerializer(LensPanel.viewType, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
        LensPanel.revive(services, panel, state);
      },
    }),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (affects(event, 'backend')) {
        // The backend is chosen once per worker: start a new one and show its result.
        engine.restart(`"cnnLens.backend" is now ${readSettings().backend}`);
        registry.all().forEach((panel) => panel.rerun());
      }
    }),
  );
}

export function deactivate(): void {
  // Everything is in context.subscriptions (the worker is terminated by the engine's dispose).
}
