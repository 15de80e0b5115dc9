// Exports kept on disk, so a PyTorch model that did not change loads without starting Python
// (importing torch alone takes one to two seconds; exporting a large model, several). An entry is
// the ONNX file and the bridge's answer, under a key made of everything the request says (source,
// class, arguments, checkpoint, input size, interpreter, bridge script); it holds while every file
// the export read keeps its content: Python sources by their text (a save or checkout that leaves
// the text alone costs nothing), checkpoints (large) by size and modification time. Entries unused
// for two weeks, and the oldest beyond 2 GiB, are deleted.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const MAX_AGE_MS = 14 * 24 * 3600_000;
const MAX_BYTES = 2 * 1024 ** 3;

export interface FileStamp {
  path: string;
  size: number;
  mtimeMs: number;
  /** A source's text digest: when present, it alone decides. */
  digest?: string;
}

export interface CacheEntry<T> {
  onnxPath: string;
  answer: T;
}

/** The default folder: the user's cache folder, else the system's temporary one. */
export function defaultExportCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || (process.platform === 'linux' || process.platform === 'darwin' ? path.join(os.homedir(), '.cache') : os.tmpdir());
  return path.join(base, 'cnn-lens', 'torch-exports');
}

export async function stampOf(file: string): Promise<FileStamp | null> {
  try {
    const stat = await fs.promises.stat(file);
    const stamp: FileStamp = { path: file, size: stat.size, mtimeMs: stat.mtimeMs };
    if (/\.py$/i.test(file)) {
      stamp.digest = crypto.createHash('sha256').update(await fs.promises.readFile(file)).digest('hex');
    }
    return stamp;
  } catch {
    return null;
  }
}

function unchanged(now: FileStamp | null, then: FileStamp): boolean {
  if (!now) {
    return false;
  }
  return then.digest !== undefined ? now.digest === then.digest : now.size === then.size && now.mtimeMs === then.mtimeMs;
}

export class ExportCache {
  constructor(readonly dir: string) {}

  static keyOf(parts: unknown): string {
    return crypto.createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 40);
  }

  /** Where the bridge writes the export for this key (then `store` records it). */
  onnxPath(key: string): string {
    return path.join(this.dir, `${key}.onnx`);
  }

  async prepare(): Promise<void> {
    await fs.promises.mkdir(this.dir, { recursive: true });
  }

  /** The entry for this key if its files are unchanged. */
  async lookup<T>(key: string): Promise<CacheEntry<T> | undefined> {
    let record: { answer: T; files: FileStamp[] };
    try {
      record = JSON.parse(await fs.promises.readFile(this.recordPath(key), 'utf8')) as { answer: T; files: FileStamp[] };
    } catch {
      return undefined;
    }
    const onnxPath = this.onnxPath(key);
    const stamps = await Promise.all([...record.files.map((f) => stampOf(f.path)), stampOf(onnxPath)]);
    if (!record.files.every((f, i) => unchanged(stamps[i], f)) || stamps[stamps.length - 1] === null) {
      return undefined;
    }
    const now = new Date();
    await fs.promises.utimes(this.recordPath(key), now, now).catch(() => undefined); // last use, for pruning
    return { onnxPath, answer: record.answer };
  }

  async store<T>(key: string, answer: T, files: readonly string[]): Promise<void> {
    const stamps = (await Promise.all(files.map((f) => stampOf(f)))).filter((s): s is FileStamp => s !== null);
    const temporary = `${this.recordPath(key)}.${process.pid}.part`;
    await fs.promises.writeFile(temporary, JSON.stringify({ answer, files: stamps }));
    await fs.promises.rename(temporary, this.recordPath(key));
    await this.prune(key).catch(() => undefined);
  }

  /** Deletes old entries, and the least recently used beyond the size budget (never `keep`). */
  async prune(keep: string): Promise<void> {
    const names = await fs.promises.readdir(this.dir);
    const entries: { key: string; used: number; bytes: number }[] = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const key = name.slice(0, -'.json'.length);
      const record = await stampOf(this.recordPath(key));
      const onnx = await stampOf(this.onnxPath(key));
      if (record) {
        entries.push({ key, used: record.mtimeMs, bytes: record.size + (onnx?.size ?? 0) });
      }
    }
    entries.sort((a, b) => b.used - a.used);
    let total = 0;
    const now = Date.now();
    for (const entry of entries) {
      total += entry.bytes;
      if (entry.key !== keep && (now - entry.used > MAX_AGE_MS || total > MAX_BYTES)) {
        await fs.promises.rm(this.recordPath(entry.key), { force: true });
        await fs.promises.rm(this.onnxPath(entry.key), { force: true });
      }
    }
  }

  private recordPath(key: string): string {
    return path.join(this.dir, `${key}.json`);
  }
}
