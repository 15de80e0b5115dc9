// Wires the inspection tabs (Activations, Filters, Model) into the panel page: their shared state
// (saved with setState through main.ts, copied to the host), the model info they all read, and the
// requests they send. Each view lives in its own file and only displays what the host answers.
import { parseInspectState, type InspectViewState } from '../src/shared/inspectPanel';
import { InspectContext, type InspectDeps } from './inspectContext';
import { ActivationsView } from './activationsView';
import { FiltersView } from './filtersView';
import { SummaryView } from './summaryView';
import { panelTabs, registerTab } from './tabs';

export interface Inspection {
  /** Host: open this state's tab (a command, or the host's copy after the page was rebuilt). */
  show(state: InspectViewState, reveal: boolean): void;
  /** Host: model or image changed; visible views ask again. */
  invalidate(): void;
  /** Host: a layer picked on another tab applies to these tabs too (src/shared/layerChoice.ts). */
  sharedLayer(layers: Pick<InspectViewState, 'activationLayer' | 'filterLayer'>): void;
  readonly context: InspectContext;
}

export function createInspection(deps: InspectDeps, saved: unknown, gradcamPanel: HTMLElement): Inspection {
  const context = new InspectContext(deps, parseInspectState(saved));
  const tabs = panelTabs();
  const activations = new ActivationsView(context);
  const filters = new FiltersView(context);
  const summary = new SummaryView(context);
  registerTab({ id: 'gradcam', label: 'Grad-CAM', panel: gradcamPanel, order: 10 });
  registerTab({ id: 'activations', label: 'Activations', panel: activations.element, order: 20, onShow: () => activations.show() });
  registerTab({ id: 'filters', label: 'Filters', panel: filters.element, order: 30, onShow: () => filters.show() });
  registerTab({ id: 'model', label: 'Model', panel: summary.element, order: 40, onShow: () => summary.show() });
  // Show the saved tab before listening: restoring is not a change to report to the host (it would
  // overwrite a tab a command asked for while this page was loading).
  tabs.show(context.state.tab);
  tabs.onDidChange((id) => context.update({ tab: id }));

  const views: Record<string, { refresh(invalidated?: boolean): void }> = { activations, filters, model: summary };
  return {
    context,
    show(state) {
      // The host's copy is the freshest: every change is sent to it at once, while a browser
      // (code-server) may restore a page state saved some time before the reload.
      context.update({ ...state });
      if (tabs.active === state.tab) {
        views[state.tab]?.refresh();
      } else {
        tabs.show(state.tab);
      }
    },
    invalidate() {
      context.forgetModel();
      const active = tabs.active;
      if (active && views[active]) {
        views[active].refresh(true);
      }
      if (active !== 'activations') {
        activations.closeDetail(); // a channel of the previous image or model
      }
    },
    sharedLayer(layers) {
      // Recorded (and echoed, so the host's copy ends as the page's): a view loads its layer when it
      // is shown; the active one is the tab that picked it.
      const patch: Partial<InspectViewState> = { ...layers };
      if (layers.filterLayer !== context.state.filterLayer) {
        patch.filterMode = undefined; // the new layer's own default (RGB only where it has 3 inputs)
      }
      context.update(patch);
    },
  };
}
