// End to end: the Compare tab (issue 4, issue 16) in code-server. The sample image is opened with
// "CNN Lens: Show Grad-CAM" from the palette; the Compare tab's controls are @vscode-elements ones,
// focusable and named; a run with faithfulness metrics shows its progress in the panel (Run
// disabled, Cancel beside it), then the input and every method's overlay on it, each with its own
// time, its metrics' time apart and a deletion/insertion chart with a legend; ranking and the
// enlarged view work. Showing the same files again does not call the comparison stale (it did);
// another class does. A short run shows no notification. A model with a 2048-channel layer gets an
// estimate and a confirmation in the panel before Score-CAM, and Run Anyway can be cancelled.
// Screenshots in dark and light themes go to test-artifacts/e2e-compare/ (its own folder: the
// Grad-CAM suite clears test-artifacts/e2e/).
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { initBackend } from '../../src/engine/backend';
import * as tf from '../../src/engine/tf';
import { METHOD_LABELS, METHOD_NAMES } from '../../src/shared/types';
import { saveLayersModel } from '../unit/fixtures/outputModels';
import { readCanvasStats } from './canvas';
import { REPO_ROOT, createSandbox, type RunningCodeServer, type Sandbox } from './codeServer';
import { closeWorkbench, copySampleWorkspace, recordFailure, startWorkbench } from './session';
import type { BrowserGlobals } from './dom';
import {
  chooseContextMenuItem,
  chooseInPicker,
  findWebviewFrame,
  isQuickInputVisible,
  notificationTexts,
  openWorkspace,
  pickQuickPickItem,
  quickInputPrompt,
  revealInExplorer,
  runCommandFromPalette,
  screenshot,
  setColorTheme,
  statusWithDetails,
} from './workbench';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'e2e-compare');
const COMPARE_TIMEOUT_MS = 240_000;
const IMAGE = 'images/sample.png';

/** 224×224 input, a few strided convolutions, then a 1×1 convolution to 2048 channels (as a ResNet-50's last layer): Score-CAM's one pass per channel makes it long. */
function wideModel(): tf.LayersModel {
  const input = tf.input({ shape: [224, 224, 3], name: 'image' });
  const conv = (x: tf.SymbolicTensor, name: string, filters: number, size: number, strides: number) =>
    tf.layers.conv2d({ name, filters, kernelSize: size, strides, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: filters }) }).apply(x) as tf.SymbolicTensor;
  let x = conv(input, 'stem', 32, 3, 2);
  x = conv(x, 'block1', 64, 3, 2);
  x = conv(x, 'block2', 128, 3, 2);
  x = conv(x, 'wide_head', 2048, 1, 1);
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  const output = tf.layers.dense({ name: 'predictions', units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output, name: 'wide' });
}

describe('CNN Lens compare view in code-server (end to end)', function () {
  let sandbox: Sandbox | undefined;
  let server: RunningCodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let frame: Frame;

  before(async function () {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    sandbox = createSandbox('cnn-lens-e2e-compare-');
    const workspace = copySampleWorkspace(sandbox, 'model/model.json');
    await initBackend('cpu');
    const wide = wideModel();
    await saveLayersModel(wide, path.join(workspace, 'wide'));
    wide.dispose();
    // The tfjs engine on wasm: this suite checks its helper worker sharing SmoothGrad and the estimate's
    // confirmation before a long Score-CAM, which ONNX Runtime (the default where it loads; the
    // Grad-CAM and layer suites run it) makes short enough to need none.
    ({ server, browser } = await startWorkbench(sandbox, { logFile: path.join(ARTIFACTS, 'code-server.log'), settings: { 'cnnLens.backend': 'wasm' } }));
    page = await openWorkspace(browser, server.url, workspace);
  });

  after(async function () {
    await closeWorkbench({ browser, server, sandbox });
  });

  afterEach(async function () {
    await recordFailure(this.currentTest, page, ARTIFACTS, 'compare-');
  });

  it('controls: @vscode-elements only, each focusable with an accessible name; heading and button in their own words', async function () {
    await runCommandFromPalette(page!, 'CNN Lens: Show Grad-CAM');
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !(await page!.locator('iframe.webview.ready').count())) {
      if (await isQuickInputVisible(page!)) {
        const prompt = await quickInputPrompt(page!);
        await page!.locator('.quick-input-widget .quick-input-list .monaco-list-row').first().waitFor({ timeout: 10_000 });
        await pickQuickPickItem(page!, /model/i.test(prompt) ? 'model.json' : 'sample.png');
      }
      await page!.waitForTimeout(250);
    }
    frame = await findWebviewFrame(page!, '#compare', 90_000);
    await waitFor(frame, () => text(frame, '#predictions').then((t) => t.includes('Ankle boot')), 90_000, 'the first Grad-CAM');
    await frame.locator('[data-testid="tab-compare"]').click();

    // No helper functions inside evaluate: tsx names them with a __name helper the page lacks.
    const controls = await frame.evaluate(() => {
      type DomControl = { tagName: string; hidden: boolean; textContent: string | null; getAttribute(n: string): string | null; focus(): void };
      const { document } = globalThis as unknown as {
        document: { querySelectorAll(s: string): ArrayLike<DomControl>; querySelector(s: string): DomControl | null; getElementById(id: string): DomControl | null; activeElement: unknown };
      };
      const natives = document.querySelectorAll('#compare input, #compare select, #compare button').length;
      const all = Array.from(document.querySelectorAll('#compare vscode-button, #compare vscode-checkbox, #compare vscode-single-select'));
      const kinds: string[] = [];
      const unnamed: string[] = [];
      let focusable = 0;
      for (const el of all) {
        kinds.push(el.tagName.toLowerCase());
        const by = el.getAttribute('aria-labelledby');
        const name = (el.getAttribute('aria-label') ?? (by ? document.getElementById(by)?.textContent : undefined) ?? el.textContent ?? '').trim();
        if (!name) unnamed.push(el.tagName);
        if (el.hidden) {
          focusable += 1; // Cancel, shown only while a comparison runs
          continue;
        }
        el.focus();
        if (document.activeElement === el) focusable += 1;
      }
      return {
        natives,
        kinds,
        unnamed,
        focusable,
        count: all.length,
        heading: document.querySelector('#compare-title')?.textContent ?? '',
        button: document.querySelector('[data-testid="compare-run"]')?.textContent ?? '',
      };
    });
    assert.strictEqual(controls.natives, 0, 'no native input/select/button in the Compare tab');
    assert.strictEqual(controls.kinds.filter((k) => k === 'vscode-checkbox').length, METHOD_NAMES.length + 1, 'a checkbox per method and Faithfulness metrics');
    assert.deepStrictEqual(controls.unnamed, [], 'every control has an accessible name');
    assert.strictEqual(controls.focusable, controls.count, 'every control takes focus');
    assert.notStrictEqual(controls.heading.trim(), controls.button.trim(), 'heading and button say different things');
    assert.strictEqual(controls.button.trim(), 'Run Comparison');
  });

  it('runs every method with metrics: progress in the panel, then the input and each overlay with its own time, its metrics\' time and a chart', async function () {
    await frame.locator('[data-testid="compare-metrics"]').click();
    assert.strictEqual(await property(frame, '[data-testid="compare-metrics"]', 'checked'), true);
    await startComparison(frame);
    const during = await text(frame, '[data-testid="compare-progress"]');
    assert.match(during, /Estimating the time…|Starting the comparison…|\((\d+) of 13\)…/, during);
    assert.strictEqual(await property(frame, '[data-testid="compare-run"]', 'disabled'), true, 'Run is disabled while it runs');
    assert.strictEqual(await property(frame, '[data-testid="compare-cancel"]', 'hidden'), false, 'Cancel is offered');
    await screenshot(page!, path.join(ARTIFACTS, 'compare-progress.png'));

    await waitFor(frame, async () => (await frame.locator('[data-testid="compare-tile"]').count()) === METHOD_NAMES.length, COMPARE_TIMEOUT_MS, 'every method in the compare grid');
    await waitFor(frame, async () => (await text(frame, '[data-testid="compare-progress"]')) === '', 10_000, 'the progress line to go');
    assert.strictEqual(await property(frame, '[data-testid="compare-run"]', 'disabled'), false);
    assert.strictEqual(await property(frame, '[data-testid="compare-cancel"]', 'hidden'), true);
    assert.strictEqual(await text(frame, '#error'), '', 'no error');

    assert.match(await text(frame, '[data-testid="compare-input"] figcaption'), /Input\s*Ankle boot \(class 9\) · p = 0\.\d{3}/);
    const shown = await frame.locator('[data-testid="compare-tile"]').evaluateAll((tiles) => tiles.map((t) => (t as unknown as { dataset: Record<string, string> }).dataset.method));
    assert.deepStrictEqual(shown, [...METHOD_NAMES]);
    const input = await readCanvasStats(frame, 'canvas#compare-input-canvas');
    for (const method of METHOD_NAMES) {
      const stats = await readCanvasStats(frame, `canvas#compare-${method.replace(/\+/g, '\\+')}`);
      assert.ok(stats.width === input.width && stats.distinctColors >= 8 && stats.lumaRange >= 30, `${method}: overlay drawn at the image's size and not uniform (${JSON.stringify(stats)})`);
      const caption = await frame.locator(`[data-testid="compare-tile"][data-method="${method}"] figcaption`).innerText();
      assert.match(caption, new RegExp(`${METHOD_LABELS[method].replace(/[+()]/g, '\\$&')}\\n\\d+ ms · `), `${method}: its own time`);
      assert.match(caption, /metrics \d+ ms/, `${method}: the metrics' time apart`);
      assert.match(caption, /deletion AUC \d\.\d{3}\ninsertion AUC \d\.\d{3}/, `${method}: the legend with AUCs`);
      const chart = await readCanvasStats(frame, `canvas#curves-${method.replace(/\+/g, '\\+')}`);
      assert.ok(chart.distinctColors >= 8 && chart.opaqueFraction > 0.05, `${method}: the chart is drawn (${JSON.stringify(chart)})`);
    }
    // Grad-CAM's own time is its map, not its metrics (it showed "5705 ms" for 20 ms of work).
    const gradcam = await frame.locator('[data-testid="compare-tile"][data-method="gradcam"] figcaption').innerText();
    const own = Number(/\n(\d+) ms · /.exec(gradcam)?.[1]);
    const metrics = Number(/metrics (\d+) ms/.exec(gradcam)?.[1]);
    assert.ok(own < metrics, `Grad-CAM ${own} ms, its metrics ${metrics} ms`);

    await chooseInPicker(frame, '#compare-rank', 'deletion');
    await waitFor(frame, async () => /^1\. /.test((await frame.locator('[data-testid="compare-tile"] strong').allInnerTexts())[0] ?? ''), 5_000, 'ranked tiles numbered');

    // Keyboard: a tile takes focus with a visible ring, Enter opens it large.
    await frame.locator('[data-testid="compare-tile"][data-method="scorecam"]').focus();
    // Back and forth with the keyboard, so the focus is keyboard focus (:focus-visible).
    await page!.keyboard.press('Shift+Tab');
    await page!.keyboard.press('Tab');
    const ring = await frame.locator('[data-testid="compare-tile"][data-method="scorecam"]').evaluate((tile) => {
      const { getComputedStyle } = globalThis as unknown as { getComputedStyle(e: unknown): { outlineStyle: string; outlineWidth: string } };
      const style = getComputedStyle(tile);
      return { style: style.outlineStyle, width: style.outlineWidth };
    });
    assert.ok(ring.style !== 'none' && ring.width !== '0px', `focus ring: ${JSON.stringify(ring)}`);
    await frame.locator('[data-testid="compare-tile"][data-method="scorecam"]').press('Enter');
    await waitFor(frame, () => frame.locator('[data-testid="compare-large"]').isVisible(), 10_000, 'the enlarged view');
    assert.match(await frame.locator('[data-testid="compare-large"] figcaption').innerText(), /Score-CAM/);
    await frame.locator('#compare').evaluate((el) => (el as unknown as { scrollIntoView(): void }).scrollIntoView());
    await page!.waitForTimeout(500);
    await screenshot(page!, path.join(ARTIFACTS, 'compare-enlarged-dark.png'));
    await frame.locator('[data-testid="compare-large-close"]').click();
    await frame.locator('[data-testid="compare-grid"]').evaluate((el) => (el as unknown as { scrollIntoView(): void }).scrollIntoView());
    await page!.waitForTimeout(500);
    await screenshot(page!, path.join(ARTIFACTS, 'compare-grid-dark.png'));
  });

  it('showing the same files again leaves the comparison current (it said "The image or model changed"); another class makes it stale', async function () {
    assert.strictEqual(await stale(frame), false);
    // Explorer → Show Grad-CAM on the image the panel already shows, with the same (remembered) model.
    const row = await revealInExplorer(page!, IMAGE);
    await chooseContextMenuItem(page!, row, /Show Grad-CAM/);
    await page!.waitForTimeout(500);
    if (await isQuickInputVisible(page!)) {
      await pickQuickPickItem(page!, 'model.json');
    }
    frame = await findWebviewFrame(page!, '#compare', 60_000);
    // Each tab has its own status line: the Grad-CAM run is read on its tab.
    await frame.locator('[data-testid="tab-gradcam"]').click();
    await waitFor(frame, () => text(frame, '[data-testid="status"]').then((t) => /^Grad-CAM of Ankle boot at /.test(t)), 60_000, 'the Grad-CAM run again');
    await frame.locator('[data-testid="tab-compare"]').click();
    await page!.waitForTimeout(1000);
    assert.strictEqual(await stale(frame), false, `still current: ${await text(frame, '[data-testid="compare-summary"]')}`);
    assert.doesNotMatch(await text(frame, '[data-testid="compare-summary"]'), /changed/);

    await frame.locator('[data-testid="tab-gradcam"]').click();
    await chooseInPicker(frame, '#class-select', '5');
    await frame.locator('[data-testid="tab-compare"]').click();
    await waitFor(frame, () => stale(frame), 10_000, 'the comparison marked stale');
    assert.strictEqual(await text(frame, '[data-testid="compare-summary"]'), 'The class changed: compare again to update.');
    await frame.locator('[data-testid="tab-gradcam"]').click();
    await chooseInPicker(frame, '#class-select', '9');
    await waitFor(frame, async () => !(await stale(frame)), 10_000, 'the top-1 class picked again: current');
    await frame.locator('[data-testid="tab-compare"]').click();
  });

  it('a short comparison shows no notification', async function () {
    await frame.locator('[data-testid="compare-metrics"]').click();
    assert.strictEqual(await property(frame, '[data-testid="compare-metrics"]', 'checked'), false);
    for (const method of METHOD_NAMES.filter((m) => m !== 'gradcam' && m !== 'gradcam++')) {
      await frame.locator(`[data-testid="compare-methods"] vscode-checkbox[data-method="${method}"]`).click();
    }
    const seen: string[] = [];
    await frame.locator('[data-testid="compare-run"]').click();
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (await frame.locator('[data-testid="compare-tile"]').count()) !== 2) {
      seen.push(...(await notificationTexts(page!)));
      await page!.waitForTimeout(100);
    }
    assert.strictEqual(await frame.locator('[data-testid="compare-tile"]').count(), 2);
    await page!.waitForTimeout(2500);
    seen.push(...(await notificationTexts(page!)));
    assert.deepStrictEqual(seen.filter((t) => /compar/i.test(t)), [], 'no notification for a short comparison');
    for (const method of METHOD_NAMES.filter((m) => m !== 'gradcam' && m !== 'gradcam++')) {
      await frame.locator(`[data-testid="compare-methods"] vscode-checkbox[data-method="${method}"]`).click();
    }
  });

  it('SmoothGrad after the comparison shares its samples with the helper worker (cnnLens.sampleWorkers, default on 2 cores)', async function () {
    await frame.locator('[data-testid="tab-gradcam"]').click();
    await chooseInPicker(frame, '#method-select', 'smoothgrad');
    await waitFor(frame, () => statusWithDetails(frame).then((t) => /SmoothGrad/.test(t) && /\d+ samples on helper workers/.test(t)), 60_000, 'a SmoothGrad with samples on the helper');
    assert.strictEqual(await text(frame, '#error'), '', 'no error');
    await page!.waitForTimeout(500);
    await screenshot(page!, path.join(ARTIFACTS, 'smoothgrad-helpers.png'));
    await chooseInPicker(frame, '#method-select', 'gradcam');
  });

  it('light theme: the comparison with metrics', async function () {
    await frame.locator('[data-testid="tab-compare"]').click();
    await frame.locator('[data-testid="compare-metrics"]').click();
    await startComparison(frame);
    await waitFor(frame, async () => (await frame.locator('canvas.compare-curves').count()) === METHOD_NAMES.length && (await text(frame, '[data-testid="compare-progress"]')) === '', COMPARE_TIMEOUT_MS, 'the comparison with metrics');
    await setTheme(page!, frame, 'Light Modern');
    await frame.locator('[data-testid="compare-tile"][data-method="gradcam"]').click();
    await frame.locator('#compare').evaluate((el) => (el as unknown as { scrollIntoView(): void }).scrollIntoView());
    await page!.waitForTimeout(800);
    await screenshot(page!, path.join(ARTIFACTS, 'compare-enlarged-light.png'));
    await frame.locator('[data-testid="compare-large-close"]').click();
    await frame.locator('[data-testid="compare-grid"]').evaluate((el) => (el as unknown as { scrollIntoView(): void }).scrollIntoView());
    await page!.waitForTimeout(800);
    await screenshot(page!, path.join(ARTIFACTS, 'compare-grid-light.png'));
    await setTheme(page!, frame, 'Dark Modern');
  });

  it('a 2048-channel layer: the estimate and a confirmation in the panel before Score-CAM; Run Anyway runs and Cancel stops it', async function () {
    await frame.locator('[data-testid="select-model"]').click();
    await pickQuickPickItem(page!, 'wide');
    frame = await findWebviewFrame(page!, '#compare', 60_000);
    await frame.locator('[data-testid="tab-gradcam"]').click();
    await waitFor(frame, () => text(frame, '[data-testid="status"]').then((t) => /at wide_head/.test(t)), 120_000, 'Grad-CAM with the wide model');
    await frame.locator('[data-testid="tab-compare"]').click();
    assert.strictEqual(await text(frame, '[data-testid="compare-summary"]'), 'The model changed: compare again to update.');

    await frame.locator('[data-testid="compare-metrics"]').click(); // off: Score-CAM alone is long enough
    for (const method of METHOD_NAMES.filter((m) => m !== 'scorecam')) {
      await frame.locator(`[data-testid="compare-methods"] vscode-checkbox[data-method="${method}"]`).click();
    }
    const tilesBefore = await frame.locator('[data-testid="compare-tile"]').count();
    await frame.locator('[data-testid="compare-run"]').click();
    await waitFor(frame, () => frame.locator('[data-testid="compare-confirm"]').isVisible(), 60_000, 'the confirmation');
    const confirm = await text(frame, '[data-testid="compare-confirm"]');
    assert.match(confirm, /This comparison will take about \d+ (s|min) \(one forward pass of this model takes [\d.]+ ms/, confirm);
    assert.match(confirm, /Score-CAM: about \d+ (s|min) \(one forward pass for each of wide_head's 2048 channels\)/, confirm);
    await frame.locator('#compare').evaluate((el) => (el as unknown as { scrollIntoView(): void }).scrollIntoView());
    await page!.waitForTimeout(300);
    await screenshot(page!, path.join(ARTIFACTS, 'compare-confirm-dark.png'));
    assert.strictEqual(await frame.locator('[data-testid="compare-tile"]').count(), tilesBefore, 'nothing ran: the previous comparison stays');

    await frame.locator('[data-testid="compare-confirm-cancel"]').click();
    assert.strictEqual(await frame.locator('[data-testid="compare-confirm"]').isVisible(), false);
    await frame.locator('[data-testid="compare-run"]').click();
    await waitFor(frame, () => frame.locator('[data-testid="compare-confirm"]').isVisible(), 60_000, 'the confirmation again');
    await frame.locator('[data-testid="compare-confirm-run"]').click();
    await waitFor(frame, () => text(frame, '[data-testid="compare-progress"]').then((t) => /Score-CAM \(1 of 1\)… · about \d+ (s|min) in all/.test(t)), 60_000, 'Score-CAM running');
    assert.strictEqual(await property(frame, '[data-testid="compare-run"]', 'disabled'), true);
    await page!.waitForTimeout(2500);
    assert.ok((await notificationTexts(page!)).some((t) => /Score-CAM/.test(t)), 'a run over 2 s shows a notification too');
    await screenshot(page!, path.join(ARTIFACTS, 'compare-running-dark.png'));
    await frame.locator('[data-testid="compare-cancel"]').click();
    await waitFor(frame, () => text(frame, '[data-testid="compare-note"]').then((t) => t === 'Comparison cancelled: showing the previous one.'), 30_000, 'the cancellation');
    assert.strictEqual(await property(frame, '[data-testid="compare-run"]', 'disabled'), false);
    assert.strictEqual(await property(frame, '[data-testid="compare-cancel"]', 'hidden'), true);
    assert.strictEqual(await text(frame, '#error'), '', 'no error');
  });
});

/** The Light or Dark Modern theme (setColorTheme in workbench.ts). */
async function setTheme(page: Page, frame: Frame, label: 'Light Modern' | 'Dark Modern'): Promise<void> {
  await setColorTheme(page, frame, label, label.startsWith('Light') ? 'vscode-light' : 'vscode-dark');
}

/**
 * Run Comparison, past the estimate: every method with metrics on the sample takes a few seconds,
 * near the confirmation's threshold on a busy machine, so run anyway if the panel asks. Returns once
 * a method runs (the progress line names it).
 */
async function startComparison(frame: Frame): Promise<void> {
  await frame.locator('[data-testid="compare-run"]').click();
  const running = async () => /\(\d+ of \d+\)|Starting the comparison/.test(await text(frame, '[data-testid="compare-progress"]'));
  const asking = () => frame.locator('[data-testid="compare-confirm"]').isVisible();
  await waitFor(frame, async () => (await running()) || (await asking()), 30_000, 'the comparison to start or ask');
  if (await asking()) {
    await frame.locator('[data-testid="compare-confirm-run"]').click();
    await waitFor(frame, running, 30_000, 'the comparison to start');
  }
}

async function stale(frame: Frame): Promise<boolean> {
  return frame.locator('[data-testid="compare-grid"]').evaluate((el) => (el as unknown as { classList: { contains(c: string): boolean } }).classList.contains('stale'));
}

async function property(frame: Frame, selector: string, name: string): Promise<unknown> {
  return frame.locator(selector).evaluate((el, key) => (el as unknown as Record<string, unknown>)[key], name);
}

async function text(frame: Frame, selector: string): Promise<string> {
  return frame.evaluate((sel) => {
    const { document } = globalThis as unknown as BrowserGlobals;
    const el = document.querySelector(sel);
    return el && !el.hidden ? el.innerText || el.textContent || '' : '';
  }, selector);
}

async function waitFor(frame: Frame, check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) {
      return;
    }
    const error = (await text(frame, '#error')) || (await text(frame, '[data-testid="compare-note"].error'));
    if (error.trim()) {
      throw new Error(`waiting for ${what}, the panel shows an error: ${error.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
