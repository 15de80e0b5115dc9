// Live refresh without VS Code: which files count as the model's, the debounce of a multi-file save
// (on a fake clock: nothing here waits for real time), the shared hub's subscriptions, and the real
// engine worker reloading a temp copy of the sample model as the hub reports changes: a weight
// edited on disk changes the result by exactly the edit, a broken model.json is a clear error,
// fixing it recovers, and nothing leaks.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LensError } from '../../src/shared/errors';
import { Debouncer, ModelChangeHub, isModelFile, type Clock, type FileEventSource } from '../../src/host/panel/modelWatcher';
import { EngineClient } from '../../src/workerClient/client';
import { engineFromSource } from './fixtures/workerFromSource';

const ROOT = path.resolve(__dirname, '..', '..');
const SAMPLE_MODEL_DIR = path.join(ROOT, 'samples', 'workspace', 'model');
const SAMPLE_IMAGE = path.join(ROOT, 'samples', 'workspace', 'images', 'sample.png');

/** Timers that run only when the test advances time. */
class FakeClock implements Clock {
  now = 0;
  private timers = new Map<number, { at: number; callback: () => void }>();
  private nextId = 1;

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.now + ms, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) {
        break;
      }
      this.timers.delete(due[0]);
      this.now = due[1].at;
      due[1].callback();
    }
    this.now = until;
  }

  get pending(): number {
    return this.timers.size;
  }
}

/** A FileEventSource the test fires by hand; records which folders are watched. */
class FakeFileEvents implements FileEventSource {
  readonly watchers = new Map<string, Set<(file: string) => void>>();

  watchFolder(folder: string, onFileEvent: (file: string) => void) {
    const set = this.watchers.get(folder) ?? new Set();
    set.add(onFileEvent);
    this.watchers.set(folder, set);
    return {
      dispose: () => {
        set.delete(onFileEvent);
        if (set.size === 0) {
          this.watchers.delete(folder);
        }
      },
    };
  }

  fire(file: string): void {
    for (const listener of this.watchers.get(path.dirname(file)) ?? []) {
      listener(file);
    }
  }
}

describe('live refresh: model files', function () {
  const model = path.join('/work', 'm', 'model.json');

  it('counts model.json, its shards, the sidecar and label files; not images or notes', function () {
    for (const name of ['model.json', 'group1-shard1of2.bin', 'cnn-lens.json', 'labels.txt', 'labels.json', 'metadata.json']) {
      assert.ok(isModelFile(model, path.join('/work', 'm', name)), name);
    }
    for (const name of ['cat.png', 'notes.md', 'train.log', 'model.json.tmp']) {
      assert.ok(!isModelFile(model, path.join('/work', 'm', name)), name);
    }
    assert.ok(!isModelFile(model, path.join('/work', 'other', 'model.json')), 'another folder');
    assert.ok(!isModelFile(model, path.join('/work', 'other', 'weights.bin')), 'a shard of another folder');
  });

  it('counts extra files anywhere (a labels file the sidecar names, a code model\'s imports)', function () {
    const extra = new Set([path.resolve('/work/shared/classes.txt')]);
    assert.ok(isModelFile(model, '/work/shared/classes.txt', extra));
    assert.ok(!isModelFile(model, '/work/shared/other.txt', extra));
  });

  it('a code model: its own file and its extra files, not its folder\'s .bin files', function () {
    const code = '/work/src/net.model.ts';
    assert.ok(isModelFile(code, code));
    assert.ok(!isModelFile(code, '/work/src/weights.bin'));
    assert.ok(isModelFile(code, '/work/src/layers.ts', new Set([path.resolve('/work/src/layers.ts')])));
  });
});

describe('live refresh: debounce and hub (fake clock)', function () {
  it('a burst of events flushes once, with every file, after the quiet time', function () {
    const clock = new FakeClock();
    const flushed: string[][] = [];
    const debouncer = new Debouncer<string>(400, (items) => flushed.push(items), clock);
    debouncer.push('shard.bin');
    clock.advance(300);
    debouncer.push('model.json');
    clock.advance(300);
    debouncer.push('model.json');
    assert.strictEqual(flushed.length, 0, 'still writing: no flush yet');
    clock.advance(399);
    assert.strictEqual(flushed.length, 0);
    clock.advance(1);
    assert.deepStrictEqual(flushed, [['shard.bin', 'model.json']]);
    debouncer.push('labels.txt');
    clock.advance(400);
    assert.deepStrictEqual(flushed[1], ['labels.txt'], 'a later change flushes again');
    debouncer.push('x');
    debouncer.dispose();
    clock.advance(1000);
    assert.strictEqual(flushed.length, 2, 'dispose drops what is pending');
    assert.strictEqual(clock.pending, 0);
  });

  it('the hub shares folder watches, filters, debounces per model and hands out one reload', function () {
    const clock = new FakeClock();
    const events = new FakeFileEvents();
    const hub = new ModelChangeHub(events, { settleMs: 400, clock });
    const a = path.resolve('/w/a/model.json');
    const heardA: string[][] = [];
    const heardA2: string[][] = [];
    const subA = hub.watch(a, (files) => heardA.push(files));
    const subA2 = hub.watch(a, (files) => heardA2.push(files));
    assert.deepStrictEqual([...events.watchers.keys()], [path.dirname(a)]);
    assert.strictEqual(events.watchers.get(path.dirname(a))?.size, 1, 'one watch for the folder, shared');

    events.fire(path.resolve('/w/a/photo.png'));
    clock.advance(1000);
    assert.strictEqual(heardA.length, 0, 'an image beside the model is not a model change');
    assert.strictEqual(hub.takeReload(a), false);

    events.fire(path.resolve('/w/a/group1-shard1of1.bin'));
    hub.notify(a); // the editor's save event for the same write
    events.fire(a);
    clock.advance(400);
    assert.deepStrictEqual(heardA, [[path.resolve('/w/a/group1-shard1of1.bin'), a]]);
    assert.deepStrictEqual(heardA2, heardA, 'every subscriber hears it');
    assert.strictEqual(hub.takeReload(a), true, 'the first consumer reloads');
    assert.strictEqual(hub.takeReload(a), false, 'the others reuse that load');

    // A labels file elsewhere that the sidecar names.
    hub.setExtraFiles(a, [path.resolve('/w/shared/classes.txt')]);
    assert.ok(events.watchers.has(path.resolve('/w/shared')));
    events.fire(path.resolve('/w/shared/classes.txt'));
    clock.advance(400);
    assert.strictEqual(heardA.length, 2);
    hub.setExtraFiles(a, []);
    assert.ok(!events.watchers.has(path.resolve('/w/shared')), 'dropped extra folders are unwatched');

    subA.dispose();
    assert.ok(events.watchers.has(path.dirname(a)), 'still watched for the second subscriber');
    subA2.dispose();
    assert.strictEqual(events.watchers.size, 0, 'the last unsubscribe stops the watch');
    events.fire(a);
    clock.advance(1000);
    assert.strictEqual(heardA2.length, 2);
    hub.dispose();
  });
});

describe('live refresh: the engine worker follows the files', function () {
  this.timeout(240_000);
  let dir: string;
  let modelPath: string;
  let engine: EngineClient;

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-live-'));
    for (const file of fs.readdirSync(SAMPLE_MODEL_DIR)) {
      fs.copyFileSync(path.join(SAMPLE_MODEL_DIR, file), path.join(dir, file));
    }
    modelPath = path.join(dir, 'model.json');
    engine = engineFromSource();
  });
  after(function () {
    engine.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Byte offset of a weight in the single shard, from the manifest (all float32). */
  function weightOffset(name: string): number {
    const manifest = JSON.parse(fs.readFileSync(modelPath, 'utf8')).weightsManifest as { weights: { name: string; shape: number[] }[] }[];
    let offset = 0;
    for (const weight of manifest[0].weights) {
      if (weight.name === name) {
        return offset;
      }
      offset += weight.shape.reduce((a, b) => a * b, 1) * 4;
    }
    throw new Error(`no weight ${name}`);
  }

  it('reloads on change: an edited bias moves the logit by exactly the edit; broken JSON and a short shard error; fixing recovers', async function () {
    const clock = new FakeClock();
    const events = new FakeFileEvents();
    const hub = new ModelChangeHub(events, { settleMs: 400, clock });
    const CLASS = 3;
    /** What a panel does on refresh: load (fresh if the hub says so), then explain. */
    const runs: Promise<{ score: number; layerCam: Float32Array }>[] = [];
    const render = async () => {
      await engine.loadModel(modelPath, { reload: hub.takeReload(modelPath) });
      const { result } = await engine.explain({ modelPath, imagePath: SAMPLE_IMAGE, request: { method: 'gradcam', classIndex: CLASS, layer: 'conv4' } });
      return { score: result.score, layerCam: result.layerCam.data };
    };
    const subscription = hub.watch(modelPath, () => runs.push(render()));

    const before = await render();
    const tensorsBefore = (await engine.memory()).numTensors;

    // Edit predictions/bias[CLASS] on disk (+5), as a training script re-saving weights would.
    const shard = path.join(dir, 'group1-shard1of1.bin');
    const bytes = fs.readFileSync(shard);
    const at = weightOffset('predictions/bias') + CLASS * 4;
    const original = bytes.readFloatLE(at);
    bytes.writeFloatLE(original + 5, at);
    fs.writeFileSync(shard, bytes);
    events.fire(shard);
    events.fire(modelPath);
    clock.advance(400);
    assert.strictEqual(runs.length, 1, 'one refresh for the shard+model.json burst');
    const edited = await runs[0];
    assert.ok(Math.abs(edited.score - (before.score + 5)) < 1e-3, `score ${edited.score} should be ${before.score} + 5`);
    // The bias does not reach conv4's gradient for this class: the map is unchanged.
    assert.deepStrictEqual(Array.from(edited.layerCam), Array.from(before.layerCam));
    assert.strictEqual((await engine.memory()).numTensors, tensorsBefore, 'the reload freed the old weights');

    // Break model.json: the refresh fails with an error naming the file; nothing crashes.
    const goodJson = fs.readFileSync(modelPath, 'utf8');
    fs.writeFileSync(modelPath, goodJson.slice(0, goodJson.length / 2));
    events.fire(modelPath);
    clock.advance(400);
    assert.strictEqual(runs.length, 2);
    const error = await runs[1].then(
      () => assert.fail('a half-written model.json must not load'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof LensError);
    assert.match(error.message, /model\.json: not valid JSON/);
    assert.ok(error.message.includes(modelPath), error.message);

    // Fix it: the next change recovers, with the edited weights.
    fs.writeFileSync(modelPath, goodJson);
    events.fire(modelPath);
    clock.advance(400);
    const recovered = await runs[2];
    assert.ok(Math.abs(recovered.score - edited.score) < 1e-6);
    assert.strictEqual((await engine.memory()).numTensors, tensorsBefore, 'no tensors leaked across the failed reload');

    // A shard cut short (a save still writing, a bad copy): the size error names the shard; restoring recovers.
    fs.writeFileSync(shard, bytes.subarray(0, bytes.length - 40));
    events.fire(shard);
    clock.advance(400);
    const sizeError = await runs[3].then(
      () => assert.fail('a short shard must not load'),
      (e: unknown) => e,
    );
    assert.ok(sizeError instanceof LensError);
    assert.match(sizeError.message, /group1-shard1of1\.bin/);
    assert.match(sizeError.message, /bytes/);
    fs.writeFileSync(shard, bytes);
    events.fire(shard);
    clock.advance(400);
    assert.ok(Math.abs((await runs[4]).score - edited.score) < 1e-6);

    // A weight that changes the map: conv4's kernel negated flips what the layer sees.
    const kernelAt = weightOffset('conv4/kernel');
    for (let i = 0; i < 3 * 3 * 48 * 96; i++) {
      bytes.writeFloatLE(-bytes.readFloatLE(kernelAt + i * 4), kernelAt + i * 4);
    }
    fs.writeFileSync(shard, bytes);
    events.fire(shard);
    clock.advance(400);
    const flipped = await runs[5];
    const changed = flipped.layerCam.some((v, i) => Math.abs(v - before.layerCam[i]) > 1e-4);
    assert.ok(changed, 'a new conv4 kernel must change the conv4 map');
    subscription.dispose();
    hub.dispose();
  });

  it('a reload while another request computes on the old model frees it only afterwards', async function () {
    fs.copyFileSync(path.join(SAMPLE_MODEL_DIR, 'group1-shard1of1.bin'), path.join(dir, 'group1-shard1of1.bin'));
    await engine.loadModel(modelPath, { reload: true });
    const tensors = (await engine.memory()).numTensors;
    const explaining = engine.explain({ modelPath, imagePath: SAMPLE_IMAGE, request: { method: 'gradcam' } });
    const reloading = engine.loadModel(modelPath, { reload: true });
    const [{ result }] = await Promise.all([explaining, reloading]);
    assert.strictEqual(result.layer, 'conv4');
    assert.ok(Number.isFinite(result.score));
    assert.strictEqual((await engine.memory()).numTensors, tensors, 'the old weights were freed once the explain finished');
  });
});
