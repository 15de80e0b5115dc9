// "CNN Lens: Show Grad-CAM": from the explorer context menu (the clicked image), the editor title
// of an image preview (its image), or the palette (asks for an image). Then the model (see
// modelDiscovery.ts) and the panel beside the model file.
import * as vscode from 'vscode';
import { LensPanel, type PanelServices } from '../panel/lensPanel';
import { IMAGE_EXTENSIONS, isSupportedImage, pickImage } from './images';
import { reportError } from './reportError';
import { selectModelCommand } from './selectModel';

export async function showGradCam(services: PanelServices, target?: unknown): Promise<void> {
  try {
    const imageUri = target instanceof vscode.Uri ? target : await pickImage();
    if (!imageUri) {
      return;
    }
    if (imageUri.scheme !== 'file') {
      throw new Error(`${imageUri.toString(true)} is not a local file; CNN Lens reads images from the disk.`);
    }
    if (!isSupportedImage(imageUri)) {
      throw new Error(`${vscode.workspace.asRelativePath(imageUri)} is not a ${IMAGE_EXTENSIONS.join('/')} image.`);
    }
    const modelUri = await services.discovery.resolve(imageUri);
    if (!modelUri) {
      return; // the user dismissed the model pick
    }
    services.output.appendLine(`[command] Show Grad-CAM: ${imageUri.fsPath} with ${modelUri.fsPath}`);
    await LensPanel.show(services, imageUri, modelUri);
  } catch (error) {
    await reportError('Show Grad-CAM', error, { output: services.output, selectModel: () => selectModelCommand(services) });
  }
}
