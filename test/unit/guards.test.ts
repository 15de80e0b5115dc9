import * as assert from 'assert';
import { MalformedMessageError } from '../../src/shared/guards';
import { modelViewerMessage, panelMessage, workerRequest } from '../../src/shared/messageGuards';
import { LensError } from '../../src/shared/errors';
import { MessageChannelEndpoint, type Envelope, type RequestBase } from '../../src/shared/messaging';
import type { WebviewToHost } from '../../src/shared/panel';
import type { WorkerRequest } from '../../src/shared/worker';

/** Asserts that `guard` refuses `body` with a MalformedMessageError whose message contains `expected`. */
function refuses(guard: (body: unknown) => unknown, body: unknown, expected: string): void {
  assert.throws(
    () => guard(body),
    (error: unknown) => {
      assert.ok(error instanceof MalformedMessageError, `not a MalformedMessageError: ${String(error)}`);
      assert.strictEqual(error.code, 'invalid-message');
      assert.ok(error.message.includes(expected), `"${error.message}" does not say "${expected}"`);
      return true;
    },
  );
}

describe('message guards: one runtime check at each process boundary', () => {
  describe('panel page -> host', () => {
    const wellFormed: WebviewToHost[] = [
      { type: 'ready' },
      { type: 'changeTarget', method: 'gradcam' },
      { type: 'changeTarget', classIndex: 3, layer: 'conv2', method: 'scorecam', output: 1 },
      { type: 'changeAppearance', colormap: 'viridis', opacity: 0.4 },
      { type: 'openFile', which: 'image' },
      { type: 'selectModel' },
      { type: 'exportOverlay' },
      { type: 'cancel' },
      { type: 'confirmRun', id: 2, run: false },
      { type: 'compare', methods: ['gradcam', 'smoothgrad'], metrics: true, confirmed: true },
      { type: 'inspectModel' },
      { type: 'inspectActivations', request: { layer: 'conv1', page: 0, sort: 'mean', hideDead: true } },
      { type: 'inspectChannel', request: { layer: 'conv1', channel: 4 } },
      { type: 'inspectFilters', request: { layer: 'conv1', mode: 'rgb', scale: 'shared' } },
      { type: 'inspectState', state: { tab: 'filters', sort: 'index', scale: 'channel', hideDead: false, filterScale: 'filter' } },
      { type: 'pickLayer', tab: 'activations', layer: 'conv3' },
    ];
    for (const message of wellFormed) {
      it(`accepts a well-formed "${message.type}"${Object.keys(message).length > 1 ? ` (${Object.keys(message).slice(1).join(', ')})` : ''}`, () => {
        assert.strictEqual(panelMessage(message), message);
      });
    }

    it('refuses what is not a message, naming the boundary', () => {
      refuses(panelMessage, null, 'CNN Lens panel page: malformed message (the message is null without a type)');
      refuses(panelMessage, 'ready', 'the message is "ready" without a type');
      refuses(panelMessage, [{ type: 'ready' }], 'the message is a list without a type');
      refuses(panelMessage, { type: 7 }, 'without a type');
    });

    it('refuses a type the host does not know, and a notification sent the wrong way', () => {
      refuses(panelMessage, { type: 'deleteEverything' }, '"deleteEverything" is not a message this side knows');
      refuses(panelMessage, { type: 'result', result: {} }, '"result" is not a message this side knows');
      refuses(panelMessage, { type: '__proto__' }, 'is not a message this side knows');
    });

    it('names the field that is wrong and what it should be', () => {
      refuses(panelMessage, { type: 'changeTarget', method: 'magic' }, 'changeTarget.method is "magic", not one of gradcam');
      refuses(panelMessage, { type: 'changeTarget', method: 'gradcam', classIndex: '3' }, 'changeTarget.classIndex is "3", not a number');
      refuses(panelMessage, { type: 'changeTarget', method: 'gradcam', layer: ['conv1'] }, 'changeTarget.layer is a list, not a string');
      refuses(panelMessage, { type: 'changeAppearance', colormap: 'jet' }, 'changeAppearance.opacity is missing, not a number');
      refuses(panelMessage, { type: 'openFile', which: '/etc/passwd' }, 'openFile.which is "/etc/passwd", not one of model, image');
      refuses(panelMessage, { type: 'confirmRun', id: 1, run: 'yes' }, 'confirmRun.run is "yes", not true or false');
      refuses(panelMessage, { type: 'compare', methods: 'gradcam', metrics: false }, 'compare.methods is "gradcam", not a list');
      refuses(panelMessage, { type: 'compare', methods: ['gradcam', 'nope'], metrics: false }, 'compare.methods[1] is "nope"');
      refuses(panelMessage, { type: 'inspectActivations', request: { page: 1 } }, 'inspectActivations.request.layer is missing, not a string');
      refuses(panelMessage, { type: 'inspectFilters', request: { layer: 'c', mode: 'hsv' } }, 'inspectFilters.request.mode is "hsv", not one of rgb, mean, channels');
      refuses(panelMessage, { type: 'inspectState', state: null }, 'inspectState.state is null, not an object');
      refuses(panelMessage, { type: 'pickLayer', tab: 'gradcam', layer: 'conv1' }, 'pickLayer.tab is "gradcam"');
    });

    it('keeps a long bad value short in the message', () => {
      assert.throws(
        () => panelMessage({ type: 'changeTarget', method: 'x'.repeat(10_000) }),
        (error: Error) => error.message.length < 300 && error.message.includes('…'),
      );
    });
  });

  describe('model viewer page -> host', () => {
    it('accepts its three commands', () => {
      for (const message of [{ type: 'explain' }, { type: 'reload' }, { type: 'activations', layer: 'conv1' }]) {
        assert.strictEqual(modelViewerMessage(message), message);
      }
    });

    it('refuses an unknown command and an activations click without a layer', () => {
      refuses(modelViewerMessage, { type: 'runScript', code: 'x' }, 'CNN Lens model viewer page: malformed message ("runScript" is not a message');
      refuses(modelViewerMessage, { type: 'activations' }, 'activations.layer is missing, not a non-empty string');
      refuses(modelViewerMessage, { type: 'activations', layer: '' }, 'activations.layer is "", not a non-empty string');
      refuses(modelViewerMessage, undefined, 'the message is missing without a type');
    });
  });

  describe('host -> engine worker', () => {
    const wellFormed: WorkerRequest[] = [
      { type: 'init', backend: 'wasm', wasmDir: '/dist', samplePool: { helpers: 2, workerPath: '/dist/worker.js', workerData: { any: 1 } }, pytorch: { python: { path: '/usr/bin/python3' } } },
      { type: 'loadModel', modelPath: '/m/model.json', preprocessing: { mean: [0.5], std: [0.25] }, reload: true, input: [3, 32, 32] },
      { type: 'explain', modelPath: '/m', imagePath: '/i.png', request: { method: 'integrated-gradients', output: 'age', options: { steps: 20, baseline: 'black' } } },
      { type: 'compare', modelPath: '/m', imagePath: '/i.png', methods: ['gradcam', 'scorecam'], request: { metrics: true } },
      { type: 'estimateCompare', modelPath: '/m', imagePath: '/i.png', methods: ['occlusion'], request: {} },
      { type: 'disposeModel', modelPath: '/m' },
      { type: 'memory' },
      { type: 'exportOverlay', imagePath: '/i.png', imageKey: '/i.png\u00001\u00002', cam: { width: 2, height: 1, data: new Float32Array(2) }, colormap: 'turbo', opacity: 0.5 },
      { type: 'samplePass', modelPath: '/m', part: { pass: 'logits', batch: new Float32Array(12), shape: [1, 2, 2, 3], classIndex: 0 } },
      { type: 'layerViews', modelPath: '/m' },
      { type: 'activationPage', modelPath: '/m', imagePath: '/i.png', request: { layer: 'conv1' } },
      { type: 'activationChannel', modelPath: '/m', imagePath: '/i.png', request: { layer: 'conv1', channel: 0 } },
      { type: 'filterPage', modelPath: '/m', request: { layer: 'conv1', inputPage: 1 } },
    ];
    for (const message of wellFormed) {
      it(`accepts a well-formed "${message.type}"`, () => {
        assert.strictEqual(workerRequest(message), message);
      });
    }

    it('refuses malformed requests, naming the field', () => {
      refuses(workerRequest, { type: 'init', backend: 'gpu', wasmDir: '/d' }, 'CNN Lens engine: malformed message (init.backend is "gpu", not one of auto, onnxruntime, node, wasm, cpu)');
      refuses(workerRequest, { type: 'explain', modelPath: '/m', imagePath: 42, request: { method: 'gradcam' } }, 'explain.imagePath is 42, not a string');
      refuses(workerRequest, { type: 'explain', modelPath: '/m', imagePath: '/i', request: { method: 'gradcam', output: true } }, 'explain.request.output is true, not a number');
      refuses(workerRequest, { type: 'explain', modelPath: '/m', imagePath: '/i', request: { method: 'gradcam', options: { baseline: 'grey' } } }, 'explain.request.options.baseline is "grey"');
      refuses(workerRequest, { type: 'loadModel', modelPath: '/m', input: [3, 32] }, 'loadModel.input has 2 entries, not 3');
      refuses(workerRequest, { type: 'loadModel', modelPath: '/m', preprocessing: { mean: ['0.5'] } }, 'loadModel.preprocessing.mean[0] is "0.5", not a number');
      // Maps and batches are typed arrays: a JSON list of numbers is refused, not slowly accepted.
      refuses(
        workerRequest,
        { type: 'exportOverlay', imagePath: '/i', imageKey: 'k', cam: { width: 1, height: 1, data: [0.5] }, colormap: 'jet', opacity: 0.5 },
        'exportOverlay.cam.data is a list, not a Float32Array',
      );
      refuses(workerRequest, { type: 'exportOverlay', imagePath: '/i', cam: { width: 1, height: 1, data: new Float32Array(1) }, colormap: 'jet', opacity: 0.5 }, 'exportOverlay.imageKey is missing, not a string');
      refuses(
        workerRequest,
        { type: 'samplePass', modelPath: '/m', part: { pass: 'logits', batch: new Float64Array(1), shape: [1, 1, 1, 1], classIndex: 0 } },
        'samplePass.part.batch is a Float64Array, not a Float32Array',
      );
      refuses(workerRequest, { type: 'activationChannel', modelPath: '/m', imagePath: '/i', request: { layer: 'c' } }, 'activationChannel.request.channel is missing, not a number');
      refuses(workerRequest, { type: 'shutdown' }, '"shutdown" is not a message this side knows');
    });
  });

  describe('the channel applies its guard', () => {
    interface Echo extends RequestBase<string> {
      type: 'echo';
      text: string;
    }
    interface Note {
      type: 'note';
      text: string;
    }
    type Incoming = Echo | Note;

    function server() {
      const posted: Envelope[] = [];
      const invalid: unknown[] = [];
      const notes: string[] = [];
      const guard = (body: unknown): Incoming => {
        const message = body as { type?: unknown; text?: unknown };
        if ((message.type !== 'echo' && message.type !== 'note') || typeof message.text !== 'string') {
          throw new LensError(`malformed ${JSON.stringify(body)}`, 'invalid-message');
        }
        return message as Incoming;
      };
      const endpoint = new MessageChannelEndpoint<never, Incoming>((envelope) => posted.push(envelope), {
        requests: { echo: (message) => message.text },
        onEvent: (message) => notes.push(message.text),
        validate: guard,
        onInvalid: (error) => invalid.push(error),
      });
      return { endpoint, posted, invalid, notes };
    }
    const settle = () => new Promise((resolve) => setImmediate(resolve));

    it('answers a malformed request with the guard error, never calling the handler', async () => {
      const { endpoint, posted, invalid } = server();
      endpoint.handle({ kind: 'request', id: 1, body: { type: 'echo', text: 5 } });
      endpoint.handle({ kind: 'request', id: 2, body: { type: 'echo', text: 'hi' } });
      await settle();
      const [bad, good] = posted as Array<Extract<Envelope, { kind: 'reply' }>>;
      assert.strictEqual(bad.id, 1);
      assert.ok(!bad.ok && bad.error.message === 'malformed {"type":"echo","text":5}' && bad.error.code === 'invalid-message');
      assert.ok(good.ok && good.value === 'hi');
      assert.strictEqual(invalid.length, 1);
    });

    it('drops a malformed event and reports it', () => {
      const { endpoint, invalid, notes } = server();
      endpoint.handle({ kind: 'event', body: { type: 'note' } });
      endpoint.handle({ kind: 'event', body: { type: 'note', text: 'kept' } });
      assert.deepStrictEqual(notes, ['kept']);
      assert.strictEqual(invalid.length, 1);
      assert.match(String(invalid[0]), /malformed \{"type":"note"\}/);
    });
  });
});
