// The weights tfjs-layers creates while it builds a model from a topology, checked against the
// weights the file holds before each is allocated. tfjs sizes a layer's variables from the topology
// (filters, units, the shape flowing in), so a crafted topology (huge filters, a Dense after a
// 20000² input) would allocate gigabytes before the weights are compared. Every variable passes
// through Layer.addWeight with its shape first: there it must match what the file declares for that
// weight, by name (model.json, Keras 2 .h5) or among the layer's arrays (Keras 3 .keras); a weight
// the file does not name may still be built, up to the values the whole file holds, so tfjs can go
// on to report which weights are missing exactly as before.
import { AsyncLocalStorage } from 'async_hooks';
import { LensError } from '../../shared/errors';
import { count, elementCount } from '../limits';
import * as tf from '../tf';

/** What a model file declares about its weights, read before the model is built. */
export interface DeclaredWeights {
  /** The model file, for messages. */
  readonly file: string;
  /** Where the weights are, for messages: "the weights manifest", "model.weights.h5". */
  readonly source: string;
  /** Values all its weights hold together. */
  readonly totalValues: number;
  /**
   * The shapes the file holds for a layer's weight: under `key` (a weight name, or a layer whose
   * arrays are matched by shape), or undefined when it names nothing for it.
   */
  shapesFor(layer: string, weight: string): { key: string; shapes: number[][] } | undefined;
}

class WeightCheck {
  /** Shapes not yet taken, per key (a layer's arrays are each matched once). */
  private readonly remaining = new Map<string, number[][]>();
  private unnamedValues = 0;

  constructor(private readonly declared: DeclaredWeights) {}

  check(layer: string, weight: string, shape: readonly number[]): void {
    const { file, source, totalValues } = this.declared;
    const values = elementCount(shape);
    const named = this.declared.shapesFor(layer, weight);
    if (named) {
      const shapes = this.remaining.get(named.key) ?? named.shapes.map((s) => [...s]);
      this.remaining.set(named.key, shapes);
      const at = shapes.findIndex((s) => s.length === shape.length && s.every((d, i) => d === shape[i]));
      if (at >= 0) {
        shapes.splice(at, 1);
        return;
      }
      const held = named.shapes.map((s) => `[${s.join(', ')}]`).join(', ');
      throw new LensError(
        `${file}: layer "${layer}" needs weight "${weight}" of shape [${shape.join(', ')}] but ${source} has ${held} for it; the weights do not belong to this model.`,
        'bad-input',
      );
    }
    this.unnamedValues += values;
    if (!(this.unnamedValues <= totalValues)) {
      throw new LensError(
        `${file}: layer "${layer}" needs weight "${weight}" of shape [${shape.join(', ')}] (${count(values)} values), which ${source} does not have ` +
          `(it holds ${count(totalValues)} values in all); the model's topology and its weights do not match.`,
        'bad-input',
      );
    }
  }
}

const activeCheck = new AsyncLocalStorage<WeightCheck>();
let installed = false;

/** Wraps Layer.addWeight once; it checks only inside buildWithDeclaredWeights (other builds run as is). */
function install(): void {
  if (installed) return;
  installed = true;
  const prototype = tf.layers.Layer.prototype as unknown as { addWeight: (this: tf.layers.Layer, name: string, shape: number[], ...rest: unknown[]) => unknown };
  const addWeight = prototype.addWeight;
  prototype.addWeight = function (name, shape, ...rest) {
    activeCheck.getStore()?.check(this.name, name, shape);
    return addWeight.call(this, name, shape, ...rest);
  };
}

/** Runs a tfjs model build with every weight it creates checked against `declared` first. */
export function buildWithDeclaredWeights<T>(declared: DeclaredWeights, build: () => Promise<T>): Promise<T> {
  install();
  return activeCheck.run(new WeightCheck(declared), build);
}
