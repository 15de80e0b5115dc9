// The compare view's host logic without VS Code (src/host/panel/compareState.ts): when the comparison
// shown no longer matches the panel (and, above all, when it still does: showing the same files
// again is not a change), the progress line's words, and the tiles' data (maps for the page to blend).
import * as assert from 'assert';
import { indexedCam } from '../../src/render/overlay';
import { buildPanelCompare, compareProgressLabel, compareTargetOf, staleReason, targetLine } from '../../src/host/panel/compareState';
import { toModelInfo, withImage, withModel, withOutput } from '../../src/host/panel/panelState';
import type { PanelViewState } from '../../src/shared/panel';
import type { CamResult, LayerInfo, ModelSummary } from '../../src/shared/types';

function layer(name: string, outputShape: (number | null)[]): LayerInfo {
  return { name, className: 'Conv2D', outputShape, params: 0, trainable: true, spatial: outputShape.length === 4, depth: 0 };
}

const summary: ModelSummary = {
  path: '/ws/model/model.json',
  format: 'layers-model',
  name: 'heads',
  inputShape: [8, 8, 3],
  layers: [layer('conv1', [null, 8, 8, 4]), layer('conv2', [null, 4, 4, 8]), layer('conv3', [null, 4, 4, 8])],
  labels: ['a', 'b', 'c'],
  preprocessing: {},
  sidecar: null,
  defaultCamLayer: 'conv2',
  outputSoftmax: true,
  totalParams: 10,
  numClasses: 3,
  outputs: [
    { index: 0, name: 'kind', shape: [null, 3], kind: 'classes', kindSource: 'model', activation: 'softmax', labels: ['a', 'b', 'c'], defaultCamLayer: 'conv2' },
    { index: 1, name: 'age', shape: [null, 1], kind: 'regression', kindSource: 'model', activation: 'linear', labels: ['value'], defaultCamLayer: 'conv3' },
  ],
  defaultOutput: 0,
} as ModelSummary;
const model = toModelInfo(summary, 'model.json');

const shown: PanelViewState = { modelPath: '/ws/model/model.json', imagePath: '/ws/images/a.png', method: 'gradcam', colormap: 'jet', opacity: 0.5 };
const first = { classIndex: 1, output: { index: 0 } };

describe('compare view state (host)', () => {
  describe('does the comparison still match the panel?', () => {
    const target = compareTargetOf(shown, model, first, ['gradcam', 'saliency'], 0);

    it('the same files shown again (the "Grad-CAM here" lens, Show Grad-CAM on the same image): nothing changed', () => {
      // What LensPanel.showFiles does with the same image and model, plus the layer the lens asks for.
      const again = withModel(withImage(shown, shown.imagePath), shown.modelPath);
      assert.strictEqual(staleReason(target, again, model, 0), undefined);
      assert.strictEqual(staleReason(target, { ...again, method: 'gradcam++', colormap: 'viridis', opacity: 0.9 }, model, 0), undefined, 'method and appearance are not what the maps explain');
      assert.strictEqual(staleReason(target, { ...again, layer: 'conv2' }, model, 0), undefined, 'the default layer, now named');
      assert.strictEqual(staleReason(target, { ...again, classIndex: 1 }, model, 0), undefined, 'the top-1 class, now picked');
      assert.strictEqual(staleReason(target, { ...again, output: 0 }, model, 0), undefined, 'the default output, now picked');
      assert.strictEqual(staleReason(target, again, undefined, 0), undefined, 'the model reloading (not known yet) changes nothing by itself');
    });

    it('names what changed: image, model, files on disk, output, class, layer', () => {
      assert.strictEqual(staleReason(target, withImage(shown, '/ws/images/b.png'), model, 0), 'The image changed: compare again to update.');
      assert.strictEqual(staleReason(target, withModel(shown, '/ws/other/model.json'), undefined, 0), 'The model changed: compare again to update.');
      assert.strictEqual(staleReason(target, withModel(withImage(shown, '/b.png'), '/m.json'), undefined, 0), 'The image and the model changed: compare again to update.');
      assert.strictEqual(staleReason(target, shown, model, 1), 'The model or image changed on disk: compare again to update.');
      assert.strictEqual(staleReason(target, withOutput(shown, 1), model, 0), 'The output changed: compare again to update.');
      assert.strictEqual(staleReason(target, { ...shown, classIndex: 2 }, model, 0), 'The class changed: compare again to update.');
      assert.strictEqual(staleReason(target, { ...shown, layer: 'conv1' }, model, 0), 'The layer changed: compare again to update.');
    });

    it('input-level methods alone do not use the layer, so another layer leaves them current', () => {
      const inputOnly = compareTargetOf(shown, model, first, ['saliency', 'occlusion'], 0);
      assert.strictEqual(inputOnly.layer, undefined);
      assert.strictEqual(staleReason(inputOnly, { ...shown, layer: 'conv1' }, model, 0), undefined);
    });

    it('a class picked for the comparison stays the class: the top-1 default is not the same request', () => {
      const picked = compareTargetOf({ ...shown, classIndex: 2 }, model, { classIndex: 2, output: { index: 0 } }, ['gradcam'], 3);
      assert.strictEqual(staleReason(picked, { ...shown, classIndex: 2 }, model, 3), undefined);
      assert.strictEqual(staleReason(picked, { ...shown, classIndex: 0 }, model, 3), 'The class changed: compare again to update.');
      assert.strictEqual(picked.layer, 'conv2');
      const second = compareTargetOf(withOutput(shown, 1), model, { classIndex: 0, output: { index: 1 } }, ['gradcam'], 0);
      assert.strictEqual(second.layer, 'conv3', "the output's own default layer");
    });
  });

  it('progress: which method of how many, the metrics, and the estimate once it is worth saying', () => {
    assert.strictEqual(compareProgressLabel({ index: 1, of: 5, method: 'scorecam', phase: 'method' }), 'Score-CAM (2 of 5)…');
    assert.strictEqual(compareProgressLabel({ index: 1, of: 5, method: 'scorecam', phase: 'metrics' }), 'Metrics of Score-CAM (2 of 5)…');
    assert.strictEqual(compareProgressLabel({ index: 0, of: 1, method: 'gradcam', phase: 'method' }, 40_000), 'Grad-CAM (1 of 1)… · about 40 s in all');
    assert.strictEqual(compareProgressLabel({ index: 0, of: 1, method: 'gradcam', phase: 'method' }, 300), 'Grad-CAM (1 of 1)…', 'a short run says no estimate');
    assert.strictEqual(compareProgressLabel(undefined), 'Starting the comparison…');
  });

  it('tiles: each method\'s map as the worker sent it (the page blends it over the image), the image by key, both times', () => {
    const cam = { width: 4, height: 4, data: Float32Array.from({ length: 16 }, (_, i) => i / 15) };
    const result = {
      method: 'gradcam',
      layer: 'conv2',
      cam,
      classIndex: 1,
      className: 'b',
      score: 2,
      predictions: [{ index: 1, label: 'b', probability: 0.75, score: 2 }],
      output: { index: 0, name: 'kind', kind: 'classes', of: 2 },
    } as unknown as CamResult;
    const map = indexedCam(cam, 8, 8);
    const compare = buildPanelCompare('/ws/images/a.png', 'a.png@1', [{ method: 'gradcam', result, timeMs: 20, metricsMs: 5685 }], [map]);
    const [item] = compare.items;
    assert.strictEqual(item.map, map);
    assert.strictEqual(item.timeMs, 20);
    assert.strictEqual(item.metricsMs, 5685);
    assert.strictEqual(compare.imageKey, 'a.png@1', 'the input tile, and what every map is drawn over');
    assert.throws(() => buildPanelCompare('/ws/images/a.png', 'a.png@1', [{ method: 'gradcam', result, timeMs: 20 }], []), /0 maps for 1 methods/);
    assert.strictEqual(compare.target, 'b (class 1) · p = 0.750');
    assert.strictEqual(targetLine({ ...result, output: { index: 1, name: 'age', kind: 'regression', of: 2 }, className: 'value', score: 31.5 }), 'value 31.5');
  });
});
