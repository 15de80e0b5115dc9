// The ONNX protobuf schema CNN Lens reads, decoded with protobufjs (light build: the schema is
// given as JSON below, so no .proto parser ships). Field names and numbers are those of
// onnx/onnx.proto (ONNX 1.13+, IR version 8; unchanged for the fields kept here since IR 3), cut
// down to what a classifier exported by torch.onnx.export uses: the graph, its nodes and
// attributes, tensors (initializers, Constant values) and the value infos that give input shapes.
// Fields not listed (training info, functions, sparse tensors, type protos) are skipped by the
// decoder as unknown fields.
import * as protobuf from 'protobufjs/light';

const SCHEMA = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
            producerName: { type: 'string', id: 2 },
            producerVersion: { type: 'string', id: 3 },
            domain: { type: 'string', id: 4 },
            modelVersion: { type: 'int64', id: 5 },
            docString: { type: 'string', id: 6 },
            graph: { type: 'GraphProto', id: 7 },
          },
        },
        OperatorSetIdProto: {
          fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } },
        },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            docString: { type: 'string', id: 10 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
            valueInfo: { rule: 'repeated', type: 'ValueInfoProto', id: 13 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            domain: { type: 'string', id: 7 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
            docString: { type: 'string', id: 6 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            refAttrName: { type: 'string', id: 21 },
            docString: { type: 'string', id: 13 },
            type: { type: 'AttributeType', id: 20 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            t: { type: 'TensorProto', id: 5 },
            g: { type: 'GraphProto', id: 6 },
            floats: { rule: 'repeated', type: 'float', id: 7 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
            strings: { rule: 'repeated', type: 'bytes', id: 9 },
            tensors: { rule: 'repeated', type: 'TensorProto', id: 10 },
            graphs: { rule: 'repeated', type: 'GraphProto', id: 11 },
          },
          nested: {
            AttributeType: {
              values: {
                UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, SPARSE_TENSOR: 11, TYPE_PROTO: 13,
                FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10, SPARSE_TENSORS: 12, TYPE_PROTOS: 14,
              },
            },
          },
        },
        ValueInfoProto: {
          fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 }, docString: { type: 'string', id: 3 } },
        },
        TypeProto: {
          fields: { tensorType: { type: 'Tensor', id: 1 }, denotation: { type: 'string', id: 6 } },
          nested: {
            Tensor: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
          },
        },
        TensorShapeProto: {
          fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } },
          nested: {
            Dimension: {
              fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 }, denotation: { type: 'string', id: 3 } },
            },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            floatData: { rule: 'repeated', type: 'float', id: 4, options: { packed: true } },
            int32Data: { rule: 'repeated', type: 'int32', id: 5, options: { packed: true } },
            int64Data: { rule: 'repeated', type: 'int64', id: 7, options: { packed: true } },
            name: { type: 'string', id: 8 },
            docString: { type: 'string', id: 12 },
            rawData: { type: 'bytes', id: 9 },
            externalData: { rule: 'repeated', type: 'StringStringEntryProto', id: 13 },
            dataLocation: { type: 'int32', id: 14 },
            doubleData: { rule: 'repeated', type: 'double', id: 10, options: { packed: true } },
          },
        },
        StringStringEntryProto: {
          fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } },
        },
      },
    },
  },
};

/** TensorProto.DataType values CNN Lens converts. */
export const ONNX_DTYPE = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;
export const ATTRIBUTE_TYPE = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

// Plain-object views of the decoded messages (toObject with longs as numbers).
export interface TensorProto {
  dims: number[];
  dataType?: number;
  floatData: number[];
  int32Data: number[];
  int64Data: number[];
  doubleData: number[];
  name?: string;
  rawData?: Uint8Array;
  externalData: { key: string; value: string }[];
  dataLocation?: number;
}
export interface AttributeProto {
  name: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats: number[];
  ints: number[];
  strings: Uint8Array[];
  graphs: GraphProto[];
}
export interface NodeProto {
  input: string[];
  output: string[];
  name?: string;
  opType: string;
  domain?: string;
  attribute: AttributeProto[];
}
export interface ValueInfoProto {
  name: string;
  type?: { tensorType?: { elemType?: number; shape?: { dim: { dimValue?: number; dimParam?: string }[] } } };
}
export interface GraphProto {
  node: NodeProto[];
  name?: string;
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  valueInfo: ValueInfoProto[];
}
export interface ModelProto {
  irVersion?: number;
  opsetImport: { domain?: string; version?: number }[];
  producerName?: string;
  producerVersion?: string;
  graph?: GraphProto;
}

let modelType: protobuf.Type | undefined;

export function modelProtoType(): protobuf.Type {
  modelType ??= protobuf.Root.fromJSON(SCHEMA).lookupType('onnx.ModelProto');
  return modelType;
}

/** Decodes ModelProto bytes; throws protobufjs's error on malformed or truncated input. */
export function decodeModelProto(bytes: Uint8Array): ModelProto {
  const type = modelProtoType();
  const message = type.decode(bytes);
  return type.toObject(message, { longs: Number, enums: Number, arrays: true }) as unknown as ModelProto;
}

/** Encodes a ModelProto given as a plain object (tests build small graphs with it). */
export function encodeModelProto(model: ModelProto | Record<string, unknown>): Uint8Array {
  const type = modelProtoType();
  return type.encode(type.fromObject(model as Record<string, unknown>)).finish();
}

/** GraphProto's field number of `initializer` and ModelProto's of `graph` (onnx.proto3). */
const GRAPH_INITIALIZER_FIELD = 5;
const MODEL_GRAPH_FIELD = 7;

/**
 * Initializers encoded once, as GraphProto's repeated `initializer` entries, for
 * encodeModelWithInitializers: a model's weights are most of its bytes and of the time
 * protobufjs spends encoding it (0.1-0.4 s for a 224² ResNet-18), and every graph the native
 * engine derives from a model shares them.
 */
export function encodeInitializers(tensors: readonly TensorProto[]): Uint8Array {
  const graphType = modelProtoType().lookupType('onnx.GraphProto');
  const bytes = graphType.encode(graphType.fromObject({ initializer: tensors })).finish();
  // Only the initializer field is set: the bytes are its entries, nothing else.
  if (bytes.length > 0 && bytes[0] !== ((GRAPH_INITIALIZER_FIELD << 3) | 2)) throw new Error('encodeInitializers: unexpected field in the encoded graph');
  return bytes;
}

/**
 * Encodes a model whose graph gets `initializers` (from encodeInitializers) besides its own: the
 * same bytes a parser reads as one graph with both lists, since protobuf lets a repeated field's
 * entries come in several runs and the fields of a message in any order.
 */
export function encodeModelWithInitializers(model: ModelProto, initializers: Uint8Array): Uint8Array {
  const type = modelProtoType();
  const graphType = type.lookupType('onnx.GraphProto');
  const { graph, ...rest } = model;
  const head = type.encode(type.fromObject(rest as Record<string, unknown>)).finish();
  const ownGraph = graph ? graphType.encode(graphType.fromObject(graph as unknown as Record<string, unknown>)).finish() : new Uint8Array(0);
  const graphLength = ownGraph.length + initializers.length;
  const writer = protobuf.Writer.create();
  writer.uint32((MODEL_GRAPH_FIELD << 3) | 2).uint32(graphLength);
  const tag = writer.finish();
  const out = new Uint8Array(head.length + tag.length + graphLength);
  out.set(head, 0);
  out.set(tag, head.length);
  out.set(ownGraph, head.length + tag.length);
  out.set(initializers, head.length + tag.length + ownGraph.length);
  return out;
}
