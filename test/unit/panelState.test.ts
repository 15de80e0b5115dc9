// The panel's pure logic: view-state transitions, restoring a saved state, what the webview learns
// about a model, and the pictures it is sent (display downscale, heatmap/overlay re-render).
import * as assert from 'assert';
import { parseViewState, baseName, type PanelViewState } from '../../src/protocol/panel';
import type { LayerInfo, Map2D, ModelSummary, RgbaImage } from '../../src/protocol/types';
import {
  describeTimings,
  downscaleForDisplay,
  fitToModel,
  renderViews,
  toModelInfo,
  withImage,
  withModel,
} from '../../src/panel/panelState';

function layer(name: string, className: string, outputShape: (number | null)[]): LayerInfo {
  return { name, className, outputShape, params: 0, trainable: true, spatial: outputShape.length === 4, depth: 0 };
}

const summary: ModelSummary = {
  path: '/ws/model/model.json',
  format: 'layers-model',
  name: 'fashion',
  inputShape: [28, 28, 1],
  layers: [
    layer('conv1', 'Conv2D', [null, 26, 26, 8]),
    layer('pool', 'MaxPooling2D', [null, 13, 13, 8]),
    layer('conv2', 'Conv2D', [null, 11, 11, 16]),
    layer('flatten', 'Flatten', [null, 1936]),
    layer('dense', 'Dense', [null, 3]),
  ],
  labels: ['shirt', 'shoe', 'bag'],
  labelsSource: '/ws/model/labels.txt',
  preprocessing: {},
  sidecar: null,
  defaultCamLayer: 'conv2',
  outputSoftmax: true,
  totalParams: 1234,
  numClasses: 3,
};

const state: PanelViewState = {
  modelPath: '/ws/model/model.json',
  imagePath: '/ws/images/a.png',
  classIndex: 2,
  layer: 'conv1',
  method: 'gradcam',
  colormap: 'viridis',
  opacity: 0.25,
};

describe('panel state', () => {
  it('describes only the 4-D layers, marks the default, and formats shapes', () => {
    const info = toModelInfo(summary, 'model.json');
    assert.deepStrictEqual(
      info.layers.map((l) => [l.name, l.className, l.shape, l.isDefault]),
      [
        ['conv1', 'Conv2D', '26×26×8', false],
        ['pool', 'MaxPooling2D', '13×13×8', false],
        ['conv2', 'Conv2D', '11×11×16', true],
      ],
    );
    assert.deepStrictEqual(info.labels, ['shirt', 'shoe', 'bag']);
    assert.strictEqual(info.defaultLayer, 'conv2');
    assert.strictEqual(info.fileName, 'model.json');
  });

  it('shows the engine\'s warnings (labels that do not fit the classes) as the notice, none when there are none', () => {
    assert.strictEqual(toModelInfo(summary, 'model.json').notice, undefined);
    const warned = { ...summary, warnings: ['/ws/model/labels.txt has 2 labels but the model has 3 classes', 'second'] };
    assert.strictEqual(toModelInfo(warned, 'model.json').notice, '/ws/model/labels.txt has 2 labels but the model has 3 classes\nsecond');
  });

  it('another image resets the class but keeps the layer and appearance', () => {
    const next = withImage(state, '/ws/images/b.png');
    assert.deepStrictEqual(next, {
      modelPath: state.modelPath,
      imagePath: '/ws/images/b.png',
      layer: 'conv1',
      method: 'gradcam',
      colormap: 'viridis',
      opacity: 0.25,
    });
    assert.ok(!('classIndex' in next));
    assert.strictEqual(withImage(state, state.imagePath), state, 'the same image changes nothing');
  });

  it('another model resets class and layer', () => {
    const next = withModel(state, '/ws/other/model.json');
    assert.strictEqual(next.modelPath, '/ws/other/model.json');
    assert.ok(!('classIndex' in next) && !('layer' in next));
    assert.strictEqual(next.colormap, 'viridis');
    assert.strictEqual(withModel(state, state.modelPath), state);
  });

  it('drops a layer or class the model does not have', () => {
    const info = toModelInfo(summary, 'model.json');
    assert.deepStrictEqual(fitToModel(state, info), state, 'valid choices stay');
    const stale = fitToModel({ ...state, layer: 'dense', classIndex: 3 }, info);
    assert.ok(!('layer' in stale), 'a non-spatial layer is not a CAM layer');
    assert.ok(!('classIndex' in stale), 'class 3 of 3 classes is out of range');
  });

  it('restores a saved state, repairing optional fields and refusing one without files', () => {
    assert.strictEqual(parseViewState(undefined), undefined);
    assert.strictEqual(parseViewState({ imagePath: '/a.png' }), undefined);
    assert.strictEqual(parseViewState({ imagePath: '/a.png', modelPath: '' }), undefined);
    assert.deepStrictEqual(parseViewState({ ...state }), state);
    const repaired = parseViewState(
      { modelPath: '/m.json', imagePath: '/a.png', colormap: 'rainbow', opacity: 7, classIndex: -1, layer: 3, method: 'nope' },
      { colormap: 'turbo' },
    );
    assert.deepStrictEqual(repaired, { modelPath: '/m.json', imagePath: '/a.png', method: 'gradcam', colormap: 'turbo', opacity: 1 });
    assert.strictEqual(parseViewState({ modelPath: '/m.json', imagePath: '/a.png', opacity: 'x' })?.opacity, 0.5);
  });

  it('names files on either separator', () => {
    assert.strictEqual(baseName('/ws/images/a.png'), 'a.png');
    assert.strictEqual(baseName('C:\\ws\\model\\model.json'), 'model.json');
  });
});

describe('panel pictures', () => {
  /** RGBA image whose pixel (x, y) is [v, 2v mod 256, 255 - v, 255] with v = 10x + 50y. */
  function pattern(width: number, height: number): RgbaImage {
    const data = new Uint8Array(width * height * 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const v = 10 * x + 50 * y;
        data.set([v, (2 * v) % 256, 255 - v, 255], (y * width + x) * 4);
      }
    }
    return { width, height, data };
  }

  it('leaves small images alone (same object, no copy)', () => {
    const image = pattern(4, 3);
    assert.strictEqual(downscaleForDisplay(image, 4), image);
  });

  it('box-averages large images down to the longest side', () => {
    const image = pattern(4, 2); // v: row0 0,10,20,30; row1 50,60,70,80
    const small = downscaleForDisplay(image, 2); // 2x1: each output pixel averages a 2x2 block
    assert.deepStrictEqual([small.width, small.height], [2, 1]);
    // Left block v = 0,10,50,60 -> R mean 30; G = 0,20,100,120 -> 60; B = 255 - 30 = 225.
    // Right block v = 20,30,70,80 -> R 50; G = 40,60,140,160 -> 100; B 205.
    assert.deepStrictEqual(Array.from(small.data), [30, 60, 225, 255, 50, 100, 205, 255]);
    const tall = downscaleForDisplay(pattern(30, 90), 9);
    assert.deepStrictEqual([tall.width, tall.height], [3, 9]);
  });

  it('renders heatmap and overlay at the display size; opacity 0 shows the image, 1 the heatmap', () => {
    const display = pattern(6, 4);
    const cam: Map2D = { width: 2, height: 2, data: new Float32Array([0, 1, 0.5, 0.25]) };
    const clear = renderViews(display, cam, 'jet', 0);
    assert.deepStrictEqual([clear.heatmap.width, clear.heatmap.height, clear.overlay.width, clear.overlay.height], [6, 4, 6, 4]);
    assert.deepStrictEqual(Array.from(clear.overlay.data), Array.from(display.data), 'opacity 0 must show the image unchanged');
    const opaque = renderViews(display, cam, 'jet', 1);
    assert.deepStrictEqual(Array.from(opaque.overlay.data), Array.from(opaque.heatmap.data), 'opacity 1 must show the heatmap');
    const distinct = new Set<string>();
    for (let i = 0; i < opaque.heatmap.data.length; i += 4) {
      distinct.add(Array.from(opaque.heatmap.data.subarray(i, i + 3)).join(','));
    }
    assert.ok(distinct.size > 4, `a varying CAM must give a varying heatmap (${distinct.size} colours)`);
    const viridis = renderViews(display, cam, 'viridis', 1);
    assert.notDeepStrictEqual(Array.from(viridis.heatmap.data), Array.from(opaque.heatmap.data), 'the colormap must matter');
    assert.strictEqual(viridis.colormap, 'viridis');
  });

  it('formats timings for the status line and the log', () => {
    assert.strictEqual(describeTimings({ modelMs: 12.4, forward: 3.6, totalMs: Number.NaN }), 'model 12 ms · forward 4 ms');
  });
});
