// VS Code's side of CodeLens and hover on a PyTorch model source (a .py file that defines an
// nn.Module, read as text to decide: nothing runs until a lens needs the model, and only in a
// trusted workspace). The summary comes from the engine through the same cache as model.json's
// lenses, so live refresh reloads it when the file, a module it imports or the checkpoint changes;
// lines and hovers come from ./pythonLayers.
import * as vscode from 'vscode';
import { UntrustedCodeModelError } from '../codeModels/trust';
import { parsePytorchModelPath } from '../../shared/modelFormats';
import { definesPytorchModel, scanPythonSource } from '../../shared/pythonSource';
import { readSettings } from '../settings';
import { loadErrorLens, type LensSpec } from './layerLenses';
import { pythonHoverMarkdown, pythonLayerLenses } from './pythonLayers';
import type { ModelSummaryCache } from './summaryCache';

export const PYTHON_SELECTOR: vscode.DocumentSelector = [{ scheme: 'file', language: 'python' }];

/** A .py document that defines a PyTorch model (an nn.Module subclass or a model factory). */
export function isPythonModel(document: vscode.TextDocument): boolean {
  return document.uri.scheme === 'file' && document.languageId === 'python' && definesPytorchModel(scanPythonSource(document.getText()));
}

/**
 * The model path a source stands for: the file, or `file.py:Class` when cnnLens.modelPath picks a
 * class of this very file (a file with several models).
 */
export function modelPathOf(document: vscode.TextDocument): string {
  const file = document.uri.fsPath;
  const setting = readSettings(document.uri).modelPath;
  const folder = vscode.workspace.getWorkspaceFolder(document.uri);
  const configured = setting && folder ? vscode.Uri.joinPath(folder.uri, setting).fsPath : setting;
  const parsed = configured ? parsePytorchModelPath(configured) : null;
  return parsed?.className && (parsed.file === file || vscode.Uri.file(parsed.file).fsPath === file) ? `${file}:${parsed.className}` : file;
}

export class PythonModelLenses implements vscode.CodeLensProvider, vscode.HoverProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly disposables: vscode.Disposable[];

  constructor(private readonly cache: ModelSummaryCache) {
    this.disposables = [
      vscode.languages.registerCodeLensProvider(PYTHON_SELECTOR, this),
      vscode.languages.registerHoverProvider(PYTHON_SELECTOR, this),
      cache.onDidChange(() => this.changed.fire()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.changed.fire()),
      vscode.workspace.onDidCloseTextDocument((document) => {
        if (document.uri.scheme === 'file' && document.languageId === 'python') {
          cache.forget(modelPathOf(document));
        }
      }),
    ];
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
    this.changed.dispose();
  }

  async provideCodeLenses(document: vscode.TextDocument, token: vscode.CancellationToken): Promise<vscode.CodeLens[]> {
    if (!isPythonModel(document)) {
      return [];
    }
    const modelPath = modelPathOf(document);
    const top = firstClassOffset(document);
    let specs: LensSpec[];
    if (!vscode.workspace.isTrusted) {
      const reason = new UntrustedCodeModelError(vscode.workspace.asRelativePath(document.uri)).message;
      specs = [{ offset: top, title: 'CNN Lens: PyTorch models run only in a trusted workspace', tooltip: reason, command: 'workbench.trust.manage' }];
    } else {
      try {
        const summary = await this.cache.get(modelPath);
        specs = pythonLayerLenses(modelPath, document.uri.fsPath, document.getText(), summary);
      } catch (error) {
        specs = [loadErrorLens(top, error instanceof Error ? error.message : String(error))];
      }
    }
    if (token.isCancellationRequested) {
      return [];
    }
    return specs.map((spec) => {
      const line = document.positionAt(spec.offset).line;
      return new vscode.CodeLens(new vscode.Range(line, 0, line, 0), { title: spec.title, tooltip: spec.tooltip, command: spec.command ?? '', arguments: spec.arguments });
    });
  }

  async provideHover(document: vscode.TextDocument, position: vscode.Position): Promise<vscode.Hover | undefined> {
    if (!vscode.workspace.isTrusted || !isPythonModel(document)) {
      return undefined;
    }
    // Only a model already loaded (by its lenses or the panel): a hover never starts Python.
    const summary = this.cache.peek(modelPathOf(document));
    if (!summary) {
      return undefined;
    }
    const hover = pythonHoverMarkdown(document.getText(), document.offsetAt(position), summary);
    if (!hover) {
      return undefined;
    }
    const range = new vscode.Range(document.positionAt(hover.start), document.positionAt(hover.end));
    return new vscode.Hover(new vscode.MarkdownString(hover.markdown), range);
  }
}

/** Where a lens about the whole file goes: the first model class, else the top. */
function firstClassOffset(document: vscode.TextDocument): number {
  const first = scanPythonSource(document.getText()).classes.find((c) => c.isModule);
  return first ? document.offsetAt(new vscode.Position(first.line - 1, 0)) : 0;
}
