// The panel's decisions, without VS Code: when a run earns a notification (src/host/panel/progressGate.ts),
// which tabs follow a layer the user picks (src/shared/layerChoice.ts), what a long run is
// estimated to take and when to ask first (src/host/panel/runEstimate.ts), and when the Model tab shows
// a Trainable column (src/shared/inspectPanel.ts).
import * as assert from 'assert';
import { NOTIFY_AFTER_MS, ProgressGate, type GateTimers, type ProgressSink } from '../../src/host/panel/progressGate';
import { keepLayers, shareLayer, type LayerAbilities } from '../../src/shared/layerChoice';
import { CONFIRM_ABOVE_MS, estimateRun, learnCost, needsConfirmation } from '../../src/host/panel/runEstimate';
import { showsTrainable } from '../../src/shared/inspectPanel';
import { methodChoices } from '../../src/host/lens/layerLenses';
import { INPUT_LEVEL_METHODS, METHOD_LABELS, METHOD_NAMES, type LayerInfo } from '../../src/shared/types';

/** Timers the test moves by hand. */
class FakeTimers implements GateTimers {
  now = 0;
  private pending: Array<{ at: number; callback: () => void; id: number }> = [];
  private next = 1;
  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.push({ at: this.now + ms, callback, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending = this.pending.filter((t) => t.id !== handle);
  }
  advance(ms: number): void {
    this.now += ms;
    const due = this.pending.filter((t) => t.at <= this.now);
    this.pending = this.pending.filter((t) => t.at > this.now);
    due.forEach((t) => t.callback());
  }
}

/** A notification that records what it was told. */
function recorder(): { open: () => ProgressSink; opened: number; reports: Array<[string, number | undefined]>; closed: number } {
  const log = {
    opened: 0,
    closed: 0,
    reports: [] as Array<[string, number | undefined]>,
    open: (): ProgressSink => {
      log.opened += 1;
      return { report: (message, increment) => log.reports.push([message, increment]), close: () => (log.closed += 1) };
    },
  };
  return log;
}

describe('panel logic', () => {
  describe('progress notification gate', () => {
    it('a run shorter than the delay never opens a notification', () => {
      const timers = new FakeTimers();
      const log = recorder();
      const gate = new ProgressGate(log.open, NOTIFY_AFTER_MS, timers);
      gate.step('Loading the model…');
      timers.advance(30);
      gate.step('Grad-CAM at conv4…', 0.5);
      timers.advance(20);
      gate.finish();
      timers.advance(10_000);
      assert.strictEqual(log.opened, 0, 'a 50 ms run: no notification, now or later');
      assert.strictEqual(NOTIFY_AFTER_MS, 2000);
    });

    it('a long run opens one after the delay with its latest step and progress, and closes it when it ends', () => {
      const timers = new FakeTimers();
      const log = recorder();
      const gate = new ProgressGate(log.open, 2000, timers);
      gate.step('Score-CAM: scoring channels 1–16 of 1280', 0.1);
      timers.advance(1999);
      assert.strictEqual(log.opened, 0);
      gate.step('Score-CAM: scoring channels 17–32 of 1280', 0.25);
      timers.advance(1);
      assert.strictEqual(log.opened, 1);
      assert.deepStrictEqual(log.reports, [['Score-CAM: scoring channels 17–32 of 1280', 25]], 'the progress so far, at once');
      gate.step('Score-CAM: scoring channels 33–48 of 1280', 0.5);
      gate.step('Scaling the map', 0.4); // a smaller fraction never moves the bar back
      assert.deepStrictEqual(log.reports.slice(1), [
        ['Score-CAM: scoring channels 33–48 of 1280', 25],
        ['Scaling the map', undefined],
      ]);
      assert.ok(gate.opened);
      gate.finish();
      assert.strictEqual(log.closed, 1, 'closed as soon as the work ends');
      assert.ok(!gate.opened);
      gate.step('late', 1);
      gate.finish();
      assert.strictEqual(log.reports.length, 3, 'nothing after the end');
      assert.strictEqual(log.closed, 1);
    });
  });

  describe('one layer for all tabs', () => {
    const abilities: LayerAbilities = {
      gradcam: new Set(['conv1', 'pool1', 'conv2', 'conv4']),
      activations: new Set(['conv1', 'pool1', 'conv2', 'conv4', 'gap', 'predictions']),
      filters: new Set(['conv1', 'conv2', 'conv4']),
    };

    it('a layer picked on any tab moves every tab that can show it', () => {
      const slots = { gradcam: 'conv4', activations: 'conv4', filters: 'conv1' };
      assert.deepStrictEqual(shareLayer(slots, 'gradcam', 'conv2', abilities), { gradcam: 'conv2', activations: 'conv2', filters: 'conv2' });
      assert.deepStrictEqual(shareLayer(slots, 'activations', 'pool1', abilities), { gradcam: 'pool1', activations: 'pool1', filters: 'conv1' }, 'a pooling layer has no filters');
      assert.deepStrictEqual(shareLayer(slots, 'filters', 'conv2', abilities), { gradcam: 'conv2', activations: 'conv2', filters: 'conv2' });
    });

    it('a tab that cannot show the layer keeps its own; nothing changes, the same object comes back', () => {
      const slots = { gradcam: 'conv4', activations: 'conv4' };
      assert.deepStrictEqual(shareLayer(slots, 'activations', 'gap', abilities), { gradcam: 'conv4', activations: 'gap' }, 'gap is 2-D: Grad-CAM stays at conv4');
      const same = { gradcam: 'conv2', activations: 'conv2', filters: 'conv2' };
      assert.strictEqual(shareLayer(same, 'gradcam', 'conv2', abilities), same);
    });

    it('keeps each tab\'s layer across models that have it, else its default', () => {
      const other: LayerAbilities = { gradcam: new Set(['conv2']), activations: new Set(['conv2', 'dense']), filters: new Set() };
      assert.deepStrictEqual(keepLayers({ gradcam: 'conv2', activations: 'conv3', filters: 'conv2' }, other), { gradcam: 'conv2' });
    });
  });

  describe('estimates before long runs', () => {
    const plan = { method: 'scorecam' as const, layer: 'out_relu', channels: 1280, batchSize: 16, backend: 'wasm' };

    it('Score-CAM on a wide layer: a forward pass per batch of channels, confirmed above the threshold', () => {
      const estimate = estimateRun(plan, { forwardMs: 500 });
      assert.ok(estimate);
      assert.strictEqual(estimate.ms, 40_000, '80 batches of 500 ms');
      assert.strictEqual(
        estimate.text,
        'Score-CAM at out_relu scores 1280 channels in 80 batches of forward passes: about 40 s (a forward pass took 500 ms on wasm).',
      );
      assert.strictEqual(estimate.action, 'Run Score-CAM');
      assert.ok(needsConfirmation(estimate));
      assert.strictEqual(CONFIRM_ABOVE_MS, 10_000);
    });

    it('a narrow layer or a fast model runs at once; other methods and unmeasured models have no estimate', () => {
      assert.ok(!needsConfirmation(estimateRun({ ...plan, channels: 64 }, { forwardMs: 20 })), '4 batches of 20 ms');
      assert.strictEqual(estimateRun({ ...plan, method: 'gradcam' }, { forwardMs: 500 }), undefined);
      assert.strictEqual(estimateRun(plan, {}), undefined);
      assert.ok(!needsConfirmation(undefined));
    });

    it('learns the forward time and, after a Score-CAM, its real cost per channel, which then wins', () => {
      let cost = learnCost({}, { method: 'gradcam', timings: { forward: 480, gradients: 300 } });
      assert.deepStrictEqual(cost, { forwardMs: 480 });
      cost = learnCost(cost, { method: 'gradcam', timings: { 'forward (reused)': 0.2 } });
      assert.strictEqual(cost.forwardMs, 480, 'a reused forward pass says nothing about its cost');
      cost = learnCost(cost, { method: 'scorecam', timings: { 'forward (reused)': 0.1, cam: 6400 }, channels: 320 });
      assert.strictEqual(cost.scoreCamMsPerChannel, 20);
      const estimate = estimateRun(plan, cost);
      assert.strictEqual(estimate?.ms, 25_600, '1280 channels × 20 ms');
      assert.match(estimate?.text ?? '', /about 26 s \(from its last run on this model\)/);
    });
  });

  describe('Model tab and method choices', () => {
    const layer = (name: string, params: number, trainable: boolean): LayerInfo => ({ name, className: 'Conv2D', outputShape: [null, 8, 8, 4], params, trainable, spatial: true, depth: 0 });

    it('shows Trainable only for Keras-style formats with a frozen layer that has weights', () => {
      const allTrainable = [layer('conv1', 112, true), layer('pool', 0, false)];
      assert.ok(!showsTrainable({ format: 'layers-model', layers: allTrainable }), 'every weight trains: the column says nothing');
      assert.ok(showsTrainable({ format: 'keras', layers: [layer('base', 1000, false), layer('head', 10, true)] }), 'a frozen base');
      assert.ok(!showsTrainable({ format: 'onnx', layers: [layer('conv', 100, false)] }), 'ONNX has no trainable flag: "no" would mean nothing');
      assert.ok(!showsTrainable({ format: 'pytorch', layers: [layer('conv', 100, false)] }));
    });

    it('"Explain here…" offers every method by its label, saying which ones ignore the layer', () => {
      const choices = methodChoices('conv3');
      assert.deepStrictEqual(choices.map((c) => c.method), [...METHOD_NAMES]);
      assert.deepStrictEqual(choices.map((c) => c.label), METHOD_NAMES.map((m) => METHOD_LABELS[m]));
      for (const choice of choices) {
        assert.strictEqual(choice.description.endsWith('at the input, not conv3'), INPUT_LEVEL_METHODS.includes(choice.method), choice.label);
        assert.ok(choice.description.length > 10);
      }
      assert.match(choices.find((c) => c.method === 'scorecam')?.description ?? '', /slow on wide layers/);
    });
  });
});
