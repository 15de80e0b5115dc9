// End to end in a real VS Code (code-server + chromium, as gradcam.e2e.test.ts): the panel checked
// with axe-core in every tab (Grad-CAM, Compare with a finished comparison, Activations with a
// channel enlarged, Filters, Model) and in four themes (Dark Modern, Light Modern and both High
// Contrast themes), switched live with Preferences: Color Theme as a user does. No violation of impact
// "serious" or "critical" is allowed; a failure prints each one with the elements it concerns.
//
// axe-core runs inside the webview's document (#active-frame): the panel's CSP lets no script in
// without its nonce, so the library's source (read from node_modules) is evaluated through the
// DevTools protocol (frame.evaluate with a string), which the page's CSP does not govern.
// In Dark Modern and Dark High Contrast each tab is also walked with Tab from the top: every stop
// must have an accessible name and a visible focus ring (it must look different when focused).
// Screenshots: test-artifacts/e2e/a11y-<theme>-<tab>.png.
//
// Run alone: bash scripts/e2e/run.sh test/e2e/accessibility.e2e.test.ts
// Env: CNN_LENS_UPDATE_SCREENSHOT=1  also write media/screenshot-high-contrast.png (the Grad-CAM tab, High Contrast)
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { REPO_ROOT, createSandbox, type RunningCodeServer, type Sandbox } from './codeServer';
import { closeWorkbench, copySampleWorkspace, recordFailure, startWorkbench } from './session';
import { chooseContextMenuItem, findWebviewFrame, openWorkspace, revealInExplorer, screenshot, setColorTheme, waitUntil } from './workbench';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'e2e');
const MODEL = 'model/model.json';
const IMAGE = 'images/sample.png';
/** The first run starts the worker and the wasm backend. */
const PANEL_TIMEOUT_MS = 90_000;
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * The theme's id in the settings, its label in **Preferences: Color Theme**, a short name for files,
 * and the class VS Code puts on the webview's body.
 */
const THEMES = [
  { name: 'Default Dark Modern', label: 'Dark Modern', short: 'dark', bodyClass: 'vscode-dark', walkKeyboard: true },
  { name: 'Default Light Modern', label: 'Light Modern', short: 'light', bodyClass: 'vscode-light', walkKeyboard: false },
  { name: 'Default High Contrast', label: 'Dark High Contrast', short: 'high-contrast', bodyClass: 'vscode-high-contrast', walkKeyboard: true },
  { name: 'Default High Contrast Light', label: 'Light High Contrast', short: 'high-contrast-light', bodyClass: 'vscode-high-contrast-light', walkKeyboard: false },
] as const;

/** Each tab, and what must be on screen before it is scanned (its content, not its busy state). */
const TABS = [
  { id: 'gradcam', ready: '#predictions li' },
  { id: 'compare', ready: '[data-testid="compare-tile"]' },
  { id: 'activations', ready: '[data-testid="channel-detail"]:not([hidden]) canvas' },
  { id: 'filters', ready: '[data-testid="filter-tile"]' },
  { id: 'model', ready: '[data-testid="layer-row"]' },
] as const;

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string; summary: string }>;
}

describe('CNN Lens panel: accessibility (axe-core, every tab, four themes; end to end)', function () {
  let sandbox: Sandbox | undefined;
  let server: RunningCodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let panel: Frame | undefined;
  let workspace = '';

  before(async function () {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    sandbox = createSandbox('cnn-lens-e2e-a11y-');
    workspace = copySampleWorkspace(sandbox, MODEL);
    ({ server, browser } = await startWorkbench(sandbox, {
      logFile: path.join(ARTIFACTS, 'code-server-a11y.log'),
      settings: { 'workbench.colorTheme': THEMES[0].name },
    }));
  });

  after(async function () {
    await closeWorkbench({ browser, server, sandbox }, path.join(ARTIFACTS, 'vscode-logs-a11y'));
  });

  afterEach(async function () {
    await recordFailure(this.currentTest, page, ARTIFACTS, 'a11y-');
  });

  it('opens the panel with something in every tab (a comparison of two methods, an enlarged channel); Details shows the status line\'s details by keyboard', async function () {
    page = await openWorkspace(browser!, server!.url, workspace);
    const row = await revealInExplorer(page, IMAGE);
    await chooseContextMenuItem(page, row, /Show Grad-CAM/);
    panel = await findWebviewFrame(page, '#predictions', PANEL_TIMEOUT_MS);
    await waitUntil(async () => (await panel!.locator('#predictions li').count()) > 0, PANEL_TIMEOUT_MS, 'the first Grad-CAM');

    // The status line's details (its tooltip) are reachable by keyboard too: Details shows them under it.
    const details = panel.locator('[data-testid="status-details-toggle"]');
    await details.waitFor({ timeout: PANEL_TIMEOUT_MS });
    await details.focus();
    await page.keyboard.press('Enter');
    await panel.locator('[data-testid="status-details"]').waitFor({ state: 'visible', timeout: 5_000 });
    assert.strictEqual(await details.getAttribute('aria-expanded'), 'true');
    const shown = await panel.locator('[data-testid="status-details"]').innerText();
    assert.strictEqual(shown.trim(), ((await panel.locator('#status').getAttribute('title')) ?? '').trim(), 'the details are the tooltip');
    assert.match(shown, /^backend: /m);
    await page.keyboard.press('Enter');
    await panel.locator('[data-testid="status-details"]').waitFor({ state: 'hidden', timeout: 5_000 });

    // Compare: two fast methods, so the grid, its tiles and the rank picker are there to be scanned.
    await panel.locator('[data-testid="tab-compare"]').click();
    for (const box of await panel.locator('[data-testid="compare-methods"] vscode-checkbox').all()) {
      const wanted = ['gradcam', 'gradcam++'].includes((await box.getAttribute('data-method')) ?? '');
      if ((await box.evaluate((el) => (el as unknown as { checked: boolean }).checked)) !== wanted) {
        await box.click();
      }
    }
    await panel.locator('[data-testid="compare-run"]').click();
    await waitUntil(async () => (await panel!.locator('[data-testid="compare-tile"]').count()) === 2, PANEL_TIMEOUT_MS, 'two compare tiles');

    // Activations with a channel enlarged (its detail view has its own controls).
    await panel.locator('[data-testid="tab-activations"]').click();
    await panel.locator('[data-testid="activation-tile"]').first().waitFor({ timeout: PANEL_TIMEOUT_MS });
    await panel.locator('[data-testid="activation-tile"]').nth(1).click();
    await panel.locator('[data-testid="channel-detail"]:not([hidden]) canvas').first().waitFor({ timeout: PANEL_TIMEOUT_MS });
  });

  for (const theme of THEMES) {
    it(`${theme.name}: no serious or critical axe-core violation in any tab${theme.walkKeyboard ? '; every Tab stop named, with a focus ring' : ''}`, async function () {
      if (!(await panel!.evaluate(`document.body.classList.contains(${JSON.stringify(theme.bodyClass)})`))) {
        await setColorTheme(page!, panel!, theme.label, theme.bodyClass);
      }
      await injectAxe(panel!);
      const failures: string[] = [];
      for (const tab of TABS) {
        await panel!.locator(`[data-testid="tab-${tab.id}"]`).click();
        await panel!.locator(`[role="tabpanel"]:not([hidden]) ${tab.ready}`).first().waitFor({ timeout: PANEL_TIMEOUT_MS });
        await waitUntil(async () => !(await isBusy(panel!)), PANEL_TIMEOUT_MS, `the ${tab.id} tab to finish its work`);
        await page!.waitForTimeout(300); // the theme's transition and the last paint
        await screenshot(page!, path.join(ARTIFACTS, `a11y-${theme.short}-${tab.id}.png`));
        const serious = (await scan(panel!)).filter((v) => v.impact === 'serious' || v.impact === 'critical');
        failures.push(...serious.map((v) => describeViolation(tab.id, v)));
        if (theme.walkKeyboard) {
          failures.push(...(await walkByKeyboard(page!, panel!, tab.id)));
        }
      }
      if (theme.short === 'high-contrast' && process.env.CNN_LENS_UPDATE_SCREENSHOT === '1') {
        await panel!.locator('[data-testid="tab-gradcam"]').click();
        await page!.waitForTimeout(300);
        await screenshot(page!, path.join(REPO_ROOT, 'media', 'screenshot-high-contrast.png'));
      }
      assert.deepStrictEqual(failures, [], `axe-core in ${theme.name}:\n${failures.join('\n')}`);
    });
  }
});

/** The most tab stops one tab may have (the Activations grid of a wide layer pages at 128 tiles). */
const MAX_TAB_STOPS = 200;

/** Candidates for the keyboard walk: what can take focus, in the light DOM (components are hosts). */
const FOCUSABLE = 'a[href], button, input, select, textarea, [tabindex], vscode-button, vscode-checkbox, vscode-single-select';

/**
 * Marks each focusable element with data-a11y-stop and remembers how it looks unfocused: its own
 * outline, shadow, border and background and those of everything in its shadow root (a component
 * draws its focus ring inside). Strings, not functions: see scan().
 */
const RECORD_UNFOCUSED = `(() => {
  document.activeElement && document.activeElement.blur && document.activeElement.blur();
  const looks = (el) => [el, ...(el.shadowRoot ? el.shadowRoot.querySelectorAll('*') : [])]
    .map((e) => { const c = getComputedStyle(e); return [c.outlineStyle, c.outlineWidth, c.outlineColor, c.boxShadow, c.borderTopColor, c.backgroundColor].join(' '); })
    .join(';');
  window.__a11yLooks = looks;
  window.__a11yUnfocused = new Map();
  let n = 0;
  for (const el of document.querySelectorAll(${JSON.stringify(FOCUSABLE)})) {
    el.dataset.a11yStop = String(n++);
    window.__a11yUnfocused.set(el.dataset.a11yStop, looks(el));
  }
})()`;

/** The element that has focus now: what it is, its accessible name (as authored) and whether it looks different from unfocused. */
const DESCRIBE_FOCUSED = `(() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const by = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean)
    .map((id) => (document.getElementById(id) || { textContent: '' }).textContent).join(' ');
  const labels = el.labels ? Array.from(el.labels).map((l) => l.textContent).join(' ') : '';
  const name = (el.getAttribute('aria-label') || by || labels || el.label || el.getAttribute('title') || el.innerText || el.textContent || '').trim();
  const what = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.dataset.testid ? '[' + el.dataset.testid + ']' : '') + (name ? ' "' + name.slice(0, 40) + '"' : '');
  const before = window.__a11yUnfocused.get(el.dataset.a11yStop);
  return { key: el.dataset.a11yStop || what, what, name, ring: before === undefined || window.__a11yLooks(el) !== before };
})()`;

/**
 * Tabs through the panel as shown (from the top of the page to the last control, leaving the
 * webview): each stop must have an accessible name and look different when focused (a focus ring).
 * Returns what is wrong, one line per stop.
 */
async function walkByKeyboard(page: Page, frame: Frame, tab: string): Promise<string[]> {
  await page.mouse.move(0, 500); // no hover state in the panel
  await frame.evaluate(RECORD_UNFOCUSED);
  // A click on the page's margin puts the sequential focus starting point at the top of the page.
  await frame.locator('body').click({ position: { x: 2, y: 2 } });
  const problems: string[] = [];
  const seen = new Set<string>();
  let stops = 0;
  for (; stops < MAX_TAB_STOPS; stops++) {
    await page.keyboard.press('Tab');
    const focused = (await frame.evaluate(DESCRIBE_FOCUSED)) as { key: string; what: string; name: string; ring: boolean } | null;
    if (!focused || seen.has(focused.key)) {
      break; // focus left the webview, or came round again
    }
    seen.add(focused.key);
    if (!focused.name) {
      problems.push(`[${tab}] keyboard: ${focused.what} has no accessible name`);
    }
    if (!focused.ring) {
      problems.push(`[${tab}] keyboard: ${focused.what} shows no focus ring`);
    }
  }
  assert.ok(stops >= 3, `[${tab}] keyboard: only ${stops} tab stops in the panel`);
  assert.ok(stops < MAX_TAB_STOPS, `[${tab}] keyboard: more than ${MAX_TAB_STOPS} tab stops`);
  return problems;
}

/** Evaluates axe-core's source in the webview's document once (a theme change keeps the document). */
async function injectAxe(frame: Frame): Promise<void> {
  if (await frame.evaluate(`typeof window.axe !== 'undefined'`)) {
    return;
  }
  await frame.evaluate(AXE_SOURCE);
  assert.strictEqual(await frame.evaluate(`typeof window.axe.run`), 'function', 'axe-core did not load in the webview');
}

/** axe-core over the whole panel document (WCAG 2.x A/AA rules and best practices), violations only. */
async function scan(frame: Frame): Promise<Violation[]> {
  // A string, not a function: tsx would wrap named helpers in a __name call the page lacks.
  return (await frame.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((results) =>
    results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.map(String).join(' '), summary: n.failureSummary || '' })),
    })))`)) as Violation[];
}

/** True while any view shows its progress (busy bars are hidden otherwise). */
async function isBusy(frame: Frame): Promise<boolean> {
  return (await frame.evaluate(`Array.from(document.querySelectorAll('[data-testid$="busy"]')).some((el) => !el.hidden && el.offsetParent !== null)`)) as boolean;
}

function describeViolation(tab: string, violation: Violation): string {
  const nodes = violation.nodes.map((n) => `    ${n.target}: ${n.summary.replace(/\s+/g, ' ')}`).join('\n');
  return `[${tab}] ${violation.impact} ${violation.id}: ${violation.help}\n${nodes}`;
}
