// Reusing a forward pass across requests (src/engine/execution/forwardCache.ts): a map computed from a kept
// forward pass must be the map a fresh request computes, bit for bit on one backend; only the same
// model, image and layer may match; entries in use survive eviction; nothing leaks.
import * as assert from 'assert';
import { initBackend } from '../../src/engine/backend';
import { compareMethods, explain, ForwardCache, type LoadedModel } from '../../src/engine/index';
import { planCut } from '../../src/engine/execution/graph';
import { layerEntries } from '../../src/engine/execution/layers';
import * as tf from '../../src/engine/tf';
import type { CamResult, ExplainRequest, RgbaImage } from '../../src/shared/types';
import { buildMobileNetV2Style, MOBILENET_LAYERS } from '../fixtures/architectures';
import { randomInput, randomRgbaImage, residualModel, wrapInMemory } from '../fixtures/models';



/** The same request without a cache: its own forward pass. */
function fresh(model: LoadedModel, picture: RgbaImage, request: ExplainRequest): Promise<CamResult> {
  return explain(model, picture, request);
}

function assertSameMap(actual: CamResult, expected: CamResult, what: string): void {
  assert.deepStrictEqual(Array.from(actual.cam.data), Array.from(expected.cam.data), `${what}: map`);
  assert.deepStrictEqual(Array.from(actual.layerCam.data), Array.from(expected.layerCam.data), `${what}: layer map`);
  assert.deepStrictEqual(actual.predictions, expected.predictions, `${what}: predictions`);
  assert.strictEqual(actual.score, expected.score, `${what}: score`);
  assert.ok(actual.cam.data.some((v) => v > 0), `${what}: an all-zero map would prove little`);
}

describe('forward-pass reuse (ForwardCache)', function () {
  this.timeout(120_000);
  let model: LoadedModel;
  const picture = randomRgbaImage(12, 12, 7);

  before(async () => {
    await initBackend('cpu');
    model = wrapInMemory(residualModel());
  });
  after(() => model.dispose());

  it('another class at the same layer runs no forward pass and gives the map a fresh request gives', async () => {
    const cache = new ForwardCache();
    const first = await explain(model, picture, { method: 'gradcam', layer: 'add' }, { forwardCache: cache });
    assert.strictEqual(first.details?.forwardReused, false);
    assert.strictEqual(first.details?.passes, 1);
    for (const classIndex of [0, 1, 2]) {
      const again = await explain(model, picture, { method: 'gradcam', layer: 'add', classIndex }, { forwardCache: cache });
      assert.strictEqual(again.details?.forwardReused, true, `class ${classIndex}`);
      assert.strictEqual(again.details?.passes, 0, 'only the backward pass from the layer ran');
      assertSameMap(again, await fresh(model, picture, { method: 'gradcam', layer: 'add', classIndex }), `class ${classIndex}`);
    }
    cache.clear();
  });

  it('methods at one layer share it (with and without gradients); input-level methods reuse its predictions', async () => {
    const cache = new ForwardCache();
    await explain(model, picture, { method: 'gradcam', layer: 'mix' }, { forwardCache: cache });
    for (const method of ['gradcam++', 'layercam', 'eigencam', 'scorecam', 'guided-gradcam'] as const) {
      const reused = await explain(model, picture, { method, layer: 'mix', classIndex: 2 }, { forwardCache: cache });
      assert.strictEqual(reused.details?.forwardReused, true, method);
      assertSameMap(reused, await fresh(model, picture, { method, layer: 'mix', classIndex: 2 }), method);
    }
    const saliency = await explain(model, picture, { method: 'saliency', classIndex: 1 }, { forwardCache: cache });
    assert.strictEqual(saliency.details?.forwardReused, true);
    assert.strictEqual(saliency.details?.passes, 1, 'the gradient pass only; the predictions came from the kept forward pass');
    assertSameMap(saliency, await fresh(model, picture, { method: 'saliency', classIndex: 1 }), 'saliency');
    cache.clear();
  });

  it('another layer, another image, another model each run their own forward pass', async () => {
    const cache = new ForwardCache();
    const request: ExplainRequest = { method: 'gradcam', layer: 'add', classIndex: 0 };
    await explain(model, picture, request, { forwardCache: cache });
    const otherLayer = await explain(model, picture, { ...request, layer: 'final' }, { forwardCache: cache });
    assert.strictEqual(otherLayer.details?.forwardReused, false, 'another layer');
    assertSameMap(otherLayer, await fresh(model, picture, { ...request, layer: 'final' }), 'another layer');

    // The same pixels in a new object: the worker decodes an edited image into a new one, so
    // identity, not content, is the key (comparing pixels would cost more than it saves).
    const samePixels = { ...picture, data: picture.data.slice() };
    const otherImage = await explain(model, samePixels, request, { forwardCache: cache });
    assert.strictEqual(otherImage.details?.forwardReused, false, 'another image object');

    const different = randomRgbaImage(12, 12, 8);
    const differentResult = await explain(model, different, request, { forwardCache: cache });
    assert.strictEqual(differentResult.details?.forwardReused, false);
    assertSameMap(differentResult, await fresh(model, different, request), 'another image');

    const twin = wrapInMemory(residualModel(5)); // a reloaded model with edited weights is a new object
    try {
      const reloaded = await explain(twin, picture, request, { forwardCache: cache });
      assert.strictEqual(reloaded.details?.forwardReused, false, 'another model');
      assertSameMap(reloaded, await fresh(twin, picture, request), 'another model');
      cache.forgetModel(twin.model);
    } finally {
      twin.dispose();
    }
    cache.clear();
  });

  it('an entry in use outlives its eviction until released; clear and forgetModel free every tensor', () => {
    const before = tf.memory().numTensors;
    const cache = new ForwardCache(1);
    const layerPath = (name: string) => {
      const entry = layerEntries(model.model).find((e) => e.info.name === name);
      assert.ok(entry);
      return entry.path;
    };
    const input = randomInput([10, 10, 3], 3);
    const a = cache.acquire(model.model, picture, input, planCut(model.model, layerPath('add')));
    const b = cache.acquire(model.model, picture, input, planCut(model.model, layerPath('final')));
    assert.strictEqual(cache.size, 1, 'capacity 1: the first entry was evicted');
    assert.ok(!a.state.activation.isDisposed, 'an evicted entry still in use is not freed');
    a.release();
    assert.ok(a.state.activation.isDisposed, 'freed when its last user released it');
    a.release(); // twice is harmless

    const b2 = cache.acquire(model.model, picture, input, planCut(model.model, layerPath('final')));
    assert.ok(b2.reused);
    assert.strictEqual(cache.logits(model.model, picture)?.length, 3, 'its predictions are there for input-level methods');
    assert.strictEqual(cache.logits(model.model, {}), undefined);
    b.release();
    b2.release();
    cache.forgetModel(model.model);
    assert.strictEqual(cache.size, 0);
    assert.ok(b.state.activation.isDisposed);
    input.dispose();
    assert.strictEqual(tf.memory().numTensors, before, 'no tensor left behind');
  });

  it('overlapping requests on different images with room for one entry all finish, with fresh maps', async () => {
    const cache = new ForwardCache(1);
    const pictures = [randomRgbaImage(12, 12, 11), randomRgbaImage(12, 12, 12), randomRgbaImage(12, 12, 13)];
    const before = tf.memory().numTensors;
    // Each request yields between stages, so the next evicts its entry while it is still in use.
    const results = await Promise.all(pictures.map((p) => explain(model, p, { method: 'gradcam++', layer: 'add', classIndex: 1 }, { forwardCache: cache })));
    for (const [i, result] of results.entries()) {
      assertSameMap(result, await fresh(model, pictures[i], { method: 'gradcam++', layer: 'add', classIndex: 1 }), `image ${i}`);
    }
    cache.clear();
    assert.strictEqual(tf.memory().numTensors, before);
  });

  it('a comparison on a MobileNetV2-style model (wasm) runs one forward pass for the CAM methods at its layer', async () => {
    await initBackend('wasm');
    const mobile = wrapInMemory(buildMobileNetV2Style());
    try {
      const picture32 = randomRgbaImage(32, 32, 5);
      const cache = new ForwardCache();
      const before = tf.memory().numTensors;
      const methods = ['gradcam', 'gradcam++', 'xgradcam', 'layercam', 'hirescam'] as const;
      const compared = await compareMethods(mobile, picture32, methods, { layer: MOBILENET_LAYERS.residualBlock }, { forwardCache: cache });
      assert.deepStrictEqual(
        compared.map((c) => c.result.details?.forwardReused),
        [false, true, true, true, true],
      );
      for (const { method, result } of compared) {
        const expected = await fresh(mobile, picture32, { method, layer: MOBILENET_LAYERS.residualBlock, classIndex: result.classIndex });
        assert.deepStrictEqual(Array.from(result.cam.data), Array.from(expected.cam.data), method);
      }
      cache.clear();
      assert.strictEqual(tf.memory().numTensors, before);

      // Without a cache of the caller's, the comparison shares the forward pass all the same, and keeps nothing.
      const alone = await compareMethods(mobile, picture32, ['gradcam', 'saliency', 'layercam'], { layer: MOBILENET_LAYERS.residualBlock });
      assert.deepStrictEqual(alone.map((c) => c.result.details?.forwardReused), [false, true, true]);
      assert.strictEqual(tf.memory().numTensors, before);
    } finally {
      mobile.dispose();
      await initBackend('cpu');
    }
  });
});
