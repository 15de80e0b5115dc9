// One layer for all tabs: a layer picked on one tab (Grad-CAM, Activations, Filters) applies to
// every other tab that can show it (the rules: src/shared/layerChoice.ts), and another model keeps
// the inspection tabs' layers where it has them. This applies those rules to the panel's state and
// tells the page; the Grad-CAM tab itself runs again only when it is shown (the panel decides when).
// No vscode: test/unit/layerSync.test.ts.
import { keepLayers, shareLayer, type LayerAbilities, type LayerSlots, type LayerTab } from '../../shared/layerChoice';
import type { InspectViewState } from '../../shared/inspectPanel';
import type { SharedLayerNotification, ViewStateNotification } from '../../shared/panel';
import type { LayerViews, ModelSummary } from '../../shared/types';
import type { ViewStateStore } from './viewStateStore';

export interface LayerSyncDeps {
  engine: {
    loadModel(modelPath: string): Promise<ModelSummary>;
    layerViews(modelPath: string): Promise<LayerViews[]>;
  };
  store: ViewStateStore;
  /** Keeps the inspection tabs' new state (and updates what depends on it, e.g. the title). */
  saveInspect(state: InspectViewState): void;
  notify(message: SharedLayerNotification | ViewStateNotification): void;
  log(line: string): void;
  /** True once the panel closed: answers arriving later change nothing. */
  closed(): boolean;
  /** The Grad-CAM tab's layer changed: its result is stale and must run again when it is shown. */
  gradcamStale(): void;
}

export class LayerSync {
  constructor(private readonly deps: LayerSyncDeps) {}

  /**
   * The user picked `layer` on tab `from`: every tab that can show it follows. The inspection tabs
   * load their layer when they are shown; the Grad-CAM tab is marked stale (gradcamStale).
   */
  async shareFrom(from: LayerTab, layer: string): Promise<void> {
    const abilities = await this.abilities();
    if (!abilities || this.deps.closed()) {
      return;
    }
    const { store } = this.deps;
    const before = this.slots();
    const after = shareLayer(before, from, layer, abilities);
    if (after === before) {
      return;
    }
    const inspect = store.inspect;
    if (after.activations !== inspect.activationLayer || after.filters !== inspect.filterLayer) {
      const next: InspectViewState = { ...inspect, activationLayer: after.activations, filterLayer: after.filters };
      if (after.filters !== inspect.filterLayer) {
        delete next.filterMode; // the new layer's own default
      }
      this.deps.saveInspect(next);
      this.deps.notify({ type: 'sharedLayer', activationLayer: after.activations, filterLayer: after.filters });
    }
    if (from !== 'gradcam' && after.gradcam !== store.state.layer && after.gradcam !== undefined) {
      const state = store.update({ layer: after.gradcam });
      this.deps.notify({ type: 'viewState', state });
      this.deps.log(`[panel] ${from} shows ${layer}: Grad-CAM follows`);
      this.deps.gradcamStale();
    }
  }

  /** Another model: the Activations and Filters tabs keep their layers where it has them, else go back to their defaults. */
  async keepLayers(): Promise<void> {
    const abilities = await this.abilities();
    if (!abilities || this.deps.closed()) {
      return;
    }
    const before = this.slots();
    const kept = keepLayers(before, abilities);
    if (kept.activations === before.activations && kept.filters === before.filters) {
      return;
    }
    const next: InspectViewState = { ...this.deps.store.inspect, activationLayer: kept.activations, filterLayer: kept.filters };
    if (kept.filters === undefined) {
      delete next.filterLayer;
      delete next.filterMode;
    }
    if (kept.activations === undefined) {
      delete next.activationLayer;
    }
    this.deps.saveInspect(next);
    this.deps.notify({ type: 'sharedLayer', activationLayer: kept.activations, filterLayer: kept.filters });
  }

  /** Which layers each tab can show in the current model; undefined when the model does not load. */
  private async abilities(): Promise<LayerAbilities | undefined> {
    const { engine, store } = this.deps;
    const modelPath = store.state.modelPath;
    try {
      const summary = await engine.loadModel(modelPath);
      const views = await engine.layerViews(modelPath);
      return {
        gradcam: new Set(summary.layers.filter((l) => l.spatial).map((l) => l.name)),
        activations: new Set(views.filter((v) => v.activations).map((v) => v.name)),
        filters: new Set(views.filter((v) => v.filters).map((v) => v.name)),
      };
    } catch {
      return undefined; // the run reports why the model does not load
    }
  }

  private slots(): LayerSlots {
    const { state, inspect } = this.deps.store;
    return { gradcam: state.layer, activations: inspect.activationLayer, filters: inspect.filterLayer };
  }
}
