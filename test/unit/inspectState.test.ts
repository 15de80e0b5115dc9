// The inspection tabs' saved state (src/shared/inspectPanel.ts): what getState or the host's
// copy hands back after a reload may be old, partial or hand-edited; it is repaired, never trusted.
import * as assert from 'assert';
import { DEFAULT_INSPECT_STATE, isInspectRequest, parseInspectState, tabOfView } from '../../src/shared/inspectPanel';

describe('inspection tab state', () => {
  it('keeps a valid state as it is', () => {
    const state = {
      tab: 'filters',
      activationLayer: 'base/conv2',
      filterLayer: 'conv1',
      sort: 'max',
      scale: 'shared',
      hideDead: true,
      filterMode: 'channels',
      filterScale: 'shared',
    };
    assert.deepEqual(parseInspectState(state), state);
  });

  it('repairs unknown values field by field instead of dropping the whole state', () => {
    const repaired = parseInspectState({ tab: 'filters', sort: 'size', scale: 7, hideDead: 'yes', filterMode: 'sepia', filterScale: null, activationLayer: '' });
    assert.deepEqual(repaired, { ...DEFAULT_INSPECT_STATE, tab: 'filters' });
    assert.deepEqual(parseInspectState(undefined), DEFAULT_INSPECT_STATE);
    assert.deepEqual(parseInspectState('activations'), DEFAULT_INSPECT_STATE);
  });

  it('accepts tabs other modules register (e.g. "compare") but not markup', () => {
    assert.equal(parseInspectState({ tab: 'compare' }).tab, 'compare');
    assert.equal(parseInspectState({ tab: '<img src=x>' }).tab, 'gradcam');
  });

  it('maps command views to tabs and recognises the requests the host answers', () => {
    assert.equal(tabOfView('summary'), 'model');
    assert.equal(tabOfView('filters'), 'filters');
    assert.ok(isInspectRequest({ type: 'inspectActivations' }));
    assert.ok(!isInspectRequest({ type: 'inspectState' }), 'a command, not a request');
    assert.ok(!isInspectRequest({ type: 'ready' }));
  });
});
