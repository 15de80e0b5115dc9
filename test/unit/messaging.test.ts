import * as assert from 'assert';
import { LensError, isCancelled } from '../../src/shared/errors';
import {
  MessageChannelEndpoint,
  collectTransferables,
  type Envelope,
  type HandlerContext,
  type RequestBase,
  type RequestHandlers,
} from '../../src/shared/messaging';

interface Add extends RequestBase<number> {
  type: 'add';
  a: number;
  b: number;
}
interface Fail extends RequestBase<void> {
  type: 'fail';
}
interface Wait extends RequestBase<string> {
  type: 'wait';
}
interface Note {
  type: 'note';
  text: string;
}
type Requests = Add | Fail | Wait | Note;

/** Two endpoints joined back to back, delivering asynchronously like postMessage does. */
function pair(onRequest: (m: Requests, c: HandlerContext) => unknown) {
  const events: Note[] = [];
  const delivered: Envelope[] = [];
  let server!: MessageChannelEndpoint<never, Requests>;
  const client = new MessageChannelEndpoint<Requests, never>((envelope) => {
    delivered.push(envelope);
    setImmediate(() => server.handle(envelope));
  }, { requests: {} });
  // One function answering every request type, for the channel's own tests (typed tables: test/types/).
  const requests = { add: onRequest, fail: onRequest, wait: onRequest } as unknown as RequestHandlers<Requests>;
  server = new MessageChannelEndpoint<never, Requests>(
    (envelope) => setImmediate(() => client.handle(envelope)),
    { requests, onEvent: (m) => events.push(m as Note) },
  );
  return { client, server, events, delivered };
}

describe('messaging: request/reply channel', () => {
  it('answers a request with the handler value', async () => {
    const { client } = pair((m) => (m.type === 'add' ? m.a + m.b : undefined));
    const sum: number = await client.request<Add>({ type: 'add', a: 2, b: 40 });
    assert.strictEqual(sum, 42);
    assert.strictEqual(client.pendingCount, 0);
  });

  it('rejects with the handler error, keeping its message and code', async () => {
    const { client } = pair(() => {
      const error = new Error('model.json: not JSON') as Error & { code: string };
      error.code = 'bad-input';
      throw error;
    });
    await assert.rejects(client.request<Fail>({ type: 'fail' }), (error: unknown) => {
      assert.ok(error instanceof LensError);
      assert.strictEqual(error.message, 'model.json: not JSON');
      assert.strictEqual(error.code, 'bad-input');
      return true;
    });
  });

  it('cancels: the caller rejects at once and the handler sees its signal abort', async () => {
    let handlerSawAbort = false;
    const { client } = pair(
      (_m, context) =>
        new Promise<string>((resolve) => {
          context.signal.addEventListener('abort', () => {
            handlerSawAbort = true;
            resolve('late');
          });
        }),
    );
    const controller = new AbortController();
    const pending = client.request<Wait>({ type: 'wait' }, { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    await assert.rejects(pending, (error: unknown) => isCancelled(error));
    await new Promise((r) => setTimeout(r, 10));
    assert.ok(handlerSawAbort, 'the handler was told to stop');
  });

  it('times out a request that is never answered', async () => {
    const { client } = pair(() => new Promise(() => undefined));
    await assert.rejects(client.request<Wait>({ type: 'wait' }, { timeoutMs: 20 }), (error: unknown) => {
      assert.ok(error instanceof LensError);
      assert.strictEqual(error.code, 'timeout');
      return true;
    });
    assert.strictEqual(client.pendingCount, 0);
  });

  it('delivers events without a reply', async () => {
    const { client, events } = pair(() => undefined);
    client.emit({ type: 'note', text: 'hi' });
    await new Promise((r) => setTimeout(r, 10));
    assert.deepStrictEqual(events, [{ type: 'note', text: 'hi' }]);
  });

  it('rejectAll settles every pending request (the other side died)', async () => {
    const { client } = pair(() => new Promise(() => undefined));
    const a = client.request<Wait>({ type: 'wait' });
    const b = client.request<Wait>({ type: 'wait' });
    client.rejectAll(new LensError('worker exited', 'worker-crashed'));
    await assert.rejects(a, /worker exited/);
    await assert.rejects(b, /worker exited/);
  });

  it('ignores foreign messages', () => {
    const { server } = pair(() => undefined);
    assert.strictEqual(server.handle({ command: 'something else' }), false);
    assert.strictEqual(server.handle(null), false);
  });

  it('collects whole typed-array buffers for transfer, never views into shared buffers', () => {
    const whole = new Float32Array(4);
    const shared = new Uint8Array(16);
    const view = new Uint8Array(shared.buffer, 4, 4);
    const found = collectTransferables({ cam: { data: whole }, image: { data: view }, list: [whole] });
    assert.deepStrictEqual(found, [whole.buffer]);
  });
});
