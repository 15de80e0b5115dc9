// Running the user's Python with CNN Lens's bridge script (python/cnn_lens_torch.py). Which
// Python: the one the user chose (cnnLens.pythonPath, the Python extension's interpreter, --python)
// and nothing else when there is one; otherwise every python3 / python on the PATH in order, until
// one imports torch (machines often have several: a system Python with torch and a pyenv shim
// without). The winner is remembered for the PATH, so later runs start with it.
//
// The script reads its request as JSON on stdin and writes its answer to a file (the user's code
// may print anything); a run is cancelled by killing the process.
import { spawn, type ChildProcessWithoutNullStreams } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { PythonChoice } from '../../../shared/types';
import { cancelledError, LensError } from '../../../shared/errors';

export const BRIDGE_SCRIPT = 'cnn_lens_torch.py';

/** The bridge script: beside the bundle in dist/ (esbuild.js copies it), else the repository's python/. */
export function bridgeScriptPath(): string {
  const bundled = path.join(__dirname, BRIDGE_SCRIPT);
  if (fs.existsSync(bundled)) {
    return bundled;
  }
  return path.resolve(__dirname, '..', '..', '..', '..', 'python', BRIDGE_SCRIPT);
}

/** What the bridge answers: the result of its operation, or the user's error. */
export type BridgeAnswer<T> = ({ ok: true } & T) | { ok: false; error: BridgeFailure };

export interface BridgeFailure {
  kind: string;
  message: string;
  file?: string | null;
  line?: number | null;
  trace?: string;
}

/** A bridge error the user can act on, with the file and line it points at when it has one. */
export class PythonModelError extends LensError {
  constructor(
    readonly failure: BridgeFailure,
    code: 'bad-input' | 'unsupported' = 'bad-input',
  ) {
    super(failure.message, code);
  }
}

export interface RunOptions {
  /** Keep this Python running for the next request (the engine worker; the CLI runs one). */
  keepAlive?: boolean;
  signal?: AbortSignal;
  /** Kills the run after this long (ms). */
  timeoutMs?: number;
  /** Working folder of the Python process: the model's, so the user's relative paths work. */
  cwd?: string;
  log?: (line: string) => void;
}

const DEFAULT_TIMEOUT_MS = 10 * 60_000;
const STDERR_KEPT = 16 * 1024;

/** The interpreters to try, in order. */
export function pythonCandidates(choice: PythonChoice, env: NodeJS.ProcessEnv = process.env, platform = process.platform): string[] {
  if (choice.path) {
    return [choice.path];
  }
  const names = platform === 'win32' ? ['python.exe', 'python3.exe'] : ['python3', 'python'];
  const seen = new Set<string>();
  const found: string[] = [];
  for (const dir of (env.PATH ?? env.Path ?? '').split(path.delimiter)) {
    if (!dir) {
      continue;
    }
    for (const name of names) {
      const candidate = path.join(dir, name);
      let real: string;
      try {
        fs.accessSync(candidate, fs.constants.X_OK);
        if (!fs.statSync(candidate).isFile()) continue;
        real = fs.realpathSync(candidate);
      } catch {
        continue;
      }
      // A symlink to an interpreter already listed is the same Python; a pyenv shim is not.
      if (!seen.has(real)) {
        seen.add(real);
        found.push(candidate);
      }
    }
  }
  return found;
}

/** The interpreter that worked last, per PATH (for choices without a path). */
const lastGood = new Map<string, string>();

/**
 * Runs one bridge operation with the first interpreter that has torch. An interpreter without torch
 * (or one that does not start) is skipped when it was only found on the PATH; one the user chose
 * is the answer, and the error says how to choose another.
 */
export async function runBridge<T>(choice: PythonChoice, request: Record<string, unknown>, options: RunOptions = {}): Promise<{ answer: T; python: string }> {
  const pathKey = choice.path ? '' : (process.env.PATH ?? '');
  const candidates = pythonCandidates(choice);
  const preferred = lastGood.get(pathKey);
  if (!choice.path && preferred && candidates.includes(preferred)) {
    candidates.splice(candidates.indexOf(preferred), 1);
    candidates.unshift(preferred);
  }
  if (candidates.length === 0) {
    throw new LensError(
      'No Python found: neither python3 nor python is on the PATH. Install Python with PyTorch, then set "cnnLens.pythonPath" ' +
        '(or select an interpreter with the Python extension; on the command line, --python PATH).',
      'unsupported',
    );
  }
  const refusals: string[] = [];
  for (const python of candidates) {
    let answer: BridgeAnswer<T>;
    try {
      answer = await runOnce<T>(python, request, options);
    } catch (error) {
      if (!(error instanceof InterpreterStartError)) {
        throw error;
      }
      if (choice.path) {
        throw new LensError(
          `${python} (from ${choice.source ?? 'your settings'}) cannot be started (${error.message}); give the path of a Python executable that has PyTorch.`,
          'unsupported',
        );
      }
      refusals.push(`${python} (${error.message.split('\n').slice(-1)[0].trim()})`);
      continue;
    }
    if (answer.ok) {
      if (!choice.path) {
        lastGood.set(pathKey, python);
      }
      return { answer, python };
    }
    if (answer.error.kind === 'no-torch') {
      // An interpreter without torch is of no further use: do not keep it running.
      kept.get(python)?.kill();
      kept.delete(python);
    }
    if (answer.error.kind === 'no-torch' && !choice.path) {
      refusals.push(`${python} (${answer.error.message.replace(/^\S+ /, '')})`);
      continue;
    }
    if (answer.error.kind === 'no-torch') {
      throw new LensError(
        `${answer.error.message} This Python comes from ${choice.source ?? 'your settings'}: install PyTorch in it (pip install torch torchvision), ` +
          'or choose another interpreter ("cnnLens.pythonPath", the Python extension\'s interpreter, or --python on the command line).',
        'unsupported',
      );
    }
    throw new PythonModelError(answer.error, answer.error.kind === 'export' ? 'unsupported' : 'bad-input');
  }
  throw new LensError(
    `No Python with PyTorch found on the PATH: ${refusals.join('; ')}. Set "cnnLens.pythonPath" to a Python that has torch ` +
      '(or select one with the Python extension; on the command line, --python PATH).',
    'unsupported',
  );
}

class InterpreterStartError extends Error {}

async function runOnce<T>(python: string, request: Record<string, unknown>, options: RunOptions): Promise<BridgeAnswer<T>> {
  const scratch = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'cnn-lens-py-'));
  const resultPath = path.join(scratch, 'answer.json');
  const bridge = options.keepAlive ? keptBridge(python) : new BridgeProcess(python, false);
  try {
    try {
      await bridge.run({ ...request, resultPath, cwd: options.cwd }, options);
    } catch (error) {
      if (!(error instanceof BridgeExit)) {
        throw error;
      }
      // Died before torch imported: this interpreter does not work (a broken shim, a missing
      // library); after: the user's model crashed it, which another Python would not change.
      if (error.startError || !fs.existsSync(`${resultPath}.torch`)) {
        throw error.startError ?? new InterpreterStartError(describeCrash(python, error));
      }
      throw new LensError(describeCrash(python, error), 'bad-input');
    }
    const answer = JSON.parse(await fs.promises.readFile(resultPath, 'utf8')) as BridgeAnswer<T>;
    if (!answer.ok && answer.error.trace) {
      options.log?.(`python bridge: ${answer.error.trace}`);
    }
    return answer;
  } finally {
    if (!options.keepAlive) {
      bridge.kill();
    }
    await fs.promises.rm(scratch, { recursive: true, force: true });
  }
}

/** How a bridge process ended before answering. */
class BridgeExit extends Error {
  constructor(
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly tail: string,
    readonly startError?: InterpreterStartError,
  ) {
    super(`exited with code ${code}`);
  }
}

function describeCrash(python: string, exit: BridgeExit): string {
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  const tail = exit.tail.trim().split('\n').slice(-6).join('\n');
  const memory = exit.signal === 'SIGKILL' ? ' (out of memory?)' : '';
  return `Python (${python}) ${how}${memory} before answering CNN Lens's bridge script${tail ? `:\n${tail}` : '.'}`;
}

/**
 * Bridges kept alive, one per interpreter: importing torch once makes a re-export after a save take
 * a fraction of a second instead of two. They end when this thread ends (stdin closes), when a
 * request is cancelled or times out (killed; the next request starts another), or by
 * stopKeptBridges().
 */
const kept = new Map<string, BridgeProcess>();

function keptBridge(python: string): BridgeProcess {
  let bridge = kept.get(python);
  if (!bridge || bridge.dead) {
    bridge = new BridgeProcess(python, true);
    kept.set(python, bridge);
  }
  return bridge;
}

/** Stops the kept bridges (the worker frees its models; tests end). */
export function stopKeptBridges(): void {
  kept.forEach((bridge) => bridge.kill());
  kept.clear();
}

/** How many kept bridges are running (for leak checks). */
export function keptBridgeCount(): number {
  return [...kept.values()].filter((bridge) => !bridge.dead).length;
}

let requestIds = 0;

/**
 * One Python running the bridge script: for one request, or (`serve`) for many, one JSON line
 * each on stdin, answered by `done <id>` on stdout once the answer file is written. Requests run
 * one at a time.
 */
class BridgeProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private tail = '';
  private stdoutLine = '';
  private exit: BridgeExit | undefined;
  private waiting: { id: string; resolve: () => void; reject: (error: Error) => void } | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly python: string,
    serve: boolean,
  ) {
    this.child = spawn(python, [bridgeScriptPath(), ...(serve ? ['--serve'] : [])], {
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
      // No __pycache__ folders in the user's project; UTF-8 whatever the locale.
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONIOENCODING: 'utf-8', PYTHONUNBUFFERED: '1' },
    });
    let startError: InterpreterStartError | undefined;
    this.child.on('error', (error: NodeJS.ErrnoException) => {
      startError = new InterpreterStartError(error.code === 'ENOENT' ? 'not found' : error.message);
    });
    this.child.on('close', (code, signal) => {
      this.exit = new BridgeExit(code, signal, this.tail, startError);
      this.waiting?.reject(this.exit);
      this.waiting = undefined;
    });
    this.child.stdout.on('data', (chunk: Buffer) => this.onStdout(chunk.toString('utf8')));
    this.child.stderr.on('data', (chunk: Buffer) => this.keep(chunk.toString('utf8')));
    this.child.stdin.on('error', () => undefined); // a Python that exits at once closes the pipe early
    if (serve) {
      // A kept bridge waits for requests for as long as this thread lives: it must not keep Node alive.
      for (const handle of [this.child, this.child.stdin, this.child.stdout, this.child.stderr] as unknown as { unref?: () => void }[]) {
        handle.unref?.();
      }
    }
  }

  get dead(): boolean {
    return this.exit !== undefined || this.child.killed;
  }

  kill(): void {
    if (!this.dead) {
      this.child.kill('SIGKILL');
    }
  }

  /** Sends one request; resolves once it is answered, rejects with a BridgeExit if Python ends first. */
  run(request: Record<string, unknown>, options: RunOptions): Promise<void> {
    const next = this.queue.then(() => this.send(request, options));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private send(request: Record<string, unknown>, options: RunOptions): Promise<void> {
    if (this.exit) {
      return Promise.reject(this.exit);
    }
    if (options.signal?.aborted) {
      return Promise.reject(cancelledError());
    }
    const id = String(++requestIds);
    return new Promise<void>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const stop = (error: Error) => {
        // A cancelled or stuck export cannot be interrupted inside torch: the process goes.
        this.kill();
        done(() => reject(error));
      };
      const onAbort = () => stop(cancelledError());
      const timer = setTimeout(
        () => stop(new LensError(`Python (${this.python}) did not finish building and exporting the model within ${Math.round(timeoutMs / 1000)} s; it was stopped.`, 'bad-input')),
        timeoutMs,
      );
      const done = (outcome: () => void) => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (this.waiting?.id === id) {
          this.waiting = undefined;
        }
        outcome();
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting = { id, resolve: () => done(resolve), reject: (error) => done(() => reject(error)) };
      this.child.stdin.write(`${JSON.stringify({ ...request, id })}\n`);
    });
  }

  private onStdout(text: string): void {
    this.keep(text);
    this.stdoutLine += text;
    let newline = this.stdoutLine.indexOf('\n');
    while (newline >= 0) {
      const line = this.stdoutLine.slice(0, newline).trim();
      this.stdoutLine = this.stdoutLine.slice(newline + 1);
      if (this.waiting && line === `done ${this.waiting.id}`) {
        this.waiting.resolve();
      }
      newline = this.stdoutLine.indexOf('\n');
    }
  }

  private keep(text: string): void {
    this.tail = (this.tail + text).slice(-STDERR_KEPT);
  }
}

/** Hex digest of a file's content, for cache keys. */
export async function fileDigest(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  await new Promise<void>((resolve, reject) => {
    fs.createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve())
      .on('error', reject);
  });
  return hash.digest('hex');
}
