// Turns a failure into a notification that says what to fix, with buttons that go there. The
// engine's messages already name the file and the problem; this adds the way out (settings, model
// picker, log). Cancellation is not an error and is never reported.
import * as vscode from 'vscode';
import { errorCode, isCancelled } from '../shared/errors';
import { ModelNotFoundError } from './modelDiscovery';
import { openSetting } from './settings';
import { WORKER_CRASHED } from '../workerClient/client';

export interface ErrorActions {
  output: vscode.OutputChannel;
  selectModel?: () => unknown;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export { errorCode };

/** Logs the error and shows it; resolves when the user dismissed it or chose an action. */
export async function reportError(context: string, error: unknown, actions: ErrorActions): Promise<void> {
  if (isCancelled(error)) {
    return;
  }
  const message = errorMessage(error);
  const code = errorCode(error);
  actions.output.appendLine(`[error] ${context}: ${message}${code ? ` (${code})` : ''}`);
  if (error instanceof Error && error.stack && !code) {
    actions.output.appendLine(error.stack); // unexpected errors: keep the trace for bug reports
  }
  const buttons: string[] = [];
  const SELECT = vscode.l10n.t('Select Model…');
  const SETTINGS = vscode.l10n.t('Open Settings');
  const LOG = vscode.l10n.t('Show Log');
  if (error instanceof ModelNotFoundError) {
    buttons.push(...(error.fix === 'setting' ? [SETTINGS, SELECT] : [SELECT]));
  } else if (code === 'unsupported' || (code === 'bad-input' && /model|weight|shard/i.test(message))) {
    buttons.push(SELECT);
  } else if (code === WORKER_CRASHED || /backend/i.test(message)) {
    buttons.push(SETTINGS);
  }
  buttons.push(LOG);
  const choice = await vscode.window.showErrorMessage(`CNN Lens: ${message}`, ...buttons);
  switch (choice) {
    case SELECT:
      await actions.selectModel?.();
      break;
    case SETTINGS:
      await openSetting(error instanceof ModelNotFoundError ? 'modelPath' : 'backend');
      break;
    case LOG:
      actions.output.show(true);
      break;
  }
}
