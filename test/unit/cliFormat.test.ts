import * as assert from 'assert';
import { UsageError, camResultToJson, formatLayerTable, parseClassArg, parseNumberList } from '../../src/cli/format';
import type { CamResult, LayerInfo } from '../../src/shared/types';

describe('cli: argument parsing and formatting', () => {
  it('parses per-channel number lists and refuses malformed ones', () => {
    assert.deepStrictEqual(parseNumberList('--mean', '0.485, 0.456,0.406'), [0.485, 0.456, 0.406]);
    assert.deepStrictEqual(parseNumberList('--std', '0.5'), [0.5]);
    assert.throws(() => parseNumberList('--mean', '0.1,,0.2'), UsageError);
    assert.throws(() => parseNumberList('--mean', '0.1,0.2'), /1 or 3 numbers/);
    assert.throws(() => parseNumberList('--std', 'a,b,c'), /comma-separated numbers/);
  });

  it('resolves --class as an index, an exact label, or a label in any case', () => {
    const labels = ['T-shirt/top', 'Trouser', 'Bag'];
    assert.strictEqual(parseClassArg('2', labels), 2);
    assert.strictEqual(parseClassArg('Trouser', labels), 1);
    assert.strictEqual(parseClassArg('bag', labels), 2);
    assert.throws(() => parseClassArg('Sneaker', labels), /neither a class index nor a label.*"Bag"/);
  });

  it('prints a layer table with nesting and the default CAM layer marked', () => {
    const layers: LayerInfo[] = [
      { name: 'base', className: 'Functional', outputShape: [null, 8, 8, 16], params: 1200, trainable: true, spatial: true, depth: 0 },
      { name: 'base/conv', className: 'Conv2D', outputShape: [null, 8, 8, 16], params: 1200, trainable: true, spatial: true, depth: 1, parent: 'base' },
      { name: 'dense', className: 'Dense', outputShape: [null, 10], params: 170, trainable: true, spatial: false, depth: 0 },
    ];
    const lines = formatLayerTable(layers, 'base/conv').split('\n');
    assert.match(lines[0], /name\s+type\s+output shape\s+params/);
    assert.match(lines[2], /^\*\s+base\/conv\s+Conv2D\s+8×8×16\s+1,200$/);
    assert.match(lines[3], /^\s+dense\s+Dense\s+10\s+170$/);
  });

  it('writes the documented JSON shape with short float32 numbers', () => {
    const result: CamResult = {
      method: 'gradcam', backend: 'wasm', layer: 'conv2', classIndex: 3, className: 'cat', score: 7.12,
      output: { index: 0, name: 'dense', kind: 'classes', of: 1 },
      predictions: [{ index: 3, label: 'cat', probability: 0.91, score: 7.12 }],
      cam: { width: 2, height: 1, data: new Float32Array([0.3, 1]) },
      layerCam: { width: 1, height: 1, data: new Float32Array([2.5]) },
      timings: { totalMs: 12 },
    };
    const json = JSON.parse(JSON.stringify(camResultToJson(result, { model: '/m/model.json' })));
    assert.deepStrictEqual(json.cam, { width: 2, height: 1, data: [0.3, 1] });
    assert.deepStrictEqual(json.layerCam, { width: 1, height: 1, data: [2.5] });
    assert.deepStrictEqual(json.predictions, [{ index: 3, label: 'cat', probability: 0.91, score: 7.12 }]);
    assert.strictEqual(json.backend, 'wasm');
    assert.strictEqual(json.model, '/m/model.json');
  });
});
