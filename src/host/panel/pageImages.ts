// The display images of one panel, by key (the worker's DisplayImage key: the decoded file's
// version). The worker sends an image once (the host says which it holds); the host keeps it to
// replay to a page rebuilt after hiding or a reload, and posts it to the page once: another class,
// layer, method or a comparison of the same image posts only its new 8-bit map. No vscode.
//
// The page keeps exactly the images its views show (webview/shownImages.ts, the same rule), so
// the host knows what the page holds without asking.
import type { PanelImage } from '../../shared/panel';
import type { RgbaImage } from '../../shared/types';
import type { DisplayImage } from '../../shared/worker';
import { LensError } from '../../shared/errors';

/** The views that draw a map over the display image. */
export type ImageView = 'gradcam' | 'compare';

export class PageImages {
  private readonly held = new Map<string, RgbaImage>();
  /** The image each view shows (kept across pages: a rebuilt page is shown the same). */
  private readonly shownBy = new Map<ImageView, string>();
  /** The images the current page holds: those its views show, as the page prunes them. */
  private onPage = new Set<string>();
  private latest: string | undefined;

  /** The key to tell the worker (`knownImageKey`): the image it sent last. */
  get latestKey(): string | undefined {
    return this.latest;
  }

  /**
   * Takes in a worker's answer about its image: keeps the image it brought, or checks that the host
   * holds the one it names (the worker sends none when told the host has it).
   */
  receive(display: DisplayImage): void {
    if (display.image) {
      this.held.set(display.key, display.image);
    } else if (!this.held.has(display.key)) {
      throw new LensError(`The engine sent no display image for ${display.key.split('\u0000')[0]} and the panel holds none: show the image again.`, 'invalid-message');
    }
    this.latest = display.key;
    this.prune();
  }

  /**
   * `view` now shows the image `key`: the image to post with that message, or undefined when the
   * page holds it already (another view or an earlier message of this page showed it).
   */
  show(view: ImageView, key: string): PanelImage | undefined {
    const image = this.held.get(key);
    if (!image) {
      throw new LensError(`The panel holds no display image for ${key.split('\u0000')[0]}.`, 'bad-request');
    }
    const posted = this.onPage.has(key);
    this.shownBy.set(view, key);
    const shown = new Set(this.shownBy.values());
    this.onPage = new Set([...this.onPage, key].filter((k) => shown.has(k)));
    this.prune();
    return posted ? undefined : { key, image };
  }

  /** A new page (first open, shown again after hiding, reloaded) holds nothing yet. */
  pageReset(): void {
    this.onPage.clear();
  }

  /** How many images the host holds (tests: no more than the views show, plus the newest). */
  get heldCount(): number {
    return this.held.size;
  }

  /** Keeps the images a view shows (a page rebuilt later needs them) and the newest one. */
  private prune(): void {
    const needed = new Set([...this.shownBy.values(), ...(this.latest ? [this.latest] : [])]);
    for (const key of this.held.keys()) {
      if (!needed.has(key)) {
        this.held.delete(key);
      }
    }
  }
}
