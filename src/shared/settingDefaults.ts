// The one table of the `cnnLens.*` settings' defaults and ranges. package.json's
// contributes.configuration declares the same values for VS Code's Settings UI (it cannot import
// this file); test/unit/settingDefaults.test.ts fails when the two differ. The host's settings
// reader (src/host/settings.ts), the panel's view state (panel.ts DEFAULT_VIEW) and the CLI's flags
// (src/cli/session.ts) take their defaults from here.
import { DEFAULT_MAX_IMAGE_MEGAPIXELS, MAX_IMAGE_MEGAPIXELS } from './imageLimit';
import { BACKEND_CHOICES, COLORMAPS, type BackendChoice, type ColormapName } from './types';

export interface SettingValues {
  modelPath: string;
  pythonPath: string;
  backend: BackendChoice;
  maxImageMegapixels: number;
  /** -1: one helper per spare core, at most 3 (sampleWorkers.ts). */
  sampleWorkers: number;
  defaultColormap: ColormapName;
  defaultOpacity: number;
  topK: number;
}

export const SETTING_DEFAULTS: Readonly<SettingValues> = {
  modelPath: '',
  pythonPath: '',
  backend: 'auto',
  maxImageMegapixels: DEFAULT_MAX_IMAGE_MEGAPIXELS,
  sampleWorkers: -1,
  defaultColormap: 'jet',
  defaultOpacity: 0.5,
  topK: 5,
};

/** The numeric settings' bounds (inclusive), as package.json's minimum and maximum declare them. */
export const SETTING_RANGES: Readonly<Partial<Record<keyof SettingValues, { minimum?: number; maximum: number }>>> = {
  maxImageMegapixels: { maximum: MAX_IMAGE_MEGAPIXELS },
  sampleWorkers: { minimum: -1, maximum: 8 },
  defaultOpacity: { minimum: 0, maximum: 1 },
  topK: { minimum: 1, maximum: 100 },
};

/** The settings with a fixed list of values. */
export const SETTING_CHOICES: Readonly<Partial<Record<keyof SettingValues, readonly string[]>>> = {
  backend: BACKEND_CHOICES,
  defaultColormap: COLORMAPS,
};
