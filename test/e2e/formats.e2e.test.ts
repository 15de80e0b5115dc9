// End to end with a PyTorch model: the packaged VSIX in code-server, a copy of the sample workspace
// whose `cnnLens.modelPath` names an ONNX file exported by torch.onnx.export (the trained sample CNN
// from its PyTorch definition, test/fixtures/onnx/sample_cnn, with its labels.txt beside it). Right-click an image
// → Show Grad-CAM must show the label the CLI predicts for the same files and a heatmap; the .onnx
// file beside the panel must open in CNN Lens's model viewer (its summary, not binary bytes).
// Screenshots go to test-artifacts/e2e-formats/.
//
// Run: scripts/e2e/run.sh (all e2e files) or npx mocha --config test/e2e/.mocharc.json test/e2e/formats.e2e.test.ts
import * as assert from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import {
  REPO_ROOT,
  createSandbox,
  type RunningCodeServer,
  type Sandbox,
} from './codeServer';
import { closeWorkbench, copySampleWorkspace, recordFailure, startWorkbench } from './session';
import { h5WithHugeDataset } from '../unit/fixtures/craftedFiles';
import {
  chooseContextMenuItem,
  chooseInPicker,
  notificationTexts,
  findWebviewFrame,
  openWorkspace,
  revealInExplorer,
  screenshot,
  visibleText,
  waitUntil,
} from './workbench';
import { readCanvasStats } from './canvas';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'e2e-formats');
const ONNX_FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'onnx', 'sample_cnn');
const IMAGE = 'images/sample.png';
const MODEL = 'pytorch/sample_cnn.onnx';
/** Generated (test/unit/fixtures/craftedFiles.ts): the sample .h5 with its conv1 kernel declared [3, 3, 15000, 15000]. */
const CRAFTED_H5 = 'crafted/h5bomb.h5';
const PANEL_TIMEOUT_MS = 90_000;

describe('CNN Lens with an ONNX model in code-server (end to end)', function () {
  let sandbox: Sandbox | undefined;
  let server: RunningCodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let workspace = '';
  let expectedLabel = '';

  before(async function () {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    sandbox = createSandbox('cnn-lens-e2e-onnx-');
    workspace = copyWorkspace(sandbox);
    expectedLabel = labelFromCli(sandbox, workspace);
    // The trained sample sees the ankle boot in sample.png (scripts/sample/sample-images.json).
    assert.strictEqual(expectedLabel, 'Ankle boot', `the CLI's top-1 for ${IMAGE} with the ONNX sample`);
    ({ server, browser } = await startWorkbench(sandbox, { logFile: path.join(ARTIFACTS, 'code-server.log') }));
  });

  after(async function () {
    await closeWorkbench({ browser, server, sandbox });
  });

  afterEach(async function () {
    await recordFailure(this.currentTest, page, ARTIFACTS, 'formats-');
  });

  it('explorer: right-click the image → Show Grad-CAM explains it with the ONNX model', async function () {
    page = await openWorkspace(browser!, server!.url, workspace);
    const row = await revealInExplorer(page, IMAGE);
    await chooseContextMenuItem(page, row, /Show Grad-CAM/);
    const panel = await findWebviewFrame(page, '#predictions', PANEL_TIMEOUT_MS);
    const deadline = Date.now() + PANEL_TIMEOUT_MS;
    let predictions = '';
    while (Date.now() < deadline) {
      const error = await visibleText(panel, '#error');
      assert.strictEqual(error.trim(), '', `the panel shows an error: ${error.trim()}`);
      predictions = await visibleText(panel, '#predictions');
      if (predictions.includes(expectedLabel)) break;
      await page.waitForTimeout(250);
    }
    assert.ok(predictions.includes(expectedLabel), `#predictions shows ${JSON.stringify(predictions)}, expected the CLI's top-1 "${expectedLabel}"`);
    const layer = await visibleText(panel, 'body');
    assert.match(layer, /\/conv4\/Relu/, 'the panel names the ONNX node it explains');
    const heatmap = await readCanvasStats(panel, 'canvas#heatmap');
    assert.ok(heatmap.opaqueFraction > 0.5 && heatmap.distinctColors >= 8 && heatmap.lumaRange >= 40, `the heatmap is empty or uniform: ${JSON.stringify(heatmap)}`);
    await page.waitForTimeout(500);
    await screenshot(page, path.join(ARTIFACTS, '01-onnx-gradcam.png'));
  });

  it('the .onnx file beside the panel opens in the model viewer with its summary', async function () {
    const viewer = await findWebviewFrame(page!, '#format', 60_000);
    const format = await visibleText(viewer, '#format');
    assert.match(format, /^ONNX · opset 13, pytorch 1\.13/);
    assert.match(await visibleText(viewer, '#input'), /^1×3×64×64 \(N×C×H×W\)$/, 'an ONNX model in PyTorch\'s notation');
    const layers = await visibleText(viewer, '#layers');
    assert.match(layers, /\/conv1\/Conv\s+Conv/);
    assert.match(layers, /\/conv4\/Relu \(default\)/);
    assert.match(layers, /Output shape \(N×C×H×W\)/);
    await screenshot(page!, path.join(ARTIFACTS, '02-onnx-model-viewer.png'));
  });

  // Issue 12: this file (a 15000² kernel declared, 1 MB of gzip'd zeros) once took the extension host
  // down 16 s after one click in the Explorer. Now the model viewer says what is wrong and the panel
  // keeps working.
  it('a crafted .h5 declaring a 15000² kernel opens as an error naming it; the extension and the panel keep working', async function () {
    const row = await revealInExplorer(page!, CRAFTED_H5);
    await row.click();
    const viewer = await findWebviewFrame(page!, '#error', 60_000);
    const error = await visibleText(viewer, '#error');
    assert.match(error, /h5bomb\.h5/, 'the error names the file');
    assert.match(error, /\[3, 3, 15000, 15000\]/, 'the error says what is too large');
    await screenshot(page!, path.join(ARTIFACTS, '03-crafted-h5.png'));

    // The viewer opened over the panel in its group: bring the panel back.
    await page!.locator('.tabs-container .tab', { hasText: 'Grad-CAM: sample.png' }).click();
    const panel = await findWebviewFrame(page!, '#method-select', 30_000);
    await chooseInPicker(panel, '#method-select', 'saliency');
    await waitUntil(async () => /saliency/i.test(await visibleText(panel, '[data-testid="status"]')), PANEL_TIMEOUT_MS, 'the panel to explain with saliency after the crafted file');
    assert.strictEqual((await visibleText(panel, '#error')).trim(), '', 'the panel shows an error');
    assert.ok((await visibleText(panel, '#predictions')).includes(expectedLabel));
    const dead = (await notificationTexts(page!)).filter((t) => /terminated|crash/i.test(t));
    assert.deepStrictEqual(dead, [], 'the extension host stayed up');
  });
});

/** The sample workspace plus the ONNX fixture (with its labels) as its model. */
function copyWorkspace(sandbox: Sandbox): string {
  const target = copySampleWorkspace(sandbox, MODEL);
  const modelFolder = path.join(target, path.dirname(MODEL));
  fs.mkdirSync(modelFolder, { recursive: true });
  fs.copyFileSync(path.join(ONNX_FIXTURE, 'sample_cnn.onnx'), path.join(target, MODEL));
  fs.copyFileSync(path.join(ONNX_FIXTURE, 'labels.txt'), path.join(modelFolder, 'labels.txt'));
  fs.mkdirSync(path.join(target, path.dirname(CRAFTED_H5)), { recursive: true });
  fs.writeFileSync(path.join(target, CRAFTED_H5), h5WithHugeDataset());
  return target;
}

/** The top-1 label the CLI computes for the same image and ONNX model. */
function labelFromCli(sandbox: Sandbox, workspace: string): string {
  const jsonFile = path.join(sandbox.root, 'cli-onnx.json');
  execFileSync(
    process.execPath,
    [path.join(REPO_ROOT, 'dist', 'cli.js'), 'gradcam', path.join(workspace, IMAGE), '--model', path.join(workspace, MODEL), '--json', jsonFile, '--out', path.join(sandbox.root, 'cli-onnx.png')],
    { cwd: sandbox.root, env: sandbox.env, stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 },
  );
  const result = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as { predictions?: Array<{ label?: string }> };
  const label = result.predictions?.[0]?.label;
  assert.ok(label && !/^class \d+$/.test(label), `the CLI's top-1 has no label from labels.txt: ${JSON.stringify(label)}`);
  return label;
}
