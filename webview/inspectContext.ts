// The context every inspection view (Activations, Filters, Model) is given: the shared tab state,
// the model info fetched once per model and image, requests to the host and navigation between tabs.
// Its own file so the views and inspect.ts (which creates them) do not import each other.
import type { ReplyOf } from '../src/shared/messaging';
import type { InspectModelInfo, InspectModelRequest, InspectRequest, InspectViewState } from '../src/shared/inspectPanel';
import type { RgbaImage } from '../src/shared/types';
import { panelTabs } from './tabs';

export interface InspectDeps {
  request<M extends InspectRequest>(message: M, signal?: AbortSignal): Promise<ReplyOf<M>>;
  /** Tell the host the state changed (it keeps a copy) and save it with the page state. */
  saveState(state: InspectViewState): void;
  /** The user picked a layer on this tab: the host applies it to the others. */
  pickLayer(tab: 'activations' | 'filters', layer: string): void;
  /** The panel's image at display size (from the Grad-CAM result), for the channel overlay. */
  image(): RgbaImage | undefined;
}

/** What every view gets: the state, the model info (fetched once per model/image) and navigation. */
export class InspectContext {
  private info: Promise<InspectModelInfo> | undefined;
  private current: InspectViewState;

  constructor(
    private readonly deps: InspectDeps,
    saved: InspectViewState,
  ) {
    this.current = saved;
  }

  get state(): InspectViewState {
    return this.current;
  }

  update(patch: Partial<InspectViewState>): void {
    this.current = { ...this.current, ...patch };
    this.deps.saveState(this.current);
  }

  /** The user picked `layer` on a tab (its picker, a Model-tab row): recorded, and shared by the host. */
  pickLayer(tab: 'activations' | 'filters', layer: string): void {
    this.update(tab === 'activations' ? { activationLayer: layer } : { filterLayer: layer, filterMode: undefined });
    this.deps.pickLayer(tab, layer);
  }

  request<M extends InspectRequest>(message: M, signal?: AbortSignal): Promise<ReplyOf<M>> {
    return this.deps.request(message, signal);
  }

  model(): Promise<InspectModelInfo> {
    if (!this.info) {
      const pending = this.deps.request<InspectModelRequest>({ type: 'inspectModel' });
      pending.catch(() => {
        if (this.info === pending) {
          this.info = undefined; // ask again next time (the user may fix the model)
        }
      });
      this.info = pending;
    }
    return this.info as Promise<InspectModelInfo>;
  }

  image(): RgbaImage | undefined {
    return this.deps.image();
  }

  /** Opens a tab at a layer (the Model table's rows). */
  open(tab: 'activations' | 'filters', layer: string): void {
    this.pickLayer(tab, layer);
    panelTabs().show(tab);
  }

  forgetModel(): void {
    this.info = undefined;
  }
}
