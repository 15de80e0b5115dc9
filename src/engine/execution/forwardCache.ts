// The forward pass a layer map starts from, kept for the next request. In the panel most clicks
// change only the class (or, in a comparison, only the method) while the model, image and layer
// stay: the activations and predictions are then the same, so the request costs one backward pass
// from the layer instead of a forward pass through the whole network and that backward pass.
// Colormap and opacity never reach the engine (the panel's page repaints from the 8-bit map it has).
//
// Entries are keyed by object identity: a reloaded model is a new object and a changed image is
// decoded into a new one, so a stale entry can never match. The model is the explained output's
// (outputs.ts: one view per output of a multi-head model), and the entry records that output too:
// a pass's scores are that output's, so another output never reuses them. Requests may overlap (a worker yields
// between stages), so an entry in use is only freed when its last user releases it.
import { disposeCutState, forwardToCut, headOf, type CutPlan, type CutState } from './graph';
import { baseOf } from '../models/outputs';
import type * as tf from '../tf';

/** A cut state lent to one request; call release() when done (the state must not be used after). */
export interface CutLease {
  readonly state: CutState;
  /** True when the forward pass was not run for this request. */
  readonly reused: boolean;
  release(): void;
}

interface Entry {
  readonly model: tf.LayersModel;
  /** The output whose scores the state holds (index in the loaded model's outputs). */
  readonly output: number;
  readonly image: object;
  readonly cutKey: string;
  readonly state: CutState;
  users: number;
  evicted: boolean;
}

export class ForwardCache {
  private entries: Entry[] = [];

  /**
   * @param capacity Cut states kept: each holds the layer's activation and the few upstream values
   * the layers after it read, a small fraction of a forward pass's memory. Two cover the panel and
   * a comparison or second panel on another layer.
   */
  constructor(private readonly capacity = 2) {}

  /**
   * The forward pass of `input` (the model's input made from `image`) to the plan's cut: reused
   * when this model, image and layer were run last, else run now and kept.
   */
  acquire(model: tf.LayersModel, image: object, input: tf.Tensor, plan: CutPlan): CutLease {
    const output = headOf(model).output;
    let entry = this.entries.find((e) => e.model === model && e.output === output && e.image === image && e.cutKey === plan.cutKey);
    const reused = entry !== undefined;
    if (entry) {
      // Most recently used last.
      this.entries = [...this.entries.filter((e) => e !== entry), entry];
    } else {
      entry = { model, output, image, cutKey: plan.cutKey, state: forwardToCut(model, input, plan), users: 0, evicted: false };
      this.entries.push(entry);
      while (this.entries.length > this.capacity) {
        this.evict(this.entries[0]);
      }
    }
    const held = entry;
    held.users += 1;
    let released = false;
    return {
      state: held.state,
      reused,
      release: () => {
        if (released) {
          return;
        }
        released = true;
        held.users -= 1;
        if (held.evicted && held.users === 0) {
          disposeCutState(held.state);
        }
      },
    };
  }

  /**
   * The pre-softmax outputs of the model on this image when a kept forward pass has them (any
   * layer): an input-level method (saliency, SmoothGrad...) then needs no forward pass to pick its
   * class and report predictions. A copy; undefined when nothing matches.
   */
  logits(model: tf.LayersModel, image: object): Float32Array | undefined {
    const output = headOf(model).output;
    const entry = this.entries.find((e) => e.model === model && e.output === output && e.image === image);
    if (!entry) {
      return undefined;
    }
    // A small read (one value per class) from a tensor the entry owns until evicted.
    return (entry.state.logits.dataSync() as Float32Array).slice();
  }

  /** Drops every entry of a model, every output's (it is being disposed or reloaded). */
  forgetModel(model: tf.LayersModel): void {
    for (const entry of this.entries.filter((e) => e.model === model || baseOf(e.model) === model)) {
      this.evict(entry);
    }
  }

  /** Drops every entry (the backend changes, or the worker frees memory). */
  clear(): void {
    for (const entry of [...this.entries]) {
      this.evict(entry);
    }
  }

  /** Entries held now (tests, and the worker's memory report). */
  get size(): number {
    return this.entries.length;
  }

  private evict(entry: Entry): void {
    this.entries = this.entries.filter((e) => e !== entry);
    entry.evicted = true;
    if (entry.users === 0) {
      disposeCutState(entry.state);
    }
  }
}
