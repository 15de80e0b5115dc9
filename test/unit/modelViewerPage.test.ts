// The model viewer page's script (webview/modelViewerPage.ts, bundled as dist/modelViewer.js) on
// fake elements: its buttons and layer links send typed commands over the shared channel, and each
// passes the host's check (src/shared/messageGuards.ts), as src/host/editors/modelViewer.ts runs it.
import * as assert from 'assert';
import { MessageChannelEndpoint, type Envelope } from '../../src/shared/messaging';
import { modelViewerMessage } from '../../src/shared/messageGuards';
import type { ModelViewerToHost } from '../../src/shared/modelViewer';
import { wireModelViewer, type ViewerElement } from '../../webview/modelViewerPage';

class FakeElement implements ViewerElement {
  private listener: ((event: { preventDefault(): void }) => void) | undefined;
  prevented = false;
  constructor(readonly dataset: Record<string, string | undefined>) {}
  addEventListener(_type: 'click', listener: (event: { preventDefault(): void }) => void): void {
    this.listener = listener;
  }
  click(): void {
    this.listener?.({ preventDefault: () => (this.prevented = true) });
  }
}

function page(elements: Record<string, FakeElement[]>) {
  return { querySelectorAll: (selector: string) => elements[selector] ?? [] };
}

/** The page's channel joined to a host-side endpoint with the host's guard, as in the viewer. */
function joined() {
  const received: ModelViewerToHost[] = [];
  const invalid: unknown[] = [];
  const host = new MessageChannelEndpoint<never, ModelViewerToHost>(() => undefined, {
    requests: {},
    validate: modelViewerMessage,
    onInvalid: (error) => invalid.push(error),
    onEvent: (message) => received.push(message),
  });
  const wire: Envelope[] = [];
  const pageSide = new MessageChannelEndpoint<ModelViewerToHost, never>(
    (envelope) => {
      wire.push(envelope);
      host.handle(envelope);
    },
    { requests: {} },
  );
  return { send: (message: ModelViewerToHost) => pageSide.emit(message), received, invalid, wire };
}

describe('model viewer page script', () => {
  it('the Explain button and Try Again send their commands', () => {
    const explain = new FakeElement({ action: 'explain' });
    const reload = new FakeElement({ action: 'reload' });
    const { send, received, invalid, wire } = joined();
    wireModelViewer(page({ 'button[data-action]': [explain, reload] }), send);
    explain.click();
    reload.click();
    assert.deepStrictEqual(received, [{ type: 'explain' }, { type: 'reload' }]);
    assert.deepStrictEqual(invalid, []);
    assert.ok(wire.every((envelope) => envelope.kind === 'event'), 'commands travel as events of the shared channel');
  });

  it("a layer name asks for that layer's activations and does not follow the link", () => {
    const conv2 = new FakeElement({ layer: 'conv2' });
    const odd = new FakeElement({ layer: '<img src=x>/relu' });
    const { send, received } = joined();
    wireModelViewer(page({ 'a[data-layer]': [conv2, odd] }), send);
    conv2.click();
    odd.click();
    assert.deepStrictEqual(received, [
      { type: 'activations', layer: 'conv2' },
      { type: 'activations', layer: '<img src=x>/relu' },
    ]);
    assert.ok(conv2.prevented && odd.prevented);
  });

  it('a button with an unknown action and a link without a layer send nothing', () => {
    const stray = new FakeElement({ action: 'delete' });
    const empty = new FakeElement({ layer: '' });
    const sent: ModelViewerToHost[] = [];
    const warn = console.warn;
    const warnings: string[] = [];
    console.warn = (message: string) => warnings.push(message);
    try {
      wireModelViewer(page({ 'button[data-action]': [stray], 'a[data-layer]': [empty] }), (message) => sent.push(message));
    } finally {
      console.warn = warn;
    }
    stray.click();
    empty.click();
    assert.deepStrictEqual(sent, []);
    assert.match(warnings.join('\n'), /unknown action "delete"/);
  });

  it('the host drops what a tampered page sends, and says why', () => {
    const received: ModelViewerToHost[] = [];
    const invalid: unknown[] = [];
    const host = new MessageChannelEndpoint<never, ModelViewerToHost>(() => undefined, {
      requests: {},
      validate: modelViewerMessage,
      onInvalid: (error) => invalid.push(error),
      onEvent: (message) => received.push(message),
    });
    host.handle({ kind: 'event', body: { type: 'activations', layer: 42 } });
    host.handle({ kind: 'event', body: { type: 'runCommand', command: 'workbench.action.quit' } });
    assert.deepStrictEqual(received, []);
    assert.strictEqual(invalid.length, 2);
    assert.match(String(invalid[0]), /activations\.layer is 42, not a non-empty string/);
    assert.match(String(invalid[1]), /"runCommand" is not a message this side knows/);
  });
});
