// Which model explains an image. In order: the `cnnLens.modelPath` setting; the choice the user
// made before in this workspace (workspaceState); a model file open in an editor (model.json, or
// an .onnx/.keras/.h5 file in CNN Lens's model viewer); else the workspace's model files (TF.js
// model.json and the binary formats of protocol/modelFormats.ts) in a quick pick (asked only when
// there is more than one).
// The choice is remembered, and "CNN Lens: Select Model…" (also a panel button) changes it.
// In a trusted workspace, models that run the workspace's code are listed and picked up from the
// editor too: PyTorch models (a .py file defining an nn.Module, read as text, never run, to decide;
// a TorchScript or pickled-model .pt without such a source beside it) and models defined in code
// (`*.model.ts`, `*.model.js`, …: see src/host/codeModels/trust.ts).
import * as path from 'path';
import * as vscode from 'vscode';
import { CODE_MODEL_GLOB, isCodeModelName, isScriptFile } from './codeModels/trust';
import { LensError } from '../shared/errors';
import { BINARY_MODEL_EXTENSIONS, FORMAT_NAMES, TORCH_FILE_EXTENSIONS, binaryFormatOf, binaryModelGlob, parsePytorchModelPath } from '../shared/modelFormats';
import { definesPytorchModel, modelClassOf, scanPythonSource } from '../shared/pythonSource';
import { readSettings } from './settings';

const REMEMBERED_KEY = 'cnnLens.modelPath';
const MODEL_FILE = 'model.json';
/** A LayersModel's model.json always has this key; a package.json or tsconfig.json never does. */
const LAYERS_MODEL_MARKER = '"modelTopology"';
const MAX_CANDIDATES = 200;
/** Python files read to find model sources; larger workspaces list the first ones. */
const MAX_PYTHON_FILES = 500;
/** Folders of installed packages and environments, not the user's models. */
const PYTHON_EXCLUDE = '{**/node_modules/**,**/.venv/**,**/venv/**,**/site-packages/**,**/.tox/**,**/__pycache__/**}';
const MAX_SOURCE_BYTES = 1024 * 1024;

export class ModelNotFoundError extends LensError {
  constructor(
    message: string,
    readonly fix: 'setting' | 'select',
  ) {
    super(message, 'model-not-found', 'ModelNotFoundError');
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
      const pytorch = vscode.workspace.isTrusted
        ? vscode.l10n.t('no PyTorch model (a .py file defining an nn.Module, with its .pt/.pth checkpoint beside it)')
        : vscode.l10n.t('no model CNN Lens may read in Restricted Mode (PyTorch model.py files run code: trust the folder to use them)');
      throw new ModelNotFoundError(
        vscode.l10n.t(
          'No model found: the workspace has {0}, no TF.js model.json with "modelTopology" and no {1} file (node_modules is skipped). Open a folder with a model, or set "cnnLens.modelPath" (e.g. to model.py).',
          pytorch,
          binaryExtensionList(),
        ),
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
    const items: Item[] = await Promise.all(candidates.map(async (uri) => {
      const format = await describeCandidate(uri);
      return {
        label: vscode.workspace.asRelativePath(uri, true),
        description: uri.fsPath === current ? vscode.l10n.t('{0} (current)', format) : format,
        uri,
      };
    }));
    const browse: Item = { label: `$(folder-opened) ${vscode.l10n.t('Browse…')}`, description: vscode.l10n.t('a model.json or {0} file outside the list', binaryExtensionList()) };
    items.push(browse);
    const chosen = await vscode.window.showQuickPick(items, {
      title: vscode.l10n.t('CNN Lens: Select Model'),
      // Short enough for a narrow window: each entry's description says its format.
      placeHolder: vscode.l10n.t('Select the model that explains the image'),
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
      throw new ModelNotFoundError(vscode.l10n.t('The "cnnLens.modelPath" setting names {0}, which does not exist. Fix or clear the setting.', setting), 'setting');
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
    throw new ModelNotFoundError(
      folders.length
        ? vscode.l10n.t('The "cnnLens.modelPath" setting names "{0}", which does not exist in {1}. Fix the workspace-relative path or clear the setting.', setting, folders.map((f) => f.name).join(', '))
        : vscode.l10n.t('The "cnnLens.modelPath" setting names "{0}", which does not exist (no workspace folder is open). Fix the workspace-relative path or clear the setting.', setting),
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
  const trusted = vscode.workspace.isTrusted;
  const none = Promise.resolve([] as vscode.Uri[]);
  const [jsonFiles, binaryFiles, codeFiles, pythonFiles, torchFiles] = await Promise.all([
    vscode.workspace.findFiles(`**/${MODEL_FILE}`, '**/node_modules/**', MAX_CANDIDATES),
    vscode.workspace.findFiles(binaryModelGlob(), '**/node_modules/**', MAX_CANDIDATES),
    trusted ? vscode.workspace.findFiles(CODE_MODEL_GLOB, '**/node_modules/**', MAX_CANDIDATES) : none,
    trusted ? vscode.workspace.findFiles('**/*.py', PYTHON_EXCLUDE, MAX_PYTHON_FILES) : none,
    trusted ? vscode.workspace.findFiles(`**/*.{${TORCH_FILE_EXTENSIONS.map((e) => e.slice(1)).join(',')}}`, PYTHON_EXCLUDE, MAX_CANDIDATES) : none,
  ]);
  const checked = await Promise.all(jsonFiles.map(async (uri) => ((await isLayersModel(uri)) ? uri : undefined)));
  const scanned = await Promise.all(pythonFiles.map(async (uri) => ({ uri, choices: await pytorchChoices(uri) })));
  const sources = scanned.filter((s) => s.choices.length > 0).map((s) => s.uri);
  // A checkpoint beside its source is that source's weights; a .pt alone may be a TorchScript or pickled model.
  const standalone = torchFiles.filter((uri) => !sources.some((source) => pairs(source.fsPath, uri.fsPath, sources)));
  return [...checked.filter((uri): uri is vscode.Uri => uri !== undefined), ...binaryFiles, ...codeFiles, ...scanned.flatMap((s) => s.choices), ...standalone].sort(
    (a, b) => a.fsPath.localeCompare(b.fsPath),
  );
}

/**
 * The models a .py file offers: the file (it decides its class: one class, a factory), or one
 * `model.py:ClassName` per nn.Module class when it defines several that none uses; none when it
 * defines no model.
 */
async function pytorchChoices(uri: vscode.Uri): Promise<vscode.Uri[]> {
  const read = await readPythonSource(uri);
  if (!read || !definesPytorchModel(read.scanned)) {
    return [];
  }
  const modules = read.scanned.classes.filter((c) => c.isModule);
  if (read.scanned.factories.length > 0 || modules.length <= 1 || modelClassOf(read.text, read.scanned)) {
    return [uri];
  }
  return modules.map((c) => vscode.Uri.file(`${uri.fsPath}:${c.name}`));
}

async function readPythonSource(uri: vscode.Uri): Promise<{ text: string; scanned: ReturnType<typeof scanPythonSource> } | undefined> {
  try {
    const stat = await vscode.workspace.fs.stat(uri);
    if (stat.size > MAX_SOURCE_BYTES) {
      return undefined;
    }
    const text = Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8');
    return { text, scanned: scanPythonSource(text) };
  } catch {
    return undefined;
  }
}

/** Whether a torch file is the checkpoint of a source: same folder, and same stem or the folder's only source. */
function pairs(source: string, torchFile: string, sources: readonly vscode.Uri[]): boolean {
  if (path.dirname(source) !== path.dirname(torchFile)) {
    return false;
  }
  const sameStem = path.basename(source, '.py') === path.basename(torchFile, path.extname(torchFile));
  return sameStem || sources.filter((s) => path.dirname(s.fsPath) === path.dirname(source)).length === 1;
}

/** A .py file defining a PyTorch model (an nn.Module subclass or a create_model()), read as text. */
async function isPytorchSource(uri: vscode.Uri): Promise<boolean> {
  const read = await readPythonSource(uri);
  return read !== undefined && definesPytorchModel(read.scanned);
}

/** The quick pick's description of a model file: its format (and a PyTorch source's class). */
async function describeCandidate(uri: vscode.Uri): Promise<string> {
  const binary = binaryFormatOf(uri.fsPath);
  if (binary) {
    return FORMAT_NAMES[binary];
  }
  const pytorch = parsePytorchModelPath(uri.fsPath);
  if (pytorch?.kind === 'source') {
    if (pytorch.className) {
      return vscode.l10n.t('PyTorch (class {0})', pytorch.className);
    }
    const read = await readPythonSource(uri);
    const className = read ? modelClassOf(read.text, read.scanned) : undefined;
    return className ? `PyTorch (${className})` : read?.scanned.factories.length ? `PyTorch (${read.scanned.factories[0]}())` : 'PyTorch';
  }
  if (pytorch) {
    return vscode.l10n.t('PyTorch (TorchScript or pickled model)');
  }
  return isCodeModelName(uri.fsPath) ? vscode.l10n.t('model code (createModel)') : 'TF.js model.json';
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
    // The model.py being edited (or a .pt/.pth shown), in a trusted workspace: running it runs its code.
    const pytorch = parsePytorchModelPath(uri.fsPath);
    if (uri.scheme === 'file' && vscode.workspace.isTrusted && pytorch && (pytorch.kind === 'torch-file' || (await isPytorchSource(uri)))) {
      return uri;
    }
  }
  return undefined;
}

async function browseForModel(): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({
    title: vscode.l10n.t('CNN Lens: Select a model file'),
    canSelectMany: false,
    openLabel: vscode.l10n.t('Use Model'),
    filters: {
      [vscode.l10n.t('Model files')]: ['json', ...Object.keys(BINARY_MODEL_EXTENSIONS).map((e) => e.slice(1))],
      [vscode.l10n.t('PyTorch (model source, checkpoint, TorchScript)')]: ['py', ...TORCH_FILE_EXTENSIONS.map((e) => e.slice(1))],
      [vscode.l10n.t('Model code (exports createModel)')]: ['ts', 'js', 'mts', 'mjs'],
    },
  });
  const uri = picked?.[0];
  if (uri && (isScriptFile(uri.fsPath) || parsePytorchModelPath(uri.fsPath)?.kind === 'torch-file')) {
    return uri; // checked when it runs (trust, createModel export; a checkpoint is paired with its source)
  }
  if (uri && parsePytorchModelPath(uri.fsPath)) {
    if (!(await isPytorchSource(uri))) {
      throw new ModelNotFoundError(
        vscode.l10n.t('{0} defines no PyTorch model: CNN Lens needs a .py file with a subclass of torch.nn.Module (or a create_model() function returning one).', uri.fsPath),
        'select',
      );
    }
    return uri;
  }
  if (uri && !(await isModelFile(uri))) {
    throw new ModelNotFoundError(
      vscode.l10n.t(
        '{0} is not a model CNN Lens reads: choose a PyTorch model.py, a TF.js model.json (with "modelTopology"), a {1} file, or a *.model.ts/js file exporting createModel().',
        uri.fsPath,
        binaryExtensionList(),
      ),
      'select',
    );
  }
  return uri;
}

/** Whether the model file exists (`model.py:SimpleCNN` names the file model.py). */
async function exists(uri: vscode.Uri): Promise<boolean> {
  const pytorch = parsePytorchModelPath(uri.fsPath);
  try {
    const stat = await vscode.workspace.fs.stat(pytorch ? vscode.Uri.file(pytorch.file) : uri);
    return (stat.type & vscode.FileType.File) !== 0;
  } catch {
    return false;
  }
}
