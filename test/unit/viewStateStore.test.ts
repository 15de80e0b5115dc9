// A panel's view state and its copy in the workspace memento (src/host/panel/viewStateStore.ts):
// every change is kept for a window reload, a restored panel prefers the webview's own state, and
// the output chosen for a model with several outputs is remembered per model.
import * as assert from 'assert';
import { LAST_INSPECT_KEY, LAST_STATE_KEY, OUTPUT_MEMORY_KEY, ViewStateStore, type StateMemento } from '../../src/host/panel/viewStateStore';
import type { PanelModelInfo, PanelViewState } from '../../src/shared/panel';

class MemoryMemento implements StateMemento {
  readonly values = new Map<string, unknown>();
  get<T>(key: string): T | undefined {
    return this.values.get(key) as T | undefined;
  }
  update(key: string, value: unknown): Promise<void> {
    this.values.set(key, value);
    return Promise.resolve();
  }
}

const state: PanelViewState = { imagePath: '/w/cat.png', modelPath: '/w/model.json', method: 'gradcam', colormap: 'jet', opacity: 0.5 };

function twoOutputs(): PanelModelInfo {
  const output = (index: number, name: string) => ({ index, name, label: `${index}: ${name}`, description: '', kind: 'classes' as const, labels: ['a', 'b'], defaultLayer: 'conv2' });
  return {
    path: '/w/model.json',
    fileName: 'model.json',
    name: 'two heads',
    labels: ['a', 'b'],
    outputs: [output(0, 'age'), output(1, 'gender')],
    defaultOutput: 0,
    layers: [],
    defaultLayer: 'conv2',
    inputShape: [32, 32, 3],
    detail: '',
  };
}

describe('view state store: the host owns the panel state and keeps a copy', () => {
  it('keeps every change in the memento and says so', () => {
    const memento = new MemoryMemento();
    let changes = 0;
    const store = new ViewStateStore(memento, state, () => changes++);
    assert.deepStrictEqual(memento.get(LAST_STATE_KEY), state, 'the first state is kept at once');
    store.update({ classIndex: 3, layer: 'conv1' });
    assert.deepStrictEqual(memento.get(LAST_STATE_KEY), { ...state, classIndex: 3, layer: 'conv1' });
    store.state = { ...store.state, colormap: 'viridis' };
    assert.strictEqual(memento.get<PanelViewState>(LAST_STATE_KEY)?.colormap, 'viridis');
    assert.strictEqual(changes, 2);
  });

  it('restores the webview state first, else the host copy, else nothing', () => {
    const memento = new MemoryMemento();
    assert.strictEqual(ViewStateStore.restore(undefined, memento, {}), undefined);
    new ViewStateStore(memento, state).update({ layer: 'conv3' });
    const own = ViewStateStore.restore({ ...state, imagePath: '/w/dog.png' }, memento, {});
    assert.deepStrictEqual(own, { state: { ...state, imagePath: '/w/dog.png' }, fromHostCopy: false });
    const copy = ViewStateStore.restore('garbage', memento, {});
    assert.deepStrictEqual(copy, { state: { ...state, layer: 'conv3' }, fromHostCopy: true });
  });

  it('the inspection tabs state: read back from the memento, kept on change', () => {
    const memento = new MemoryMemento();
    memento.values.set(LAST_INSPECT_KEY, { tab: 'filters', filterLayer: 'conv1' });
    const store = new ViewStateStore(memento, state);
    assert.strictEqual(store.inspect.tab, 'filters');
    assert.strictEqual(store.inspect.filterLayer, 'conv1');
    store.inspect = { ...store.inspect, tab: 'activations', activationLayer: 'conv2' };
    assert.strictEqual(memento.get<{ tab: string }>(LAST_INSPECT_KEY)?.tab, 'activations');
  });

  it('remembers the output chosen per model, only one the model has', () => {
    const memento = new MemoryMemento();
    const store = new ViewStateStore(memento, state);
    const model = twoOutputs();
    assert.strictEqual(store.recallOutput(model), undefined);
    store.rememberOutput(1, model);
    assert.deepStrictEqual(memento.get(OUTPUT_MEMORY_KEY), { '/w/model.json': { index: 1, name: 'gender' } });
    assert.strictEqual(store.recallOutput(model), 1);
    store.rememberOutput(7, model);
    store.rememberOutput(0, undefined);
    assert.strictEqual(store.recallOutput(model), 1, 'an output the model lacks, or no model, changes nothing');
  });
});
