// Long runs ask first (src/host/panel/longRunGate.ts): a Score-CAM on a wide layer is estimated from
// what the model measured (timing one forward pass when it never did), asked about above the
// threshold, withdrawn when another choice replaces it, and not asked again once confirmed.
import * as assert from 'assert';
import { channelsOf, LongRunGate, type TimingPass } from '../../src/host/panel/longRunGate';
import type { ModelSummary } from '../../src/shared/types';

/** A model whose `wide` layer has 1280 channels (MobileNetV2's last) and `narrow` 8. */
const summary = {
  path: '/w/mobilenet.onnx',
  layers: [
    { name: 'wide', className: 'Conv', outputShape: [null, 7, 7, 1280], params: 0, trainable: false, spatial: true, depth: 0 },
    { name: 'narrow', className: 'Conv', outputShape: [null, 7, 7, 8], params: 0, trainable: false, spatial: true, depth: 0 },
    { name: 'logits', className: 'Gemm', outputShape: [null, 1000], params: 0, trainable: false, spatial: false, depth: 0 },
  ],
} as unknown as ModelSummary;

/** A timing pass that measures a slow forward pass (500 ms a batch: 80 batches are about 40 s). */
function timing(forwardMs = 500) {
  const calls: string[] = [];
  const pass: TimingPass = {
    timeForwardPass: async () => (calls.push('timed'), { forward: forwardMs, total: forwardMs * 2 }),
    step: (message) => calls.push(message),
  };
  return { pass, calls };
}

describe('long run gate: estimate first, ask above the threshold', () => {
  it('reads a layer\'s channels from its 4-D output only', () => {
    assert.strictEqual(channelsOf(summary, 'wide'), 1280);
    assert.strictEqual(channelsOf(summary, 'logits'), undefined);
    assert.strictEqual(channelsOf(summary, 'missing'), undefined);
  });

  it('other methods and narrow layers go ahead without timing anything', async () => {
    const gate = new LongRunGate();
    const { pass, calls } = timing();
    assert.strictEqual(await gate.check(summary, 'gradcam', 'wide', 'wasm', pass), undefined);
    assert.strictEqual(await gate.check(summary, 'scorecam', 'narrow', 'wasm', pass), undefined);
    assert.deepStrictEqual(calls, []);
  });

  it('a Score-CAM on a wide layer times one forward pass, then asks with the estimate', async () => {
    const gate = new LongRunGate();
    const { pass, calls } = timing();
    const question = await gate.check(summary, 'scorecam', 'wide', 'wasm', pass);
    assert.deepStrictEqual(calls, ['Timing one forward pass for an estimate…', 'timed']);
    assert.ok(question, 'about 40 s: asked');
    assert.match(question.action, /^Run Score-CAM/);
    assert.match(question.text, /scores 1280 channels in 80 batches of forward passes: about 40 s \(a forward pass took 500 ms on wasm\)/);
    assert.deepStrictEqual(gate.question, question, 'the question waits (a rebuilt page shows it again)');
    // Measured once: the next check asks without timing again.
    gate.withdraw();
    const again = timing();
    assert.ok(await gate.check(summary, 'scorecam', 'wide', 'wasm', again.pass));
    assert.deepStrictEqual(again.calls, []);
  });

  it('a fast model goes ahead', async () => {
    const gate = new LongRunGate();
    assert.strictEqual(await gate.check(summary, 'scorecam', 'wide', 'wasm', timing(5).pass), undefined);
  });

  it('answers: an old question is ignored, No forgets it, Yes is remembered for that run', async () => {
    const gate = new LongRunGate();
    const first = (await gate.check(summary, 'scorecam', 'wide', 'wasm', timing().pass))!;
    assert.strictEqual(gate.answer(first.id + 1, true), undefined, 'not the question shown');
    assert.deepStrictEqual(gate.answer(first.id, false), first);
    assert.strictEqual(gate.question, undefined);
    assert.strictEqual(gate.answer(first.id, true), undefined, 'answered once');
    const second = (await gate.check(summary, 'scorecam', 'wide', 'wasm', timing().pass))!;
    assert.notStrictEqual(second.id, first.id);
    assert.deepStrictEqual(gate.answer(second.id, true), second);
    assert.strictEqual(await gate.check(summary, 'scorecam', 'wide', 'wasm', timing().pass), undefined, 'confirmed: not asked again');
  });

  it('withdraw says whether a question was waiting', async () => {
    const gate = new LongRunGate();
    assert.strictEqual(gate.withdraw(), false);
    await gate.check(summary, 'scorecam', 'wide', 'wasm', timing().pass);
    assert.strictEqual(gate.withdraw(), true);
    assert.strictEqual(gate.question, undefined);
  });
});
