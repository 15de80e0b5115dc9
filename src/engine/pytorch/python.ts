// Running the user's Python with CNN Lens's bridge script (python/cnn_lens_torch.py). Which
// Python: the one the user chose (cnnLens.pythonPath, the Python extension's interpreter, --python)
// and nothing else when there is one; otherwise every python3 / python on the PATH in order, until
// one imports torch (machines often have several: a system Python with torch and a pyenv shim
// without). The winner is remembered for the PATH, so later runs start with it.
//
// The script reads its request as JSON on stdin and writes its answer to a file (the user's code
// may print anything); a run is cancelled by killing the process.
import { spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { PythonChoice } from '../../protocol/types';
import { EngineError } from '../errors';

export const BRIDGE_SCRIPT = 'cnn_lens_torch.py';

/** The bridge script: beside the bundle in dist/ (esbuild.js copies it), else the repository's python/. */
export function bridgeScriptPath(): string {
  const bundled = path.join(__dirname, BRIDGE_SCRIPT);
  if (fs.existsSync(bundled)) {
    return bundled;
  }
  return path.resolve(__dirname, '..', '..', '..', 'python', BRIDGE_SCRIPT);
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
export class PythonModelError extends EngineError {
  constructor(
    readonly failure: BridgeFailure,
    code: 'bad-input' | 'unsupported' = 'bad-input',
  ) {
    super(failure.message, code);
  }
}

export interface RunOptions {
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
    throw new EngineError(
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
        throw new EngineError(
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
    if (answer.error.kind === 'no-torch' && !choice.path) {
      refusals.push(`${python} (${answer.error.message.replace(/^\S+ /, '')})`);
      continue;
    }
    if (answer.error.kind === 'no-torch') {
      throw new EngineError(
        `${answer.error.message} This Python comes from ${choice.source ?? 'your settings'}: install PyTorch in it (pip install torch torchvision), ` +
          'or choose another interpreter ("cnnLens.pythonPath", the Python extension\'s interpreter, or --python on the command line).',
        'unsupported',
      );
    }
    throw new PythonModelError(answer.error, answer.error.kind === 'export' ? 'unsupported' : 'bad-input');
  }
  throw new EngineError(
    `No Python with PyTorch found on the PATH: ${refusals.join('; ')}. Set "cnnLens.pythonPath" to a Python that has torch ` +
      '(or select one with the Python extension; on the command line, --python PATH).',
    'unsupported',
  );
}

class InterpreterStartError extends Error {}

async function runOnce<T>(python: string, request: Record<string, unknown>, options: RunOptions): Promise<BridgeAnswer<T>> {
  const scratch = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'cnn-lens-py-'));
  const resultPath = path.join(scratch, 'answer.json');
  try {
    const stderr = await spawnBridge(python, JSON.stringify({ ...request, resultPath }), options);
    let text: string;
    try {
      text = await fs.promises.readFile(resultPath, 'utf8');
    } catch {
      // Died before torch imported: this interpreter does not work (a broken shim, a missing
      // library); after: the user's model crashed it, which another Python would not change.
      if (stderr.startError || !fs.existsSync(`${resultPath}.torch`)) {
        throw stderr.startError ?? new InterpreterStartError(describeCrash(python, stderr));
      }
      throw new EngineError(describeCrash(python, stderr), 'bad-input');
    }
    const answer = JSON.parse(text) as BridgeAnswer<T>;
    if (!answer.ok && answer.error.trace) {
      options.log?.(`python bridge: ${answer.error.trace}`);
    }
    return answer;
  } finally {
    await fs.promises.rm(scratch, { recursive: true, force: true });
  }
}

interface BridgeExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  tail: string;
  startError?: InterpreterStartError;
}

function describeCrash(python: string, exit: BridgeExit): string {
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  const tail = exit.tail.trim().split('\n').slice(-6).join('\n');
  const memory = exit.signal === 'SIGKILL' ? ' (out of memory?)' : '';
  return `Python (${python}) ${how}${memory} before answering CNN Lens's bridge script${tail ? `:\n${tail}` : '.'}`;
}

function spawnBridge(python: string, input: string, options: RunOptions): Promise<BridgeExit> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new EngineError('Cancelled', 'cancelled'));
      return;
    }
    const child = spawn(python, [bridgeScriptPath()], {
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
      // No __pycache__ folders in the user's project; UTF-8 whatever the locale.
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONIOENCODING: 'utf-8', PYTHONUNBUFFERED: '1' },
    });
    let tail = '';
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString('utf8')).slice(-STDERR_KEPT);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let settled = false;
    let startError: InterpreterStartError | undefined;
    const finish = (outcome: () => void) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        outcome();
      }
    };
    const onAbort = () => {
      child.kill('SIGKILL');
      finish(() => reject(new EngineError('Cancelled', 'cancelled')));
    };
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(() => reject(new EngineError(`Python (${python}) did not finish building and exporting the model within ${Math.round(timeoutMs / 1000)} s; it was stopped.`, 'bad-input')));
    }, timeoutMs);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error: NodeJS.ErrnoException) => {
      startError = new InterpreterStartError(error.code === 'ENOENT' ? 'not found' : error.message);
    });
    child.on('close', (code, signal) => finish(() => resolve({ code, signal, tail, startError })));
    child.stdin.on('error', () => undefined); // a Python that exits at once closes the pipe early
    child.stdin.end(input);
  });
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
