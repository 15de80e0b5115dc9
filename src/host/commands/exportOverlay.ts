// "CNN Lens: Export Overlay as PNG…": the current panel's overlay at the image's resolution.
import * as vscode from 'vscode';
import type { PanelServices } from '../panel/lensPanel';

/** "CNN Lens: Export Overlay as PNG…" for the current panel. */
export async function exportOverlayCommand(services: PanelServices): Promise<void> {
  const panel = services.registry.active;
  if (!panel) {
    void vscode.window.showInformationMessage('CNN Lens: open a Grad-CAM first (CNN Lens: Show Grad-CAM), then export its overlay.');
    return;
  }
  await panel.exportOverlay();
}
