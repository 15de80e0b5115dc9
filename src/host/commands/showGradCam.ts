// "CNN Lens: Show Grad-CAM": from the explorer context menu (the clicked image), the editor title
// of an image preview (its image), or the palette (asks for an image). Then the model (see
// modelDiscovery.ts) and the panel beside the model file.
import * as vscode from 'vscode';
import { LensPanel, type PanelServices } from '../panel/lensPanel';
import { parsePytorchModelPath } from '../../shared/modelFormats';
import { activeImage, IMAGE_EXTENSIONS, isSupportedImage, pickImage } from './images';
import { reportError } from '../reportError';
import { selectModelCommand } from './selectModel';
import { LensError } from '../../shared/errors';

export async function showGradCam(services: PanelServices, target?: unknown): Promise<void> {
  try {
    // From a model source (model.py's editor title, the lens above its class): that model, any image.
    const model = modelTarget(target);
    if (model) {
      await showWithModel(services, model);
      return;
    }
    const imageUri = target instanceof vscode.Uri ? target : await pickImage();
    if (!imageUri) {
      return;
    }
    if (imageUri.scheme !== 'file') {
      throw new LensError(vscode.l10n.t('{0} is not a local file; CNN Lens reads images from the disk.', imageUri.toString(true)), 'bad-input');
    }
    if (!isSupportedImage(imageUri)) {
      throw new LensError(vscode.l10n.t('{0} is not a {1} image.', vscode.workspace.asRelativePath(imageUri), IMAGE_EXTENSIONS.join('/')), 'bad-input');
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

/** The model a target names: a PyTorch source's Uri, or `{ modelPath }` (a CodeLens). */
function modelTarget(target: unknown): vscode.Uri | undefined {
  if (target instanceof vscode.Uri) {
    return target.scheme === 'file' && parsePytorchModelPath(target.fsPath)?.kind === 'source' ? target : undefined;
  }
  const modelPath = typeof target === 'object' && target !== null ? (target as { modelPath?: unknown }).modelPath : undefined;
  return typeof modelPath === 'string' && modelPath ? vscode.Uri.file(modelPath) : undefined;
}

/** This model for the image the panel shows, the image open in an editor, or one the user picks; remembered. */
async function showWithModel(services: PanelServices, modelUri: vscode.Uri): Promise<void> {
  const panel = services.registry.active;
  const imageUri = panel ? vscode.Uri.file(panel.viewState.imagePath) : (activeImage() ?? (await pickImage({ title: vscode.l10n.t('CNN Lens: Show Grad-CAM'), placeHolder: vscode.l10n.t('The image to explain with {0}', vscode.workspace.asRelativePath(modelUri)) })));
  if (!imageUri) {
    return;
  }
  await services.discovery.remember(modelUri);
  services.output.appendLine(`[command] Show Grad-CAM: ${imageUri.fsPath} with ${modelUri.fsPath}`);
  await LensPanel.show(services, imageUri, modelUri);
}
