// VS Code's side of live refresh: file-system watchers per folder (changes made by any program:
// a training script, git, tfjs's model.save) plus editor saves (a model.json or code model edited
// in VS Code), fed into the ModelChangeHub of ./modelWatcher.
import * as vscode from 'vscode';
import { ModelChangeHub, type FileEventSource } from './modelWatcher';

export const vscodeFileEvents: FileEventSource = {
  watchFolder(folder, onFileEvent) {
    // A RelativePattern on a folder outside the workspace works too (VS Code 1.64+), so a model
    // kept beside the workspace still refreshes.
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(folder), '*'));
    const forward = (uri: vscode.Uri) => onFileEvent(uri.fsPath);
    return vscode.Disposable.from(watcher, watcher.onDidChange(forward), watcher.onDidCreate(forward), watcher.onDidDelete(forward));
  },
};

/** The extension's one hub: watchers plus editor saves (the debounce merges the two). */
export function createModelChangeHub(): { hub: ModelChangeHub; disposable: vscode.Disposable } {
  const hub = new ModelChangeHub(vscodeFileEvents);
  const onSave = vscode.workspace.onDidSaveTextDocument((document) => {
    if (document.uri.scheme === 'file') {
      hub.notify(document.uri.fsPath);
    }
  });
  return { hub, disposable: vscode.Disposable.from(onSave, hub) };
}
