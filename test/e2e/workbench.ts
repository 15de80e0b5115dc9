// Drives the VS Code web workbench that code-server serves, through Debian's chromium and
// playwright-core. Selectors and waits follow what was measured on this machine
// (../shared/vscode-e2e-here.md): commands show in the palette only once the remote extension host
// has registered them (so retry), explorer context-menu items ignore an immediate click (hover,
// wait, click), and a webview is two nested iframes.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Frame, type Locator, type Page } from 'playwright-core';
import type { Sandbox } from './codeServer';
import { sleep } from './codeServer';
import type { BrowserGlobals, DomElement } from './dom';
import { PANEL_TITLE_PATTERN } from '../../src/shared/statusLine';

export const CHROMIUM_PATH = process.env.CNN_LENS_CHROMIUM ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchBrowser(sandbox: Sandbox): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(`chromium not found at ${CHROMIUM_PATH}: run scripts/e2e/setup.sh (or set CNN_LENS_CHROMIUM)`);
  }
  // playwright gives chromium a fresh temp profile; HOME/XDG from the sandbox keep its other
  // writes (crash reports, fontconfig cache) out of the real home folder.
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, env: sandbox.env, timeout: 60_000 });
}

/** Opens the workbench on a folder and waits until the explorer lists it. */
export async function openWorkspace(browser: Browser, serverUrl: string, folder: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  await page.goto(`${serverUrl}/?folder=${encodeURIComponent(folder)}`, { waitUntil: 'domcontentloaded' });
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
  return page;
}

export async function screenshot(page: Page, file: string): Promise<string> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await page.screenshot({ path: file });
  return file;
}

/** The explorer row of a workspace-relative path, expanding its parent folders on the way. */
export async function revealInExplorer(page: Page, relativePath: string): Promise<Locator> {
  const parts = relativePath.split('/');
  for (let i = 0; i < parts.length; i++) {
    const row = explorerRow(page, parts[i], i + 1);
    await row.waitFor({ timeout: 30_000 });
    const isFolder = i < parts.length - 1;
    if (isFolder && (await row.getAttribute('aria-expanded')) !== 'true') {
      await row.click();
      await waitUntil(async () => (await row.getAttribute('aria-expanded')) === 'true', 10_000, `folder ${parts[i]} to expand`);
    }
    if (!isFolder) {
      return row;
    }
  }
  throw new Error(`empty path: ${relativePath}`);
}

function explorerRow(page: Page, name: string, level: number): Locator {
  // Rows carry the file name as aria-label and their tree depth as aria-level.
  return page.locator(`.explorer-folders-view .monaco-list-row[aria-level="${level}"][aria-label="${name}"]`);
}

/**
 * Right-clicks a row and chooses a context-menu item. The menu ignores a click that arrives right
 * after it opens, so hover first, give it ~300 ms, then click.
 */
export async function chooseContextMenuItem(page: Page, row: Locator, label: RegExp, beforeClick?: () => Promise<void>, timeoutMs = 60_000): Promise<void> {
  // The item appears only once the remote extension host has registered the extension's
  // contributions, which can be after the explorer shows: close the menu and open it again until
  // it does (as runCommandFromPalette retries the palette).
  const deadline = Date.now() + timeoutMs;
  const item = page.locator('.monaco-menu .action-item:not(.disabled) .action-label', { hasText: label }).first();
  for (;;) {
    await row.click({ button: 'right' });
    try {
      await item.waitFor({ timeout: 5_000 });
      break;
    } catch {
      const items = await page.locator('.monaco-menu .action-label').allInnerTexts();
      if (Date.now() > deadline) {
        throw new Error(`context menu has no item matching ${label}; items: ${JSON.stringify(items.filter(Boolean))}`);
      }
      await page.keyboard.press('Escape');
      await sleep(1_000);
    }
  }
  await item.hover();
  await sleep(300);
  if (beforeClick) {
    await beforeClick();
  }
  await item.click();
}

const QUICK_INPUT = '.quick-input-widget';
const QUICK_INPUT_BOX = `${QUICK_INPUT} .quick-input-box input`;
const QUICK_ROWS = `${QUICK_INPUT} .quick-input-list .monaco-list-row`;

/**
 * F1, type the command title, run it. The command appears only after the remote extension host
 * registered the extension's contributions, so close and retry until the row shows.
 */
export async function runCommandFromPalette(page: Page, title: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen: string[] = [];
  while (Date.now() < deadline) {
    await page.keyboard.press('Escape');
    await page.locator('.monaco-workbench').click({ position: { x: 800, y: 5 } }).catch(() => undefined);
    await page.keyboard.press('F1');
    const input = page.locator(QUICK_INPUT_BOX);
    await input.waitFor({ timeout: 10_000 });
    await input.fill(`>${title}`);
    const row = page.locator(QUICK_ROWS).filter({ hasText: title }).first();
    try {
      await row.waitFor({ timeout: 3_000 });
      // The first row is the one Enter runs; make sure it is ours, not a fuzzy neighbour.
      await waitUntil(async () => ((await page.locator(QUICK_ROWS).first().getAttribute('aria-label')) ?? '').includes(title), 3_000, 'palette row');
      await page.keyboard.press('Enter');
      return;
    } catch {
      seen = await page.locator(QUICK_ROWS).allInnerTexts();
    }
  }
  throw new Error(`command "${title}" never appeared in the command palette within ${timeoutMs} ms (rows: ${JSON.stringify(seen.slice(0, 5))})`);
}

/** Waits for a quick pick, filters it by `text` (long lists are virtualised) and accepts the match. */
export async function pickQuickPickItem(page: Page, text: string, timeoutMs = 30_000): Promise<string[]> {
  const rows = page.locator(QUICK_ROWS);
  await rows.first().waitFor({ timeout: timeoutMs });
  const offered = await rows.allInnerTexts();
  await page.locator(QUICK_INPUT_BOX).fill(text);
  const row = rows.filter({ hasText: text }).first();
  try {
    await row.waitFor({ timeout: 5_000 });
  } catch {
    throw new Error(`quick pick has no item containing "${text}"; items: ${JSON.stringify(offered)}`);
  }
  await row.click();
  return offered;
}

/** The placeholder / title the open quick input shows (to tell which question it asks). */
export async function quickInputPrompt(page: Page): Promise<string> {
  const box = page.locator(QUICK_INPUT_BOX);
  const placeholder = (await box.getAttribute('placeholder')) ?? '';
  const title = await page.locator(`${QUICK_INPUT} .quick-input-title`).innerText().catch(() => '');
  return `${title} ${placeholder}`.trim();
}

export async function isQuickInputVisible(page: Page): Promise<boolean> {
  return page.locator(QUICK_INPUT).isVisible();
}

/**
 * The document frame of the webview whose content has `selector`: the workbench hosts each webview
 * in `iframe.webview.ready`, which hosts the extension's HTML in `#active-frame`.
 */
export async function findWebviewFrame(page: Page, selector: string, timeoutMs = 60_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const outer of await page.locator('iframe.webview.ready').elementHandles()) {
      const outerFrame = await outer.contentFrame();
      const inner = await outerFrame?.$('#active-frame');
      const frame = await inner?.contentFrame();
      if (frame && (await frame.$(selector))) {
        return frame;
      }
    }
    await sleep(250);
  }
  throw new Error(`no webview with ${selector} appeared within ${timeoutMs} ms`);
}

/**
 * Chooses `value` in a webview's picker (a vscode-single-select or a <select>) as a user's pick
 * does: sets the value and dispatches "change", which is what the panel listens to.
 */
export async function chooseInPicker(frame: Frame, selector: string, value: string): Promise<void> {
  const found = await frame.evaluate(
    ([sel, val]) => {
      const { document, Event } = globalThis as unknown as {
        document: { querySelector(s: string): { value: string; dispatchEvent(e: unknown): boolean } | null };
        Event: new (type: string) => unknown;
      };
      const picker = document.querySelector(sel);
      if (!picker) {
        return false;
      }
      picker.value = val;
      picker.dispatchEvent(new Event('change'));
      return true;
    },
    [selector, value] as const,
  );
  if (!found) {
    throw new Error(`no picker ${selector} in the webview`);
  }
}

/** Visible error notifications of the workbench (a failed command usually reports there). */
export async function notificationTexts(page: Page): Promise<string[]> {
  return page.locator('.notifications-toasts .notification-list-item-message').allInnerTexts();
}

export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) {
      return;
    }
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** The text of an element as the user sees it: "" when it is missing or hidden. */
export async function visibleText(frame: Frame, selector: string): Promise<string> {
  return frame.evaluate((sel) => {
    const { document, getComputedStyle } = globalThis as unknown as BrowserGlobals;
    const el = document.querySelector(sel);
    if (!el || el.hidden || getComputedStyle(el).display === 'none') {
      return '';
    }
    // innerText skips hidden descendants; textContent covers elements that render text in shadow DOM.
    return el.innerText || el.textContent || '';
  }, selector);
}

/**
 * The panel's status line and its tooltip, one after the other: the line is short ("Grad-CAM of
 * Ankle boot at conv4 · 45 ms · wasm"); the exact score, the model input, the stages' times and
 * the helper workers' share are in the tooltip.
 */
export async function statusWithDetails(frame: Frame): Promise<string> {
  const line = await visibleText(frame, '[data-testid="status"]');
  const tooltip = (await frame.locator('[data-testid="status"]').getAttribute('title')) ?? '';
  return `${line}\n${tooltip}`;
}

/** The product's layout: the model file in one editor group, the Grad-CAM panel in the group beside it. */
export async function assertPanelBesideModel(page: Page, modelFileName: string): Promise<void> {
  const groups = await page.locator('.editor-group-container').evaluateAll((elements) =>
    (elements as unknown as DomElement[]).map((group) =>
      Array.from(group.querySelectorAll('.tab')).map((tab) => tab.getAttribute('aria-label') ?? tab.textContent ?? ''),
    ),
  );
  const modelGroup = groups.findIndex((tabs) => tabs.some((tab) => tab.includes(modelFileName)));
  const panelGroup = groups.findIndex((tabs) => tabs.some((tab) => PANEL_TITLE_PATTERN.test(tab)));
  assert.ok(modelGroup >= 0, `no editor shows ${modelFileName}; editor tabs: ${JSON.stringify(groups)}`);
  assert.ok(panelGroup >= 0, `no Grad-CAM panel tab; editor tabs: ${JSON.stringify(groups)}`);
  assert.notStrictEqual(modelGroup, panelGroup, `the panel and ${modelFileName} share one editor group: the panel must open beside the model`);
}
