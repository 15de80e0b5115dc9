// A PyTorch model that fails to load because of its code shows the error as a squiggle on the line
// it names (the last frame in the user's files: "model.py:14: RuntimeError: …"), besides the panel;
// the next successful load of that model clears it. Fed by the engine client's load outcomes.
import * as vscode from 'vscode';
import { userCodeErrorLocation } from './lens/pythonLayers';
import { isPytorchModelPath } from '../shared/modelFormats';

export class PythonErrorDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('CNN Lens');
  /** The files each model's diagnostics are in, to clear them when it loads again. */
  private readonly byModel = new Map<string, vscode.Uri>();

  /** A load of `modelPath` ended: with `error`, or fine. */
  loaded(modelPath: string, error?: unknown): void {
    if (!isPytorchModelPath(modelPath)) {
      return;
    }
    const previous = this.byModel.get(modelPath);
    if (previous) {
      this.collection.delete(previous);
      this.byModel.delete(modelPath);
    }
    const location = error instanceof Error ? userCodeErrorLocation(error.message) : undefined;
    if (!location) {
      return;
    }
    const uri = vscode.Uri.file(location.file);
    const line = Math.max(0, location.line - 1);
    const diagnostic = new vscode.Diagnostic(new vscode.Range(line, 0, line, Number.MAX_SAFE_INTEGER), location.message, vscode.DiagnosticSeverity.Error);
    diagnostic.source = 'CNN Lens (PyTorch)';
    this.collection.set(uri, [diagnostic]);
    this.byModel.set(modelPath, uri);
  }

  dispose(): void {
    this.collection.dispose();
  }
}
