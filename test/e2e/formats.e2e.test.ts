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
import {
  chooseContextMenuItem,
  findWebviewFrame,
  openWorkspace,
  revealInExplorer,
  screenshot,
  visibleText,
} from './workbench';
import { readCanvasStats } from './canvas';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'e2e-formats');
const ONNX_FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'onnx', 'sample_cnn');
const IMAGE = 'images/sample.png';
const MODEL = 'pytorch/sample_cnn.onnx';
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
    const viewer = await findWebviewFrame(page!, '#format', 30_000);
    const format = await visibleText(viewer, '#format');
    assert.match(format, /^ONNX · opset 13, pytorch 1\.13/);
    assert.match(await visibleText(viewer, '#input'), /64 × 64 × 3/);
    const layers = await visibleText(viewer, '#layers');
    assert.match(layers, /\/conv1\/Conv\s+Conv/);
    assert.match(layers, /\/conv4\/Relu ★/);
    await screenshot(page!, path.join(ARTIFACTS, '02-onnx-model-viewer.png'));
  });
});

/** The sample workspace plus the ONNX fixture (with its labels) as its model. */
function copyWorkspace(sandbox: Sandbox): string {
  const target = copySampleWorkspace(sandbox, MODEL);
  const modelFolder = path.join(target, path.dirname(MODEL));
  fs.mkdirSync(modelFolder, { recursive: true });
  fs.copyFileSync(path.join(ONNX_FIXTURE, 'sample_cnn.onnx'), path.join(target, MODEL));
  fs.copyFileSync(path.join(ONNX_FIXTURE, 'labels.txt'), path.join(modelFolder, 'labels.txt'));
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
