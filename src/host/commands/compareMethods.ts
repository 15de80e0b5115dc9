// "CNN Lens: Compare Methods…": the Compare tab of the current panel (every method on the same image,
// class and layer, with faithfulness metrics on request); without a panel, Show Grad-CAM first asks
// for the image and model, then the new panel turns to Compare.
import type { PanelServices } from '../panel/lensPanel';
import { showGradCam } from './showGradCam';

export async function compareMethods(services: PanelServices): Promise<void> {
  if (!services.registry.active) {
    await showGradCam(services);
  }
  // Undefined when the user dismissed the image or model pick (nothing to compare).
  services.registry.active?.showCompareTab();
}
