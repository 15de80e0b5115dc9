// The folder tree says which process a file runs in, and the imports keep it true: every import of
// src/ and webview/ is read (as text: import/export … from, import(), require()) and checked against
// the layer table below, the import graph must have no cycle, and packages that only one process
// may load (vscode, tfjs, Node's built-ins) stay in it. A new file that breaks a rule fails here
// with the file and the import named.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../..');

/**
 * Areas from the bottom up, and which areas each may import (itself always). shared: code every
 * process uses; render: pixels without tensors (worker, CLI, page); engine: tfjs; worker: the
 * engine's thread; workerClient: the host side of that thread; host: the extension (vscode);
 * cli: the command line; webview: the page.
 */
const MAY_IMPORT: Record<string, readonly string[]> = {
  'src/shared': [],
  'src/render': ['src/shared'],
  'src/engine': ['src/shared', 'src/render'],
  'src/workerClient': ['src/shared'],
  'src/worker': ['src/shared', 'src/render', 'src/engine', 'src/workerClient'],
  'src/host': ['src/shared', 'src/render', 'src/workerClient'],
  'src/cli': ['src/shared', 'src/render', 'src/engine', 'src/worker'],
  webview: ['src/shared', 'src/render'],
};

/** Packages only some areas may load: the rest run where they are not (a browser page, a plain Node process). */
const PACKAGE_HOMES: { test: (spec: string) => boolean; name: string; areas: readonly string[] }[] = [
  { name: 'vscode', test: (s) => s === 'vscode', areas: ['src/host'] },
  { name: '@tensorflow/*', test: (s) => s.startsWith('@tensorflow/'), areas: ['src/engine'] },
  {
    name: "Node's built-in modules",
    test: (s) => s.startsWith('node:') || ['fs', 'path', 'os', 'child_process', 'worker_threads', 'crypto', 'util', 'zlib', 'vm', 'url'].includes(s),
    areas: ['src/engine', 'src/worker', 'src/workerClient', 'src/host', 'src/cli', 'src/shared/sampleWorkers.ts'],
  },
];

interface Import {
  from: string;
  spec: string;
  /** Repository-relative file the import resolves to; undefined for a package. */
  target?: string;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      out.push(...sourceFiles(rel));
    } else if (/\.ts$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      out.push(rel);
    }
  }
  return out;
}

/** Comments removed so a path in prose is not taken for an import; strings are kept. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

function importsOf(file: string): Import[] {
  const text = withoutComments(fs.readFileSync(path.join(ROOT, file), 'utf8'));
  const specs = new Set<string>();
  for (const pattern of [/\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /^\s*import\s*['"]([^'"]+)['"]/gm]) {
    for (const match of text.matchAll(pattern)) {
      specs.add(match[1]);
    }
  }
  return [...specs].map((spec) => ({ from: file, spec, target: spec.startsWith('.') ? resolveImport(file, spec) : undefined }));
}

function resolveImport(file: string, spec: string): string {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
  for (const candidate of [base, `${base}.ts`, `${base}/index.ts`]) {
    const full = path.join(ROOT, candidate);
    if (fs.existsSync(full) && fs.statSync(full).isFile()) {
      return candidate;
    }
  }
  throw new Error(`${file}: import '${spec}' resolves to no file`);
}

function areaOf(file: string): string | undefined {
  return Object.keys(MAY_IMPORT).find((area) => file === area || file.startsWith(`${area}/`));
}

/** Strongly connected components with more than one file (Tarjan). */
function cyclesOf(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) {
        found.push(component.sort());
      }
    }
  };
  for (const node of graph.keys()) {
    if (!index.has(node)) {
      visit(node);
    }
  }
  return found;
}

describe('architecture: folders name their process, imports keep them honest', () => {
  const files = [...sourceFiles('src'), ...sourceFiles('webview')];
  const imports = files.flatMap(importsOf);

  it('every source file lies in an area of the layer table', () => {
    const outside = files.filter((file) => !areaOf(file) && !file.startsWith('src/types/'));
    assert.deepStrictEqual(outside, [], 'files outside every area: add them to an area (test/unit/architecture.test.ts)');
  });

  it('each area imports only the areas below it', () => {
    const wrong = imports
      .filter((i) => i.target && !i.target.startsWith('src/types/'))
      .filter((i) => {
        const from = areaOf(i.from)!;
        const to = areaOf(i.target!);
        return to !== from && !(to && MAY_IMPORT[from].includes(to));
      })
      .map((i) => `${i.from} imports ${i.target}`);
    assert.deepStrictEqual(wrong, []);
  });

  it('the import graph has no cycles', () => {
    const graph = new Map<string, string[]>(files.map((file) => [file, []]));
    for (const i of imports) {
      if (i.target && graph.has(i.target)) {
        graph.get(i.from)!.push(i.target);
      }
    }
    assert.deepStrictEqual(cyclesOf(graph), []);
  });

  it('finds a cycle and an upward import when there is one (the checks can fail)', () => {
    assert.deepStrictEqual(
      cyclesOf(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['a']],
          ['d', ['a']],
        ]),
      ),
      [['a', 'b', 'c']],
    );
    assert.ok(!MAY_IMPORT['src/engine'].includes('src/host'));
    assert.ok(!MAY_IMPORT['webview'].includes('src/engine'));
  });

  it('packages load only in the processes that can run them', () => {
    const wrong: string[] = [];
    for (const i of imports) {
      if (i.target) {
        continue;
      }
      for (const home of PACKAGE_HOMES) {
        if (home.test(i.spec) && !home.areas.some((area) => i.from === area || i.from.startsWith(`${area}/`))) {
          wrong.push(`${i.from} imports ${i.spec} (${home.name}: only in ${home.areas.join(', ')})`);
        }
      }
    }
    assert.deepStrictEqual(wrong, []);
  });
});
