// End to end in a real VS Code (code-server + chromium, as gradcam.e2e.test.ts): "CNN Lens: Visualize
// Layer…" from the palette → pick a layer → Activations: the grid shows one tile per channel of that
// layer; again for conv1 → Filters: one RGB patch per filter; the Model tab lists every layer with
// the Grad-CAM default marked and opens a layer's activations or filters (conv2 per input channel);
// clicking a tile shows the channel over the image; a window reload restores tab, layer and mode. Screenshots go to test-artifacts/e2e/.
//
// Env: CNN_LENS_UPDATE_SCREENSHOT=1  also write media/screenshot-activations.png and
//                                    media/screenshot-filters.png (dark theme; the README's pictures)
//      CNN_LENS_E2E_SKIP_PACKAGE=1   reuse dist-vsix/cnn-lens.vsix (otherwise the first suite of a run packages it)
//      CNN_LENS_E2E_KEEP=1           keep the temp folder
import * as assert from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { readCanvasStats } from './canvas';
import {
  REPO_ROOT,
  createSandbox,
  type RunningCodeServer,
  type Sandbox,
} from './codeServer';
import { closeWorkbench, copySampleWorkspace, recordFailure, startWorkbench } from './session';
import type { BrowserGlobals } from './dom';
import {
  chooseInPicker,
  findWebviewFrame,
  isQuickInputVisible,
  openWorkspace,
  pickQuickPickItem,
  quickInputPrompt,
  runCommandFromPalette,
  screenshot,
  waitUntil,
} from './workbench';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'e2e');
const MODEL = 'model/model.json';
const IMAGE = 'sample.png';
const COMMAND = 'CNN Lens: Visualize Layer…';
/** The first request starts the worker and the wasm backend. */
const VIEW_TIMEOUT_MS = 90_000;

describe('CNN Lens: Visualize Layer (end to end)', function () {
  let sandbox: Sandbox | undefined;
  let server: RunningCodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let workspace = '';
  let layerChannels: Record<string, number> = {};

  before(async function () {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    sandbox = createSandbox();
    workspace = copySampleWorkspace(sandbox, MODEL);
    layerChannels = channelsFromCli(sandbox, workspace);
    ({ server, browser } = await startWorkbench(sandbox, { logFile: path.join(ARTIFACTS, 'code-server-layers.log') }));
    page = await openWorkspace(browser, server.url, workspace);
    await page.locator('.monaco-workbench .part.sidebar').waitFor({ timeout: 60_000 });
  });

  after(async function () {
    await closeWorkbench({ browser, server, sandbox }, path.join(ARTIFACTS, 'vscode-logs-layers'));
  });

  afterEach(async function () {
    await recordFailure(this.currentTest, page, ARTIFACTS, 'layers-');
  });

  it('palette: Visualize Layer… → conv3 → Activations shows one tile per channel', async function () {
    await runVisualizeLayer(page!);
    await answer(page!, [
      [/layer/i, 'conv3', () => screenshot(page!, path.join(ARTIFACTS, '10-layers-pick.png'))],
      [/what to show/i, 'Activations'],
      [/image/i, IMAGE],
    ]);
    const frame = await findWebviewFrame(page!, '[data-testid="activation-grid"]', VIEW_TIMEOUT_MS);
    await waitForTiles(frame, 'activation-tile', layerChannels.conv3);
    assert.equal(await selectedTab(frame), 'activations');
    const summary = await text(frame, '[data-testid="activation-summary"]');
    assert.match(summary, new RegExp(`conv3 · Conv2D · ${layerChannels.conv3} channels of 16×16`));
    const tile = await readCanvasStats(frame, '[data-testid="activation-tile"] canvas');
    assert.deepEqual([tile.width, tile.height], [16, 16], 'a tile carries the 16×16 map');
    assert.ok(tile.distinctColors >= 8, `the first tile is (nearly) uniform: ${tile.distinctColors} colours`);
    await settle(page!);
    const shot = await screenshot(page!, path.join(ARTIFACTS, '11-activations.png'));
    if (process.env.CNN_LENS_UPDATE_SCREENSHOT === '1') {
      fs.copyFileSync(shot, path.join(REPO_ROOT, 'media', 'screenshot-activations.png'));
      console.log('e2e: updated media/screenshot-activations.png');
    }
  });

  it('clicking a tile shows the channel over the image with its min/mean/max', async function () {
    const frame = await findWebviewFrame(page!, '[data-testid="activation-grid"]');
    await frame.locator('[data-testid="activation-tile"]').nth(3).click();
    await frame.locator('[data-testid="channel-detail"]').waitFor({ state: 'visible', timeout: 20_000 });
    const stats = await text(frame, '[data-testid="channel-stats"]');
    assert.match(stats, /min -?[\d.e+-]+ · mean -?[\d.e+-]+ · max -?[\d.e+-]+ · 16×16/);
    assert.match(await text(frame, '[data-testid="channel-detail"] h3'), /Channel 3 of conv3/);
    const overlay = await readCanvasStats(frame, '[data-testid="channel-detail"] .overlay-stack canvas');
    assert.ok(overlay.width > 0 && overlay.lumaRange > 20, 'the image under the channel is drawn');
    await settle(page!);
    await screenshot(page!, path.join(ARTIFACTS, '12-channel-detail.png'));
  });

  it('palette: Visualize Layer… → conv1 → Filters shows one RGB patch per filter', async function () {
    await runVisualizeLayer(page!);
    // The panel has an image now: no image question.
    await answer(page!, [
      [/layer/i, 'conv1'],
      [/what to show/i, 'Filters'],
    ]);
    const frame = await findWebviewFrame(page!, '[data-testid="filter-grid"]', VIEW_TIMEOUT_MS);
    await waitForTiles(frame, 'filter-tile', layerChannels.conv1);
    assert.equal(await selectedTab(frame), 'filters');
    assert.match(await text(frame, '[data-testid="filter-summary"]'), /conv1 · Conv2D · 8 filters of 3×3×3 · rgb patch/);
    const patch = await readCanvasStats(frame, '[data-testid="filter-tile"] canvas');
    assert.deepEqual([patch.width, patch.height], [3, 3]);
    assert.ok(patch.distinctColors >= 3, `filter 0's patch is uniform: ${patch.distinctColors} colours`);
    await settle(page!);
    const shot = await screenshot(page!, path.join(ARTIFACTS, '13-filters.png'));
    if (process.env.CNN_LENS_UPDATE_SCREENSHOT === '1') {
      fs.copyFileSync(shot, path.join(REPO_ROOT, 'media', 'screenshot-filters.png'));
      console.log('e2e: updated media/screenshot-filters.png');
    }
  });

  it('the Model tab lists every layer, marks the Grad-CAM default, and opens a layer', async function () {
    const frame = await findWebviewFrame(page!, '[data-testid="tab-model"]');
    await frame.locator('[data-testid="tab-model"]').click();
    await frame.locator('[data-testid="layer-row"]').first().waitFor({ timeout: 30_000 });
    const rows = await frame.locator('[data-testid="layer-row"]').evaluateAll((els) => els.map((el) => (el as unknown as { dataset: Record<string, string> }).dataset.layer));
    assert.deepEqual(rows, Object.keys(layerChannels), 'one row per layer, in order');
    assert.match(await text(frame, 'tr.default-layer'), /conv4\s*default/);
    // The sample is a TF.js layers model: ONNX Runtime (in the linux-x64 VSIX) runs its explanations.
    assert.match(await text(frame, '[data-testid="model-totals"]'), /50,954 parameters · input 64×64×3 · 10 classes \(softmax\) · backend onnxruntime/);
    await settle(page!);
    await screenshot(page!, path.join(ARTIFACTS, '14-model-summary.png'));

    await frame.locator('[data-testid="layer-row"][data-layer="gap"]').click();
    await waitUntil(async () => (await frame.locator('[data-testid="activation-unit"]').count()) === 40, VIEW_TIMEOUT_MS, 'unit bars of gap');
    const values = await frame.locator('[data-testid="activation-unit"] .unit-value').allInnerTexts();
    const numbers = values.map(Number);
    assert.deepEqual(numbers, [...numbers].sort((a, b) => b - a), 'dense units are listed top first');
  });

  it('Model tab → Filters of conv2, per input channel: a row per filter, a tile per input', async function () {
    const frame = await findWebviewFrame(page!, '[data-testid="tab-model"]');
    await frame.locator('[data-testid="tab-model"]').click();
    await frame.locator('[data-testid="layer-row"][data-layer="conv2"] [data-testid="open-filters"]').click();
    await waitForTiles(frame, 'filter-tile', layerChannels.conv2);
    assert.match(await text(frame, '[data-testid="filter-summary"]'), /conv2 · Conv2D · 16 filters of 3×3×8 · mean over inputs/);
    // Choose "Per input channel" in the Show picker.
    await chooseInPicker(frame, '#filter-mode', 'channels');
    await waitForTiles(frame, 'filter-row', layerChannels.conv2);
    assert.equal(await frame.locator('[data-testid="filter-input-tile"]').count(), layerChannels.conv2 * layerChannels.conv1, '16 filters × 8 input channels');
    assert.match(await text(frame, '[data-testid="filter-summary"]'), /per input channel/);
    await settle(page!);
    await screenshot(page!, path.join(ARTIFACTS, '15-filters-per-input.png'));
  });

  it('a window reload restores the panel on the tab, layer and mode it showed', async function () {
    const frame = await findWebviewFrame(page!, '[data-testid="filter-rows"]');
    assert.equal(await selectedTab(frame), 'filters');
    await page!.waitForTimeout(1_000);
    await page!.reload();
    const restored = await findWebviewFrame(page!, '[data-testid="filter-rows"]', VIEW_TIMEOUT_MS);
    await waitForTiles(restored, 'filter-row', layerChannels.conv2);
    assert.equal(await selectedTab(restored), 'filters');
    assert.match(await text(restored, '[data-testid="filter-summary"]'), /conv2 .* per input channel/);
  });
});

/**
 * Runs the command from the palette and waits for its first question. Focus is first moved to the
 * model editor: after a click inside the panel the keyboard belongs to the webview's iframe, and
 * F1 may not reach the workbench on the first try.
 */
async function runVisualizeLayer(page: Page): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await page.locator('.part.editor .monaco-editor .view-lines').first().click().catch(() => undefined);
    await runCommandFromPalette(page, COMMAND);
    try {
      await waitUntil(async () => (await isQuickInputVisible(page)) && /layer/i.test(await quickInputPrompt(page)), 15_000, 'the layer quick pick');
      return;
    } catch (error) {
      if (attempt === 3) {
        throw error;
      }
    }
  }
}

/** Answers the quick picks in order: each prompt must match, then the item with that text is picked. */
async function answer(page: Page, steps: Array<[RegExp, string, (() => Promise<unknown>)?]>): Promise<void> {
  for (const [prompt, item, before] of steps) {
    await waitUntil(() => isQuickInputVisible(page), 30_000, `a quick pick for ${prompt}`);
    await waitUntil(async () => prompt.test(await quickInputPrompt(page)), 30_000, `the quick pick ${prompt} (it shows "${await quickInputPrompt(page)}")`);
    await page.locator('.quick-input-widget .quick-input-list .monaco-list-row').first().waitFor({ timeout: 30_000 });
    await before?.();
    await pickQuickPickItem(page, item);
    await page.waitForTimeout(300);
  }
}

async function waitForTiles(frame: Frame, testid: string, count: number): Promise<void> {
  let seen = -1;
  try {
    await waitUntil(async () => (seen = await frame.locator(`[data-testid="${testid}"]`).count()) === Math.min(count, 64), VIEW_TIMEOUT_MS, `${count} ${testid}s`);
  } catch (error) {
    const errors = await frame.locator('.view-error:not([hidden])').allInnerTexts();
    throw new Error(`expected ${Math.min(count, 64)} ${testid}s, saw ${seen}; view errors: ${JSON.stringify(errors)} (${(error as Error).message})`);
  }
}

async function selectedTab(frame: Frame): Promise<string | undefined> {
  return (await frame.locator('.tab[aria-selected="true"]').getAttribute('data-tab')) ?? undefined;
}

async function text(frame: Frame, selector: string): Promise<string> {
  return frame.evaluate((sel) => {
    const { document } = globalThis as unknown as BrowserGlobals;
    const el = document.querySelector(sel);
    return el ? el.innerText || el.textContent || '' : '';
  }, selector);
}

async function settle(page: Page): Promise<void> {
  await page.waitForTimeout(600);
}

/** Each layer's channel count (the last dimension of its output), from `cnn-lens layers --json`. */
function channelsFromCli(sandbox: Sandbox, workspace: string): Record<string, number> {
  const out = execFileSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'cli.js'), 'layers', '--model', path.join(workspace, MODEL), '--json', '-'], {
    cwd: sandbox.root,
    env: sandbox.env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  const summary = JSON.parse(out) as { layers: Array<{ name: string; outputShape: number[] }> };
  return Object.fromEntries(summary.layers.map((l) => [l.name, l.outputShape[l.outputShape.length - 1]]));
}
