// Starts and stops a real code-server (VS Code 1.100 server + web workbench, Node extension host)
// for the end-to-end tests. Everything it writes (user data, extensions, config, XDG folders, a
// home folder) lives in one temp folder, so a run never touches the real home folder and leaves
// nothing behind. code-server itself comes from `.e2e/` (scripts/e2e/setup.sh installs it).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const CODE_SERVER_ENTRY = path.join(REPO_ROOT, '.e2e', 'node_modules', 'code-server', 'out', 'node', 'entry.js');


/** The VSIX every suite installs; `npm run package` writes it. */
export const VSIX = path.join(REPO_ROOT, 'dist-vsix', 'cnn-lens.vsix');

let packagedThisRun = false;

/**
 * Packages the VSIX once per test run (every suite installs the same one). With
 * CNN_LENS_E2E_SKIP_PACKAGE=1 an existing dist-vsix/cnn-lens.vsix is used as it is.
 */
export function ensureVsix(): string {
  const skip = process.env.CNN_LENS_E2E_SKIP_PACKAGE === '1' && fs.existsSync(VSIX);
  if (!skip && !packagedThisRun) {
    fs.mkdirSync(path.dirname(VSIX), { recursive: true });
    execFileSync('npm', ['run', '--silent', 'package'], { cwd: REPO_ROOT, stdio: 'inherit' });
    packagedThisRun = true;
  }
  return VSIX;
}

/**
 * Workbench settings every suite starts from: dark theme (CNN_LENS_E2E_THEME picks another, e.g.
 * "Default Light Modern", to look at the panel in it), no welcome page, tips, telemetry or updates.
 */
export const BASE_USER_SETTINGS: Readonly<Record<string, unknown>> = {
  'workbench.colorTheme': process.env.CNN_LENS_E2E_THEME ?? 'Default Dark Modern',
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'extensions.ignoreRecommendations': true,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'window.commandCenter': true,
  'chat.commandCenter.enabled': false,
};

/** Folders of one isolated code-server profile. */
export interface Sandbox {
  root: string;
  home: string;
  userDataDir: string;
  extensionsDir: string;
  configFile: string;
  /** Environment with HOME and the XDG folders inside the sandbox. */
  env: NodeJS.ProcessEnv;
}

export function createSandbox(prefix = 'cnn-lens-e2e-'): Sandbox {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const home = path.join(root, 'home');
  const userDataDir = path.join(root, 'user-data');
  const extensionsDir = path.join(root, 'extensions');
  const configFile = path.join(root, 'code-server.yaml');
  for (const dir of [home, userDataDir, extensionsDir]) {
    fs.mkdirSync(dir, { recursive: true });
  }
  // --auth none below wins over this file; writing it stops code-server from generating a default
  // config (with a password) in ~/.config.
  fs.writeFileSync(configFile, 'bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_STATE_HOME: path.join(home, '.local', 'state'),
  };
  // A VS Code instance running the tests (or a parent extension host) leaks variables that make a
  // child code-server think it is an extension host or a CLI of another window.
  for (const key of Object.keys(env)) {
    if (key.startsWith('VSCODE_') || key === 'ELECTRON_RUN_AS_NODE') {
      delete env[key];
    }
  }
  if (process.env.CNN_LENS_E2E_KEEP !== '1') {
    onAbnormalExit(`sandbox ${root}`, () => fs.rmSync(root, { recursive: true, force: true }));
  }
  return { root, home, userDataDir, extensionsDir, configFile, env };
}

export function removeSandbox(sandbox: Sandbox): void {
  fs.rmSync(sandbox.root, { recursive: true, force: true });
  exitCleanups.delete(`sandbox ${sandbox.root}`);
}

/** Writes the user settings.json of the profile (e.g. the color theme). */
export function writeUserSettings(sandbox: Sandbox, settings: Record<string, unknown>): void {
  const userDir = path.join(sandbox.userDataDir, 'User');
  fs.mkdirSync(userDir, { recursive: true });
  fs.writeFileSync(path.join(userDir, 'settings.json'), JSON.stringify(settings, null, 2));
}

export function assertCodeServerInstalled(): void {
  if (!fs.existsSync(CODE_SERVER_ENTRY)) {
    throw new Error(
      `code-server is not installed (${path.relative(REPO_ROOT, CODE_SERVER_ENTRY)} is missing): run scripts/e2e/setup.sh`,
    );
  }
}

function codeServerArgs(sandbox: Sandbox): string[] {
  return [
    CODE_SERVER_ENTRY,
    '--config', sandbox.configFile,
    '--user-data-dir', sandbox.userDataDir,
    '--extensions-dir', sandbox.extensionsDir,
  ];
}

/** `code-server --install-extension VSIX` into the sandbox's extensions folder. */
export function installExtension(sandbox: Sandbox, vsixPath: string): string {
  if (!fs.existsSync(vsixPath)) {
    throw new Error(`VSIX not found: ${vsixPath} (run \`npm run package\` first)`);
  }
  const result = spawnSync(process.execPath, [...codeServerArgs(sandbox), '--install-extension', vsixPath], {
    env: sandbox.env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.status !== 0 || !/successfully installed/i.test(output)) {
    throw new Error(`code-server --install-extension ${vsixPath} failed (exit ${result.status}):\n${output}`);
  }
  return output;
}

/** A free TCP port on 127.0.0.1 (the OS picks it; closed again before code-server binds it). */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

export interface RunningCodeServer {
  url: string;
  port: number;
  process: ChildProcess;
  logFile: string;
}

/**
 * Starts code-server on 127.0.0.1:PORT without auth, telemetry, update checks or workspace trust,
 * and resolves once /healthz answers. The process leads its own process group so `stopCodeServer`
 * can end it together with the extension host, pty host and file watcher it spawns.
 */
export async function startCodeServer(sandbox: Sandbox, logFile: string, extraArgs: readonly string[] = []): Promise<RunningCodeServer> {
  assertCodeServerInstalled();
  const port = await findFreePort();
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = fs.openSync(logFile, 'w');
  const child = spawn(
    process.execPath,
    [
      ...codeServerArgs(sandbox),
      '--bind-addr', `127.0.0.1:${port}`,
      '--auth', 'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      ...extraArgs,
    ],
    { env: sandbox.env, stdio: ['ignore', log, log], detached: true },
  );
  fs.closeSync(log);
  if (child.pid !== undefined) {
    const pid = child.pid;
    onAbnormalExit(`code-server ${pid}`, () => signalGroup(pid, 'SIGKILL'));
  }
  const server: RunningCodeServer = { url: `http://127.0.0.1:${port}`, port, process: child, logFile };
  try {
    await waitForHealth(server, 60_000);
  } catch (error) {
    await stopCodeServer(server);
    throw error;
  }
  return server;
}

async function waitForHealth(server: RunningCodeServer, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no answer yet';
  while (Date.now() < deadline) {
    if (server.process.exitCode !== null || server.process.signalCode !== null) {
      throw new Error(`code-server exited (${server.process.exitCode ?? server.process.signalCode}) before it was ready; log: ${server.logFile}\n${tail(server.logFile)}`);
    }
    try {
      const response = await fetch(`${server.url}/healthz`);
      if (response.ok) {
        return;
      }
      lastError = `HTTP ${response.status}`;
    } catch (error) {
      lastError = (error as Error).message;
    }
    await sleep(200);
  }
  throw new Error(`code-server did not answer ${server.url}/healthz within ${timeoutMs} ms (${lastError}); log: ${server.logFile}\n${tail(server.logFile)}`);
}

/** Ends code-server's process group (SIGTERM, then SIGKILL after 5 s). Safe to call twice. */
export async function stopCodeServer(server: RunningCodeServer): Promise<void> {
  const pid = server.process.pid;
  if (pid === undefined) {
    return;
  }
  if (server.process.exitCode !== null || server.process.signalCode !== null) {
    signalGroup(pid, 'SIGKILL');
    exitCleanups.delete(`code-server ${pid}`);
    return;
  }
  const exited = new Promise<void>((resolve) => server.process.once('exit', () => resolve()));
  signalGroup(pid, 'SIGTERM');
  const stopped = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
  if (!stopped) {
    signalGroup(pid, 'SIGKILL');
    await exited;
  }
  // Children that outlived their parent (an extension host mid-shutdown) are still in the group.
  signalGroup(pid, 'SIGKILL');
  exitCleanups.delete(`code-server ${pid}`);
}

/**
 * code-server runs detached (its own process group) and the sandbox is a temp folder, so an
 * interrupted run (Ctrl-C, a CI timeout's SIGTERM, a crash) would leave both behind. Cleanups
 * registered here run synchronously when this process exits; the usual signals become an exit.
 */
const exitCleanups = new Map<string, () => void>();
let exitGuardsInstalled = false;

function onAbnormalExit(key: string, cleanup: () => void): void {
  exitCleanups.set(key, cleanup);
  if (exitGuardsInstalled) {
    return;
  }
  exitGuardsInstalled = true;
  process.on('exit', () => {
    // Newest first: stop code-server before deleting the folder it writes to.
    for (const run of [...exitCleanups.values()].reverse()) {
      try {
        run();
      } catch {
        // best effort: the process is going away
      }
    }
  });
  const exitCodes: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
  for (const [signal, code] of Object.entries(exitCodes)) {
    process.once(signal as NodeJS.Signals, () => process.exit(code));
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') {
      throw error;
    }
  }
}

export function tail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
