// The `cnnLens.*` settings, read in one place with their defaults and validation, so a bad value
// in settings.json falls back to the default instead of reaching the engine.
import * as os from 'os';
import * as vscode from 'vscode';
import { resolveSampleWorkers } from '../shared/sampleWorkers';
import { DEFAULT_MAX_IMAGE_MEGAPIXELS, MAX_IMAGE_MEGAPIXELS } from '../shared/imageLimit';
import { BACKEND_CHOICES, COLORMAPS, type BackendChoice, type ColormapName } from '../shared/types';

export const SECTION = 'cnnLens';

export const SETTING = {
  modelPath: 'modelPath',
  backend: 'backend',
  sampleWorkers: 'sampleWorkers',
  defaultColormap: 'defaultColormap',
  defaultOpacity: 'defaultOpacity',
  topK: 'topK',
  pythonPath: 'pythonPath',
  maxImageMegapixels: 'maxImageMegapixels',
} as const;

export interface LensSettings {
  /** Workspace-relative (or absolute) model.json path; empty when unset. */
  modelPath: string;
  backend: BackendChoice;
  /** Helper engine workers for sampling methods, resolved: -1 (auto) becomes a count. */
  sampleWorkers: number;
  defaultColormap: ColormapName;
  defaultOpacity: number;
  topK: number;
  /** The Python with torch that runs PyTorch models; empty: the Python extension's, else the PATH's. */
  pythonPath: string;
  /** Images over this are refused before decoding, in megapixels (the engine takes pixels). */
  maxImageMegapixels: number;
}

export function readSettings(scope?: vscode.ConfigurationScope): LensSettings {
  const config = vscode.workspace.getConfiguration(SECTION, scope);
  const backend = config.get<string>(SETTING.backend, 'auto');
  const colormap = config.get<string>(SETTING.defaultColormap, 'jet');
  const opacity = config.get<number>(SETTING.defaultOpacity, 0.5);
  const topK = config.get<number>(SETTING.topK, 5);
  const sampleWorkers = config.get<number>(SETTING.sampleWorkers, -1);
  const maxImageMegapixels = config.get<number>(SETTING.maxImageMegapixels, DEFAULT_MAX_IMAGE_MEGAPIXELS);
  return {
    modelPath: (config.get<string>(SETTING.modelPath, '') ?? '').trim(),
    backend: (BACKEND_CHOICES as readonly string[]).includes(backend) ? (backend as BackendChoice) : 'auto',
    sampleWorkers: resolveSampleWorkers(sampleWorkers, os.availableParallelism()),
    defaultColormap: (COLORMAPS as readonly string[]).includes(colormap) ? (colormap as ColormapName) : 'jet',
    defaultOpacity: Number.isFinite(opacity) ? Math.min(1, Math.max(0, opacity)) : 0.5,
    topK: Number.isInteger(topK) && topK >= 1 ? Math.min(topK, 100) : 5,
    // A machine setting (package.json): only the user's own settings can name the program CNN Lens starts.
    pythonPath: (config.get<string>(SETTING.pythonPath, '') ?? '').trim(),
    maxImageMegapixels:
      typeof maxImageMegapixels === 'number' && maxImageMegapixels > 0 && maxImageMegapixels <= MAX_IMAGE_MEGAPIXELS ? maxImageMegapixels : DEFAULT_MAX_IMAGE_MEGAPIXELS,
  };
}

export function affects(event: vscode.ConfigurationChangeEvent, key: keyof typeof SETTING): boolean {
  return event.affectsConfiguration(`${SECTION}.${SETTING[key]}`);
}

/** Opens the Settings UI filtered to one CNN Lens setting (the "what to fix" of an error). */
export function openSetting(key: keyof typeof SETTING): Thenable<unknown> {
  return vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.${SETTING[key]}`);
}
