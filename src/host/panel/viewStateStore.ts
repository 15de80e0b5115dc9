// A panel's view state and where it is kept. The host owns the truth (files, class, layer, method,
// colormap, opacity; the inspection tabs' tab, layers and toggles); every change is also written to
// the workspace's memento, the fallback when a window reload brings back a webview without its own
// saved state (a browser may reload before the workbench stored it). The output chosen for a model
// with several is remembered per model. No vscode: a Memento is anything with get and update.
import { parseInspectState, type InspectViewState } from '../../shared/inspectPanel';
import { parseViewState, type PanelModelInfo, type PanelViewState } from '../../shared/panel';
import { chosenOutput, recallOutput, rememberOutput, type OutputMemory } from './panelState';

/** The part of vscode.Memento the store uses. */
export interface StateMemento {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): PromiseLike<void>;
}

export const LAST_STATE_KEY = 'cnnLens.lastPanelState';
/** The inspection tabs' state (open tab, layers, toggles): the host's copy, as LAST_STATE_KEY. */
export const LAST_INSPECT_KEY = 'cnnLens.lastInspectState';
/** The output chosen for each model with several (panelState.ts OutputMemory). */
export const OUTPUT_MEMORY_KEY = 'cnnLens.outputByModel';

/** A restored panel's state and where it came from. */
export interface RestoredState {
  state: PanelViewState;
  /** True when the webview brought none and the host's copy was used. */
  fromHostCopy: boolean;
}

export class ViewStateStore {
  private current: PanelViewState;
  private inspectState: InspectViewState;

  constructor(
    private readonly memento: StateMemento,
    initial: PanelViewState,
    /** Runs after every change of the view state (the Compare view marks its result stale). */
    private readonly changed: () => void = () => undefined,
  ) {
    this.current = initial;
    void memento.update(LAST_STATE_KEY, initial);
    this.inspectState = parseInspectState(memento.get(LAST_INSPECT_KEY));
  }

  /**
   * The state a panel restored after a window reload shows: the webview's own, else the host's copy
   * of the last panel's; undefined when neither names an image and a model.
   */
  static restore(saved: unknown, memento: StateMemento, defaults: Partial<PanelViewState>): RestoredState | undefined {
    const own = parseViewState(saved, defaults);
    if (own) {
      return { state: own, fromHostCopy: false };
    }
    const copy = parseViewState(memento.get(LAST_STATE_KEY), defaults);
    return copy ? { state: copy, fromHostCopy: true } : undefined;
  }

  get state(): PanelViewState {
    return this.current;
  }

  set state(next: PanelViewState) {
    this.current = next;
    void this.memento.update(LAST_STATE_KEY, next);
    this.changed();
  }

  /** Changes some fields of the view state. */
  update(change: Partial<PanelViewState>): PanelViewState {
    this.state = { ...this.current, ...change };
    return this.current;
  }

  get inspect(): InspectViewState {
    return this.inspectState;
  }

  set inspect(next: InspectViewState) {
    this.inspectState = next;
    void this.memento.update(LAST_INSPECT_KEY, next);
  }

  /** The output remembered for the current model, if it still has it (undefined: its default). */
  recallOutput(model: PanelModelInfo): number | undefined {
    return recallOutput(this.memento.get(OUTPUT_MEMORY_KEY), this.current.modelPath, model);
  }

  /** Remembers the output chosen for the current model, when it is one the model has. */
  rememberOutput(index: number, model: PanelModelInfo | undefined): void {
    const choice = model ? chosenOutput({ ...this.current, output: index }, model) : undefined;
    if (!choice || choice.index !== index) {
      return;
    }
    const memory = this.memento.get<OutputMemory>(OUTPUT_MEMORY_KEY);
    void this.memento.update(OUTPUT_MEMORY_KEY, rememberOutput(memory, this.current.modelPath, choice));
  }
}
