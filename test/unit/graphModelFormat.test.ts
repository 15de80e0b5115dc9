// A TF.js graph model (test/fixtures/graph-model, written by scripts/fixtures/export_graph_model.py
// from the sample LayersModel in tfjs-converter's layout, with fused ops) against its LayersModel
// twin: same logits, and the same Grad-CAM at the matching layer through the unfused ops, on cpu
// and wasm. Control flow and unknown ops are refused with clear messages.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../../src/engine/backend';
import * as tf from '../../src/engine/tf';
import { explain, loadModel, readImage, type LoadedModel } from '../../src/engine/index';
import { LensError } from '../../src/shared/errors';

const REPO = path.resolve(__dirname, '..', '..');
const TWIN = path.join(REPO, 'samples', 'workspace', 'model', 'model.json');
const GRAPH = path.join(REPO, 'test', 'fixtures', 'graph-model', 'model.json');
const SCOPE = 'StatefulPartitionedCall/fashion_scenes_cnn';
const IMAGES = ['sample.png', 'bag-transparent.png'].map((f) => path.join(REPO, 'samples', 'workspace', 'images', f));

describe('TF.js graph model against its LayersModel twin', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    describe(`on ${backend}`, () => {
      let graph: LoadedModel;
      let twin: LoadedModel;
      let baseline: number;
      before(async () => {
        await initBackend(backend);
        baseline = tf.memory().numTensors;
        graph = await loadModel(GRAPH);
        twin = await loadModel(TWIN);
      });
      after(async () => {
        graph?.dispose();
        twin?.dispose();
        assert.strictEqual(tf.memory().numTensors, baseline, 'disposing the models frees every tensor');
        await initBackend('cpu');
      });

      it('lists the graph\'s nodes as layers, the 4-D ones selectable, with the twin\'s parameters and labels', () => {
        const s = graph.summary;
        assert.strictEqual(s.format, 'graph-model');
        assert.strictEqual(s.defaultCamLayer, `${SCOPE}/conv4/Relu`);
        assert.strictEqual(s.totalParams, twin.summary.totalParams);
        assert.strictEqual(s.outputSoftmax, true, 'the Identity after Softmax is an alias, so the pre-softmax score is used');
        assert.deepStrictEqual(s.labels, twin.summary.labels);
        const spatial = s.layers.filter((l) => l.spatial).map((l) => l.name.replace(`${SCOPE}/`, ''));
        assert.deepStrictEqual(spatial, ['conv1/Relu', 'pool1/MaxPool', 'conv2/BiasAdd', 'bn2/FusedBatchNormV3', 'relu2/Relu', 'pool2/MaxPool', 'conv3/Relu', 'pool3/MaxPool', 'conv4/Relu']);
      });

      for (const [graphLayer, twinLayer] of [['conv4/Relu', 'conv4'], ['bn2/FusedBatchNormV3', 'bn2']]) {
        it(`gives the twin's scores and Grad-CAM at ${graphLayer} (${twinLayer})`, async () => {
          const before = tf.memory().numTensors;
          for (const file of IMAGES) {
            const image = await readImage(file);
            const a = await explain(graph, image, { method: 'gradcam', layer: `${SCOPE}/${graphLayer}`, topK: 10 });
            const b = await explain(twin, image, { method: 'gradcam', layer: twinLayer, topK: 10 });
            assert.strictEqual(a.classIndex, b.classIndex);
            b.predictions.forEach((p, i) => assert.ok(Math.abs(a.predictions[i].score - p.score) < 1e-4 * Math.max(1, Math.abs(p.score)), `score ${p.index}`));
            const scale = Math.max(...b.layerCam.data, 1e-6);
            b.layerCam.data.forEach((v, i) => assert.ok(Math.abs(a.layerCam.data[i] - v) <= 1e-4 * scale, `layerCam ${i}: ${a.layerCam.data[i]} vs ${v}`));
            b.cam.data.forEach((v, i) => assert.ok(Math.abs(a.cam.data[i] - v) < 1e-4, `cam ${i}`));
          }
          assert.strictEqual(tf.memory().numTensors, before, 'tensors leaked');
        });
      }
    });
  }

  describe('graphs CNN Lens cannot explain', () => {
    let tmp: string;
    before(async () => {
      await initBackend('cpu');
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-graph-'));
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    async function refusal(edit: (json: { modelTopology: { node: { name: string; op: string; input?: string[] }[] } }) => void): Promise<LensError> {
      const folder = fs.mkdtempSync(path.join(tmp, 'm-'));
      const json = JSON.parse(fs.readFileSync(GRAPH, 'utf8'));
      edit(json);
      fs.writeFileSync(path.join(folder, 'model.json'), JSON.stringify(json));
      fs.copyFileSync(path.join(path.dirname(GRAPH), 'group1-shard1of1.bin'), path.join(folder, 'group1-shard1of1.bin'));
      const before = tf.memory().numTensors;
      const error = await loadModel(path.join(folder, 'model.json')).then(
        (m) => {
          m.dispose();
          return assert.fail('loaded');
        },
        (e: unknown) => e,
      );
      assert.ok(error instanceof LensError, String(error));
      assert.strictEqual(tf.memory().numTensors, before);
      return error;
    }

    it('says that control flow stops gradients', async () => {
      const error = await refusal((json) => {
        json.modelTopology.node.push({ name: 'cond/Switch', op: 'Switch', input: ['input', 'input'] });
      });
      assert.strictEqual(error.code, 'unsupported');
      assert.match(error.message, /control flow \(Switch \(node "cond\/Switch"\)\); gradients cannot pass through it/);
    });

    it('names an op it cannot run, with its node', async () => {
      const error = await refusal((json) => {
        const relu = json.modelTopology.node.find((n) => n.name.endsWith('relu2/Relu'));
        (relu as { op: string }).op = 'Selu';
      });
      assert.match(error.message, /cannot run graph op Selu \(node "StatefulPartitionedCall\/fashion_scenes_cnn\/relu2\/Relu"\)\. Supported: /);
    });
  });
});
