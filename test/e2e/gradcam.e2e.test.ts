// End to end in a real VS Code: the packaged VSIX installed into code-server 4.100.3 (VS Code
// 1.100.3, Node extension host), the sample workspace opened in Debian's chromium, and
// "CNN Lens: Show Grad-CAM" run from the explorer context menu and from the command palette. The
// panel must show the label the engine predicts (computed independently with the CLI) and a heatmap
// whose pixels are not uniform. Screenshots of every step go to test-artifacts/e2e/.
//
// Run: scripts/e2e/run.sh (installs what is missing, then this file), or
//      npx mocha --config test/e2e/.mocharc.json
// Env: CNN_LENS_E2E_SKIP_PACKAGE=1  reuse dist-vsix/cnn-lens.vsix instead of `npm run package`
//      CNN_LENS_UPDATE_SCREENSHOT=1  also write media/screenshot-dark.png (the README's picture)
//      CNN_LENS_E2E_KEEP=1           keep the temp folder (profile, logs, workspace copy)
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
import { closeWorkbench, copySampleWorkspace, recordFailure, SAMPLE_WORKSPACE, startWorkbench } from './session';
import {
  assertPanelBesideModel,
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
  visibleText,
} from './workbench';
import { readCanvasPixels, readCanvasStats, type CanvasStats } from './canvas';
import { readImageFile } from '../../src/engine/images/image';
import type { BrowserGlobals, DomElement } from './dom';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'e2e');
const IMAGE = 'images/sample.png';
const MODEL = 'model/model.json';
const COMMAND_TITLE = 'CNN Lens: Show Grad-CAM';
/** Context menus show a command's title without its category. */
const MENU_ITEM = /Show Grad-CAM/;
/** First Grad-CAM includes starting the worker and the wasm backend. */
const PANEL_TIMEOUT_MS = 90_000;

interface Expected {
  label: string;
  backend: string;
}

describe('CNN Lens in code-server (end to end)', function () {
  let sandbox: Sandbox | undefined;
  let server: RunningCodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let workspace = '';
  let expected: Expected;

  before(async function () {
    assertSampleWorkspace();
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });

    sandbox = createSandbox();
    workspace = copySampleWorkspace(sandbox, MODEL);
    expected = expectedFromCli(sandbox, workspace);
    ({ server, browser } = await startWorkbench(sandbox, { logFile: path.join(ARTIFACTS, 'code-server.log') }));
  });

  after(async function () {
    await closeWorkbench({ browser, server, sandbox }, path.join(ARTIFACTS, 'vscode-logs'));
  });

  afterEach(async function () {
    await recordFailure(this.currentTest, page, ARTIFACTS);
  });

  it('opens the sample workspace in the workbench (dark theme)', async function () {
    page = await openWorkspace(browser!, server!.url, workspace);
    await revealInExplorer(page, IMAGE);
    // The workbench first paints with its built-in theme and applies the user's settings a moment
    // later: wait for the switch instead of sampling the first frame.
    const sidebarBackground = () =>
      page!.locator('.monaco-workbench .part.sidebar').evaluate((el) => {
        const { getComputedStyle } = globalThis as unknown as BrowserGlobals;
        return getComputedStyle(el as unknown as DomElement).backgroundColor;
      });
    let background = '';
    const deadline = Date.now() + 20_000;
    while (!isDark((background = await sidebarBackground())) && Date.now() < deadline) {
      await page.waitForTimeout(200);
    }
    await screenshot(page, path.join(ARTIFACTS, '01-workbench.png'));
    assert.ok(isDark(background), `workbench background ${background} is not dark: the dark theme setting was not applied`);
  });

  it('explorer: right-click the image → Show Grad-CAM shows the prediction and a heatmap', async function () {
    const row = await revealInExplorer(page!, IMAGE);
    await chooseContextMenuItem(page!, row, MENU_ITEM, () => screenshot(page!, path.join(ARTIFACTS, '02-explorer-menu.png')).then(() => undefined));
    await answerQuickPicks(page!);
    const frame = await waitForPanel(page!, expected);
    await assertPanel(frame, expected, 'explorer');
    await assertPanelBesideModel(page!, path.basename(MODEL));
    await settle(page!);
    const shot = await screenshot(page!, path.join(ARTIFACTS, '03-panel-explorer.png'));
    if (process.env.CNN_LENS_UPDATE_SCREENSHOT === '1') {
      fs.copyFileSync(shot, path.join(REPO_ROOT, 'media', 'screenshot-dark.png'));
      console.log('e2e: updated media/screenshot-dark.png');
    }
  });

  it('command palette: Show Grad-CAM asks for an image and shows the prediction', async function () {
    await runCommandFromPalette(page!, 'View: Close All Editors');
    await page!.locator('iframe.webview.ready').first().waitFor({ state: 'detached', timeout: 10_000 }).catch(() => undefined);
    await runCommandFromPalette(page!, COMMAND_TITLE);
    await answerQuickPicks(page!, {
      requireImagePick: true,
      beforeImagePick: () => screenshot(page!, path.join(ARTIFACTS, '04-palette-image-pick.png')).then(() => undefined),
    });
    const frame = await waitForPanel(page!, expected);
    await assertPanel(frame, expected, 'palette');
    await settle(page!);
    await screenshot(page!, path.join(ARTIFACTS, '05-panel-palette.png'));
  });

  it('colormap and opacity repaint in the page: the overlay is the CLI\'s for that colormap and alpha', async function () {
    const frame = await findWebviewFrame(page!, '#predictions', PANEL_TIMEOUT_MS);
    const before = await readCanvasPixels(frame, 'canvas#overlay');
    await chooseInPicker(frame, '#colormap-select', 'viridis');
    await frame.evaluate(() => {
      const { document, Event } = globalThis as unknown as {
        document: { querySelector(s: string): { value: string; dispatchEvent(e: unknown): boolean } | null };
        Event: new (type: string) => unknown;
      };
      const slider = document.querySelector('#opacity');
      if (slider) {
        slider.value = '0.3';
        slider.dispatchEvent(new Event('input'));
      }
    });
    await page!.waitForTimeout(500); // one animation frame repaints; leave room for a slow machine
    assert.match(await visibleText(frame, '#opacity-value'), /30%/);
    const overlay = await readCanvasPixels(frame, 'canvas#overlay');
    assert.ok(!Buffer.from(overlay.data).equals(Buffer.from(before.data)), 'the overlay was not repainted');

    // The same image (256×256: shown at its own size) through the CLI, with the same colormap and alpha.
    const cliPng = path.join(sandbox!.root, 'cli-viridis-30.png');
    execFileSync(
      process.execPath,
      [path.join(REPO_ROOT, 'dist', 'cli.js'), 'gradcam', path.join(workspace, IMAGE), '--model', path.join(workspace, MODEL), '--colormap', 'viridis', '--alpha', '0.3', '--out', cliPng],
      { cwd: sandbox!.root, env: sandbox!.env, stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 },
    );
    const cli = await readImageFile(cliPng);
    assert.deepStrictEqual([overlay.width, overlay.height], [cli.width, cli.height]);
    let off = 0;
    let worst = 0;
    for (let i = 0; i < cli.data.length; i++) {
      const difference = Math.abs(overlay.data[i] - cli.data[i]);
      worst = Math.max(worst, difference);
      off += difference > 1 ? 1 : 0;
    }
    // Identical when the backends agree to the bit; a map value on a table boundary may move one entry.
    assert.ok(off / cli.data.length < 0.005, `the page's overlay differs from the CLI's by more than 1 level in ${off} of ${cli.data.length} bytes (worst ${worst})`);
    await screenshot(page!, path.join(ARTIFACTS, '06-panel-viridis-30.png'));
  });
});

/**
 * Answers the quick picks the command may open: the image (palette route) and, if the extension
 * asks despite `cnnLens.modelPath`, the model. Anything else is a failure that names the prompt.
 */
async function answerQuickPicks(
  page: Page,
  options: { requireImagePick?: boolean; beforeImagePick?: () => Promise<void> } = {},
): Promise<void> {
  let pickedImage = false;
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (await isQuickInputVisible(page)) {
      const prompt = await quickInputPrompt(page);
      if (/image/i.test(prompt) && !pickedImage) {
        await page.locator('.quick-input-widget .quick-input-list .monaco-list-row').first().waitFor({ timeout: 10_000 });
        await options.beforeImagePick?.();
        await pickQuickPickItem(page, path.basename(IMAGE));
        pickedImage = true;
      } else if (/model/i.test(prompt)) {
        await pickQuickPickItem(page, path.basename(MODEL));
      } else {
        throw new Error(`unexpected quick pick "${prompt}" after running ${COMMAND_TITLE}`);
      }
      await page.waitForTimeout(300);
      continue;
    }
    if (await page.locator('iframe.webview.ready').count()) {
      break;
    }
    if (options.requireImagePick && pickedImage) {
      break;
    }
    await page.waitForTimeout(200);
  }
  if (options.requireImagePick && !pickedImage) {
    throw new Error(`${COMMAND_TITLE} from the palette did not ask for an image (no quick pick mentioning "image")`);
  }
}

async function waitForPanel(page: Page, expected: Expected): Promise<Frame> {
  const frame = await findWebviewFrame(page, '#predictions', PANEL_TIMEOUT_MS);
  const deadline = Date.now() + PANEL_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const [predictions, error] = await Promise.all([visibleText(frame, '#predictions'), visibleText(frame, '#error')]);
    if (error.trim()) {
      throw new Error(`the panel shows an error: ${error.trim()}`);
    }
    if (predictions.includes(expected.label)) {
      return frame;
    }
    await page.waitForTimeout(250);
  }
  const notes = await notificationTexts(page);
  throw new Error(
    `#predictions never showed "${expected.label}" within ${PANEL_TIMEOUT_MS} ms; it shows ${JSON.stringify(await visibleText(frame, '#predictions'))}; notifications: ${JSON.stringify(notes)}`,
  );
}

async function assertPanel(frame: Frame, expected: Expected, route: string): Promise<void> {
  const top = await topPrediction(frame);
  assert.strictEqual(top, expected.label, `${route}: the first row of #predictions is "${top}", expected "${expected.label}" (the CLI's top-1)`);

  const status = await visibleText(frame, '#status');
  assert.match(status, new RegExp(`\\b${expected.backend}\\b`, 'i'), `${route}: #status "${status}" does not name the backend ${expected.backend}`);

  const heatmap: CanvasStats = await readCanvasStats(frame, 'canvas#heatmap');
  assert.ok(heatmap.width > 0 && heatmap.height > 0, `${route}: canvas#heatmap is empty (${heatmap.width}x${heatmap.height})`);
  assert.ok(heatmap.opaqueFraction > 0.5, `${route}: canvas#heatmap is mostly transparent (${(heatmap.opaqueFraction * 100).toFixed(1)}% opaque): nothing was drawn`);
  assert.ok(heatmap.distinctColors >= 8, `${route}: canvas#heatmap has only ${heatmap.distinctColors} distinct colours: the heatmap is uniform`);
  assert.ok(heatmap.lumaRange >= 40, `${route}: canvas#heatmap luma spans only ${heatmap.lumaRange.toFixed(1)} of 255: the heatmap is (nearly) uniform`);
}

/**
 * The label of the first row of #predictions: its `.label` element when rows have one (the panel's
 * layout puts the label first), else the row's first line of text.
 */
async function topPrediction(frame: Frame): Promise<string> {
  return frame.evaluate(() => {
    const { document } = globalThis as unknown as BrowserGlobals;
    const label = document.querySelector('#predictions li .label') ?? document.querySelector('#predictions li');
    const text = label ? label.innerText || label.textContent || '' : '';
    return text.split('\n').map((line) => line.trim()).find(Boolean) ?? '';
  });
}

/** Lets images in the panel finish decoding and painting before a screenshot. */
async function settle(page: Page): Promise<void> {
  await page.waitForTimeout(500);
}

function assertSampleWorkspace(): void {
  for (const rel of [IMAGE, MODEL]) {
    const file = path.join(SAMPLE_WORKSPACE, rel);
    if (!fs.existsSync(file)) {
      throw new Error(`sample workspace incomplete: ${path.relative(REPO_ROOT, file)} is missing`);
    }
  }
}

/** A temp copy of samples/workspace (the repo stays clean) that names its model in its settings. */
/** What the panel must show, computed independently by the `cnn-lens` CLI on the same files. */
function expectedFromCli(sandbox: Sandbox, workspace: string): Expected {
  const cli = path.join(REPO_ROOT, 'dist', 'cli.js');
  const jsonFile = path.join(sandbox.root, 'cli-result.json');
  execFileSync(
    process.execPath,
    [cli, 'gradcam', path.join(workspace, IMAGE), '--model', path.join(workspace, MODEL), '--json', jsonFile, '--out', path.join(sandbox.root, 'cli-overlay.png')],
    { cwd: sandbox.root, env: sandbox.env, stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 },
  );
  const result = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as { backend?: string; predictions?: Array<{ label?: string }> };
  const label = result.predictions?.[0]?.label;
  assert.ok(label, `the CLI's JSON (${jsonFile}) has no predictions[0].label`);
  assert.ok(result.backend, `the CLI's JSON (${jsonFile}) has no backend`);
  return { label, backend: result.backend };
}

function isDark(cssColor: string): boolean {
  const [r, g, b] = (cssColor.match(/\d+(\.\d+)?/g) ?? []).map(Number);
  return r !== undefined && 0.299 * r + 0.587 * g + 0.114 * b < 80;
}
