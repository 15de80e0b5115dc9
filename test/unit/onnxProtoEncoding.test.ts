// Encoding a derived graph with its model's weights encoded once (onnxProto.ts
// encodeModelWithInitializers, used for every graph the native engine builds): the bytes must
// decode to the model with both initializer lists, in order, values bit for bit.
import { strict as assert } from 'assert';
import { decodeModelProto, encodeInitializers, encodeModelWithInitializers, type ModelProto, type TensorProto } from '../../src/engine/models/onnx/onnxProto';

const tensor = (name: string, dims: number[], floatData: number[]): TensorProto => ({ name, dims, dataType: 1, floatData, int32Data: [], int64Data: [], doubleData: [], externalData: [] });

describe('ONNX encoding with initializers encoded once', () => {
  it('decodes to the graph with its own initializers, then the shared ones, and every other field', () => {
    const shared = [tensor('W', [2, 3], [1.5, -2, 3.25, 0, -0, 1e-30]), tensor('B', [2], [0.5, -0.5]), { ...tensor('raw', [2], []), rawData: new Uint8Array(new Float32Array([7, -8]).buffer) }];
    const model: ModelProto = {
      irVersion: 8,
      opsetImport: [{ domain: '', version: 16 }],
      producerName: 'cnn-lens',
      graph: {
        name: 'derived',
        node: [{ opType: 'Gemm', input: ['x', 'W', 'B'], output: ['y'], name: 'fc', attribute: [] }],
        initializer: [tensor('seed', [1], [42])],
        input: [{ name: 'x' }],
        output: [{ name: 'y' }],
        valueInfo: [],
      },
    };
    const decoded = decodeModelProto(encodeModelWithInitializers(model, encodeInitializers(shared)));
    assert.equal(decoded.irVersion, 8);
    assert.equal(decoded.producerName, 'cnn-lens');
    assert.deepEqual(decoded.opsetImport.map((o) => o.version), [16]);
    assert.equal(decoded.graph?.name, 'derived');
    assert.deepEqual(decoded.graph?.node.map((n) => [n.opType, n.input, n.output]), [['Gemm', ['x', 'W', 'B'], ['y']]]);
    assert.deepEqual(decoded.graph?.input.map((i) => i.name), ['x']);
    assert.deepEqual(decoded.graph?.output.map((o) => o.name), ['y']);
    assert.deepEqual(decoded.graph?.initializer.map((t) => t.name), ['seed', 'W', 'B', 'raw']);
    const w = decoded.graph?.initializer[1];
    assert.deepEqual(w?.dims, [2, 3]);
    assert.deepEqual(Array.from(new Float32Array(w?.floatData ?? [])), Array.from(new Float32Array([1.5, -2, 3.25, 0, -0, 1e-30])));
    assert.ok(Object.is(w?.floatData[4], -0), 'the sign of −0 survives');
    assert.deepEqual(Array.from(new Float32Array(Uint8Array.from(decoded.graph?.initializer[3].rawData ?? []).buffer)), [7, -8]);
  });

  it('a model without a graph of its own still gets the shared initializers', () => {
    const decoded = decodeModelProto(encodeModelWithInitializers({ opsetImport: [{ domain: '', version: 13 }] }, encodeInitializers([tensor('W', [1], [3])])));
    assert.deepEqual(decoded.graph?.initializer.map((t) => [t.name, t.floatData]), [['W', [3]]]);
  });
});
