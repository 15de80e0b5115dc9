// "CNN Lens: Open Sample Workspace…" (the Get Started walkthrough's first step): copies the sample
// workspace the VSIX ships (samples/workspace: a TF.js model with labels and test images, a PyTorch
// model.py with its checkpoint) into a folder the user picks, then opens the copy. A copy, never the
// installed files: the user edits and saves there, and an update of the extension must not lose it.
import * as vscode from 'vscode';
import { reportError } from '../reportError';

/** The folder created inside the one the user picks; "cnn-lens-sample-2"… when it exists already. */
export const SAMPLE_FOLDER_NAME = 'cnn-lens-sample';

export interface OpenSampleOptions {
  extensionUri: vscode.Uri;
  output: vscode.OutputChannel;
  /** Tests: the parent folder instead of asking, and whether to open the copy (e2e keeps its window). */
  parent?: vscode.Uri;
  open?: boolean;
}

export async function openSampleWorkspace(options: OpenSampleOptions): Promise<vscode.Uri | undefined> {
  try {
    const source = vscode.Uri.joinPath(options.extensionUri, 'samples', 'workspace');
    if (!(await exists(source))) {
      throw new Error(vscode.l10n.t('The sample workspace is missing from the extension ({0}); reinstall CNN Lens.', source.fsPath));
    }
    const parent = options.parent ?? (await askParent());
    if (!parent) {
      return undefined;
    }
    const target = await freeName(parent);
    await vscode.workspace.fs.copy(source, target, { overwrite: false });
    options.output.appendLine(`[sample] copied ${source.fsPath} to ${target.fsPath}`);
    if (options.open !== false) {
      // The same window: the walkthrough stays in progress and the Welcome page shows it again there.
      await vscode.commands.executeCommand('vscode.openFolder', target, { forceNewWindow: false });
    }
    return target;
  } catch (error) {
    await reportError('Open Sample Workspace', error, { output: options.output });
    return undefined;
  }
}

async function askParent(): Promise<vscode.Uri | undefined> {
  const home = process.env.HOME ?? process.env.USERPROFILE;
  const picked = await vscode.window.showOpenDialog({
    title: vscode.l10n.t('CNN Lens: Where to copy the sample workspace'),
    openLabel: vscode.l10n.t('Copy Sample Here'),
    canSelectFiles: false,
    canSelectFolders: true,
    canSelectMany: false,
    ...(home ? { defaultUri: vscode.Uri.file(home) } : {}),
  });
  return picked?.[0];
}

/** `cnn-lens-sample` in `parent`, or the first `cnn-lens-sample-N` that does not exist yet. */
async function freeName(parent: vscode.Uri): Promise<vscode.Uri> {
  for (let n = 1; n < 1000; n++) {
    const candidate = vscode.Uri.joinPath(parent, n === 1 ? SAMPLE_FOLDER_NAME : `${SAMPLE_FOLDER_NAME}-${n}`);
    if (!(await exists(candidate))) {
      return candidate;
    }
  }
  throw new Error(vscode.l10n.t('{0} already holds 999 copies of the sample; choose another folder.', parent.fsPath));
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}
