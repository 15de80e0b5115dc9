// The slice of tfjs-layers internals the graph executor reads (graph.ts) and the batch-norm
// folding rewrites (batchNormFold.ts). They are not public API (tfjs exports no types for them),
// so they are described here once, structurally; a file of its own keeps those two from importing
// each other.
import type * as tf from '../tf';

export type Kwargs = Record<string, unknown>;

export interface ActivationFn {
  apply(x: tf.Tensor, axis?: number): tf.Tensor;
  getClassName(): string;
}

export interface GraphLayer {
  readonly name: string;
  getClassName(): string;
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[];
  activation?: ActivationFn | null;
  readonly inboundNodes: GraphNode[];
}

export interface GraphNode {
  readonly outboundLayer: GraphLayer;
  readonly inputTensors: tf.SymbolicTensor[];
  readonly outputTensors: tf.SymbolicTensor[];
  readonly callArgs?: Kwargs;
}

export interface GraphContainer extends GraphLayer {
  readonly inputs: tf.SymbolicTensor[];
  readonly outputs: tf.SymbolicTensor[];
  readonly nodesByDepth: Record<string, GraphNode[]>;
  readonly containerNodes: Set<string>;
}
