// A guard against one of ONNX Runtime's graph optimisations, applied to every graph the native
// engine runs (nativeModel.ts) and to nothing else.
//
// ONNX Runtime's PadFusion folds a zero constant Pad into the MaxPool that reads it (as MaxPool's
// own pads). But MaxPool's padding never wins a max, while a padded 0 beats a window of negative
// values: the fused graph computes other values than the model wherever a border window is all
// negative (a PyTorch F.pad or a Keras ZeroPadding2D before a max pool: 2.7e-3 on a test model,
// a different score on a hand-built one). The fusion only takes a pad value whose bytes are all
// zero, so such Pads pad with −0 instead, which equals 0 in every comparison and sum.
import type { ModelProto, NodeProto, TensorProto } from '../models/onnx/onnxProto';
import { ONNX_DTYPE } from '../models/onnx/onnxProto';
import { initializerValues } from '../models/onnx/tensors';

const NEGATIVE_ZERO = 'cnnlens/negative_zero';

/** The model with each zero constant Pad that feeds a MaxPool padding with −0; the model itself when none does. */
export function withPadsKeptBeforeMaxPools(proto: ModelProto): ModelProto {
  const graph = proto.graph;
  if (!graph) return proto;
  const pooled = new Set(graph.node.filter((n) => n.opType === 'MaxPool').map((n) => n.input[0]));
  const constants = new Map<string, TensorProto>(graph.initializer.map((t) => [t.name ?? '', t]));
  for (const node of graph.node) {
    const value = node.attribute.find((a) => a.name === 'value')?.t;
    if (node.opType === 'Constant' && value) constants.set(node.output[0], value);
  }
  const padsWithZero = (name: string | undefined): boolean => {
    if (!name) return true; // an absent constant_value pads with 0
    const tensor = constants.get(name);
    if (!tensor) return false; // computed at run time: never fused
    const values = initializerValues(tensor);
    return values !== undefined && values.length === 1 && Object.is(values[0], 0);
  };
  let rewritten = false;
  const nodes: NodeProto[] = graph.node.map((node) => {
    const mode = node.attribute.find((a) => a.name === 'mode')?.s;
    const constantMode = mode === undefined || mode.length === 0 || new TextDecoder().decode(mode) === 'constant';
    if (node.opType !== 'Pad' || !constantMode || !pooled.has(node.output[0]) || !padsWithZero(node.input[2])) return node;
    rewritten = true;
    return { ...node, input: [node.input[0], node.input[1], NEGATIVE_ZERO] };
  });
  if (!rewritten) return proto;
  const negativeZero: TensorProto = { name: NEGATIVE_ZERO, dims: [], dataType: ONNX_DTYPE.FLOAT, floatData: [-0], int32Data: [], int64Data: [], doubleData: [], externalData: [] };
  return { ...proto, graph: { ...graph, node: nodes, initializer: [...graph.initializer, negativeZero] } };
}
