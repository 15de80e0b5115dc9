// The panel's pure logic: view-state transitions, restoring a saved state, what the webview learns
// about a model, and the display downscale (src/render/display.ts) of the image the worker sends.
import * as assert from 'assert';
import { parseViewState, baseName, type PanelViewState } from '../../src/shared/panel';
import type { LayerInfo, Map2D, ModelSummary, RgbaImage } from '../../src/shared/types';
import {
  chosenOutput,
  describeTimings,
  explainedLine,
  fitToModel,
  recallOutput,
  rememberOutput,
  toModelInfo,
  withImage,
  withModel,
  withOutput,
} from '../../src/host/panel/panelState';
import { downscaleForDisplay } from '../../src/render/display';

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
  outputs: [
    { index: 0, name: 'dense', shape: [null, 3], kind: 'classes', kindSource: 'model', activation: 'softmax', labels: ['shirt', 'shoe', 'bag'], labelsSource: '/ws/model/labels.txt', defaultCamLayer: 'conv2' },
  ],
  defaultOutput: 0,
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

  it('another model resets the class and keeps the layer until the model is loaded', () => {
    const next = withModel(state, '/ws/other/model.json');
    assert.strictEqual(next.modelPath, '/ws/other/model.json');
    assert.ok(!('classIndex' in next));
    assert.strictEqual(next.layer, 'conv1', 'another export of the network has the same layer');
    assert.strictEqual(next.colormap, 'viridis');
    assert.strictEqual(withModel(state, state.modelPath), state);
  });

  it('Change Model keeps the layer when the new model has it, and goes back to the default when it does not', () => {
    const info = toModelInfo(summary, 'model.json');
    const kept = fitToModel(withModel(state, '/ws/copy/model.json'), info);
    assert.strictEqual(kept.layer, 'conv1', 'the new model has conv1: it stays');
    const other = fitToModel(withModel({ ...state, layer: 'block7/conv' }, '/ws/copy/model.json'), info);
    assert.ok(!('layer' in other), 'no block7/conv in the new model: its default layer');
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

  describe('several outputs and output kinds', () => {
    /** A face model's three heads, as the engine describes them (an age regression, a sigmoid gender, race softmax). */
    const heads: ModelSummary = {
      ...summary,
      path: '/ws/face/model.json',
      layers: [...summary.layers, layer('race_conv', 'Conv2D', [null, 11, 11, 4])],
      labels: ['value'],
      numClasses: 1,
      outputs: [
        { index: 0, name: 'age', shape: [null, 1], kind: 'regression', kindSource: 'model', activation: null, labels: ['value'], labelsSource: null, defaultCamLayer: 'conv2' },
        { index: 1, name: 'gender', shape: [null, 1], kind: 'binary', kindSource: 'model', activation: 'sigmoid', labels: ['female', 'male'], labelsSource: '/ws/face/gender.txt', defaultCamLayer: 'conv2' },
        { index: 2, name: 'boxes', shape: [null, 896, 16], kind: null, kindSource: 'model', activation: null, labels: [], labelsSource: null, defaultCamLayer: '' },
        { index: 3, name: 'race', shape: [null, 4], kind: 'classes', kindSource: 'model', activation: 'softmax', labels: ['a', 'b', 'c', 'd'], labelsSource: null, defaultCamLayer: 'race_conv' },
      ],
      defaultOutput: 0,
    };
    const info = toModelInfo(heads, 'model.json');
    const faceState: PanelViewState = { ...state, modelPath: heads.path, layer: 'conv1', classIndex: 0 };

    it('describes every output for the picker: label, kind and shape, its labels and default layer', () => {
      assert.deepStrictEqual(
        info.outputs.map((o) => [o.index, o.name, o.label, o.description, o.kind, o.defaultLayer]),
        [
          [0, 'age', '0: age', 'regression, one value · 1×1', 'regression', 'conv2'],
          [1, 'gender', '1: gender', 'binary classifier (sigmoid) · 1×1', 'binary', 'conv2'],
          [2, 'boxes', '2: boxes', 'not scores (cannot be explained) · 1×896×16', null, ''],
          [3, 'race', '3: race', '4 classes (softmax) · 1×4', 'classes', 'race_conv'],
        ],
      );
      assert.deepStrictEqual(info.outputs[1].labels, ['female', 'male']);
      assert.strictEqual(info.defaultOutput, 0);
      assert.strictEqual(toModelInfo(summary, 'model.json').outputs.length, 1, 'one output: the picker stays hidden');
    });

    it('another output resets class and layer (its classes differ, the layer may not feed it)', () => {
      const next = withOutput(faceState, 3);
      assert.strictEqual(next.output, 3);
      assert.ok(!('classIndex' in next) && !('layer' in next));
      assert.strictEqual(withOutput(next, 3), next, 'the same output changes nothing');
      assert.strictEqual(chosenOutput(next, info).name, 'race');
      assert.strictEqual(chosenOutput(faceState, info).name, 'age', 'no output chosen: the default');
    });

    it('another model forgets the output (the new model recalls its own)', () => {
      const next = withModel({ ...faceState, output: 1 }, '/ws/other/model.json');
      assert.ok(!('output' in next));
    });

    it('drops an output the model does not have or cannot explain, and a class beyond the chosen output', () => {
      assert.ok(!('output' in fitToModel({ ...faceState, output: 9 }, info)));
      assert.ok(!('output' in fitToModel({ ...faceState, output: 2 }, info)), 'boxes hold no scores');
      assert.strictEqual(fitToModel({ ...faceState, output: 1, classIndex: 1 }, info).classIndex, 1, 'class 1 of a binary output');
      assert.ok(!('classIndex' in fitToModel({ ...faceState, output: 1, classIndex: 2 }, info)), 'a binary output has classes 0 and 1');
      assert.strictEqual(fitToModel({ ...faceState, output: 3, classIndex: 3 }, info).classIndex, 3, 'race has four classes');
    });

    it('remembers the output per model, by name first, and never recalls one that holds no scores', () => {
      let memory = rememberOutput(undefined, heads.path, info.outputs[3]);
      memory = rememberOutput(memory, '/ws/other/model.json', { index: 1, name: 'x' });
      assert.deepStrictEqual(memory[heads.path], { index: 3, name: 'race' });
      assert.strictEqual(recallOutput(memory, heads.path, info), 3);
      assert.strictEqual(recallOutput(memory, '/ws/unknown/model.json', info), undefined);
      // Re-exported with the outputs reordered: the name wins over the index.
      const reordered = { ...info, outputs: [info.outputs[3], info.outputs[0]].map((o, index) => ({ ...o, index })) };
      assert.strictEqual(recallOutput(memory, heads.path, reordered), 0);
      // The name is gone: the same index, when it can be explained.
      assert.strictEqual(recallOutput({ [heads.path]: { index: 1, name: 'sex' } }, heads.path, info), 1);
      assert.strictEqual(recallOutput({ [heads.path]: { index: 2, name: 'gone' } }, heads.path, info), undefined);
      assert.strictEqual(recallOutput('garbage', heads.path, info), undefined);
      assert.strictEqual(recallOutput({ [heads.path]: 7 }, heads.path, info), undefined);
    });

    it('says on the status line what the map explains, by kind, and which output when there are several', () => {
      const base = { method: 'gradcam' as const, layer: 'conv2' };
      assert.strictEqual(
        explainedLine({ ...base, className: 'male', classIndex: 1, score: 0.9, output: { index: 1, name: 'gender', kind: 'binary', of: 4 } }),
        'Grad-CAM of “male” (class 1: σ(z), +z = 0.9) at conv2 · output 1 "gender" (binary) of 4',
      );
      assert.strictEqual(
        explainedLine({ ...base, className: 'female', classIndex: 0, score: -0.9, output: { index: 0, name: 'spoof', kind: 'binary', of: 1 } }),
        'Grad-CAM of “female” (class 0: 1 − σ(z), −z = -0.9) at conv2',
      );
      assert.strictEqual(
        explainedLine({ ...base, method: 'saliency', className: 'value', classIndex: 0, score: 37.214, output: { index: 0, name: 'age', kind: 'regression', of: 1 } }),
        'Saliency of the value 37.21 at the input',
      );
      assert.strictEqual(
        explainedLine({ ...base, className: 'shoe', classIndex: 1, score: 7.1234, output: { index: 0, name: 'dense', kind: 'classes', of: 1 } }),
        'Grad-CAM of “shoe” (class 1, score 7.123) at conv2',
      );
    });

    it('keeps the chosen output across a window reload', () => {
      assert.strictEqual(parseViewState({ ...faceState, output: 3 })?.output, 3);
      assert.ok(!('output' in (parseViewState({ ...faceState, output: -1 }) ?? {})));
    });
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

  it('formats timings for the status line and the log', () => {
    assert.strictEqual(describeTimings({ modelMs: 12.4, forward: 3.6, totalMs: Number.NaN }), 'model 12 ms · forward 4 ms');
  });
});
