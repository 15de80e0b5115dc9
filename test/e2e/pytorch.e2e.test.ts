// End to end with a PyTorch model as its users have one: a workspace holding only the tutorial's
// model.py, its checkpoint simple_cnn.pth and an image (no settings, no sidecar, no labels). The
// packaged VSIX in code-server (trusted workspace) must find model.py by itself, run it with the
// machine's Python (Debian's python3-torch, found on the PATH past a Python without torch), and:
// right-click the image → Show Grad-CAM shows the CLI's top-1 at conv2, named as in model.py, beside
// the model.py editor; the Model tab lists the modules (pool (call 2)) with PyTorch shapes; the
// Filters tab draws conv1's 16 filters in PyTorch's order; the Activations tab shows conv2's
// 32 channels. Screenshots go to test-artifacts/e2e-pytorch/.
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
    const status = await visibleText(panel, '#status');
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
    assert.match(await visibleText(frame, 'tr.default-layer'), /conv2.*Grad-CAM default.*Conv2d.*1×32×16×16.*4,640/s);
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
});

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
