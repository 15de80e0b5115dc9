// Which Python runs PyTorch models, as the extension decides it: the "cnnLens.pythonPath" setting
// (a machine setting: a workspace cannot choose the program CNN Lens starts); else the interpreter
// selected in the Python extension, through its public environments API; else nothing, and the
// engine takes the first python3/python on the PATH that imports torch. No `vscode` import: the
// extension passes the Python extension's API in, and test/unit/pythonChoice.test.ts a fake one.
import type { PythonChoice } from '../shared/types';

/** The part of the Python extension's API (ms-python.python, `exports.environments`) CNN Lens reads. */
export interface PythonEnvironmentsApi {
  getActiveEnvironmentPath(resource?: unknown): { path: string } | undefined;
  resolveEnvironment(environment: { path: string } | string): Promise<{ executable?: { uri?: { fsPath: string } } } | undefined>;
}

export const PYTHON_SETTING_SOURCE = 'the "cnnLens.pythonPath" setting';
export const PYTHON_EXTENSION_SOURCE = "the Python extension's selected interpreter";

export async function choosePython(
  settingValue: string,
  environments: PythonEnvironmentsApi | undefined,
  resource?: unknown,
  log: (line: string) => void = () => undefined,
): Promise<PythonChoice> {
  const setting = settingValue.trim();
  if (setting) {
    return { path: setting, source: PYTHON_SETTING_SOURCE };
  }
  if (!environments) {
    return {};
  }
  try {
    const active = environments.getActiveEnvironmentPath(resource);
    if (!active?.path) {
      return {};
    }
    const resolved = await environments.resolveEnvironment(active);
    const executable = resolved?.executable?.uri?.fsPath;
    if (executable) {
      return { path: executable, source: PYTHON_EXTENSION_SOURCE };
    }
    log(`python: the Python extension's interpreter ${active.path} has no executable; searching the PATH`);
  } catch (error) {
    log(`python: cannot ask the Python extension for its interpreter (${error instanceof Error ? error.message : String(error)}); searching the PATH`);
  }
  return {};
}
