// End to end, output kinds and several outputs (issue 13): the packaged VSIX in code-server, a copy
// of the sample workspace with two models built by the test (test/unit/fixtures/outputModels.ts):
// `heads/` has three outputs (age: a regression, spoof: one sigmoid unit, race: three softmax
// classes) and `binary/` one sigmoid unit with a two-line labels.txt. The panel must show the Output
// picker for the first, explain the output picked, remember it for that model when the panel is
// opened again, and show the binary model as two classes σ(z) and 1 − σ(z) explained with ±z (not
// "100.0% class 0"). Answers by hand: z = 0.9, σ(z) = 71.1%, age = 21.7 for images/halves.png.
// Screenshots go to test-artifacts/e2e-outputs/.
//
// Run alone: scripts/e2e/run.sh test/e2e/outputs.e2e.test.ts
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { REPO_ROOT, createSandbox, type RunningCodeServer, type Sandbox } from './codeServer';
import { closeWorkbench, copySampleWorkspace, recordFailure, startWorkbench } from './session';
import { chooseContextMenuItem, chooseInPicker, findWebviewFrame, openWorkspace, revealInExplorer, runCommandFromPalette, screenshot, statusWithDetails, visibleText, waitUntil } from './workbench';
import { readCanvasStats } from './canvas';
import type { DomElement } from './dom';
import { initBackend } from '../../src/engine/backend';
import { encodePng } from '../../src/engine/index';
import type { RgbaImage } from '../../src/shared/types';
import { binaryLayersModel, multiHeadLayersModel, saveLayersModel, sigmoid, spoofLogit, ageValue } from '../unit/fixtures/outputModels';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'e2e-outputs');
const IMAGE = 'images/halves.png';
const PANEL_TIMEOUT_MS = 90_000;
/** 64×64: left half red, right half green at 0.4 (the models read it at 8×8, where z = 0.9). */
const SIDE = 64;

function halves(): RgbaImage {
  const data = new Uint8Array(SIDE * SIDE * 4);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      data.set(x < SIDE / 2 ? [255, 0, 0, 255] : [0, 102, 0, 255], (y * SIDE + x) * 4);
    }
  }
  return { width: SIDE, height: SIDE, data };
}

describe('CNN Lens with binary, regression and multi-head models in code-server (end to end)', function () {
  let sandbox: Sandbox | undefined;
  let server: RunningCodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let workspace = '';
  const image = halves();
  const percent = (p: number) => `${(p * 100).toFixed(1)}%`;
  let z = 0;

  before(async function () {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await initBackend('cpu');
    // The image as the models see it (8×8, area-equal halves): the same z and age as the unit tests' image.
    z = spoofLogit(halves8());
    assert.ok(Math.abs(z - 0.9) < 1e-6 && Math.abs(ageValue(halves8()) - 21.7) < 1e-6);
    sandbox = createSandbox('cnn-lens-e2e-outputs-');
    workspace = copySampleWorkspace(sandbox, 'heads/model.json');
    await saveLayersModel(multiHeadLayersModel(), path.join(workspace, 'heads'));
    fs.writeFileSync(path.join(workspace, 'heads', 'cnn-lens.json'), JSON.stringify({ output: [{ name: 'spoof', labels: 'spoof.txt' }, { name: 'race', labels: 'race.txt' }] }));
    fs.writeFileSync(path.join(workspace, 'heads', 'spoof.txt'), 'real\nspoof\n');
    fs.writeFileSync(path.join(workspace, 'heads', 'race.txt'), 'north\nsouth\neast\n');
    await saveLayersModel(binaryLayersModel(), path.join(workspace, 'binary'));
    fs.writeFileSync(path.join(workspace, 'binary', 'labels.txt'), 'real\nspoof\n');
    fs.writeFileSync(path.join(workspace, IMAGE), await encodePng(image));
    ({ server, browser } = await startWorkbench(sandbox, { logFile: path.join(ARTIFACTS, 'code-server.log') }));
  });

  after(async function () {
    await closeWorkbench({ browser, server, sandbox }, path.join(ARTIFACTS, 'vscode-logs'));
  });

  afterEach(async function () {
    await recordFailure(this.currentTest, page, ARTIFACTS, 'outputs-');
  });

  async function showGradCam(): Promise<Frame> {
    const row = await revealInExplorer(page!, IMAGE);
    await chooseContextMenuItem(page!, row, /Show Grad-CAM/);
    return findWebviewFrame(page!, '#predictions', PANEL_TIMEOUT_MS);
  }

  async function waitForStatus(panel: Frame, pattern: RegExp, what: string): Promise<string> {
    let status = '';
    await waitUntil(
      async () => {
        const error = (await visibleText(panel, '#error')).trim();
        assert.strictEqual(error, '', `the panel shows an error: ${error}`);
        status = await statusWithDetails(panel);
        return pattern.test(status);
      },
      PANEL_TIMEOUT_MS,
      `${what} (status: ${status})`,
    );
    return status;
  }

  /** Whether the Output picker takes room on the page (the hidden attribute alone does not say: CSS may override it). */
  async function outputPickerShown(panel: Frame): Promise<boolean> {
    return panel.evaluate(() => {
      const { document } = globalThis as unknown as { document: { querySelector(s: string): { getBoundingClientRect(): { height: number } } | null } };
      return (document.querySelector('#output-control')?.getBoundingClientRect().height ?? 0) > 0;
    });
  }

  async function outputOptions(panel: Frame): Promise<string[]> {
    return panel.evaluate(() => {
      const { document } = globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<DomElement> } };
      return Array.from(document.querySelectorAll('#output-select vscode-option')).map((o) => o.textContent ?? '');
    });
  }

  it('a model with several outputs: the Output picker, the output picked explained, and remembered for the model', async function () {
    page = await openWorkspace(browser!, server!.url, workspace);
    let panel = await showGradCam();
    // The first output by default: the age regression, shown as a value (no percentage).
    await waitForStatus(panel, /Grad-CAM of the value 21\.7 at trunk · output 0 "age" \(regression\) of 3/, 'the age output explained');
    assert.strictEqual((await visibleText(panel, '#predictions-title')).trim(), 'Value');
    const values = await visibleText(panel, '#predictions');
    assert.match(values, /value\s+21\.7/);
    assert.doesNotMatch(values, /%/);
    assert.ok(await outputPickerShown(panel), 'the Output picker is shown for a model with several outputs');
    assert.deepStrictEqual(await outputOptions(panel), ['0: age', '1: spoof', '2: race']);

    await chooseInPicker(panel, '#output-select', '1');
    await waitForStatus(panel, /Grad-CAM of “spoof” \(class 1: σ\(z\), \+z = 0\.9\) at trunk · output 1 "spoof" \(binary\) of 3/, 'the spoof output explained');
    const sides = await visibleText(panel, '#predictions');
    assert.match(sides, new RegExp(`spoof\\s+${percent(sigmoid(z)).replace('.', '\\.')}`));
    assert.match(sides, new RegExp(`real\\s+${percent(1 - sigmoid(z)).replace('.', '\\.')}`));
    const heatmap = await readCanvasStats(panel, 'canvas#heatmap');
    assert.ok(heatmap.distinctColors >= 2 && heatmap.lumaRange >= 40, `the heatmap is uniform: ${JSON.stringify(heatmap)}`);
    await page.waitForTimeout(500);
    await screenshot(page, path.join(ARTIFACTS, '01-output-picker.png'));

    await chooseInPicker(panel, '#output-select', '2');
    await waitForStatus(panel, /at race_conv · output 2 "race" \(classes\) of 3/, 'the race output at its own default layer');
    assert.match(await visibleText(panel, '#predictions'), /north|south|east/);
    await chooseInPicker(panel, '#output-select', '1');
    await waitForStatus(panel, /output 1 "spoof"/, 'back to the spoof output');

    // A new panel for the same model starts from the output chosen for it (workspaceState).
    await runCommandFromPalette(page, 'View: Close All Editors');
    await waitUntil(async () => (await page!.locator('iframe.webview.ready').count()) === 0, 30_000, 'the panel to close');
    panel = await showGradCam();
    await waitForStatus(panel, /output 1 "spoof" \(binary\) of 3/, 'the remembered spoof output in a new panel');
  });

  it('a one-unit sigmoid model: two classes σ(z) and 1 − σ(z), each explained with its side of z', async function () {
    await runCommandFromPalette(page!, 'View: Close All Editors');
    const settingsFile = path.join(workspace, '.vscode', 'settings.json');
    const settings = JSON.parse(fs.readFileSync(settingsFile, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(settingsFile, JSON.stringify({ ...settings, 'cnnLens.modelPath': 'binary/model.json' }, null, 2));
    await page!.waitForTimeout(1500); // the workbench reads the changed settings file
    const panel = await showGradCam();
    await waitForStatus(panel, /Grad-CAM of “spoof” \(class 1: σ\(z\), \+z = 0\.9\) at trunk/, 'the binary model explained');
    const status = await statusWithDetails(panel);
    assert.doesNotMatch(status, /output \d/, 'one output: the status does not name it');
    assert.ok(!(await outputPickerShown(panel)), 'one output: no Output picker');
    assert.strictEqual((await visibleText(panel, '#predictions-title')).trim(), 'Prediction (binary classifier)');
    const sides = await visibleText(panel, '#predictions');
    assert.doesNotMatch(sides, /100\.0%/);
    assert.match(sides, new RegExp(`^spoof\\s+${percent(sigmoid(z)).replace('.', '\\.')}`));
    assert.match(sides, new RegExp(`real\\s+${percent(1 - sigmoid(z)).replace('.', '\\.')}`));

    await chooseInPicker(panel, '#class-select', '0');
    await waitForStatus(panel, /Grad-CAM of “real” \(class 0: 1 − σ\(z\), −z = -0\.9\) at trunk/, 'class 0 explained with −z');
    // −z weighs A1 (the green right half): the overlay's right half is hotter than its left.
    const heatmap = await readCanvasStats(panel, 'canvas#heatmap');
    assert.ok(heatmap.lumaRange >= 40, `the heatmap of −z is uniform: ${JSON.stringify(heatmap)}`);
    await page!.waitForTimeout(500);
    await screenshot(page!, path.join(ARTIFACTS, '02-binary-classes.png'));
  });
});

/** The 64×64 test image as the models read it: resized to 8×8 (exact, each half is uniform). */
function halves8(): RgbaImage {
  const data = new Uint8Array(8 * 8 * 4);
  for (let p = 0; p < 64; p++) data.set(p % 8 < 4 ? [255, 0, 0, 255] : [0, 102, 0, 255], p * 4);
  return { width: 8, height: 8, data };
}
