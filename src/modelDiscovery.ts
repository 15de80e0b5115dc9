// Which model explains an image. In order: the `cnnLens.modelPath` setting; the choice the user
// made before in this workspace (workspaceState); a model.json open in an editor; else the
// workspace's TF.js model.json files in a quick pick (asked only when there is more than one).
// The choice is remembered, and "CNN Lens: Select Model…" (also a panel button) changes it.
// In a trusted workspace, models defined in code (`*.model.ts`, `*.model.js`, …: see
// src/codeModels/trust.ts) are listed and picked up from the editor too.
import * as path from 'path';
import * as vscode from 'vscode';
import { CODE_MODEL_GLOB, isCodeModelName, isScriptFile } from './codeModels/trust';
import { readSettings } from './settings';

const REMEMBERED_KEY = 'cnnLens.modelPath';
const MODEL_FILE = 'model.json';
/** A LayersModel's model.json always has this key; a package.json or tsconfig.json never does. */
const LAYERS_MODEL_MARKER = '"modelTopology"';
const MAX_CANDIDATES = 200;

export class ModelNotFoundError extends Error {
  constructor(
    message: string,
    readonly fix: 'setting' | 'select',
  ) {
    super(message);
    this.name = 'ModelNotFoundError';
  }
}

export class ModelDiscovery {
  constructor(private readonly workspaceState: vscode.Memento) {}

  /**
   * The model for an image, asking the user only when nothing decides it. Undefined when the user
   * dismissed the quick pick.
   */
  async resolve(imageUri?: vscode.Uri): Promise<vscode.Uri | undefined> {
    const fromSetting = await this.fromSetting(imageUri);
    if (fromSetting) {
      return fromSetting;
    }
    const remembered = await this.remembered();
    if (remembered) {
      return remembered;
    }
    const open = await modelOpenInEditor();
    if (open) {
      await this.remember(open);
      return open;
    }
    const candidates = await findModelFiles();
    if (candidates.length === 0) {
      throw new ModelNotFoundError(
        `No TF.js model found: the workspace has no model.json with "modelTopology" (node_modules is skipped). Open a folder with a LayersModel, or set "cnnLens.modelPath".`,
        'setting',
      );
    }
    if (candidates.length === 1) {
      await this.remember(candidates[0]);
      return candidates[0];
    }
    return this.pick(candidates);
  }

  /** "Select Model…": always asks, offering every model in the workspace plus a file dialog. */
  async select(): Promise<vscode.Uri | undefined> {
    return this.pick(await findModelFiles());
  }

  async remember(uri: vscode.Uri): Promise<void> {
    await this.workspaceState.update(REMEMBERED_KEY, uri.fsPath);
  }

  private async pick(candidates: vscode.Uri[]): Promise<vscode.Uri | undefined> {
    const current = this.workspaceState.get<string>(REMEMBERED_KEY);
    type Item = vscode.QuickPickItem & { uri?: vscode.Uri };
    const items: Item[] = candidates.map((uri) => ({
      label: vscode.workspace.asRelativePath(uri, true),
      description: [isCodeModelName(uri.fsPath) ? 'model code (createModel)' : '', uri.fsPath === current ? '(current)' : ''].filter(Boolean).join(' ') || undefined,
      uri,
    }));
    const browse: Item = { label: '$(folder-opened) Browse…', description: 'a model.json outside the list' };
    items.push(browse);
    const chosen = await vscode.window.showQuickPick(items, {
      title: 'CNN Lens: Select Model',
      placeHolder: 'Select the TF.js model (model.json, or *.model.ts/js code) that explains the image',
      matchOnDescription: true,
    });
    if (!chosen) {
      return undefined;
    }
    const uri = chosen.uri ?? (await browseForModel());
    if (uri) {
      await this.remember(uri);
    }
    return uri;
  }

  private async fromSetting(imageUri?: vscode.Uri): Promise<vscode.Uri | undefined> {
    const setting = readSettings(imageUri).modelPath;
    if (!setting) {
      return undefined;
    }
    if (path.isAbsolute(setting)) {
      const uri = vscode.Uri.file(setting);
      if (await exists(uri)) {
        return uri;
      }
      throw new ModelNotFoundError(`The "cnnLens.modelPath" setting names ${setting}, which does not exist. Fix or clear the setting.`, 'setting');
    }
    // Relative: to the image's workspace folder first, then to every other folder.
    const home = imageUri ? vscode.workspace.getWorkspaceFolder(imageUri) : undefined;
    const folders = [...(home ? [home] : []), ...(vscode.workspace.workspaceFolders ?? []).filter((f) => f !== home)];
    for (const folder of folders) {
      const uri = vscode.Uri.joinPath(folder.uri, setting);
      if (await exists(uri)) {
        return uri;
      }
    }
    const where = folders.length ? `in ${folders.map((f) => f.name).join(', ')}` : '(no workspace folder is open)';
    throw new ModelNotFoundError(
      `The "cnnLens.modelPath" setting names "${setting}", which does not exist ${where}. Fix the workspace-relative path or clear the setting.`,
      'setting',
    );
  }

  private async remembered(): Promise<vscode.Uri | undefined> {
    const stored = this.workspaceState.get<string>(REMEMBERED_KEY);
    if (!stored) {
      return undefined;
    }
    const uri = vscode.Uri.file(stored);
    if (await exists(uri)) {
      return uri;
    }
    await this.workspaceState.update(REMEMBERED_KEY, undefined); // moved or deleted: ask again
    return undefined;
  }
}

/**
 * model.json files in the workspace that are TF.js LayersModels, skipping node_modules; in a
 * trusted workspace also the model code files (`*.model.ts|js`), which are recognised by name.
 */
export async function findModelFiles(): Promise<vscode.Uri[]> {
  const found = await vscode.workspace.findFiles(`**/${MODEL_FILE}`, '**/node_modules/**', MAX_CANDIDATES);
  const checked = await Promise.all(found.map(async (uri) => ((await isLayersModel(uri)) ? uri : undefined)));
  const code = vscode.workspace.isTrusted ? await vscode.workspace.findFiles(CODE_MODEL_GLOB, '**/node_modules/**', MAX_CANDIDATES) : [];
  return [...checked.filter((uri): uri is vscode.Uri => uri !== undefined), ...code].sort((a, b) => a.fsPath.localeCompare(b.fsPath));
}

async function isLayersModel(uri: vscode.Uri): Promise<boolean> {
  try {
    const bytes = await vscode.workspace.fs.readFile(uri);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(LAYERS_MODEL_MARKER);
  } catch {
    return false;
  }
}

/** A model.json shown in an editor: the active one first, then visible ones, then any tab. */
async function modelOpenInEditor(): Promise<vscode.Uri | undefined> {
  const uris: vscode.Uri[] = [];
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active) {
    uris.push(active);
  }
  uris.push(...vscode.window.visibleTextEditors.map((editor) => editor.document.uri));
  for (const group of vscode.window.tabGroups.all) {
    for (const tab of group.tabs) {
      if (tab.input instanceof vscode.TabInputText) {
        uris.push(tab.input.uri);
      }
    }
  }
  for (const uri of uris) {
    if (uri.scheme === 'file' && path.basename(uri.fsPath) === MODEL_FILE && (await isLayersModel(uri))) {
      return uri;
    }
    if (uri.scheme === 'file' && vscode.workspace.isTrusted && isCodeModelName(uri.fsPath)) {
      return uri;
    }
  }
  return undefined;
}

async function browseForModel(): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({
    title: 'CNN Lens: Select a TF.js model.json or a model file in code',
    canSelectMany: false,
    openLabel: 'Use Model',
    filters: { 'TF.js LayersModel': ['json'], 'Model code (exports createModel)': ['ts', 'js', 'mts', 'mjs'] },
  });
  const uri = picked?.[0];
  if (uri && isScriptFile(uri.fsPath)) {
    return uri; // checked when it runs (trust, createModel export)
  }
  if (uri && !(await isLayersModel(uri))) {
    throw new ModelNotFoundError(`${uri.fsPath} is not a TF.js LayersModel (no "modelTopology"). Choose the model.json that tfjs saved.`, 'select');
  }
  return uri;
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    const stat = await vscode.workspace.fs.stat(uri);
    return (stat.type & vscode.FileType.File) !== 0;
  } catch {
    return false;
  }
}
