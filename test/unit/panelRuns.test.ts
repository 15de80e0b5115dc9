// The panel's run/stale/cancel behaviour on the host side, without VS Code (until now only the e2e
// tests covered it): a real LensPanel (fixtures/fakeVscode.ts), its page played by the test
// (fixtures/panelPage.ts), and an engine whose explain answers when the test says so. A newer choice
// cancels the run in flight and a late answer of the old run is dropped; Cancel says "Cancelled."
// without an error; a superseded run's failure is never shown, the current run's is, and the next
// success clears it; closing the panel aborts the run.
import * as assert from 'assert';
import * as path from 'path';
import { describeLayerViews, explain, initBackend, loadModel, readImage } from '../../src/engine';
import { downscaleForDisplay } from '../../src/render/display';
import { indexedCam } from '../../src/render/overlay';
import { cancelledError, LensError } from '../../src/shared/errors';
import type { ErrorNotification, PanelViewState, ResultNotification, StatusNotification } from '../../src/shared/panel';
import type { CamResult, LayerViews, ModelSummary } from '../../src/shared/types';
import type { ExplainImageRequest, ExplainImageResult } from '../../src/shared/worker';
import { FakeWebviewPanel, installFakeVscode, recorded, Uri } from './fixtures/fakeVscode';
import { Page } from './fixtures/panelPage';

installFakeVscode();
// After the fake: these load `vscode`.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { LensPanel } = require('../../src/host/panel/lensPanel') as typeof import('../../src/host/panel/lensPanel');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { PanelRegistry } = require('../../src/host/panel/registry') as typeof import('../../src/host/panel/registry');

const ROOT = path.resolve(__dirname, '..', '..');
const SAMPLE_MODEL = path.join(ROOT, 'samples', 'workspace', 'model', 'model.json');
const SAMPLE_IMAGE = path.join(ROOT, 'samples', 'workspace', 'images', 'sample.png');

/** One explain the panel asked for, answered by the test. */
interface PendingExplain {
  request: Omit<ExplainImageRequest, 'type'>;
  signal: AbortSignal | undefined;
  answer(classIndex: number): void;
  fail(error: unknown): void;
}

/** An engine that answers like the real one, but only when told (a real answer computed once, in process). */
class ScriptedEngine {
  readonly explains: PendingExplain[] = [];
  /** False: like a long kernel, explain ignores its cancel and answers anyway. */
  honoursCancel = true;
  readonly currentBackend = { backend: 'cpu', detail: 'cpu (scripted)' };

  constructor(
    private readonly summary: ModelSummary,
    private readonly views: LayerViews[],
    private readonly answerOf: (classIndex: number, knownImageKey: string | undefined) => ExplainImageResult,
  ) {}

  async backendReport() {
    return this.currentBackend;
  }
  async loadModel() {
    return this.summary;
  }
  async layerViews() {
    return this.views;
  }
  explain(request: Omit<ExplainImageRequest, 'type'>, options: { signal?: AbortSignal } = {}): Promise<ExplainImageResult> {
    return new Promise((resolve, reject) => {
      if (this.honoursCancel) {
        options.signal?.addEventListener('abort', () => reject(cancelledError()), { once: true });
      }
      this.explains.push({
        request,
        signal: options.signal,
        answer: (classIndex) => resolve(this.answerOf(classIndex, request.knownImageKey)),
        fail: reject,
      });
    });
  }
}

async function until(test: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe('panel runs: one at a time, stale results dropped, cancel and errors (issue 14)', function () {
  let summary: ModelSummary;
  let views: LayerViews[];
  let base: CamResult;
  let answerOf: (classIndex: number, knownImageKey: string | undefined) => ExplainImageResult;

  before(async function () {
    await initBackend('cpu');
    const model = await loadModel(SAMPLE_MODEL);
    const image = await readImage(SAMPLE_IMAGE);
    summary = model.summary;
    views = describeLayerViews(model.model);
    base = await explain(model, image, { method: 'gradcam' });
    const shown = downscaleForDisplay(image);
    const map = indexedCam(base.cam, shown.width, shown.height);
    answerOf = (classIndex, knownImageKey) => ({
      result: { ...base, classIndex, className: summary.labels[classIndex] ?? `class ${classIndex}` },
      map,
      display: { key: 'sample-key', originalWidth: image.width, originalHeight: image.height, ...(knownImageKey === 'sample-key' ? {} : { image: shown }) },
    });
    model.dispose();
  });

  /** A panel on a scripted engine, its page ready. */
  async function openPanel() {
    const engine = new ScriptedEngine(summary, views, answerOf);
    const panel = new FakeWebviewPanel();
    const page = new Page(panel);
    const stored = new Map<string, unknown>();
    const logged: string[] = [];
    const services = {
      extensionUri: Uri.file(ROOT),
      engine,
      discovery: { select: async () => undefined },
      output: { appendLine: (line: string) => logged.push(line) },
      registry: new PanelRegistry(),
      workspaceState: { get: (key: string) => stored.get(key), update: async (key: string, value: unknown) => void stored.set(key, value), keys: () => [...stored.keys()] },
      modelChanges: { watch: () => ({ dispose: () => undefined }), takeReload: () => false, setExtraFiles: () => undefined },
    } as unknown as Parameters<typeof LensPanel.revive>[0];
    const state: PanelViewState = { imagePath: SAMPLE_IMAGE, modelPath: SAMPLE_MODEL, method: 'gradcam', colormap: 'jet', opacity: 0.5 };
    const lens = LensPanel.revive(services, panel as unknown as Parameters<typeof LensPanel.revive>[1], state);
    assert.ok(lens);
    await page.ready();
    await until(() => engine.explains.length === 1, 'the first explain');
    const results = () => page.received.filter((m): m is ResultNotification => m.type === 'result').map((m) => m.result.classIndex);
    const errors = () => page.received.filter((m): m is ErrorNotification => m.type === 'error').map((m) => m.message);
    const statuses = () => page.received.filter((m): m is StatusNotification => m.type === 'status').map((m) => m.message);
    return { engine, page, lens, logged, results, errors, statuses };
  }

  it('a newer choice cancels the run in flight; the old run answering late is dropped', async function () {
    const { engine, page, lens, results, statuses } = await openPanel();
    try {
      engine.honoursCancel = false; // the old explain answers although cancelled (a kernel that cannot stop)
      const first = engine.explains[0];
      page.send({ type: 'changeTarget', classIndex: 3, method: 'gradcam' });
      await until(() => engine.explains.length === 2, 'the second explain');
      assert.ok(first.signal?.aborted, 'the run in flight was cancelled');
      assert.strictEqual(engine.explains[1].request.request.classIndex, 3);
      first.answer(0); // late: superseded
      await settle();
      assert.deepStrictEqual(results(), [], "the old run's result never reaches the page");
      engine.explains[1].answer(3);
      await until(() => results().length === 1, 'the result');
      await settle();
      assert.deepStrictEqual(results(), [3]);
      assert.deepStrictEqual(statuses(), [], 'a superseded run says nothing');
      assert.strictEqual(lens.viewState.classIndex, 3);
    } finally {
      lens.dispose();
    }
  });

  it('Cancel aborts the run; the page says "Cancelled." and shows no error', async function () {
    const { engine, page, lens, results, errors, statuses, logged } = await openPanel();
    const reportedBefore = recorded.errors.length;
    try {
      page.send({ type: 'cancel' });
      await until(() => statuses().length === 1, 'the cancelled status');
      assert.ok(engine.explains[0].signal?.aborted);
      assert.deepStrictEqual(statuses(), ['Cancelled.']);
      assert.ok(logged.some((line) => /\[gradcam\] sample\.png: cancelled/.test(line)));
      // With a result shown, Cancel keeps it.
      page.send({ type: 'changeTarget', classIndex: 1, method: 'gradcam' });
      await until(() => engine.explains.length === 2, 'the next explain');
      engine.explains[1].answer(1);
      await until(() => results().length === 1, 'the result');
      page.send({ type: 'changeTarget', classIndex: 2, method: 'gradcam' });
      await until(() => engine.explains.length === 3, 'the third explain');
      page.send({ type: 'cancel' });
      await until(() => statuses().length === 2, 'the second cancelled status');
      assert.strictEqual(statuses()[1], 'Cancelled: showing the previous result.');
      assert.ok(errors().every((message) => message === ''), 'no error on the page');
      assert.strictEqual(recorded.errors.length, reportedBefore, 'no error notification');
    } finally {
      lens.dispose();
    }
  });

  it("a superseded run's failure is never shown; the current run's is, and the next success clears it", async function () {
    const { engine, page, lens, results, errors } = await openPanel();
    const reportedBefore = recorded.errors.length;
    try {
      engine.honoursCancel = false;
      const first = engine.explains[0];
      page.send({ type: 'changeTarget', classIndex: 2, method: 'gradcam' });
      await until(() => engine.explains.length === 2, 'the second explain');
      first.fail(new LensError('sample.png: the old run failed', 'bad-input'));
      await settle();
      assert.deepStrictEqual(errors().filter(Boolean), [], "the old run's failure is not shown");
      engine.explains[1].fail(new LensError('model.json: conv9 is not a layer; pick another', 'bad-request'));
      await until(() => errors().filter(Boolean).length === 1, 'the error');
      assert.deepStrictEqual(errors().filter(Boolean), ['model.json: conv9 is not a layer; pick another']);
      await until(() => recorded.errors.length === reportedBefore + 1, 'the notification');
      assert.match(recorded.errors[recorded.errors.length - 1], /conv9 is not a layer/);
      page.send({ type: 'changeTarget', classIndex: 4, method: 'gradcam' });
      await until(() => engine.explains.length === 3, 'the third explain');
      engine.explains[2].answer(4);
      await until(() => results().length === 1, 'the result');
      assert.strictEqual(errors()[errors().length - 1], '', 'the success cleared the error');
      assert.deepStrictEqual(results(), [4]);
    } finally {
      lens.dispose();
    }
  });

  it('closing the panel aborts the run and nothing more is posted', async function () {
    const { engine, page, lens } = await openPanel();
    engine.honoursCancel = false;
    const posted = page.received.length;
    lens.dispose();
    assert.ok(engine.explains[0].signal?.aborted);
    engine.explains[0].answer(0);
    await settle();
    assert.strictEqual(page.received.length, posted);
  });
});
