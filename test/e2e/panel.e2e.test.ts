// End to end in a real VS Code (code-server + chromium, as gradcam.e2e.test.ts): the panel as a quiet,
// consistent VS Code citizen (issue 16). Fast work shows no notification; each tab has its own short
// status line (details in its tooltip) and the editor title follows the tab; prediction rows work by
// keyboard; a layer picked on one tab applies to the others; Visualize Layer… to another layer closes
// the enlarged channel of the previous one; the Model tab fits the panel; the "Explain here…"
// CodeLens sits on its layer's entry and runs the method picked; a layer name in the model viewer
// opens its activations. Screenshots: test-artifacts/e2e/panel-<theme>-*.png.
//
// Run alone: bash scripts/e2e/run.sh test/e2e/panel.e2e.test.ts
// Env: CNN_LENS_E2E_THEME='Default Light Modern'  the same in another theme (screenshots named after it)
//      CNN_LENS_UPDATE_SCREENSHOT=1               with the dark theme, also write media/screenshot-model.png and
//                                                 media/screenshot-codelens.png (the README's pictures)
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { PANEL_TITLE_PATTERN } from '../../src/shared/statusLine';
import { REPO_ROOT, createSandbox, type RunningCodeServer, type Sandbox } from './codeServer';
import { closeWorkbench, copySampleWorkspace, recordFailure, startWorkbench } from './session';
import type { BrowserGlobals, DomElement } from './dom';
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
  waitUntil,
} from './workbench';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'e2e');
const MODEL = 'model/model.json';
const IMAGE = 'images/sample.png';
/** The first run starts the worker and the wasm backend. */
const PANEL_TIMEOUT_MS = 90_000;
const THEME = (process.env.CNN_LENS_E2E_THEME ?? 'Default Dark Modern').toLowerCase().includes('light') ? 'light' : 'dark';

describe('CNN Lens panel: progress, status, shared layer, consistent design (end to end)', function () {
  let sandbox: Sandbox | undefined;
  let server: RunningCodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let workspace = '';
  const shot = (name: string) => screenshot(page!, path.join(ARTIFACTS, `panel-${THEME}-${name}.png`));

  before(async function () {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    sandbox = createSandbox('cnn-lens-e2e-panel-');
    workspace = copySampleWorkspace(sandbox, MODEL);
    ({ server, browser } = await startWorkbench(sandbox, { logFile: path.join(ARTIFACTS, 'code-server-panel.log') }));
  });

  after(async function () {
    await closeWorkbench({ browser, server, sandbox }, path.join(ARTIFACTS, 'vscode-logs-panel'));
  });

  afterEach(async function () {
    await recordFailure(this.currentTest, page, ARTIFACTS, 'panel-');
  });

  it('a short run (a class change) shows no notification; the status line is short and human, its details in the tooltip', async function () {
    page = await openWorkspace(browser!, server!.url, workspace);
    const row = await revealInExplorer(page, IMAGE);
    await chooseContextMenuItem(page, row, /Show Grad-CAM/);
    const panel = await findWebviewFrame(page, '#predictions', PANEL_TIMEOUT_MS);
    const first = await waitForStatus(panel, /^Grad-CAM of .+ at conv4 · [\d.]+ m?s · \w+$/, 'the first Grad-CAM');
    assert.ok(!(await panel.locator('[data-testid="busy"]').isVisible()), 'no progress bar once the result is drawn');
    // The first run starts the engine and may take seconds: its notification (if any) closes with it.
    await waitUntil(async () => (await progressNotifications(page!)).length === 0, 3_000, 'no CNN Lens notification once the result is drawn');
    const tooltip = (await panel.locator('#status').getAttribute('title')) ?? '';
    assert.match(tooltip, /^Grad-CAM of “.+” \(class \d+, score -?[\d.]+\) at conv4$/m, `the exact score in the tooltip: ${tooltip}`);
    assert.match(tooltip, /^time: forward \d+ ms · .*request \d+ ms$/m, `the stages in the tooltip: ${tooltip}`);
    assert.match(tooltip, /^backend: /m);
    assert.strictEqual(await panelTitle(page), 'Grad-CAM: sample.png');

    // Another class: a run of a few tens of milliseconds. Watch the workbench the whole time.
    const second = (await panel.locator('#predictions li .label').nth(1).innerText()).trim();
    const secondIndex = await panel.locator('#predictions li').nth(1).getAttribute('data-index');
    const seen: string[] = [];
    const watching = watchNotifications(page, seen, 3_000);
    await chooseInPicker(panel, '#class-select', secondIndex!);
    await waitForStatus(panel, new RegExp(`^Grad-CAM of ${escape(second)} at conv4 · `), `the Grad-CAM of ${second}`);
    await watching;
    assert.deepStrictEqual(seen, [], 'no notification for a short run');
    assert.ok(first !== (await statusText(panel)));
    await page.waitForTimeout(300);
    await shot('01-gradcam');
  });

  it('prediction rows are reached by keyboard, show a focus ring, and explain their class on Enter', async function () {
    const panel = await findWebviewFrame(page!, '#predictions');
    const rows = panel.locator('#predictions li.pickable');
    assert.ok((await rows.count()) >= 2, 'class rows are pickable');
    const stops = await rows.evaluateAll((els) => els.map((el) => (el as unknown as { tabIndex: number }).tabIndex));
    assert.strictEqual(stops.filter((t) => t === 0).length, 1, `one tab stop for the list: ${JSON.stringify(stops)}`);
    const explained = panel.locator('#predictions li.pickable[tabindex="0"]');
    assert.match((await explained.getAttribute('aria-label')) ?? '', /, [\d.]+%, explained$/);
    await explained.focus();
    await page!.keyboard.press('Home');
    const top = (await rows.first().locator('.label').innerText()).trim();
    const focused = await panel.evaluate(() => {
      const { document, getComputedStyle } = globalThis as unknown as {
        document: { activeElement: DomElement | null };
        getComputedStyle(el: DomElement): { outlineStyle: string; outlineWidth: string };
      };
      const active = document.activeElement;
      return active ? { index: active.getAttribute('data-index'), outline: `${getComputedStyle(active).outlineStyle} ${getComputedStyle(active).outlineWidth}` } : undefined;
    });
    assert.ok(focused && focused.index === (await rows.first().getAttribute('data-index')), `Home moves focus to the first row: ${JSON.stringify(focused)}`);
    assert.ok(focused && !/^none|0px$/.test(focused.outline), `a visible focus ring: ${focused?.outline}`);
    await page!.waitForTimeout(200);
    await shot('02-prediction-focus');
    await page!.keyboard.press('Enter');
    await waitForStatus(panel, new RegExp(`^Grad-CAM of ${escape(top)} at conv4 · `), `Enter explains ${top}`);
  });

  it('each tab has its own status line and the title follows the tab; the Model tab fits the panel', async function () {
    const panel = await findWebviewFrame(page!, '[data-testid="tab-activations"]');
    await panel.locator('[data-testid="tab-activations"]').click();
    await waitForStatus(panel, /^Activations of conv4 · 96 channels · \d+ ms · \w+$/, 'the Activations status line');
    await waitUntil(async () => (await panelTitle(page!)) === 'Activations: conv4 · sample.png', 10_000, 'the title "Activations: conv4 · sample.png"');

    await panel.locator('[data-testid="tab-filters"]').click();
    await waitForStatus(panel, /^Filters of conv\d · \d+ filters · \d+ ms$/, 'the Filters status line');
    await waitUntil(async () => /^Filters: conv\d · model\.json$/.test(await panelTitle(page!)), 10_000, 'the title "Filters: conv… · model.json"');

    await panel.locator('[data-testid="tab-model"]').click();
    await waitForStatus(panel, /^\S+ · 11 layers · 50,954 parameters · \w+$/, 'the Model status line');
    await waitUntil(async () => (await panelTitle(page!)) === 'Model: model.json', 10_000, 'the title "Model: model.json"');
    const headings = await panel.locator('.layer-table th').allInnerTexts();
    assert.deepStrictEqual(headings.map((h) => h.trim()), ['Layer', 'Type', 'Output shape (H×W×C)', 'Params', 'Open'], 'no Trainable column where every layer trains');
    assert.match(await panel.locator('tr.default-layer').innerText(), /conv4\s*default/);
    const overflow = await panel.evaluate(() => {
      const { document } = globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } };
      return { scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth };
    });
    assert.ok(overflow.scroll <= overflow.client, `the Model tab overflows the panel: ${overflow.scroll} > ${overflow.client} px`);
    await page!.waitForTimeout(300);
    const model = await shot('03-model-tab');
    if (process.env.CNN_LENS_UPDATE_SCREENSHOT === '1' && THEME === 'dark') {
      fs.copyFileSync(model, path.join(REPO_ROOT, 'media', 'screenshot-model.png'));
    }

    await panel.locator('[data-testid="tab-gradcam"]').click();
    await waitForStatus(panel, /^Grad-CAM of .+ at conv4 · /, 'the Grad-CAM line back on its tab');
    await waitUntil(async () => (await panelTitle(page!)) === 'Grad-CAM: sample.png', 10_000, 'the title back to "Grad-CAM: sample.png"');
  });

  it('a layer picked on one tab applies to the others (Grad-CAM runs again when its tab is shown)', async function () {
    const panel = await findWebviewFrame(page!, '#layer-select');
    await chooseInPicker(panel, '#layer-select', 'conv2');
    await waitForStatus(panel, /^Grad-CAM of .+ at conv2 · /, 'Grad-CAM at conv2');
    await panel.locator('[data-testid="tab-activations"]').click();
    await waitUntil(async () => /^conv2 · Conv2D/.test(await text(panel, '[data-testid="activation-summary"]')), PANEL_TIMEOUT_MS, 'the Activations tab at conv2');
    await chooseInPicker(panel, '#activation-layer', 'conv3');
    await waitUntil(async () => /^conv3 · Conv2D/.test(await text(panel, '[data-testid="activation-summary"]')), PANEL_TIMEOUT_MS, 'the Activations tab at conv3');
    await panel.locator('[data-testid="tab-filters"]').click();
    await waitUntil(async () => /^conv3 · Conv2D/.test(await text(panel, '[data-testid="filter-summary"]')), PANEL_TIMEOUT_MS, 'the Filters tab at conv3');
    await panel.locator('[data-testid="tab-gradcam"]').click();
    await waitForStatus(panel, /^Grad-CAM of .+ at conv3 · /, 'Grad-CAM at conv3, the layer picked on the Activations tab');
    assert.strictEqual(await panel.locator('#layer-select').evaluate((el) => (el as unknown as { value: string }).value), 'conv3');
  });

  it('Visualize Layer… to another layer closes the enlarged channel of the previous one', async function () {
    const panel = await findWebviewFrame(page!, '[data-testid="tab-activations"]');
    await panel.locator('[data-testid="tab-activations"]').click();
    await waitUntil(async () => /^conv3 · /.test(await text(panel, '[data-testid="activation-summary"]')), PANEL_TIMEOUT_MS, 'conv3 activations');
    await panel.locator('[data-testid="activation-tile"]').nth(3).click();
    await panel.locator('[data-testid="channel-detail"]').waitFor({ state: 'visible', timeout: 20_000 });
    assert.match(await text(panel, '[data-testid="channel-detail"] h3'), /Channel 3 of conv3/);

    await runVisualizeLayer(page!);
    await answer(page!, [
      [/layer/i, 'conv1'],
      [/what to show/i, 'Activations'],
    ]);
    await waitUntil(async () => /^conv1 · /.test(await text(panel, '[data-testid="activation-summary"]')), PANEL_TIMEOUT_MS, 'conv1 activations');
    assert.ok(!(await panel.locator('[data-testid="channel-detail"]').isVisible()), 'the enlarged channel of conv3 is gone');
    await waitUntil(async () => (await panelTitle(page!)) === 'Activations: conv1 · sample.png', 10_000, 'the title "Activations: conv1 · sample.png"');
    await page!.waitForTimeout(300);
    await shot('04-activations-conv1');
  });

  it('CodeLens: "Explain here…" sits on its layer\'s entry beside "Grad-CAM here", asks for the method and explains with it there', async function () {
    const editor = page!.locator('.editor-group-container', { has: page!.locator('.tab', { hasText: 'model.json' }) }).first();
    const lens = editor.locator('.codelens-decoration', { hasText: /^conv1 ·/ }).first();
    await lens.waitFor({ timeout: PANEL_TIMEOUT_MS });
    assert.match(await lens.innerText(), /^conv1 · 64×64×8\s*\|\s*Activations\s*\|\s*Filters\s*\|\s*Grad-CAM here\s*\|\s*Explain here…$/);
    // Placement: right under the entry's "{" and above its first property, not under the previous entry's closing lines.
    const around = await linesAround(editor, lens);
    assert.match(around.above, /^\s*\{\s*$/, `the line above the lens opens conv1's entry: ${JSON.stringify(around)}`);
    assert.match(around.below, /^\s*"class_name": "Conv2D",\s*$/, `the line under the lens is conv1's first property: ${JSON.stringify(around)}`);
    await shot('05-codelens');

    await lens.locator('a', { hasText: 'Explain here…' }).click();
    await waitUntil(() => isQuickInputVisible(page!), 15_000, 'the method quick pick');
    assert.match(await quickInputPrompt(page!), /Explain at conv1.*Select the method/);
    const offered = await pickQuickPickItem(page!, 'LayerCAM');
    assert.ok(offered.some((o) => /Score-CAM/.test(o)) && offered.some((o) => /Saliency.*at the input, not conv1/.test(o)), `every method offered: ${JSON.stringify(offered)}`);
    const panel = await findWebviewFrame(page!, '#status');
    await waitForStatus(panel, /^LayerCAM of .+ at conv1 · /, 'LayerCAM at conv1');
    assert.strictEqual(await panel.locator('#method-select').evaluate((el) => (el as unknown as { value: string }).value), 'layercam');
    await page!.waitForTimeout(500);
    const explained = await shot('05b-explain-here');
    if (process.env.CNN_LENS_UPDATE_SCREENSHOT === '1' && THEME === 'dark') {
      fs.copyFileSync(explained, path.join(REPO_ROOT, 'media', 'screenshot-codelens.png'));
    }
  });

  it('the model viewer: a layer name opens that layer\'s activations in the panel', async function () {
    const editor = page!.locator('.editor-group-container', { has: page!.locator('.tab', { hasText: 'model.json' }) }).first();
    await editor.locator('.view-lines').first().click();
    await runCommandFromPalette(page!, 'View: Reopen Editor With...');
    await pickQuickPickItem(page!, 'CNN Lens Model Viewer');
    const viewer = await findWebviewFrame(page!, '#layers a[data-layer]', PANEL_TIMEOUT_MS);
    const links = await viewer.locator('#layers a[data-layer]').evaluateAll((els) => els.map((el) => (el as unknown as DomElement).getAttribute('data-layer')));
    assert.ok(links.includes('conv2') && links.includes('gap'), `layer names are links: ${JSON.stringify(links)}`);
    assert.match(await text(viewer, '#input'), /^64×64×3 \(H×W×C\)$/);
    await shot('06-model-viewer');
    await viewer.locator('#layers a[data-layer="conv2"]').click();
    const panel = await findWebviewFrame(page!, '[data-testid="activation-summary"]', PANEL_TIMEOUT_MS);
    await waitUntil(async () => /^conv2 · Conv2D/.test(await text(panel, '[data-testid="activation-summary"]')), PANEL_TIMEOUT_MS, 'conv2 activations from the viewer');
    assert.strictEqual(await panel.locator('.tab[aria-selected="true"]').getAttribute('data-tab'), 'activations');
    await waitUntil(async () => (await panelTitle(page!)) === 'Activations: conv2 · sample.png', 10_000, 'the title "Activations: conv2 · sample.png"');
  });
});

/** Progress notifications of CNN Lens on screen ("CNN Lens: Grad-CAM of sample.png: …"). */
async function progressNotifications(page: Page): Promise<string[]> {
  return (await notificationTexts(page)).filter((t) => /CNN Lens: .* of /.test(t));
}

/** Records every CNN Lens progress notification that shows during `ms`. */
async function watchNotifications(page: Page, seen: string[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    for (const note of await progressNotifications(page)) {
      if (!seen.includes(note)) seen.push(note);
    }
    await page.waitForTimeout(50);
  }
}

async function statusText(frame: Frame): Promise<string> {
  return (await text(frame, '#status')).trim();
}

async function waitForStatus(frame: Frame, pattern: RegExp, what: string): Promise<string> {
  let status = '';
  await waitUntil(
    async () => {
      const error = (await text(frame, '#error')).trim();
      assert.strictEqual(error, '', `the panel shows an error: ${error}`);
      return pattern.test((status = await statusText(frame)));
    },
    PANEL_TIMEOUT_MS,
    `${what} (status: "${status}")`,
  );
  return status;
}

/** The title of the panel's editor tab. */
async function panelTitle(page: Page): Promise<string> {
  const titles = await page.locator('.tabs-container .tab .label-name').allInnerTexts();
  return titles.map((t) => t.trim()).find((t) => PANEL_TITLE_PATTERN.test(t)) ?? `(no panel tab among ${JSON.stringify(titles)})`;
}

async function text(frame: Frame, selector: string): Promise<string> {
  return frame.evaluate((sel) => {
    const { document } = globalThis as unknown as BrowserGlobals;
    const el = document.querySelector(sel);
    return el && !el.hidden ? el.innerText || el.textContent || '' : '';
  }, selector);
}

/** The editor lines just above and just under a CodeLens (by their position on screen). */
async function linesAround(editor: ReturnType<Page['locator']>, lens: ReturnType<Page['locator']>): Promise<{ above: string; below: string }> {
  const box = await lens.boundingBox();
  assert.ok(box, 'the lens is on screen');
  const lines = await editor.locator('.view-line').evaluateAll((els) =>
    els.map((el) => {
      const rect = (el as unknown as { getBoundingClientRect(): { top: number } }).getBoundingClientRect();
      return { top: rect.top, text: ((el as unknown as DomElement).textContent ?? '').replace(/\u00a0/g, ' ') };
    }),
  );
  const above = lines.filter((l) => l.top < box.y).sort((a, b) => b.top - a.top)[0];
  const below = lines.filter((l) => l.top >= box.y + box.height - 1).sort((a, b) => a.top - b.top)[0];
  return { above: above?.text ?? '', below: below?.text ?? '' };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Runs Visualize Layer… from the palette (focus first leaves the webview, which keeps F1 otherwise). */
async function runVisualizeLayer(page: Page): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await page.locator('.part.editor .monaco-editor .view-lines').first().click().catch(() => undefined);
    await runCommandFromPalette(page, 'CNN Lens: Visualize Layer…');
    try {
      await waitUntil(async () => (await isQuickInputVisible(page)) && /layer/i.test(await quickInputPrompt(page)), 15_000, 'the layer quick pick');
      return;
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
}

async function answer(page: Page, steps: Array<[RegExp, string]>): Promise<void> {
  for (const [prompt, item] of steps) {
    await waitUntil(async () => (await isQuickInputVisible(page)) && prompt.test(await quickInputPrompt(page)), 30_000, `the quick pick ${prompt}`);
    await page.locator('.quick-input-widget .quick-input-list .monaco-list-row').first().waitFor({ timeout: 30_000 });
    await pickQuickPickItem(page, item);
    await page.waitForTimeout(300);
  }
}
