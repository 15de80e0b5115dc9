// "Export Overlay as PNG…": the overlay the panel shows, at the image's own resolution, with the
// colormap and opacity the user sees now, blended and encoded by the engine (which holds the decoded
// image) and written where the user chose. No vscode: the panel hands in its dialogs and file
// system, so test/unit/overlayExport.test.ts runs every way out without VS Code.
import type { ColormapName, Map2D, MethodName } from '../../shared/types';
import type { ExportOverlayRequest, ExportedOverlay } from '../../shared/worker';
import { baseName } from '../../shared/panel';
import { t } from '../../shared/l10n';

/** What the panel shows now: the explanation and how it is painted. */
export interface ShownOverlay {
  imagePath: string;
  /** The display image's key the map was computed for (a changed file is refused, not blended). */
  imageKey: string;
  method: MethodName;
  /** The explanation's map, normalised to [0, 1]. */
  cam: Map2D;
  colormap: ColormapName;
  opacity: number;
}

export interface OverlayExportDeps {
  /** Undefined before the first result. */
  shown(): ShownOverlay | undefined;
  exportOverlay(request: Omit<ExportOverlayRequest, 'type'>): Promise<ExportedOverlay>;
  /** The save dialog, starting at `suggested` (a path); undefined when the user closed it. */
  askTarget(suggested: string): Promise<string | undefined>;
  write(target: string, bytes: Uint8Array): Promise<void>;
  /** An information message with optional buttons; the button chosen, if any. */
  inform(message: string, ...actions: string[]): Promise<string | undefined>;
  /** The path as the user knows it (workspace-relative). */
  relative(target: string): string;
  open(target: string): Promise<void>;
  log(line: string): void;
  report(context: string, error: unknown): Promise<void>;
}

/** Where the dialog starts: beside the image, named after it and the method (cat.gradcam.png). */
export function suggestedTarget(imagePath: string, method: MethodName): string {
  const stem = baseName(imagePath).replace(/\.[^.]+$/, '');
  const folder = imagePath.slice(0, imagePath.length - baseName(imagePath).length);
  return `${folder}${stem}.${method}.png`;
}

export async function exportOverlay(deps: OverlayExportDeps): Promise<void> {
  const shown = deps.shown();
  if (!shown) {
    void deps.inform(t('CNN Lens: nothing to export yet; wait for the Grad-CAM to finish.'));
    return;
  }
  const target = await deps.askTarget(suggestedTarget(shown.imagePath, shown.method));
  if (!target) {
    return;
  }
  try {
    const { imagePath, imageKey, cam, colormap, opacity } = shown;
    const { png, width, height } = await deps.exportOverlay({ imagePath, imageKey, cam, colormap, opacity });
    await deps.write(target, png);
    deps.log(`[export] ${target} (${width}x${height}, ${png.byteLength} bytes)`);
    const open = await deps.inform(t('CNN Lens: saved the overlay to {0}.', deps.relative(target)), t('Open'));
    if (open) {
      await deps.open(target);
    }
  } catch (error) {
    await deps.report(`exporting ${target}`, error);
  }
}
