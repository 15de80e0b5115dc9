// One layer for all tabs, as the panel applies it (src/host/panel/layerSync.ts): a layer picked on one
// tab moves the others that can show it, the Grad-CAM tab is marked stale instead of run, another
// model keeps only the layers it has, and a model that does not load changes nothing.
import * as assert from 'assert';
import { LayerSync } from '../../src/host/panel/layerSync';
import { ViewStateStore, type StateMemento } from '../../src/host/panel/viewStateStore';
import type { InspectViewState } from '../../src/shared/inspectPanel';
import type { SharedLayerNotification, ViewStateNotification } from '../../src/shared/panel';
import type { LayerViews, ModelSummary } from '../../src/shared/types';

const memento = (): StateMemento => {
  const values = new Map<string, unknown>();
  return { get: <T>(key: string) => values.get(key) as T | undefined, update: async (key, value) => void values.set(key, value) };
};

/** conv1 and conv2 are 4-D (Grad-CAM, activations, filters); dense has activations only. */
const summary = {
  layers: [
    { name: 'conv1', spatial: true },
    { name: 'conv2', spatial: true },
    { name: 'dense', spatial: false },
  ],
} as unknown as ModelSummary;
const views = [
  { name: 'conv1', activations: true, filters: 'conv2d' },
  { name: 'conv2', activations: true, filters: 'conv2d' },
  { name: 'dense', activations: true },
] as unknown as LayerViews[];

function sync(options: { inspect?: Partial<InspectViewState>; layer?: string; loads?: boolean } = {}) {
  const store = new ViewStateStore(memento(), { imagePath: '/w/cat.png', modelPath: '/w/model.json', method: 'gradcam', colormap: 'jet', opacity: 0.5, ...(options.layer ? { layer: options.layer } : {}) });
  store.inspect = { ...store.inspect, ...options.inspect };
  const posted: Array<SharedLayerNotification | ViewStateNotification> = [];
  let stale = 0;
  let closed = false;
  const layers = new LayerSync({
    engine: {
      loadModel: async () => {
        if (options.loads === false) throw new Error('model.json: not JSON');
        return summary;
      },
      layerViews: async () => views,
    },
    store,
    saveInspect: (next) => (store.inspect = next),
    notify: (message) => posted.push(message),
    log: () => undefined,
    closed: () => closed,
    gradcamStale: () => stale++,
  });
  return { layers, store, posted, stale: () => stale, close: () => (closed = true) };
}

describe('layer sync: one layer for all tabs', () => {
  it('a layer picked on the Activations tab moves Filters and Grad-CAM, which is marked stale, not run', async () => {
    const { layers, store, posted, stale } = sync({ layer: 'conv1', inspect: { filterLayer: 'conv1', filterMode: 'rgb' } });
    await layers.shareFrom('activations', 'conv2');
    assert.strictEqual(store.inspect.activationLayer, 'conv2');
    assert.strictEqual(store.inspect.filterLayer, 'conv2');
    assert.strictEqual(store.inspect.filterMode, undefined, "the new filter layer's own default mode");
    assert.strictEqual(store.state.layer, 'conv2');
    assert.deepStrictEqual(posted.map((m) => m.type), ['sharedLayer', 'viewState']);
    assert.strictEqual(stale(), 1);
  });

  it('a layer only some tabs can show moves only those', async () => {
    const { layers, store, posted, stale } = sync({ layer: 'conv1', inspect: { filterLayer: 'conv1' } });
    await layers.shareFrom('activations', 'dense');
    assert.strictEqual(store.inspect.activationLayer, 'dense');
    assert.strictEqual(store.inspect.filterLayer, 'conv1', 'dense has no filters');
    assert.strictEqual(store.state.layer, 'conv1', 'dense is no CAM layer');
    assert.deepStrictEqual(posted.map((m) => m.type), ['sharedLayer']);
    assert.strictEqual(stale(), 0);
  });

  it('a layer picked on the Grad-CAM tab moves the others but never re-runs Grad-CAM from here', async () => {
    const { layers, store, stale } = sync({ layer: 'conv2' });
    await layers.shareFrom('gradcam', 'conv2');
    assert.strictEqual(store.inspect.activationLayer, 'conv2');
    assert.strictEqual(stale(), 0);
  });

  it('another model keeps the layers it has and forgets the others', async () => {
    const { layers, store, posted } = sync({ inspect: { activationLayer: 'dense', filterLayer: 'conv9', filterMode: 'channels' } });
    await layers.keepLayers();
    assert.strictEqual(store.inspect.activationLayer, 'dense');
    assert.ok(!('filterLayer' in store.inspect) && !('filterMode' in store.inspect), 'conv9 is gone: back to the default');
    assert.deepStrictEqual(posted, [{ type: 'sharedLayer', activationLayer: 'dense', filterLayer: undefined }]);
  });

  it('a model that does not load, or a closed panel, changes nothing', async () => {
    const broken = sync({ loads: false });
    await broken.layers.shareFrom('activations', 'conv2');
    await broken.layers.keepLayers();
    assert.deepStrictEqual(broken.posted, []);
    const closing = sync({ layer: 'conv1' });
    closing.close();
    await closing.layers.shareFrom('activations', 'conv2');
    assert.deepStrictEqual(closing.posted, []);
    assert.strictEqual(closing.store.state.layer, 'conv1');
  });
});
