// Which model explains an image. In order: the `cnnLens.modelPath` setting; the choice the user
// made before in this workspace (workspaceState); a model file open in an editor (model.json, or
// an .onnx/.keras/.h5 file in CNN Lens's model viewer); else the workspace's model files (TF.js
// model.json and the binary formats of protocol/modelFormats.ts) in a quick pick (asked only when
// there is more than one).
// The choice is remembered, and "CNN Lens: Select Model…" (also a panel button) changes it.
// In a trusted workspace, models defined in code (`*.model.ts`, `*.model.js`, …: see
// src/codeModels/trust.ts) are listed and picked up from the editor too.
import * as path from 'path';
import * as vscode from 'vscode';
import { CODE_MODEL_GLOB, isCodeModelName, isScriptFile } from './codeModels/trust';
import { BINARY_MODEL_EXTENSIONS, FORMAT_NAMES, binaryFormatOf, binaryModelGlob } from './protocol/modelFormats';
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
        `No model found: the workspace has no TF.js model.json with "modelTopology" and no ${binaryExtensionList()} file (node_modules is skipped). Open a folder with a model, or set "cnnLens.modelPath".`,
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
    const items: Item[] = candidates.map((uri) => {
      const binary = binaryFormatOf(uri.fsPath);
      const format = binary ? FORMAT_NAMES[binary] : isCodeModelName(uri.fsPath) ? 'model code (createModel)' : 'TF.js model.json';
      return {
        label: vscode.workspace.asRelativePath(uri, true),
        description: uri.fsPath === current ? `${format} (current)` : format,
        uri,
      };
    });
    const browse: Item = { label: '$(folder-opened) Browse…', description: `a model.json or ${binaryExtensionList()} file outside the list` };
    items.push(browse);
    const chosen = await vscode.window.showQuickPick(items, {
      title: 'CNN Lens: Select Model',
      placeHolder: `Select the model (TF.js model.json, ${binaryExtensionList()}, or *.model.ts/js code) that explains the image`,
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
 * Model files in the workspace (TF.js LayersModel model.json, .onnx, .keras, .h5), skipping
 * node_modules; in a trusted workspace also the model code files (`*.model.ts|js`), recognised by name.
 */
export async function findModelFiles(): Promise<vscode.Uri[]> {
  const [jsonFiles, binaryFiles, codeFiles] = await Promise.all([
    vscode.workspace.findFiles(`**/${MODEL_FILE}`, '**/node_modules/**', MAX_CANDIDATES),
    vscode.workspace.findFiles(binaryModelGlob(), '**/node_modules/**', MAX_CANDIDATES),
    vscode.workspace.isTrusted ? vscode.workspace.findFiles(CODE_MODEL_GLOB, '**/node_modules/**', MAX_CANDIDATES) : Promise.resolve([]),
  ]);
  const checked = await Promise.all(jsonFiles.map(async (uri) => ((await isLayersModel(uri)) ? uri : undefined)));
  return [...checked.filter((uri): uri is vscode.Uri => uri !== undefined), ...binaryFiles, ...codeFiles].sort((a, b) => a.fsPath.localeCompare(b.fsPath));
}

/** ".onnx, .keras, .h5, .hdf5" (the binary formats CNN Lens reads), for messages. */
function binaryExtensionList(): string {
  return Object.keys(BINARY_MODEL_EXTENSIONS).join(', ');
}

/** A file CNN Lens can load: a binary model by its extension, or a JSON file holding a LayersModel. */
async function isModelFile(uri: vscode.Uri): Promise<boolean> {
  return binaryFormatOf(uri.fsPath) !== null || (await isLayersModel(uri));
}

async function isLayersModel(uri: vscode.Uri): Promise<boolean> {
  try {
    const bytes = await vscode.workspace.fs.readFile(uri);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(LAYERS_MODEL_MARKER);
  } catch {
    return false;
  }
}

/** A model file shown in an editor: the active one first, then visible ones, then any tab (text or model viewer). */
async function modelOpenInEditor(): Promise<vscode.Uri | undefined> {
  const uris: vscode.Uri[] = [];
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active) {
    uris.push(active);
  }
  uris.push(...vscode.window.visibleTextEditors.map((editor) => editor.document.uri));
  for (const group of vscode.window.tabGroups.all) {
    for (const tab of group.tabs) {
      if (tab.input instanceof vscode.TabInputText || tab.input instanceof vscode.TabInputCustom) {
        uris.push(tab.input.uri);
      }
    }
  }
  for (const uri of uris) {
    const candidate = binaryFormatOf(uri.fsPath) !== null || path.basename(uri.fsPath) === MODEL_FILE;
    if (uri.scheme === 'file' && candidate && (await isModelFile(uri))) {
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
    title: 'CNN Lens: Select a model file',
    canSelectMany: false,
    openLabel: 'Use Model',
    filters: {
      'Model files': ['json', ...Object.keys(BINARY_MODEL_EXTENSIONS).map((e) => e.slice(1))],
      'Model code (exports createModel)': ['ts', 'js', 'mts', 'mjs'],
    },
  });
  const uri = picked?.[0];
  if (uri && isScriptFile(uri.fsPath)) {
    return uri; // checked when it runs (trust, createModel export)
  }
  if (uri && !(await isModelFile(uri))) {
    throw new ModelNotFoundError(
      `${uri.fsPath} is not a model CNN Lens reads: choose a TF.js model.json (with "modelTopology"), a ${binaryExtensionList()} file, or a *.model.ts/js file exporting createModel().`,
      'select',
    );
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
