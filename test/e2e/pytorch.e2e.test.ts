// End to end with a PyTorch model as its users have one: a workspace holding only the tutorial's
// model.py, its checkpoint simple_cnn.pth and an image (no settings, no sidecar, no labels). The
// packaged VSIX in code-server (trusted workspace) must find model.py by itself, run it with the
// machine's Python (Debian's python3-torch, found on the PATH past a Python without torch), and:
// right-click the image → Show Grad-CAM shows the CLI's top-1 at conv2, named as in model.py, beside
// the model.py editor; the Model tab lists the modules (pool (call 2)) with PyTorch shapes; the
// Filters tab draws conv1's 16 filters in PyTorch's order; the Activations tab shows conv2's
// 32 channels. Inspect while coding: lenses above the lines that define layers open them, the hover
// on self.conv2 gives its shape and weights, typing and saving model.py refreshes the panel, and a
// syntax error shows in the panel and as a squiggle on its line until fixed. Screenshots go to
// test-artifacts/e2e-pytorch/; CNN_LENS_UPDATE_SCREENSHOT=1 also writes media/screenshot-pytorch.png.
//
// Run: scripts/e2e/run.sh (all e2e files) or npx mocha --config test/e2e/.mocharc.json test/e2e/pytorch.e2e.test.ts
import * as assert from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { readCanvasStats } from './canvas';
import { REPO_ROOT, createSandbox, type RunningCodeServer, type Sandbox } from './codeServer';
import { closeWorkbench, recordFailure, SAMPLE_WORKSPACE, startWorkbench } from './session';
import {
  assertPanelBesideModel,
  chooseContextMenuItem,
  findWebviewFrame,
  openWorkspace,
  revealInExplorer,
  screenshot,
  visibleText,
  waitUntil,
  statusWithDetails,
} from './workbench';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'e2e-pytorch');
const SAMPLE = path.join(SAMPLE_WORKSPACE, 'pytorch');
const IMAGE = 'sneaker.png';
/** The first request starts the worker, Python and torch, and exports the model. */
const PANEL_TIMEOUT_MS = 120_000;

describe('CNN Lens with a PyTorch model.py in code-server (end to end)', function () {
  let sandbox: Sandbox | undefined;
  let server: RunningCodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let workspace = '';
  let expectedLabel = '';

  before(async function () {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    sandbox = createSandbox('cnn-lens-e2e-pytorch-');
    workspace = path.join(sandbox.root, 'workspace');
    fs.mkdirSync(workspace);
    fs.copyFileSync(path.join(SAMPLE, 'model.py'), path.join(workspace, 'model.py'));
    fs.copyFileSync(path.join(SAMPLE, 'simple_cnn.pth'), path.join(workspace, 'simple_cnn.pth'));
    fs.copyFileSync(path.join(SAMPLE, 'images', IMAGE), path.join(workspace, IMAGE));
    expectedLabel = labelFromCli(sandbox, workspace);
    // No labels.txt: classes are "class N". The sneaker is Fashion-MNIST's class 7.
    assert.strictEqual(expectedLabel, 'class 7', `the CLI's top-1 for ${IMAGE}`);
    ({ server, browser } = await startWorkbench(sandbox, { logFile: path.join(ARTIFACTS, 'code-server.log') }));
  });

  after(async function () {
    await closeWorkbench({ browser, server, sandbox }, path.join(ARTIFACTS, 'vscode-logs'));
  });

  afterEach(async function () {
    await recordFailure(this.currentTest, page, ARTIFACTS, 'pytorch-');
  });

  it('explorer: right-click the image → Show Grad-CAM explains it at conv2 with model.py beside the panel', async function () {
    page = await openWorkspace(browser!, server!.url, workspace);
    const row = await revealInExplorer(page, IMAGE);
    await chooseContextMenuItem(page, row, /Show Grad-CAM/);
    const panel = await findWebviewFrame(page, '#predictions', PANEL_TIMEOUT_MS);
    await waitUntil(
      async () => {
        const error = (await visibleText(panel, '#error')).trim();
        assert.strictEqual(error, '', `the panel shows an error: ${error}`);
        return (await visibleText(panel, '#predictions')).includes(expectedLabel);
      },
      PANEL_TIMEOUT_MS,
      `the prediction "${expectedLabel}"`,
    );
    const status = await statusWithDetails(panel);
    assert.match(status, /Grad-CAM of “class 7” \(class 7, score [\d.]+\) at conv2/, 'the layer is named as in model.py');
    assert.match(status, /input 3×32×32 \(found by trial; set "input" in cnn-lens\.json to choose it\)/);
    assert.strictEqual(await visibleText(panel, '#model-notice'), '', 'trained weights: no warning');
    assert.strictEqual(await visibleText(panel, '#model-link'), 'model.py');
    const heatmap = await readCanvasStats(panel, 'canvas#heatmap');
    assert.ok(heatmap.opaqueFraction > 0.5 && heatmap.distinctColors >= 8, `the heatmap is empty or uniform: ${JSON.stringify(heatmap)}`);
    await assertPanelBesideModel(page, 'model.py');
    await page.waitForTimeout(500);
    await screenshot(page, path.join(ARTIFACTS, '01-pytorch-gradcam.png'));
  });

  it('the Model tab lists the modules as written, with PyTorch shapes and parameter counts', async function () {
    const frame = await findWebviewFrame(page!, '[data-testid="tab-model"]');
    await frame.locator('[data-testid="tab-model"]').click();
    await frame.locator('[data-testid="layer-row"]').first().waitFor({ timeout: 60_000 });
    const rows = await frame.locator('[data-testid="layer-row"]').evaluateAll((els) => els.map((el) => (el as unknown as { dataset: Record<string, string> }).dataset.layer));
    assert.deepStrictEqual(rows, ['input', 'conv1', 'relu after conv1', 'pool', 'conv2', 'relu after conv2', 'pool (call 2)', 'reshape after pool (call 2)', 'fc1']);
    assert.match(await visibleText(frame, 'tr.default-layer'), /conv2\s*default.*Conv2d.*1×32×16×16.*4,640/s);
    assert.match(await visibleText(frame, '[data-testid="model-totals"]'), /25,578 parameters · input 1×3×32×32 · 10 classes/);
    assert.match(await visibleText(frame, '[data-testid="model-detail"]'), /SimpleCNN\(\) from model\.py, weights simple_cnn\.pth \(a state_dict\)/);
    await page!.waitForTimeout(500);
    await screenshot(page!, path.join(ARTIFACTS, '02-pytorch-model.png'));
  });

  it('Filters of conv1: 16 RGB patches, the weights in PyTorch\'s order', async function () {
    const frame = await findWebviewFrame(page!, '[data-testid="tab-model"]');
    await frame.locator('[data-testid="layer-row"][data-layer="conv1"] [data-testid="open-filters"]').click();
    await waitForCount(frame, 'filter-tile', 16);
    assert.match(await visibleText(frame, '[data-testid="filter-summary"]'), /conv1 · Conv2d · 16 filters .*weights \[16, 3, 3, 3\] OIHW/);
    const patch = await readCanvasStats(frame, '[data-testid="filter-tile"] canvas');
    assert.deepStrictEqual([patch.width, patch.height], [3, 3]);
    await page!.waitForTimeout(500);
    await screenshot(page!, path.join(ARTIFACTS, '03-pytorch-filters.png'));
  });

  it('Activations of conv2: one tile per channel for the image', async function () {
    const frame = await findWebviewFrame(page!, '[data-testid="tab-model"]');
    await frame.locator('[data-testid="tab-model"]').click();
    await frame.locator('[data-testid="layer-row"][data-layer="conv2"]').click();
    await waitForCount(frame, 'activation-tile', 32);
    assert.match(await visibleText(frame, '[data-testid="activation-summary"]'), /conv2 · .* · 32 channels of 16×16/);
    await page!.waitForTimeout(500);
    await screenshot(page!, path.join(ARTIFACTS, '04-pytorch-activations.png'));
  });

  it('model.py: lenses on the lines that define layers; "Grad-CAM here" above self.conv1 and self.conv2 opens those layers; hover on self.conv2', async function () {
    const editor = modelEditor(page!);
    const lenses = editor.locator('.codelens-decoration');
    await lenses.filter({ hasText: /^conv2 · 1×32×16×16/ }).first().waitFor({ timeout: PANEL_TIMEOUT_MS });
    const texts = (await lenses.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
    for (const expected of [
      /^Show Grad-CAM… \| Model summary$/,
      /^conv1 · 1×16×32×32 \| Activations \| Filters \| Grad-CAM here \| Explain here…$/,
      /^pool · 1×16×16×16 \| Activations \| Grad-CAM here \| Explain here… \| \+1 more$/,
      /^conv2 · 1×32×16×16 \| Activations \| Filters \| Grad-CAM here \(default\) \| Explain here…$/,
      /^fc1 · 1×10 \| Activations$/,
    ]) {
      assert.ok(texts.some((t) => expected.test(t)), `a lens ${expected} among ${JSON.stringify(texts)}`);
    }
    await page!.waitForTimeout(300);
    await screenshot(page!, path.join(ARTIFACTS, '05-pytorch-lenses.png'));
    const panel = await findWebviewFrame(page!, '#status');
    for (const layer of ['conv1', 'conv2']) {
      await lenses.filter({ hasText: new RegExp(`^${layer} ·`) }).first().locator('a', { hasText: 'Grad-CAM here' }).click();
      await waitUntil(async () => new RegExp(`at ${layer} ·`).test(await visibleText(panel, '#status')), PANEL_TIMEOUT_MS, `Grad-CAM at ${layer}`);
      assert.strictEqual(await panel.locator('.tab[aria-selected="true"]').getAttribute('data-tab'), 'gradcam', 'the Grad-CAM tab shows it');
    }
    // Hover on self.conv2 in forward(): the module, its PyTorch shape, parameters and weights.
    // Monaco's Python tokens: `self`, `.conv2`, `(`…; the last `.conv2` is forward()'s.
    // On a busy machine the first hover can come up before the model's summary is ready and show
    // nothing of ours: move away and back until it does.
    const hover = page!.locator('.monaco-hover-content', { hasText: 'Parameters' }).first();
    await waitUntil(
      async () => {
        const token = await editor.locator('.view-line span span', { hasText: '.conv2' }).last().boundingBox();
        assert.ok(token, 'the conv2 token of forward() is on screen');
        await page!.mouse.move(token.x + token.width / 2, token.y - 40, { steps: 2 });
        await page!.mouse.move(token.x + token.width / 2, token.y + token.height / 2, { steps: 5 });
        return hover.waitFor({ timeout: 10_000 }).then(
          () => true,
          () => false,
        );
      },
      PANEL_TIMEOUT_MS,
      'the hover on self.conv2 with its parameters',
    );
    const hoverText = await hover.innerText();
    assert.match(hoverText, /conv2 · Conv2d/);
    assert.match(hoverText, /Output: 1×32×16×16 \(N×C×H×W\) \(default\)/);
    assert.match(hoverText, /Parameters: 4,640/);
    assert.match(hoverText, /weight: min -?[\d.]+, mean -?[\d.]+, max [\d.]+/);
    const shot = await screenshot(page!, path.join(ARTIFACTS, '06-pytorch-hover.png'));
    if (process.env.CNN_LENS_UPDATE_SCREENSHOT === '1') {
      fs.copyFileSync(shot, path.join(REPO_ROOT, 'media', 'screenshot-pytorch.png'));
      console.log('e2e: updated media/screenshot-pytorch.png');
    }
    await page!.keyboard.press('Escape');
  });

  it('editing and saving model.py refreshes the panel; a syntax error shows its line, squiggled; fixing it recovers', async function () {
    const panel = await findWebviewFrame(page!, '#status');
    const scoreOf = async () => Number(/score (-?[\d.]+)\)/.exec(await statusWithDetails(panel))?.[1]);
    const before = await scoreOf();
    assert.ok(Number.isFinite(before), 'a score in the status line');
    const editor = modelEditor(page!);
    // Double the scores in forward(): `return x` → `return x * 2`, typed and saved in the editor.
    await editor.locator('.view-line', { hasText: 'return x' }).click();
    await page!.keyboard.press('End');
    await page!.keyboard.type(' * 2');
    await page!.keyboard.press('Control+S');
    await waitUntil(async () => Math.abs((await scoreOf()) - 2 * before) < 1e-3 * Math.abs(before), 30_000, `the score to double from ${before}`);
    await screenshot(page!, path.join(ARTIFACTS, '07-pytorch-saved.png'));

    await editor.locator('.view-line', { hasText: 'return x * 2' }).click();
    await page!.keyboard.press('End');
    await page!.keyboard.type(' +');
    await page!.keyboard.press('Control+S');
    const saved = () => fs.readFileSync(path.join(workspace, 'model.py'), 'utf8').split('\n');
    await waitUntil(async () => saved().some((l) => l.trim() === 'return x * 2 +'), 30_000, 'the broken line to be saved');
    const line = saved().findIndex((l) => l.trim() === 'return x * 2 +') + 1;
    await waitUntil(async () => new RegExp(`model\\.py:${line}: SyntaxError`).test(await visibleText(panel, '#error')), 30_000, `the syntax error at line ${line}`);
    await editor.locator('.squiggly-error').first().waitFor({ timeout: 30_000 });
    await screenshot(page!, path.join(ARTIFACTS, '08-pytorch-syntax-error.png'));

    await page!.keyboard.press('Backspace');
    await page!.keyboard.press('Backspace');
    await page!.keyboard.press('Control+S');
    await waitUntil(async () => (await visibleText(panel, '#error')).trim() === '', 30_000, 'the error to clear');
    await waitUntil(async () => Math.abs((await scoreOf()) - 2 * before) < 1e-3 * Math.abs(before), 30_000, 'the doubled score again');
    await editor.locator('.squiggly-error').first().waitFor({ state: 'detached', timeout: 30_000 });
  });
});

/** The editor group showing model.py. */
function modelEditor(page: Page) {
  return page.locator('.editor-group-container', { has: page.locator('.tab', { hasText: 'model.py' }) }).first();
}

async function waitForCount(frame: Frame, testid: string, count: number): Promise<void> {
  await waitUntil(async () => (await frame.locator(`[data-testid="${testid}"]`).count()) === count, PANEL_TIMEOUT_MS, `${count} ${testid}s`);
}

/** The top-1 label the CLI computes for the same files. */
function labelFromCli(sandbox: Sandbox, workspace: string): string {
  const jsonFile = path.join(sandbox.root, 'cli-pytorch.json');
  execFileSync(
    process.execPath,
    [path.join(REPO_ROOT, 'dist', 'cli.js'), 'gradcam', path.join(workspace, IMAGE), '--model', path.join(workspace, 'model.py'), '--json', jsonFile, '--out', path.join(sandbox.root, 'cli-pytorch.png')],
    { cwd: sandbox.root, env: sandbox.env, stdio: ['ignore', 'ignore', 'inherit'], timeout: 180_000 },
  );
  const result = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as { layer?: string; predictions?: Array<{ label?: string }> };
  assert.strictEqual(result.layer, 'conv2', 'the CLI explains conv2 by default');
  return result.predictions?.[0]?.label ?? '';
}
