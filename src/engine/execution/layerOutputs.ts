// Every layer's output for one image, sized from the shapes tfjs wired (symbolic: nothing runs), so
// a model whose activations cannot fit (a 4096² input through 512 filters) is refused when it is
// loaded rather than when the first image allocates gigabytes.
import { checkTensorSize } from '../limits';
import * as tf from '../tf';

interface WiredLayer {
  readonly name: string;
  readonly inboundNodes: readonly { readonly outputTensors: readonly { readonly shape: readonly (number | null)[] }[] }[];
}

/** Refuses a layer (nested models' layers included) whose output for one image exceeds MAX_TENSOR_ELEMENTS. */
export function checkLayerOutputs(model: tf.LayersModel, where: string, prefix = ''): void {
  for (const layer of model.layers) {
    // Every call of the layer (a shared layer has several), not outputShape, which throws for those.
    for (const node of (layer as unknown as WiredLayer).inboundNodes) {
      for (const output of node.outputTensors) {
        checkTensorSize(output.shape.map((d) => d ?? 1), `${where}: layer "${prefix}${layer.name}"'s output for one image`);
      }
    }
    if (layer instanceof tf.LayersModel) {
      checkLayerOutputs(layer, where, `${prefix}${layer.name}/`);
    }
  }
}
