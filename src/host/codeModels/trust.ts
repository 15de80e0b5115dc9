// Models defined in code execute workspace code (the user's createModel and what it imports), so
// CNN Lens runs them only in a trusted workspace, like VS Code runs tasks and debuggers. Which files
// count as model code, and the message when the workspace is not trusted. No `vscode` import: the
// caller passes `vscode.workspace.isTrusted`, and test/unit/codeModel.test.ts checks the gate.
import * as path from 'path';
import { isPytorchModelPath } from '../../shared/modelFormats';
import { LensError } from '../../shared/errors';

/** Model code files: `*.model.ts`, `*.model.js` (also .mts/.mjs/.cts/.cjs). Predictable by name, no content sniffing. */
export const CODE_MODEL_GLOB = '**/*.model.{ts,js,mts,mjs,cts,cjs}';
const CODE_MODEL_NAME = /\.model\.(ts|js|mts|mjs|cts|cjs)$/i;
/** Any script file the engine can bundle (a file picked by hand may be named freely). */
const SCRIPT_FILE = /\.(ts|mts|cts|tsx|js|mjs|cjs|jsx)$/i;

export function isCodeModelName(file: string): boolean {
  return CODE_MODEL_NAME.test(path.basename(file));
}

export function isScriptFile(file: string): boolean {
  return SCRIPT_FILE.test(file);
}

export class UntrustedCodeModelError extends LensError {
  constructor(file: string) {
    super(
      isPytorchModelPath(file)
        ? `${file} is a PyTorch model: loading it runs this workspace's Python code (the model's class, and the checkpoint's pickled objects). ` +
            'CNN Lens runs it only in a trusted workspace: trust the folder (Manage Workspace Trust), or export the model to ONNX (torch.onnx.export) and use the .onnx file.'
        : `${file} is a model defined in code, and running it executes this workspace's code. CNN Lens runs model code only in a trusted workspace: ` +
            'trust the folder (Manage Workspace Trust), or use the exported model.json instead.',
      'untrusted',
      'UntrustedCodeModelError',
    );
  }
}

/** Whether loading the model runs the workspace's code: a model defined in code, or any PyTorch model. */
export function runsWorkspaceCode(modelPath: string): boolean {
  return isScriptFile(modelPath) || isPytorchModelPath(modelPath);
}

/** Whether the engine may run this model: model.json, ONNX, Keras always (data), code only when trusted. */
export function codeModelGate(modelPath: string, workspaceTrusted: boolean): { allowCode: boolean; refusal?: UntrustedCodeModelError } {
  if (!runsWorkspaceCode(modelPath)) {
    return { allowCode: false };
  }
  return workspaceTrusted ? { allowCode: true } : { allowCode: false, refusal: new UntrustedCodeModelError(modelPath) };
}
