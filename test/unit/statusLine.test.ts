// The panel's status line and title (src/shared/statusLine.ts): a short human line per tab, the
// developer's details in its tooltip, and a title that follows the tab shown.
import * as assert from 'assert';
import {
  activationsStatus,
  explanationStatus,
  filtersStatus,
  formatDuration,
  modelStatus,
  panelTitle,
  PANEL_TITLE_PATTERN,
  timingBreakdown,
  type ExplanationFacts,
} from '../../src/shared/statusLine';

const facts: ExplanationFacts = {
  method: 'gradcam',
  layer: 'conv4',
  classIndex: 9,
  className: 'Ankle boot',
  output: { index: 0, name: 'predictions', kind: 'classes', of: 1 },
  backend: 'wasm',
  backendDetail: 'wasm (SIMD, 1 thread) (skipped: node: @tensorflow/tfjs-node is not installed (Cannot find module))',
  timings: { forward: 351.2, gradients: 81.4, cam: 1.2, postprocess: 136, total: 570, modelMs: 0, imageMs: 4, requestMs: 45.4 },
  explained: 'Grad-CAM of “Ankle boot” (class 9, score 7.312) at conv4',
  originalWidth: 640,
  originalHeight: 480,
};

describe('status line and title', () => {
  it('says what was explained, where, how long it took and on what, in one short line', () => {
    const status = explanationStatus(facts);
    assert.strictEqual(status.text, 'Grad-CAM of Ankle boot at conv4 · 45 ms · wasm');
    assert.ok(!/forward|postprocess|skipped|score/.test(status.text), 'no developer timing dump in the line');
  });

  it('keeps every detail in the tooltip: the exact score, image size, each stage, the backend and what was skipped', () => {
    const lines = explanationStatus({ ...facts, input: 'input 3×32×32 (found by trial)', inputsElsewhere: 12 }).tooltip.split('\n');
    assert.deepStrictEqual(lines, [
      'Grad-CAM of “Ankle boot” (class 9, score 7.312) at conv4',
      'image 640×480 · input 3×32×32 (found by trial)',
      'backend: wasm (SIMD, 1 thread) (skipped: node: @tensorflow/tfjs-node is not installed (Cannot find module))',
      'time: forward 351 ms · gradients 81 ms · cam 1 ms · postprocess 136 ms · total 570 ms · model 0 ms · image 4 ms · request 45 ms',
      '12 samples on helper workers',
    ]);
  });

  it('names a binary side, a regression value, the input for input-level methods, and the output of a multi-head model', () => {
    const binary = explanationStatus({ ...facts, className: 'spoof', classIndex: 1, output: { index: 1, name: 'spoof', kind: 'binary', of: 3 }, layer: 'trunk' });
    assert.strictEqual(binary.text, 'Grad-CAM of spoof (σ(z)) at trunk · output “spoof” · 45 ms · wasm');
    const regression = explanationStatus({ ...facts, className: 'value', classIndex: 0, output: { index: 0, name: 'age', kind: 'regression', of: 1 } });
    assert.match(regression.text, /^Grad-CAM of the value at conv4 ·/);
    const saliency = explanationStatus({ ...facts, method: 'saliency', layer: 'input' });
    assert.match(saliency.text, /^Saliency of Ankle boot at the input ·/);
  });

  it('uses the engine total when the worker did not time the request, and says durations as people do', () => {
    const { requestMs: _request, ...engineOnly } = facts.timings;
    assert.match(explanationStatus({ ...facts, timings: engineOnly }).text, / · 570 ms · /);
    assert.deepStrictEqual([45.4, 999.6, 1041, 9_960, 42_300, 125_000, 120_000].map(formatDuration), ['45 ms', '1.0 s', '1.0 s', '10 s', '42 s', '2 min 5 s', '2 min']);
    assert.strictEqual(timingBreakdown({ modelMs: 12.4, forward: 3.6, bad: Number.NaN }), 'model 12 ms · forward 4 ms');
  });

  it('gives the Activations, Filters and Model tabs their own lines', () => {
    const activations = activationsStatus({ layer: 'conv3', className: 'Conv2D', kind: 'maps', channelCount: 48, deadCount: 2, width: 16, height: 16, ms: 12, backend: 'wasm', imageName: 'sample.png' });
    assert.strictEqual(activations.text, 'Activations of conv3 · 48 channels · 12 ms · wasm');
    assert.match(activations.tooltip, /48 maps of 16×16, 2 dead/);
    const units = activationsStatus({ layer: 'gap', className: 'GlobalAveragePooling2D', kind: 'units', channelCount: 96, deadCount: 0, width: 1, height: 1, ms: 3, backend: 'wasm', imageName: 'sample.png' });
    assert.strictEqual(units.text, 'Activations of gap · 96 units · 3 ms · wasm');
    const filters = filtersStatus({ layer: 'conv1', className: 'Conv2D', filterCount: 8, shape: '[3, 3, 3, 8]', layout: 'HWIO', ms: 2, modelName: 'model.json' });
    assert.strictEqual(filters.text, 'Filters of conv1 · 8 filters · 2 ms');
    assert.match(filters.tooltip, /weights \[3, 3, 3, 8\] HWIO/);
    const model = modelStatus({ name: 'sample_cnn', layerCount: 11, totalParams: 50954, backend: 'wasm', backendDetail: 'wasm (SIMD, 1 thread)', ms: 5 });
    assert.strictEqual(model.text, 'sample_cnn · 11 layers · 50,954 parameters · wasm');
  });

  it('titles the panel after the tab it shows', () => {
    const files = { imageName: 'sample.png', modelName: 'model.json' };
    assert.strictEqual(panelTitle({ ...files, tab: 'gradcam', layer: 'conv4' }), 'Grad-CAM: sample.png');
    assert.strictEqual(panelTitle({ ...files, tab: 'activations', layer: 'conv3' }), 'Activations: conv3 · sample.png');
    assert.strictEqual(panelTitle({ ...files, tab: 'activations' }), 'Activations: sample.png', 'before its layer is known');
    assert.strictEqual(panelTitle({ ...files, tab: 'filters', layer: 'conv1' }), 'Filters: conv1 · model.json', 'filters belong to the model');
    assert.strictEqual(panelTitle({ ...files, tab: 'model' }), 'Model: model.json');
    assert.strictEqual(panelTitle({ ...files, tab: 'compare' }), 'Compare: sample.png');
    assert.strictEqual(panelTitle({ ...files, tab: 'timeline' }), 'Timeline: sample.png', 'a tab another module registered');
    for (const tab of ['gradcam', 'activations', 'filters', 'model', 'compare']) {
      assert.match(panelTitle({ ...files, tab }), PANEL_TITLE_PATTERN);
    }
  });
});
