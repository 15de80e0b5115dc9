// How the backend is told to people (src/shared/backendText.ts): the CLI's "Backend:" line and
// the panel's status must not read as an error when only the optional tfjs-node is missing.
import { strict as assert } from 'assert';
import { backendLine, splitBackendDetail } from '../../src/shared/backendText';

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
});
