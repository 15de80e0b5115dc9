// Refusals of graph models and ONNX files with ops CNN Lens does not run: one line naming the file,
// each distinct op once with its count and first node, most frequent first (a detector's sixteen
// slices do not hide its other missing ops), names from the file made safe for one line.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../../src/engine/backend';
import * as tf from '../../src/engine/tf';
import { loadModel } from '../../src/engine/index';
import { LensError } from '../../src/shared/errors';
import { describeUnsupportedOps } from '../../src/engine/execution/nodeGraph';
import { encode, node } from './fixtures/onnxGraph';
import { writeGraphModel, type GraphNodeSpec } from './fixtures/graphModel';

async function refusal(file: string): Promise<LensError> {
  const before = tf.memory().numTensors;
  const error = await loadModel(file).then(
    (m) => {
      m.dispose();
      return assert.fail(`${file} loaded`);
    },
    (e: unknown) => e,
  );
  assert.ok(error instanceof LensError, String(error));
  assert.strictEqual(error.code, 'unsupported');
  assert.strictEqual(tf.memory().numTensors, before, 'a refused model leaves no tensor behind');
  assert.ok(error.message.startsWith(`${file}: `), `names the file first: ${error.message}`);
  assert.ok(!/[\n\r]/.test(error.message), `one line: ${JSON.stringify(error.message)}`);
  return error;
}

/** The part of a refusal between "cannot run … op(s) " and ". Supported:". */
function listed(message: string): string {
  const match = /cannot run (?:graph ops?|ONNX operators?) (.*)\. Supported: /.exec(message);
  assert.ok(match, message);
  return match[1] as string;
}

describe('refusals of unsupported ops', () => {
  let folder: string;
  before(async () => {
    await initBackend('cpu');
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-unsupported-'));
  });
  after(() => fs.rmSync(folder, { recursive: true, force: true }));

  it('a graph model: each missing op once, with its count and first node, most frequent first', async () => {
    const chain = (op: string, prefix: string, count: number, from: string): GraphNodeSpec[] =>
      Array.from({ length: count }, (_, i) => ({ name: `${prefix}_${i}`, op, input: [i === 0 ? from : `${prefix}_${i - 1}`] }));
    const nodes = [
      ...chain('NonMaxSuppressionV5', 'detector/nms', 3, 'input'),
      { name: 'detector/relu', op: 'Relu', input: ['detector/nms_2'] },
      ...chain('TopKV2', 'detector/top_k', 16, 'detector/relu'),
      { name: 'detector/selu', op: 'Selu', input: ['detector/top_k_15'] },
    ];
    const file = writeGraphModel(path.join(folder, 'detector'), { hwc: [8, 8, 3], consts: {}, nodes });
    const error = await refusal(file);
    assert.strictEqual(
      listed(error.message),
      'TopKV2 ×16 (first: "detector/top_k_0"), NonMaxSuppressionV5 ×3 (first: "detector/nms_0"), Selu (node "detector/selu")',
    );
    assert.match(error.message, /cannot run graph ops TopKV2/);
    assert.match(error.message, /Supported: .*StridedSlice/);
  });

  it('a graph model: op names that are Object properties ("toString", "constructor") are unsupported ops, not crashes', async () => {
    const file = writeGraphModel(path.join(folder, 'proto'), {
      hwc: [8, 8, 3],
      consts: {},
      nodes: [
        { name: 'a', op: 'toString', input: ['input'] },
        { name: 'b', op: 'constructor', input: ['a'] },
      ],
    });
    const error = await refusal(file);
    assert.strictEqual(listed(error.message), 'toString (node "a"), constructor (node "b")');
  });

  it('an ONNX file: the same list, domains named, unnamed nodes by type and position', async () => {
    const file = path.join(folder, 'detector.onnx');
    fs.writeFileSync(
      file,
      encode({
        inputs: [{ name: 'x', dims: [1, 3, 8, 8] }],
        outputs: [{ name: 'y', dims: [1, 3] }],
        nodes: [
          node('TopK', ['x'], ['t0'], ''),
          node('Relu', ['t0'], ['r'], '/relu'),
          node('NonMaxSuppression', ['r'], ['n0'], '/nms/a'),
          node('TopK', ['n0'], ['t1'], '/topk/b'),
          node('NonMaxSuppression', ['t1'], ['n1'], '/nms/b'),
          node('TopK', ['n1'], ['t2'], '/topk/c'),
          { ...node('Foo', ['t2'], ['y'], '/custom'), domain: 'com.example' },
        ],
      }),
    );
    const error = await refusal(file);
    assert.strictEqual(listed(error.message), 'TopK ×3 (first: "TopK_0"), NonMaxSuppression ×2 (first: "/nms/a"), com.example.Foo (node "/custom")');
    assert.match(error.message, /cannot run ONNX operators TopK/);
  });

  it('many op types: the first twelve listed, the rest counted; names made safe for one line', () => {
    const nodes = Array.from({ length: 15 }, (_, i) => ({ opType: `Op${String.fromCharCode(65 + i)}`, name: `n${i}` }));
    nodes.push({ opType: 'OpO', name: 'again' }, { opType: 'OpA', name: 'again' });
    const text = describeUnsupportedOps(nodes);
    assert.ok(text.startsWith('OpA ×2 (first: "n0"), OpO ×2 (first: "n14"), OpB (node "n1"), '), text);
    assert.ok(text.endsWith(', and 3 more op types (3 nodes)'), text);
    assert.strictEqual(text.split(', ').length, 13);
    const hostile = describeUnsupportedOps([{ opType: 'Evil\nOp', name: `${'x'.repeat(500)}/line\nbreak"quote` }]);
    assert.ok(!/[\n\r]/.test(hostile), hostile);
    assert.ok(hostile.length < 140, `shortened: ${hostile}`);
    assert.ok(hostile.endsWith('/line break\\"quote")'), hostile);
    assert.ok(hostile.startsWith('Evil Op (node "…'), hostile);
  });
});
