// CodeLens and hover on model.json, without VS Code: layer entries found with their exact offsets
// in the real sample model.json (and in a nested model's JSON, named as the engine names them), the
// lenses and their command arguments from the summary the engine computes, the hover's numbers
// against the weights manifest, and the summary cache following live-refresh changes.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../../src/engine/backend';
import * as tf from '../../src/engine/tf';
import { describeLayers, loadModel, wrapModel } from '../../src/engine/index';
import {
  EXPLAIN_AT_LAYER_COMMAND,
  GRADCAM_AT_LAYER_COMMAND,
  VISUALIZE_LAYER_COMMAND,
  layerHoverMarkdown,
  layerLenses,
  type WrittenLayer,
} from '../../src/host/lens/layerLenses';
import { findLayerEntries, looksLikeLayersModel } from '../../src/host/lens/modelJsonLayers';
import { ModelSummaryCache } from '../../src/host/lens/summaryCache';
import { ModelChangeHub, type Clock, type FileEventSource } from '../../src/host/panel/modelWatcher';
import type { ModelSummary } from '../../src/shared/types';
import { nestedModel } from '../fixtures/models';

const MODEL = path.resolve(__dirname, '..', '..', 'samples', 'workspace', 'model', 'model.json');
const SAMPLE_LAYERS = ['conv1', 'pool1', 'conv2', 'bn2', 'relu2', 'pool2', 'conv3', 'pool3', 'conv4', 'gap', 'predictions'];

describe('CodeLens/hover: layer entries in model.json', function () {
  const text = fs.readFileSync(MODEL, 'utf8');

  it('finds every layer of the sample, in order, at the offsets of its object and its name', function () {
    assert.ok(looksLikeLayersModel(text));
    const entries = findLayerEntries(text);
    assert.deepStrictEqual(
      entries.map((e) => e.name),
      SAMPLE_LAYERS,
    );
    const topology = JSON.parse(text).modelTopology.config.layers as { class_name: string; config: { name: string } }[];
    entries.forEach((entry, i) => {
      assert.strictEqual(entry.className, topology[i].class_name);
      assert.strictEqual(text.slice(entry.nameOffset, entry.nameOffset + entry.nameLength), JSON.stringify(entry.name));
      assert.strictEqual(text[entry.entryOffset], '{');
      // The object starting there is this layer: parse it on its own.
      const objectText = text.slice(entry.entryOffset);
      const layer = JSON.parse(objectText.slice(0, matchingBrace(objectText) + 1)) as { config: { name: string } };
      assert.strictEqual(layer.config.name, entry.name);
      assert.ok(entry.nameOffset > entry.entryOffset);
      // The lens sits on the layer's own first line ("class_name"), not on the "{" line right under
      // the previous layer's closing brackets.
      const lensLine = text.slice(text.lastIndexOf('\n', entry.lensOffset) + 1, text.indexOf('\n', entry.lensOffset));
      assert.match(lensLine, /^\s*"class_name":/, lensLine);
    });
  });

  it('names nested models\' layers outer/inner, as the engine does', async function () {
    await initBackend('cpu');
    const model = nestedModel('linear');
    try {
      const json = JSON.stringify({ modelTopology: model.toJSON(null, false), weightsManifest: [] }, null, 2);
      const found = findLayerEntries(json).map((e) => e.name);
      const engine = describeLayers(model).map((l) => l.name);
      // The JSON also lists each model's InputLayers, which the engine lists only where tfjs does.
      assert.deepStrictEqual(
        found.filter((name) => engine.includes(name)),
        engine,
      );
      assert.ok(found.includes('base/b_conv2') && found.includes('head/classes'), found.join(', '));
    } finally {
      model.dispose();
    }
  });

  it('keeps the complete entries of a half-typed file and ignores non-models', function () {
    const cut = text.indexOf('"pool2"');
    const entries = findLayerEntries(text.slice(0, cut)); // pool2's name not typed yet
    assert.deepStrictEqual(
      entries.map((e) => e.name),
      SAMPLE_LAYERS.slice(0, 5),
    );
    assert.deepStrictEqual(findLayerEntries('{"name": "cnn-lens", "version": "1"}'), []);
    assert.deepStrictEqual(findLayerEntries(''), []);
    assert.ok(!looksLikeLayersModel('{"compilerOptions": {}}'));
  });
});

describe('CodeLens/hover: lenses and hovers from the engine summary', function () {
  let summary: ModelSummary;
  let written: WrittenLayer[];

  before(async function () {
    await initBackend('cpu');
    const loaded = await loadModel(MODEL);
    summary = loaded.summary;
    loaded.dispose();
    written = findLayerEntries(fs.readFileSync(MODEL, 'utf8')).map((e) => ({ name: e.name, className: e.className, offset: e.lensOffset }));
  });

  it('names each layer with its shape, then offers Activations everywhere, Filters on conv layers, Grad-CAM on 4-D layers, with exact arguments', function () {
    const lenses = layerLenses(MODEL, written, summary);
    const titlesOf = (layer: string) => {
      const offset = written.find((w) => w.name === layer)?.offset;
      return lenses.filter((l) => l.offset === offset).map((l) => l.title);
    };
    assert.deepStrictEqual(titlesOf('conv1'), ['conv1 · 64×64×8', 'Activations', 'Filters', 'Grad-CAM here', 'Explain here…']);
    assert.deepStrictEqual(titlesOf('pool1'), ['pool1 · 32×32×8', 'Activations', 'Grad-CAM here', 'Explain here…']);
    assert.deepStrictEqual(titlesOf('bn2').slice(1), ['Activations', 'Grad-CAM here', 'Explain here…'], 'batch norm weights are not images');
    assert.deepStrictEqual(titlesOf('conv4').slice(1), ['Activations', 'Filters', 'Grad-CAM here (default)', 'Explain here…']);
    assert.deepStrictEqual(titlesOf('gap'), ['gap · 96', 'Activations'], '2-D output: no Grad-CAM');
    assert.deepStrictEqual(titlesOf('predictions'), ['predictions · 10', 'Activations']);

    const conv2 = written.find((w) => w.name === 'conv2')!;
    const conv2Lenses = lenses.filter((l) => l.offset === conv2.offset);
    assert.deepStrictEqual(
      conv2Lenses.map((l) => [l.command, l.arguments]),
      [
        [undefined, undefined], // the label
        [VISUALIZE_LAYER_COMMAND, [{ modelPath: MODEL, layer: 'conv2', view: 'activations' }]],
        [VISUALIZE_LAYER_COMMAND, [{ modelPath: MODEL, layer: 'conv2', view: 'filters' }]],
        [GRADCAM_AT_LAYER_COMMAND, [{ modelPath: MODEL, layer: 'conv2' }]],
        [EXPLAIN_AT_LAYER_COMMAND, [{ modelPath: MODEL, layer: 'conv2' }]],
      ],
    );
  });

  it('without a summary (not loaded, or failing) offers no Grad-CAM; a layer the model lacks gets none', function () {
    const before = layerLenses(MODEL, written, undefined);
    assert.ok(before.every((l) => l.command !== GRADCAM_AT_LAYER_COMMAND && l.command !== EXPLAIN_AT_LAYER_COMMAND));
    assert.strictEqual(before.filter((l) => l.title === 'Filters').length, 4, 'four Conv2D layers');
    const typed = [...written, { name: 'conv5', className: 'Conv2D', offset: 99999 }];
    assert.ok(layerLenses(MODEL, typed, summary).every((l) => l.offset !== 99999));
  });

  it('the hover gives the output shape and the parameter count the weights manifest implies', function () {
    const manifest = JSON.parse(fs.readFileSync(MODEL, 'utf8')).weightsManifest[0].weights as { name: string; shape: number[] }[];
    const paramsOf = (layer: string) =>
      manifest.filter((w) => w.name.startsWith(`${layer}/`)).reduce((sum, w) => sum + w.shape.reduce((a, b) => a * b, 1), 0);
    const conv3 = summary.layers.find((l) => l.name === 'conv3')!;
    const hover = layerHoverMarkdown(conv3, summary);
    assert.strictEqual(paramsOf('conv3'), 3 * 3 * 16 * 48 + 48);
    assert.ok(hover.includes(`Parameters: ${paramsOf('conv3').toLocaleString('en-US')} (trainable)`), hover);
    assert.ok(hover.includes('Output shape: 16×16×48 (H×W×C)'), hover);
    const conv4 = layerHoverMarkdown(summary.layers.find((l) => l.name === 'conv4')!, summary);
    assert.ok(conv4.includes('The default layer (Grad-CAM explains it unless another is chosen)'), conv4);
    // bn2's moving mean/variance count as parameters too (Keras counts them, not trainable).
    const bn2 = summary.layers.find((l) => l.name === 'bn2')!;
    assert.strictEqual(bn2.params, paramsOf('bn2'));
  });

  it('the hover escapes what the model file names: a layer or model name cannot inject Markdown (a link, an image)', function () {
    const evil = { ...summary.layers[1], name: 'x](https://evil.example)![y', className: 'Conv2D` [z](https://evil.example)' };
    const hover = layerHoverMarkdown(evil, { ...summary, name: '**bold** <img src=x>' });
    // Outside code spans (which render no links) no unescaped "](" is left.
    const outsideCode = hover.replace(/`[^`]*`/g, '');
    assert.ok(!/(^|[^\\])\]\(/.test(outsideCode), hover);
    assert.ok(hover.startsWith('**x\\]\\(https://evil.example\\)\\!\\[y** · `Conv2D\' [z](https://evil.example)`'), hover);
    assert.ok(hover.includes('_\\*\\*bold\\*\\* \\<img src=x\\>:'), hover);
  });
});

describe('CodeLens/hover: the summary cache follows the files', function () {
  class ManualClock implements Clock {
    private callbacks = new Map<number, () => void>();
    private id = 0;
    setTimeout(callback: () => void): unknown {
      this.callbacks.set(++this.id, callback);
      return this.id;
    }
    clearTimeout(handle: unknown): void {
      this.callbacks.delete(handle as number);
    }
    flush(): void {
      const due = [...this.callbacks.values()];
      this.callbacks.clear();
      due.forEach((callback) => callback());
    }
  }

  it('loads once, drops the summary when the files change, reloads fresh, and keeps a failure until then', async function () {
    let fire: (file: string) => void = () => undefined;
    const events: FileEventSource = {
      watchFolder: (_folder, onFileEvent) => {
        fire = onFileEvent;
        return { dispose: () => (fire = () => undefined) };
      },
    };
    const clock = new ManualClock();
    const hub = new ModelChangeHub(events, { clock });
    const loads: boolean[] = [];
    let fail = false;
    const fake = (await (async () => {
      await initBackend('cpu');
      const model = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [4, 4, 1], filters: 1, kernelSize: 1, name: 'c' }), tf.layers.flatten({ name: 'f' })] });
      const wrapped = wrapModel(model, { path: '/m/model.json', labels: null, labelsSource: null, preprocessing: {}, sidecar: null });
      wrapped.dispose();
      // As a code model reports it: a helper it imports lives in another folder.
      return { ...wrapped.summary, sourceFiles: ['/m/net.model.ts', '/elsewhere/blocks.ts'] };
    })()) as ModelSummary;
    const cache = new ModelSummaryCache(async (_path, { reload }) => {
      loads.push(reload);
      if (fail) {
        throw new Error('/m/model.json: not valid JSON');
      }
      return fake;
    }, hub);
    const changed: string[] = [];
    cache.onDidChange((p) => changed.push(p));

    assert.strictEqual(await cache.get('/m/model.json'), fake);
    await cache.get('/m/model.json');
    assert.deepStrictEqual(loads, [false], 'cached');
    assert.strictEqual(cache.peek('/m/model.json'), fake);

    fail = true;
    fire('/m/model.json');
    clock.flush();
    assert.deepStrictEqual(changed, ['/m/model.json']);
    assert.strictEqual(cache.peek('/m/model.json'), undefined);
    await assert.rejects(cache.get('/m/model.json'), /not valid JSON/);
    await assert.rejects(cache.get('/m/model.json'), /not valid JSON/);
    assert.deepStrictEqual(loads, [false, true], 'the first load after a change reloads; a failure is not retried per keystroke');

    fail = false;
    fire('/m/group1-shard1of1.bin');
    clock.flush();
    assert.strictEqual(await cache.get('/m/model.json'), fake);
    assert.deepStrictEqual(loads, [false, true, true]);

    // A file the model read outside its folder (reported in sourceFiles) invalidates it too.
    fire('/elsewhere/other.ts');
    clock.flush();
    assert.strictEqual(changed.length, 2, 'an unrelated file there does not');
    fire('/elsewhere/blocks.ts');
    clock.flush();
    assert.strictEqual(changed.length, 3);
    cache.dispose();
    hub.dispose();
  });
});

/** Index of the brace closing the object that starts at text[0] (JSON strings respected). */
function matchingBrace(text: string): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') {
        i++;
      } else if (c === '"') {
        inString = false;
      }
    } else if (c === '"') {
      inString = true;
    } else if (c === '{') {
      depth++;
    } else if (c === '}' && --depth === 0) {
      return i;
    }
  }
  return -1;
}
