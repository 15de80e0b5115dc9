// What every e2e suite does around its tests: a copy of the sample workspace with
// `cnnLens.modelPath` set, the VSIX installed into a throwaway profile, code-server and chromium
// started, and all of it stopped and removed afterwards (also when a step failed).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import {
  BASE_USER_SETTINGS,
  REPO_ROOT,
  assertCodeServerInstalled,
  ensureVsix,
  installExtension,
  removeSandbox,
  startCodeServer,
  stopCodeServer,
  writeUserSettings,
  type RunningCodeServer,
  type Sandbox,
} from './codeServer';
import { launchBrowser, notificationTexts, screenshot } from './workbench';

export const SAMPLE_WORKSPACE = path.join(REPO_ROOT, 'samples', 'workspace');

/** Copies samples/workspace into the sandbox and points `cnnLens.modelPath` at `modelPath` (workspace-relative). */
export function copySampleWorkspace(sandbox: Sandbox, modelPath: string): string {
  const target = path.join(sandbox.root, 'workspace');
  fs.cpSync(SAMPLE_WORKSPACE, target, { recursive: true });
  const settingsFile = path.join(target, '.vscode', 'settings.json');
  const settings = fs.existsSync(settingsFile) ? (JSON.parse(fs.readFileSync(settingsFile, 'utf8')) as Record<string, unknown>) : {};
  settings['cnnLens.modelPath'] = modelPath;
  fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
  fs.writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
  return target;
}

export interface Workbench {
  server: RunningCodeServer;
  browser: Browser;
}

/**
 * Packages the VSIX (once per run), installs it into the sandbox's profile with the base settings
 * plus `settings`, and starts code-server (log to `logFile`, more command-line arguments in `args`,
 * e.g. `--locale ko`) and chromium.
 */
export async function startWorkbench(sandbox: Sandbox, options: { logFile: string; settings?: Record<string, unknown>; args?: readonly string[] }): Promise<Workbench> {
  assertCodeServerInstalled();
  installExtension(sandbox, ensureVsix());
  writeUserSettings(sandbox, { ...BASE_USER_SETTINGS, ...options.settings });
  const server = await startCodeServer(sandbox, options.logFile, options.args);
  try {
    return { server, browser: await launchBrowser(sandbox) };
  } catch (error) {
    await stopCodeServer(server);
    throw error;
  }
}

/**
 * Stops chromium and code-server, copies VS Code's logs to `logsTo` when given, and removes the
 * sandbox unless CNN_LENS_E2E_KEEP=1. Each step is guarded on its own: a failure in one must not
 * leave a process running.
 */
export async function closeWorkbench(parts: { browser?: Browser; server?: RunningCodeServer; sandbox?: Sandbox }, logsTo?: string): Promise<void> {
  await parts.browser?.close().catch((error: Error) => console.error(`closing chromium: ${error.message}`));
  if (parts.server) {
    await stopCodeServer(parts.server);
  }
  const sandbox = parts.sandbox;
  if (!sandbox) {
    return;
  }
  const logs = path.join(sandbox.userDataDir, 'logs');
  if (logsTo && fs.existsSync(logs)) {
    fs.cpSync(logs, logsTo, { recursive: true });
  }
  if (process.env.CNN_LENS_E2E_KEEP === '1') {
    console.log(`e2e: kept ${sandbox.root}`);
  } else {
    removeSandbox(sandbox);
  }
}

/**
 * After a failed test: a screenshot named after it (`FAILED-<prefix><title>.png`) and the
 * workbench's notifications on stderr (a failed command usually reports there).
 */
export async function recordFailure(test: Mocha.Test | undefined, page: Page | undefined, artifacts: string, prefix = ''): Promise<void> {
  if (test?.state !== 'failed' || !page) {
    return;
  }
  const name = `FAILED-${prefix}${test.title.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').slice(0, 60)}.png`;
  await screenshot(page, path.join(artifacts, name)).catch(() => undefined);
  const notes = await notificationTexts(page).catch(() => []);
  if (notes.length > 0) {
    console.error(`e2e: notifications at failure: ${JSON.stringify(notes)}`);
  }
}
