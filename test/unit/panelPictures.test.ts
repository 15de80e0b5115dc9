// The panel's pictures end to end on the host side (issue 14): a real LensPanel with the real engine
// worker, its webview played by the test (fixtures/fakeVscode.ts). The image reaches the page once
// (at display size, keyed), each explanation adds only its 8-bit map; a colormap or opacity change
// posts nothing to the worker and nothing to the page (the page repaints itself) and is kept for
// Export, which is one worker request that renders at the image's own resolution; a rebuilt page
// gets the image again.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { encodePng, initBackend, readImage } from '../../src/engine';
import { indexedCam, renderOverlay } from '../../src/render/overlay';
import type { PanelViewState, ResultNotification } from '../../src/shared/panel';
import type { EngineClient } from '../../src/workerClient/client';
import { FakeWebviewPanel, installFakeVscode, recorded, Uri } from './fixtures/fakeVscode';
import { Page } from './fixtures/panelPage';
import { engineFromSource } from './fixtures/workerFromSource';

installFakeVscode();
// After the fake: these load `vscode`.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { LensPanel } = require('../../src/host/panel/lensPanel') as typeof import('../../src/host/panel/lensPanel');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { PanelRegistry } = require('../../src/host/panel/registry') as typeof import('../../src/host/panel/registry');

const ROOT = path.resolve(__dirname, '..', '..');
const SAMPLE_MODEL = path.join(ROOT, 'samples', 'workspace', 'model', 'model.json');

/** The bytes of every typed array in a message. */
function payloadBytes(value: unknown): number {
  if (ArrayBuffer.isView(value)) {
    return value.byteLength;
  }
  if (typeof value !== 'object' || value === null) {
    return 0;
  }
  return Object.values(value).reduce<number>((sum, v) => sum + payloadBytes(v), 0);
}

/** Every engine call, by method name, with its arguments; the calls go to the real worker. */
function recording(engine: EngineClient): { engine: EngineClient; calls: Array<{ name: string; args: unknown[] }> } {
  const calls: Array<{ name: string; args: unknown[] }> = [];
  const proxy = new Proxy(engine, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') {
        return value;
      }
      return (...args: unknown[]) => {
        calls.push({ name: String(property), args });
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { engine: proxy, calls };
}

const settle = (ms = 400) => new Promise((resolve) => setTimeout(resolve, ms));

describe('panel pictures: one pipeline, the page colours (issue 14)', function () {
  let root: string;
  let imagePath: string;
  let original: Awaited<ReturnType<typeof readImage>>;
  let real: EngineClient;

  before(async function () {
    await initBackend('cpu');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-pictures-'));
    imagePath = path.join(root, 'photo.png');
    const data = new Uint8Array(1000 * 700 * 4);
    for (let i = 0; i < 1000 * 700; i++) {
      data.set([(i % 1000) & 255, Math.floor(i / 1000) & 255, (i * 7) & 255, 255], i * 4);
    }
    fs.writeFileSync(imagePath, await encodePng({ width: 1000, height: 700, data }));
    original = await readImage(imagePath);
    real = engineFromSource();
  });

  after(function () {
    real?.dispose();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('sends the image once and each map once; colormap and opacity post nothing; Export renders at full resolution in the worker', async function () {
    const { engine, calls } = recording(real);
    const panel = new FakeWebviewPanel();
    const page = new Page(panel);
    const state: PanelViewState = { imagePath, modelPath: SAMPLE_MODEL, method: 'gradcam', colormap: 'jet', opacity: 0.5 };
    const stored = new Map<string, unknown>();
    const services = {
      extensionUri: Uri.file(ROOT),
      engine,
      discovery: { select: async () => undefined },
      output: { appendLine: () => undefined },
      registry: new PanelRegistry(),
      workspaceState: { get: (key: string) => stored.get(key), update: async (key: string, value: unknown) => void stored.set(key, value), keys: () => [...stored.keys()] },
      modelChanges: { watch: () => ({ dispose: () => undefined }), takeReload: () => false, setExtraFiles: () => undefined },
    } as unknown as Parameters<typeof LensPanel.revive>[0];
    const firstResult = page.next('result');
    const lens = LensPanel.revive(services, panel as unknown as Parameters<typeof LensPanel.revive>[1], state);
    assert.ok(lens);
    try {
      await page.ready();
      const first = (await firstResult) as ResultNotification;
      assert.ok(first.image, 'the first result brings the display image');
      assert.deepStrictEqual([first.image.image.width, first.image.image.height], [768, 538]);
      assert.strictEqual(first.image.key, first.result.imageKey);
      assert.deepStrictEqual([first.result.map.width, first.result.map.height, first.result.originalWidth, first.result.originalHeight], [768, 538, 1000, 700]);
      assert.ok(!('views' in first.result) && !('image' in first.result), 'no coloured pictures in the result');

      // Another class: only its map (the worker was told which image the host holds, and sent none).
      const otherClass = page.next('result');
      page.send({ type: 'changeTarget', classIndex: 3, method: 'gradcam' });
      const second = await otherClass;
      assert.strictEqual(second.image, undefined, 'the page holds the image: not posted again');
      assert.strictEqual(second.result.imageKey, first.result.imageKey);
      assert.strictEqual(second.result.classIndex, 3);
      const explains = calls.filter((c) => c.name === 'explain');
      assert.strictEqual((explains[explains.length - 1].args[0] as { knownImageKey?: string }).knownImageKey, first.result.imageKey);
      assert.ok(payloadBytes(second) < 768 * 538 + 64 * 1024, `another class posts about one 8-bit map (${payloadBytes(second)} bytes)`);

      // Colormap and opacity: nothing to the worker, nothing at all to the page; the host keeps them.
      await settle();
      const callsBefore = calls.length;
      const postsBefore = page.received.length;
      for (const opacity of [0.1, 0.25, 0.4, 0.3]) {
        page.send({ type: 'changeAppearance', colormap: 'viridis', opacity });
      }
      page.send({ type: 'changeAppearance', colormap: 'inferno', opacity: 0.3 });
      await settle();
      assert.deepStrictEqual(calls.slice(callsBefore).map((c) => c.name), [], 'no engine request');
      assert.deepStrictEqual(page.received.slice(postsBefore).map((m) => m.type), [], 'no message to the page');
      assert.strictEqual(lens.viewState.colormap, 'inferno');
      assert.strictEqual(lens.viewState.opacity, 0.3);

      // Export: one worker request with the map and the appearance (no pixels), a PNG at 1000x700.
      const target = path.join(root, 'exported.png');
      recorded.saveTarget = Uri.file(target);
      const exportCalls = calls.length;
      await lens.exportOverlay();
      const made = calls.slice(exportCalls);
      assert.deepStrictEqual(made.map((c) => c.name), ['exportOverlay']);
      const request = made[0].args[0] as { cam: { data: Float32Array }; colormap: string; opacity: number };
      assert.deepStrictEqual([request.colormap, request.opacity], ['inferno', 0.3]);
      assert.strictEqual(payloadBytes(request), request.cam.data.byteLength, 'the map at its own resolution is all the host sends');
      const png = recorded.written.get(target);
      assert.ok(png, `nothing written to ${target}`);
      fs.writeFileSync(target, png);
      const exported = await readImage(target);
      assert.deepStrictEqual([exported.width, exported.height], [1000, 700], 'the image\'s own resolution');
      // The same pixels the CLI writes for this map, colormap and opacity.
      const { result } = await real.explain({ modelPath: SAMPLE_MODEL, imagePath, request: { method: 'gradcam', classIndex: 3 } });
      assert.ok(Buffer.from(exported.data).equals(Buffer.from(renderOverlay(original, result.cam, 'inferno', 0.3).data)), 'export pixels');
      assert.deepStrictEqual(Array.from(second.result.map.data), Array.from(indexedCam(result.cam, 768, 538).data), 'the page\'s map is this map at display size');

      // The page is torn down (panel hidden) and rebuilt: it gets the result with the image again.
      panel.setVisible(false);
      const rebuilt = new Page(panel);
      panel.setVisible(true);
      const replayed = rebuilt.next('result');
      const boot = await rebuilt.ready();
      assert.deepStrictEqual([boot.state.colormap, boot.state.opacity], ['inferno', 0.3], 'the new page starts in the kept appearance');
      const again = await replayed;
      assert.ok(again.image, 'a new page holds nothing: the image comes with the replayed result');
      assert.strictEqual(again.image.key, first.result.imageKey);
    } finally {
      lens.dispose();
      recorded.saveTarget = undefined;
    }
  });
});
