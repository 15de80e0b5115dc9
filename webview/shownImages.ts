// The display images the page holds, by key: exactly those its views show (the Grad-CAM tab's
// result and the Compare tab's comparison). The host keeps the same rule (src/host/panel/pageImages.ts)
// and so knows which image to send with a message and which the page has already.
import type { PanelImage } from '../src/shared/panel';
import type { RgbaImage } from '../src/shared/types';

export type ImageView = 'gradcam' | 'compare';

export class ShownImages {
  private readonly images = new Map<string, RgbaImage>();
  private readonly shownBy = new Map<ImageView, string>();

  /**
   * `view` now shows the image `key` (`sent` with the message when the page did not hold it).
   * Returns the image, or undefined when the host sent none for a key the page does not hold.
   */
  show(view: ImageView, key: string, sent: PanelImage | undefined): RgbaImage | undefined {
    if (sent) {
      this.images.set(sent.key, sent.image);
    }
    this.shownBy.set(view, key);
    const shown = new Set(this.shownBy.values());
    for (const held of this.images.keys()) {
      if (!shown.has(held)) {
        this.images.delete(held);
      }
    }
    return this.images.get(key);
  }

  /** The image a view shows, if any. */
  of(view: ImageView): RgbaImage | undefined {
    const key = this.shownBy.get(view);
    return key === undefined ? undefined : this.images.get(key);
  }
}
