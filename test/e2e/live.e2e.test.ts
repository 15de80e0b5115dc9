// Inspect while coding, end to end in a real VS Code (code-server + chromium, see gradcam.e2e.test.ts
// for the machinery): the panel follows model files changed on disk (a weight edit changes the top
// prediction to the one the CLI computes on the edited files; a broken model.json shows the error
// over the dimmed previous result; fixing it recovers), and the "Grad-CAM here" CodeLens above a
// layer of model.json shows the panel at that layer. Screenshots: test-artifacts/e2e/live-*.png.
//
// Run: scripts/e2e/run.sh test/e2e/live.e2e.test.ts (or with the whole suite)
import * as assert from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
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
const IMAGE = 'images/sample.png';
const MODEL = 'model/model.json';
const SHARD = 'model/group1-shard1of1.bin';
const PANEL_TIMEOUT_MS = 90_000;

interface CliResult {
  label: string;
  classIndex: number;
}

describe('CNN Lens in code-server: inspect while coding (end to end)', function () {
  let sandbox: Sandbox | undefined;
  let server: RunningCodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let workspace = '';

  before(async function () {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    for (const old of fs.readdirSync(ARTIFACTS).filter((file) => file.startsWith('live-'))) {
      fs.rmSync(path.join(ARTIFACTS, old), { recursive: true, force: true });
    }
    sandbox = createSandbox('cnn-lens-e2e-live-');
    workspace = copySampleWorkspace(sandbox, MODEL);
    ({ server, browser } = await startWorkbench(sandbox, { logFile: path.join(ARTIFACTS, 'live-code-server.log'), settings: { 'editor.codeLens': true } }));
  });

  after(async function () {
    await closeWorkbench({ browser, server, sandbox }, path.join(ARTIFACTS, 'live-vscode-logs'));
  });

  afterEach(async function () {
    await recordFailure(this.currentTest, page, ARTIFACTS, 'live-');
  });

  it('live refresh: a weight edited on disk re-renders the panel with the prediction the CLI computes', async function () {
    const before = cli(sandbox!, workspace);
    page = await openWorkspace(browser!, server!.url, workspace);
    await runCommandFromPalette(page, 'CNN Lens: Show Grad-CAM');
    await pickImage(page);
    const frame = await waitForTopPrediction(page, before.label);
    await screenshot(page, path.join(ARTIFACTS, 'live-01-before.png'));

    // A training script re-saving weights: push the predicted class's bias down by 40, on disk.
    editBias(workspace, before.classIndex, -40);
    const after = cli(sandbox!, workspace);
    assert.notStrictEqual(after.label, before.label, 'the edit must change the top class (test set-up)');
    await waitForTopPrediction(page, after.label, frame);
    await screenshot(page, path.join(ARTIFACTS, 'live-02-after-weight-edit.png'));
  });

  it('live refresh: a broken model.json shows the error over the dimmed result; fixing it recovers', async function () {
    const frame = await findWebviewFrame(page!, '#predictions');
    const modelFile = path.join(workspace, MODEL);
    const good = fs.readFileSync(modelFile, 'utf8');
    fs.writeFileSync(modelFile, good.slice(0, Math.floor(good.length / 2)));
    await waitUntil(async () => /not valid JSON/.test(await text(frame, '#error')), PANEL_TIMEOUT_MS, 'the panel to show the broken model.json');
    const errorText = await text(frame, '#error');
    assert.ok(errorText.includes('model.json'), `the error names the file: ${errorText}`);
    assert.ok(await frame.evaluate(() => ((globalThis as unknown as BrowserGlobals).document.querySelector('main.views')?.getAttribute('class') ?? '').split(' ').includes('stale')), 'the previous result is dimmed');
    const stillDrawn = await frame.evaluate(() => ((globalThis as unknown as BrowserGlobals).document.querySelector('#predictions li') ? 1 : 0));
    assert.strictEqual(stillDrawn, 1, 'the previous result stays on screen');
    await screenshot(page!, path.join(ARTIFACTS, 'live-03-broken-model.png'));

    fs.writeFileSync(modelFile, good);
    const expected = cli(sandbox!, workspace);
    await waitUntil(async () => (await text(frame, '#error')).trim() === '', PANEL_TIMEOUT_MS, 'the error to clear once model.json is fixed');
    await waitForTopPrediction(page!, expected.label, frame);
    const dimmed = await frame.evaluate(() => ((globalThis as unknown as BrowserGlobals).document.querySelector('main.views')?.getAttribute('class') ?? 'stale').split(' ').includes('stale'));
    assert.strictEqual(dimmed, false, 'the fresh result is not dimmed');
    await screenshot(page!, path.join(ARTIFACTS, 'live-04-recovered.png'));
  });

  it('CodeLens: each layer of model.json is named with its shape; "Grad-CAM here" runs Grad-CAM at that layer, whatever method the panel had', async function () {
    // The panel ran another method last: the lens says Grad-CAM, so it must run Grad-CAM.
    const before = await findWebviewFrame(page!, '#method-select', PANEL_TIMEOUT_MS);
    await chooseInPicker(before, '#method-select', 'gradcam++');
    await waitUntil(async () => /Grad-CAM\+\+ of/.test(await text(before, '#status')), PANEL_TIMEOUT_MS, 'the panel to run Grad-CAM++');
    // The panel opened model.json in the editor group beside it: its lenses are there.
    const modelEditor = page!.locator('.editor-group-container', { has: page!.locator('.tab', { hasText: 'model.json' }) }).first();
    const lens = modelEditor.locator('.codelens-decoration a', { hasText: 'Grad-CAM here' });
    await lens.first().waitFor({ timeout: PANEL_TIMEOUT_MS });
    const lensTexts = await modelEditor.locator('.codelens-decoration').allInnerTexts();
    assert.ok(
      lensTexts.some((t) => /^conv1 · 64×64×8\s*\|\s*Activations\s*\|\s*Filters\s*\|\s*Grad-CAM here/.test(t)),
      `conv1 is named with its shape and offers Activations | Filters | Grad-CAM here; lenses: ${JSON.stringify(lensTexts.slice(0, 4))}`,
    );
    await screenshot(page!, path.join(ARTIFACTS, 'live-05-codelens.png'));
    // The first layer of the sample is conv1.
    await lens.first().click();
    const frame = await findWebviewFrame(page!, '#status', PANEL_TIMEOUT_MS);
    await waitUntil(async () => /Grad-CAM of .* at conv1\b/.test(await text(frame, '#status')), PANEL_TIMEOUT_MS, 'the panel to show Grad-CAM (not Grad-CAM++) at conv1');
    await page!.waitForTimeout(500);
    await screenshot(page!, path.join(ARTIFACTS, 'live-06-gradcam-at-conv1.png'));
    const tabsPerGroup = await page!.locator('.editor-group-container').evaluateAll((groups) =>
      groups.map((group) => Array.from((group as unknown as { querySelectorAll(s: string): ArrayLike<{ textContent: string | null }> }).querySelectorAll('.tab')).map((tab) => tab.textContent ?? '')),
    );
    const modelGroups = tabsPerGroup.filter((tabs) => tabs.some((tab) => tab.includes('model.json')));
    const panelGroups = tabsPerGroup.filter((tabs) => tabs.some((tab) => tab.includes('Grad-CAM')));
    assert.strictEqual(modelGroups.length, 1, `model.json is open once, beside the panel: ${JSON.stringify(tabsPerGroup)}`);
    assert.ok(panelGroups.length === 1 && panelGroups[0] !== modelGroups[0], `the panel sits beside model.json: ${JSON.stringify(tabsPerGroup)}`);
  });

  it('model code: Select Model → sample.model.ts runs it; its layer calls get lenses; a syntax error shows file:line, fixing it recovers', async function () {
    const expected = cli(sandbox!, workspace); // the code copies model.json's (edited) weights
    await runCommandFromPalette(page!, 'CNN Lens: Select Model…');
    await pickQuickPickItem(page!, 'sample.model.ts');
    const frame = await findWebviewFrame(page!, '#predictions', PANEL_TIMEOUT_MS);
    await waitUntil(async () => (await text(frame, '#model-link')).includes('sample.model.ts'), PANEL_TIMEOUT_MS, 'the panel to switch to sample.model.ts');
    // Grad-CAM here chose conv1 before; the code model has a conv1 too, so Change Model keeps it.
    await waitUntil(async () => /\bat conv1\b/.test(await text(frame, '#status')) && (await text(frame, '#error')).trim() === '', PANEL_TIMEOUT_MS, 'Grad-CAM of the code model at conv1, the layer kept across Change Model');
    await waitForTopPrediction(page!, expected.label, frame);

    const codeEditor = page!.locator('.editor-group-container', { has: page!.locator('.tab', { hasText: 'sample.model.ts' }) }).first();
    const lenses = codeEditor.locator('.codelens-decoration');
    await lenses.filter({ hasText: 'Grad-CAM here' }).first().waitFor({ timeout: PANEL_TIMEOUT_MS });
    const lensTexts = await lenses.allInnerTexts();
    assert.ok(lensTexts.some((t) => /Activations\s*\|\s*Filters\s*\|\s*Grad-CAM here/.test(t)), `conv layer calls offer Activations | Filters | Grad-CAM here: ${JSON.stringify(lensTexts)}`);
    // Hover the layer's name: its output shape and parameter count (3·3·3·8 + 8 = 224).
    // The mouse moved onto the token (playwright's hover() would scroll Monaco's view sideways).
    const token = await codeEditor.locator('.view-line span span', { hasText: /^'conv1'$/ }).first().boundingBox();
    assert.ok(token, "the 'conv1' token is on screen");
    await page!.mouse.move(token.x + token.width / 2, token.y + token.height / 2, { steps: 5 });
    const hover = page!.locator('.monaco-hover-content', { hasText: 'Output shape' }).first();
    await hover.waitFor({ timeout: 30_000 });
    const hoverText = await hover.innerText();
    assert.ok(/Output shape: 64×64×8 \(H×W×C\)/.test(hoverText) && /Parameters: 224/.test(hoverText), `hover: ${hoverText}`);
    await screenshot(page!, path.join(ARTIFACTS, 'live-07-code-model.png'));
    await page!.keyboard.press('Escape');

    const codeFile = path.join(workspace, 'model', 'sample.model.ts');
    const good = fs.readFileSync(codeFile, 'utf8');
    const lines = good.split('\n');
    const broken = lines.findIndex((line) => line.includes("name: 'pool1'"));
    lines[broken] = lines[broken].replace('poolSize: 2 })', 'poolSize: 2 )');
    fs.writeFileSync(codeFile, lines.join('\n'));
    await waitUntil(async () => /sample\.model\.ts:\d+:\d+: /.test(await text(frame, '#error')), PANEL_TIMEOUT_MS, 'the syntax error in the panel');
    const error = await text(frame, '#error');
    assert.ok(error.includes(`sample.model.ts:${broken + 1}:`), `the error names line ${broken + 1}: ${error}`);
    await screenshot(page!, path.join(ARTIFACTS, 'live-08-code-model-syntax-error.png'));

    fs.writeFileSync(codeFile, good);
    await waitUntil(async () => (await text(frame, '#error')).trim() === '', PANEL_TIMEOUT_MS, 'the error to clear once the code is fixed');
    await waitForTopPrediction(page!, expected.label, frame);
  });
});

/** The image quick pick of Show Grad-CAM (and a model pick, should the extension ask). */
async function pickImage(page: Page): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (await isQuickInputVisible(page)) {
      const prompt = await quickInputPrompt(page);
      await pickQuickPickItem(page, /image/i.test(prompt) ? path.basename(IMAGE) : path.basename(MODEL));
      if (/image/i.test(prompt)) {
        return;
      }
    }
    await page.waitForTimeout(200);
  }
  throw new Error('Show Grad-CAM did not ask for an image');
}

async function waitForTopPrediction(page: Page, label: string, known?: Frame): Promise<Frame> {
  const frame = known ?? (await findWebviewFrame(page, '#predictions', PANEL_TIMEOUT_MS));
  let top = '';
  const deadline = Date.now() + PANEL_TIMEOUT_MS;
  while (Date.now() < deadline) {
    top = await frame.evaluate(() => {
      const { document } = globalThis as unknown as BrowserGlobals;
      const first = document.querySelector('#predictions li .label') ?? document.querySelector('#predictions li');
      return (first?.textContent ?? '').trim();
    });
    if (top.startsWith(label)) {
      return frame;
    }
    await page.waitForTimeout(250);
  }
  throw new Error(`the panel's top prediction stayed "${top}", expected "${label}"; error: ${await text(frame, '#error')}`);
}

async function text(frame: Frame, selector: string): Promise<string> {
  return frame.evaluate((sel) => {
    const { document } = globalThis as unknown as BrowserGlobals;
    const el = document.querySelector(sel);
    return el && !el.hidden ? el.textContent || '' : '';
  }, selector);
}

/** Adds `delta` to predictions/bias[classIndex] in the weight shard (offsets from the manifest). */
function editBias(workspace: string, classIndex: number, delta: number): void {
  const manifest = JSON.parse(fs.readFileSync(path.join(workspace, MODEL), 'utf8')).weightsManifest[0].weights as { name: string; shape: number[] }[];
  let offset = 0;
  for (const weight of manifest) {
    if (weight.name === 'predictions/bias') {
      break;
    }
    offset += weight.shape.reduce((a, b) => a * b, 1) * 4;
  }
  const shard = path.join(workspace, SHARD);
  const bytes = fs.readFileSync(shard);
  bytes.writeFloatLE(bytes.readFloatLE(offset + classIndex * 4) + delta, offset + classIndex * 4);
  fs.writeFileSync(shard, bytes);
}

/** The top-1 the engine computes on the workspace's current files, through the CLI (independent of the panel). */
function cli(sandbox: Sandbox, workspace: string): CliResult {
  const jsonFile = path.join(sandbox.root, 'live-cli.json');
  execFileSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'cli.js'), 'gradcam', path.join(workspace, IMAGE), '--model', path.join(workspace, MODEL), '--json', jsonFile], {
    cwd: sandbox.root,
    env: sandbox.env,
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 120_000,
  });
  const result = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as { predictions: { label: string; index: number }[] };
  return { label: result.predictions[0].label, classIndex: result.predictions[0].index };
}
