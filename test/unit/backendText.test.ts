// How the backend is told to people (src/shared/backendText.ts): the CLI's "Backend:" line and
// the panel's status must not read as an error when only the optional tfjs-node is missing.
import { strict as assert } from 'assert';
import { backendForModel, backendLine, detailForModel, splitBackendDetail } from '../../src/shared/backendText';

const MISSING_NODE = "wasm (SIMD, 1 thread) (skipped: node: @tensorflow/tfjs-node is not installed (Cannot find module '@tensorflow/tfjs-node'))";

describe('backend text', () => {
  it('splits what runs from what was skipped, with each reason', () => {
    assert.deepEqual(splitBackendDetail(MISSING_NODE), {
      running: 'wasm (SIMD, 1 thread)',
      skipped: ["node: @tensorflow/tfjs-node is not installed (Cannot find module '@tensorflow/tfjs-node')"],
    });
    assert.deepEqual(splitBackendDetail('node (tfjs-node, native libtensorflow)'), { running: 'node (tfjs-node, native libtensorflow)', skipped: [] });
  });

  it('a missing tfjs-node is a short note; a backend that failed says why; --verbose gives it all', () => {
    assert.equal(backendLine(MISSING_NODE), 'wasm (SIMD, 1 thread); the optional native backend, @tensorflow/tfjs-node, is not installed');
    assert.doesNotMatch(backendLine(MISSING_NODE), /Cannot find module|skipped/);
    assert.equal(
      backendLine('cpu (pure JavaScript, slow) (skipped: node: @tensorflow/tfjs-node is not installed (x); wasm: initialisation failed)'),
      'cpu (pure JavaScript, slow); the optional native backend, @tensorflow/tfjs-node, is not installed; wasm failed: initialisation failed',
    );
    assert.equal(backendLine(MISSING_NODE, true), MISSING_NODE);
    assert.equal(backendLine('wasm (SIMD, 1 thread)'), 'wasm (SIMD, 1 thread)');
  });

  it('with ONNX Runtime on, ONNX, PyTorch, Keras and TF.js layers and graph models name it and layer views the tfjs backend', () => {
    const report = {
      backend: 'onnxruntime',
      tfjs: 'wasm',
      detail: "onnxruntime 1.31.1 (cpu, 2 threads) for ONNX, PyTorch, Keras and TF.js models; wasm (SIMD, 1 thread) for the rest (skipped: node: @tensorflow/tfjs-node is not installed (Cannot find module '@tensorflow/tfjs-node'))",
    };
    assert.deepEqual(backendForModel(report, 'onnx'), { backend: 'onnxruntime', detail: 'onnxruntime 1.31.1 (cpu, 2 threads)' });
    assert.deepEqual(backendForModel(report, 'pytorch'), { backend: 'onnxruntime', detail: 'onnxruntime 1.31.1 (cpu, 2 threads)' });
    assert.deepEqual(backendForModel(report, 'layers-model'), { backend: 'onnxruntime', detail: 'onnxruntime 1.31.1 (cpu, 2 threads)' });
    assert.deepEqual(backendForModel(report, 'keras-h5'), { backend: 'onnxruntime', detail: 'onnxruntime 1.31.1 (cpu, 2 threads)' });
    assert.deepEqual(backendForModel(report, 'graph-model'), { backend: 'onnxruntime', detail: 'onnxruntime 1.31.1 (cpu, 2 threads)' });
    assert.deepEqual(backendForModel(report, 'graph-model', true), { backend: 'wasm', detail: 'wasm (SIMD, 1 thread)' });
    assert.deepEqual(backendForModel(report, 'onnx', true), { backend: 'wasm', detail: 'wasm (SIMD, 1 thread)' });
    assert.equal(backendLine(detailForModel(report, 'graph-model', true)), 'wasm (SIMD, 1 thread); the optional native backend, @tensorflow/tfjs-node, is not installed');
    assert.equal(backendLine(detailForModel(report, 'onnx')), 'onnxruntime 1.31.1 (cpu, 2 threads); the optional native backend, @tensorflow/tfjs-node, is not installed');
    // Without ONNX Runtime nothing changes, and its absence is a short note.
    assert.deepEqual(backendForModel({ backend: 'wasm', detail: MISSING_NODE }, 'onnx'), { backend: 'wasm', detail: 'wasm (SIMD, 1 thread)' });
    assert.equal(
      backendLine('wasm (SIMD, 1 thread) (skipped: onnxruntime: onnxruntime-node is not installed or does not load here (Cannot find module))'),
      'wasm (SIMD, 1 thread); the optional native engine, onnxruntime-node, is not installed for this platform',
    );
  });
});
