// End to end: the compare view (issue 4) in code-server. The sample image is opened with
// "CNN Lens: Show Grad-CAM" from the palette, then "Compare methods" with faithfulness metrics runs
// every method; each must render a non-uniform overlay with its time and metric curves, and a click
// must open it large. Screenshots go to test-artifacts/e2e-compare/ (its own folder: the Grad-CAM
// suite clears test-artifacts/e2e/).
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { METHOD_NAMES } from '../../src/protocol/types';
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
  statusWithDetails,
} from './workbench';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'e2e-compare');
const COMPARE_TIMEOUT_MS = 240_000;

describe('CNN Lens compare view in code-server (end to end)', function () {
  let sandbox: Sandbox | undefined;
  let server: RunningCodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;

  before(async function () {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    sandbox = createSandbox('cnn-lens-e2e-compare-');
    const workspace = copySampleWorkspace(sandbox, 'model/model.json');
    ({ server, browser } = await startWorkbench(sandbox, { logFile: path.join(ARTIFACTS, 'code-server.log') }));
    page = await openWorkspace(browser, server.url, workspace);
  });

  after(async function () {
    await closeWorkbench({ browser, server, sandbox });
  });

  afterEach(async function () {
    await recordFailure(this.currentTest, page, ARTIFACTS, 'compare-');
  });

  it('renders every method for the sample image, with times and metric curves; a click opens one large', async function () {
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
    const frame = await findWebviewFrame(page!, '#compare', 90_000);
    await waitFor(frame, () => text(frame, '#predictions').then((t) => t.includes('Ankle boot')), 90_000, 'the first Grad-CAM');
    await frame.locator('[data-testid="tab-compare"]').click();

    assert.strictEqual(await frame.locator('[data-testid="compare-methods"] input[type="checkbox"]').count(), METHOD_NAMES.length);
    await frame.locator('[data-testid="compare-metrics"]').check();
    await frame.locator('[data-testid="compare-run"]').click();
    await waitFor(frame, async () => (await frame.locator('[data-testid="compare-tile"]').count()) === METHOD_NAMES.length, COMPARE_TIMEOUT_MS, 'every method in the compare grid');
    assert.strictEqual(await text(frame, '#error'), '', 'no error');

    const shown = await frame.locator('[data-testid="compare-tile"]').evaluateAll((tiles) => tiles.map((t) => (t as unknown as { dataset: Record<string, string> }).dataset.method));
    assert.deepStrictEqual(shown, [...METHOD_NAMES]);
    for (const method of METHOD_NAMES) {
      const stats = await readCanvasStats(frame, `canvas#compare-${method.replace(/\+/g, '\\+')}`);
      assert.ok(stats.width > 0 && stats.distinctColors >= 8 && stats.lumaRange >= 30, `${method}: overlay is drawn and not uniform (${JSON.stringify(stats)})`);
      const caption = await frame.locator(`[data-method="${method}"] figcaption`).innerText();
      assert.match(caption, /\d+ ms/, `${method}: time shown`);
      assert.match(caption, /del \d\.\d{3} · ins \d\.\d{3}/, `${method}: AUCs shown`);
    }
    assert.strictEqual(await frame.locator('canvas.compare-curves').count(), METHOD_NAMES.length);

    await frame.locator('[data-testid="compare-rank"]').selectOption('deletion');
    const ranked = await frame.locator('[data-testid="compare-tile"] strong').allInnerTexts();
    assert.match(ranked[0], /^1\. /, 'ranked tiles are numbered');

    await frame.locator('[data-testid="compare-grid"]').evaluate((el) => (el as unknown as { scrollIntoView(): void }).scrollIntoView());
    await page!.waitForTimeout(500);
    await screenshot(page!, path.join(ARTIFACTS, 'compare-grid.png'));

    await frame.locator('[data-method="scorecam"]').click();
    await waitFor(frame, () => frame.locator('[data-testid="compare-large"]').isVisible(), 10_000, 'the enlarged view');
    assert.match(await frame.locator('[data-testid="compare-large"] figcaption').innerText(), /Score-CAM/);
    await frame.locator('#compare').evaluate((el) => (el as unknown as { scrollIntoView(): void }).scrollIntoView());
    await page!.waitForTimeout(500);
    await screenshot(page!, path.join(ARTIFACTS, 'compare-enlarged.png'));
  });

  it('SmoothGrad after the comparison shares its samples with the helper worker (cnnLens.sampleWorkers, default on 2 cores)', async function () {
    const frame = await findWebviewFrame(page!, '[data-testid="tab-gradcam"]');
    await frame.locator('[data-testid="tab-gradcam"]').click();
    // The comparison's sampling methods started the helper, which has loaded the model by now.
    await chooseInPicker(frame, '#method-select', 'smoothgrad');
    await waitFor(frame, () => statusWithDetails(frame).then((t) => /SmoothGrad/.test(t) && /\d+ samples on helper workers/.test(t)), 60_000, 'a SmoothGrad with samples on the helper');
    assert.strictEqual(await text(frame, '#error'), '', 'no error');
    await page!.waitForTimeout(500);
    await screenshot(page!, path.join(ARTIFACTS, 'smoothgrad-helpers.png'));
  });
});

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
    const error = await text(frame, '#error');
    if (error.trim()) {
      throw new Error(`waiting for ${what}, the panel shows an error: ${error.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
