// "CNN Lens: Select Model…" (palette and the panel's Change Model button).
import * as vscode from 'vscode';
import type { PanelServices } from '../panel/lensPanel';
import { reportError } from '../reportError';

/** "CNN Lens: Select Model…": changes the model of the current panel, or the remembered one. */
export async function selectModelCommand(services: PanelServices): Promise<void> {
  try {
    const panel = services.registry.active;
    if (panel) {
      await panel.selectModel();
      return;
    }
    const uri = await services.discovery.select();
    if (uri) {
      void vscode.window.showInformationMessage(`CNN Lens: Show Grad-CAM will use ${vscode.workspace.asRelativePath(uri)}.`);
    }
  } catch (error) {
    await reportError('Select Model', error, { output: services.output });
  }
}
