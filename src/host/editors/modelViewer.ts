// A read-only custom editor for model files: opening an .onnx, .keras or .h5 file (or, on request, a TF.js
// model.json) shows the model's summary from the engine instead of binary bytes, and a button that
// explains an image with this model in the CNN Lens panel. The document is only the file's URI:
// the model itself lives in the engine worker, which caches it for the panel too.
import * as path from 'path';
import * as vscode from 'vscode';
import { pickImage } from '../commands/images';
import { errorMessage, reportError } from '../reportError';
import { modelViewerMessage } from '../../shared/messageGuards';
import { MessageChannelEndpoint } from '../../shared/messaging';
import type { ModelViewerToHost } from '../../shared/modelViewer';
import { makeNonce } from '../panel/html';
import { LensPanel, type PanelServices } from '../panel/lensPanel';
import { errorPage, loadingPage, summaryPage, type SummaryPageOptions } from './modelSummaryHtml';
import { LensError } from '../../shared/errors';

class ModelDocument implements vscode.CustomDocument {
  constructor(readonly uri: vscode.Uri) {}
  dispose(): void {
    // Nothing to free: the worker keeps the model for the panel, keyed by path.
  }
}

export class ModelViewerProvider implements vscode.CustomReadonlyEditorProvider<ModelDocument> {
  /** Binary model files (.onnx, .keras, .h5): the default editor. */
  static readonly viewType = 'cnnLens.modelViewer';
  /** TF.js model.json: offered through "Open With…" (JSON stays in the text editor by default). */
  static readonly jsonViewType = 'cnnLens.modelJsonViewer';

  static register(services: PanelServices): vscode.Disposable {
    const provider = new ModelViewerProvider(services);
    return vscode.Disposable.from(
      vscode.window.registerCustomEditorProvider(ModelViewerProvider.viewType, provider),
      vscode.window.registerCustomEditorProvider(ModelViewerProvider.jsonViewType, provider),
    );
  }

  constructor(private readonly services: PanelServices) {}

  openCustomDocument(uri: vscode.Uri): ModelDocument {
    return new ModelDocument(uri);
  }

  async resolveCustomEditor(document: ModelDocument, panel: vscode.WebviewPanel): Promise<void> {
    const dist = vscode.Uri.joinPath(this.services.extensionUri, 'dist');
    // The page loads its one script from dist/ and nothing else.
    panel.webview.options = { enableScripts: true, localResourceRoots: [dist] };
    const scriptUri = panel.webview.asWebviewUri(vscode.Uri.joinPath(dist, 'modelViewer.js')).toString();
    const options = (): SummaryPageOptions => ({ cspSource: panel.webview.cspSource, nonce: makeNonce(), scriptUri, fileName: path.basename(document.uri.fsPath), lang: vscode.env.language });
    const render = async (reload: boolean): Promise<void> => {
      panel.webview.html = loadingPage(options());
      try {
        if (document.uri.scheme !== 'file') {
          throw new LensError(vscode.l10n.t('{0} is not a local file; CNN Lens reads models from the disk.', document.uri.toString(true)), 'bad-input');
        }
        const summary = await this.services.engine.loadModel(document.uri.fsPath, { reload });
        const views = await this.services.engine.layerViews(document.uri.fsPath);
        const openable = new Set(views.filter((v) => v.activations).map((v) => v.name));
        panel.webview.html = summaryPage(summary, { ...options(), openable });
      } catch (error) {
        panel.webview.html = errorPage(error instanceof Error ? error.message : String(error), options());
      }
    };
    // The page's commands, over the panel's typed channel; each is checked before it is acted on.
    const endpoint = new MessageChannelEndpoint<never, ModelViewerToHost>((envelope) => void panel.webview.postMessage(envelope), {
      requests: {}, // the page asks nothing: the host redraws it
      validate: modelViewerMessage, // the page is untrusted content
      onInvalid: (error) => this.services.output.appendLine(`[model viewer] ${errorMessage(error)}`),
      onEvent: (message) => {
        switch (message.type) {
          case 'explain':
            void this.explainWith(document.uri);
            break;
          case 'reload':
            void render(true);
            break;
          case 'activations':
            // A layer name clicked: its activations in the panel, through Visualize Layer (which asks for an image when none is shown).
            void vscode.commands.executeCommand('cnnLens.visualizeLayer', { modelPath: document.uri.fsPath, layer: message.layer, view: 'activations' });
            break;
        }
      },
    });
    const received = panel.webview.onDidReceiveMessage((data: unknown) => endpoint.handle(data));
    // Saving a new export over the file shows the new model.
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(path.dirname(document.uri.fsPath)), path.basename(document.uri.fsPath)));
    watcher.onDidChange(() => void render(true));
    panel.onDidDispose(() => {
      watcher.dispose();
      received.dispose();
    });
    await render(false);
  }

  private async explainWith(modelUri: vscode.Uri): Promise<void> {
    try {
      const imageUri = await pickImage();
      if (!imageUri) {
        return;
      }
      await this.services.discovery.remember(modelUri);
      await LensPanel.show(this.services, imageUri, modelUri);
    } catch (error) {
      await reportError('Show Grad-CAM', error, { output: this.services.output });
    }
  }
}
