// What the model viewer's page does (src/host/editors/modelSummaryHtml.ts draws it): its buttons and
// layer links become commands to the viewer's host over the shared channel. No DOM types here, only
// the little the page needs, so test/unit/modelViewerPage.test.ts runs it on fake elements.
import type { ModelViewerToHost } from '../src/shared/modelViewer';

/** An element with data-* attributes that can be clicked (an HTMLElement in the page). */
export interface ViewerElement {
  readonly dataset: { readonly [key: string]: string | undefined };
  addEventListener(type: 'click', listener: (event: { preventDefault(): void }) => void): void;
}

export interface ViewerDocument {
  querySelectorAll(selector: string): Iterable<ViewerElement>;
}

/** Wires the page's controls: `button[data-action]` and `a[data-layer]` (a layer's activations). */
export function wireModelViewer(document: ViewerDocument, send: (message: ModelViewerToHost) => void): void {
  for (const button of document.querySelectorAll('button[data-action]')) {
    const action = button.dataset.action;
    if (action === 'explain' || action === 'reload') {
      button.addEventListener('click', () => send({ type: action }));
    } else {
      // A button the page's HTML names wrongly would do nothing: say so in the page's console.
      console.warn(`CNN Lens model viewer: unknown action "${action}" (known: explain, reload)`);
    }
  }
  for (const link of document.querySelectorAll('a[data-layer]')) {
    link.addEventListener('click', (event) => {
      event.preventDefault();
      const layer = link.dataset.layer;
      if (layer) {
        send({ type: 'activations', layer });
      }
    });
  }
}
