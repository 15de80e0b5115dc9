// Layer inspection through the real engine worker (src/worker/engineWorker.ts under tsx), as the
// panel uses it: activation pages computed once per (model, image, layer) and then only re-sliced,
// channel detail, filter pages, the layer list, byte-bounded transferable payloads, no leaked tensors.
import * as assert from 'assert';
import * as path from 'path';
import { isCancelled } from '../../src/shared/errors';
import type { Progress } from '../../src/shared/types';
import { EngineClient } from '../../src/workerClient/client';
import { engineFromSource } from './fixtures/workerFromSource';

const ROOT = path.resolve(__dirname, '..', '..');
const MODEL = path.join(ROOT, 'samples', 'workspace', 'model', 'model.json');
const IMAGE = path.join(ROOT, 'samples', 'workspace', 'images', 'sample.png');
const OTHER_IMAGE = path.join(ROOT, 'samples', 'workspace', 'images', 'pullover.png');

describe('engine worker: layer inspection', function () {
  let engine: EngineClient;

  before(function () {
    engine = engineFromSource();
  });
  after(() => engine.dispose());

  it('lists which layers offer activations and filters', async function () {
    const views = await engine.layerViews(MODEL);
    const byName = Object.fromEntries(views.map((v) => [v.name, v]));
    assert.deepEqual(byName.conv1, { name: 'conv1', activations: 'maps', filters: 'conv2d' });
    assert.deepEqual(byName.pool1, { name: 'pool1', activations: 'maps', filters: null });
    assert.deepEqual(byName.gap, { name: 'gap', activations: 'units', filters: null });
    assert.equal(byName.predictions.filters, null, 'the last Dense reads pooled features, not pixels');
  });

  it('runs the model once per layer and image; paging and re-sorting reuse the result', async function () {
    const before = await engine.memory();
    const progress: Progress[] = [];
    const ask = (request: { page?: number; sort?: 'index' | 'mean' | 'max' }, imagePath = IMAGE) =>
      engine.activationPage({ modelPath: MODEL, imagePath, request: { layer: 'conv3', pageSize: 20, ...request } }, { onProgress: (p) => progress.push(p) });
    const first = await ask({});
    assert.equal(progress.length, 1, 'the first page runs the model');
    assert.match(progress[0].message, /conv3/);
    assert.equal(first.channelCount, 48);
    assert.equal(first.pageCount, 3);
    assert.deepEqual([...first.channels], Array.from({ length: 20 }, (_, i) => i));
    assert.ok(first.maps instanceof Uint8Array);
    assert.equal(first.maps.byteLength, 20 * 16 * 16);

    const second = await ask({ page: 1 });
    const sorted = await ask({ sort: 'max' });
    assert.equal(progress.length, 1, 'paging and sorting do not run the model again');
    assert.deepEqual([...second.channels], Array.from({ length: 20 }, (_, i) => 20 + i));
    const maxes = [...sorted.max];
    assert.deepEqual(maxes, [...maxes].sort((a, b) => b - a));

    const detail = await engine.activationChannel({ modelPath: MODEL, imagePath: IMAGE, request: { layer: 'conv3', channel: 5 } });
    assert.equal(progress.length, 1);
    assert.equal(detail.map.byteLength, 16 * 16);
    assert.equal(detail.max, first.max[5]);

    await ask({}, OTHER_IMAGE);
    assert.equal(progress.length, 2, 'another image runs again');
    const after = await engine.memory();
    assert.equal(after.numTensors, before.numTensors + 0, 'no tensors kept by the activation cache');
  });

  it('pages filters and reports bad requests with the layer name', async function () {
    const page = await engine.filterPage({ modelPath: MODEL, request: { layer: 'conv1' } });
    assert.equal(page.mode, 'rgb');
    assert.equal(page.tiles.byteLength, 8 * 3 * 3 * 3);
    await assert.rejects(engine.filterPage({ modelPath: MODEL, request: { layer: 'gap' } }), /"gap" \(GlobalAveragePooling2D\) has no filters to draw/);
    await assert.rejects(
      engine.activationPage({ modelPath: MODEL, imagePath: IMAGE, request: { layer: 'nope' } }),
      (error: Error & { code?: string }) => /Layer "nope" is not in model/.test(error.message) && error.code === 'bad-request',
    );
  });

  it('cancels a request', async function () {
    const controller = new AbortController();
    const pending = engine.activationPage({ modelPath: MODEL, imagePath: OTHER_IMAGE, request: { layer: 'conv4' } }, { signal: controller.signal });
    controller.abort();
    await assert.rejects(pending, (error: unknown) => isCancelled(error));
    const page = await engine.activationPage({ modelPath: MODEL, imagePath: OTHER_IMAGE, request: { layer: 'conv4' } });
    assert.equal(page.channelCount, 96);
  });
});
