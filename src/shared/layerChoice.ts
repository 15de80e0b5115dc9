// One layer choice for the whole panel. The Grad-CAM, Activations and Filters tabs each show a
// layer; picking one anywhere (a picker, a Model-tab row, Visualize Layer…, a CodeLens) moves every
// tab that can show that layer to it, so switching tabs keeps looking at the same place in the
// network. A tab that cannot show it keeps its own: Grad-CAM needs a 4-D output, Filters need
// drawable weights (a Dense unit's activations or a pooling layer's output have neither). The host
// applies these rules (it owns the state); the webview only displays the result.

export type LayerTab = 'gradcam' | 'activations' | 'filters';

/** The layer each tab shows; undefined means that tab's default (the model's default CAM layer, or its first filter layer). */
export interface LayerSlots {
  gradcam?: string;
  activations?: string;
  filters?: string;
}

/** Which layers each tab can show (by name). */
export interface LayerAbilities {
  gradcam: ReadonlySet<string>;
  activations: ReadonlySet<string>;
  filters: ReadonlySet<string>;
}

const TABS: readonly LayerTab[] = ['gradcam', 'activations', 'filters'];

/**
 * The user picked `layer` on tab `from`: that tab shows it, and so does every other tab that can.
 * Returns the same object when nothing changes (the caller then has nothing to tell anyone).
 */
export function shareLayer(slots: LayerSlots, from: LayerTab, layer: string, abilities: LayerAbilities): LayerSlots {
  let next = slots;
  for (const tab of TABS) {
    if ((tab === from || abilities[tab].has(layer)) && next[tab] !== layer) {
      next = { ...next, [tab]: layer };
    }
  }
  return next;
}

/**
 * Another model: each tab keeps its layer when the new model has one of that name and the tab can
 * show it there (a user comparing two exports of a network keeps looking at conv3); otherwise it goes
 * back to its default.
 */
export function keepLayers(slots: LayerSlots, abilities: LayerAbilities): LayerSlots {
  const next: LayerSlots = {};
  for (const tab of TABS) {
    const layer = slots[tab];
    if (layer !== undefined && abilities[tab].has(layer)) {
      next[tab] = layer;
    }
  }
  return next;
}
