// The `cnnLens.*` settings, read in one place with their validation, so a bad value in
// settings.json falls back to the default (src/shared/settingDefaults.ts) instead of reaching the engine.
import * as os from 'os';
import * as vscode from 'vscode';
import { resolveSampleWorkers } from '../shared/sampleWorkers';
import { MAX_IMAGE_MEGAPIXELS } from '../shared/imageLimit';
import { SETTING_DEFAULTS, SETTING_RANGES } from '../shared/settingDefaults';
import { BACKEND_CHOICES, COLORMAPS, type BackendChoice, type ColormapName } from '../shared/types';

export const SECTION = 'cnnLens';

const TOP_K_MAX = SETTING_RANGES.topK?.maximum ?? 100;

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
  const defaults = SETTING_DEFAULTS;
  const backend = config.get<string>(SETTING.backend, defaults.backend);
  const colormap = config.get<string>(SETTING.defaultColormap, defaults.defaultColormap);
  const opacity = config.get<number>(SETTING.defaultOpacity, defaults.defaultOpacity);
  const topK = config.get<number>(SETTING.topK, defaults.topK);
  const sampleWorkers = config.get<number>(SETTING.sampleWorkers, defaults.sampleWorkers);
  const maxImageMegapixels = config.get<number>(SETTING.maxImageMegapixels, defaults.maxImageMegapixels);
  return {
    modelPath: (config.get<string>(SETTING.modelPath, defaults.modelPath) ?? '').trim(),
    backend: (BACKEND_CHOICES as readonly string[]).includes(backend) ? (backend as BackendChoice) : defaults.backend,
    sampleWorkers: resolveSampleWorkers(sampleWorkers, os.availableParallelism()),
    defaultColormap: (COLORMAPS as readonly string[]).includes(colormap) ? (colormap as ColormapName) : defaults.defaultColormap,
    defaultOpacity: Number.isFinite(opacity) ? Math.min(1, Math.max(0, opacity)) : defaults.defaultOpacity,
    topK: Number.isInteger(topK) && topK >= 1 ? Math.min(topK, TOP_K_MAX) : defaults.topK,
    // A machine setting (package.json): only the user's own settings can name the program CNN Lens starts.
    pythonPath: (config.get<string>(SETTING.pythonPath, defaults.pythonPath) ?? '').trim(),
    maxImageMegapixels:
      typeof maxImageMegapixels === 'number' && maxImageMegapixels > 0 && maxImageMegapixels <= MAX_IMAGE_MEGAPIXELS ? maxImageMegapixels : defaults.maxImageMegapixels,
  };
}

export function affects(event: vscode.ConfigurationChangeEvent, key: keyof typeof SETTING): boolean {
  return event.affectsConfiguration(`${SECTION}.${SETTING[key]}`);
}

/** Opens the Settings UI filtered to one CNN Lens setting (the "what to fix" of an error). */
export function openSetting(key: keyof typeof SETTING): Thenable<unknown> {
  return vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.${SETTING[key]}`);
}
