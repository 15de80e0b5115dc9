// Bundles a model defined in code (a .ts/.js file exporting createModel) into one CommonJS script
// with esbuild, compiled to WebAssembly (esbuild-wasm): an extension cannot ship esbuild's native
// binary for every platform, and esbuild-wasm's Node API would spawn a `node` from the PATH, which a
// VS Code install does not have. So the browser build of esbuild-wasm runs in this thread (the
// engine worker), and this plugin gives it the file system it lacks: it resolves and reads the
// user's files itself. TypeScript types are stripped, not checked (esbuild does not type-check).
//
// The TensorFlow.js packages stay outside the bundle: src/engine/models/codeModel/index.ts hands the
// engine's own tf to them at run time, so the model lives on the engine's backend. Node built-ins
// stay outside too. Other packages are bundled from the workspace's node_modules.
import * as fs from 'fs';
import { builtinModules, createRequire } from 'module';
import * as path from 'path';
import { pathToFileURL } from 'url';
import type * as Esbuild from 'esbuild-wasm';
import { LensError } from '../../../shared/errors';
import type { RawSourceMap } from './sourceMap';

/** Imports that resolve to the engine's tf instance instead of being bundled. */
export const TF_MODULES = ['@tensorflow/tfjs', '@tensorflow/tfjs-core', '@tensorflow/tfjs-layers'] as const;

/** The two files esbuild-wasm needs at run time; esbuild.js copies them into dist/ under these names. */
export const ESBUILD_API_FILE = 'esbuild-wasm.js';
export const ESBUILD_WASM_FILE = 'esbuild.wasm';

export interface CodeBundle {
  /** The bundle (CommonJS), its name in stack traces, and its source map. */
  code: string;
  fileName: string;
  map: RawSourceMap;
  /** Absolute paths of the user's files that went into the bundle (live refresh follows them). */
  sources: string[];
}

const LOADERS: Record<string, Esbuild.Loader> = {
  '.ts': 'ts',
  '.mts': 'ts',
  '.cts': 'ts',
  '.tsx': 'tsx',
  '.js': 'js',
  '.mjs': 'js',
  '.cjs': 'js',
  '.jsx': 'jsx',
  '.json': 'json',
};
const RESOLVE_EXTENSIONS = ['.ts', '.tsx', '.mts', '.js', '.mjs', '.cjs', '.jsx', '.json'];

let esbuildReady: Promise<typeof Esbuild> | undefined;

/** Where esbuild-wasm's two run-time files are: beside the bundles (dist/), else in node_modules (tests). */
export function locateEsbuildFiles(dir?: string): { api: string; wasm: string } {
  if (dir && fs.existsSync(path.join(dir, ESBUILD_API_FILE)) && fs.existsSync(path.join(dir, ESBUILD_WASM_FILE))) {
    return { api: path.join(dir, ESBUILD_API_FILE), wasm: path.join(dir, ESBUILD_WASM_FILE) };
  }
  try {
    const packageDir = path.dirname(createRequire(__filename).resolve('esbuild-wasm/package.json'));
    return { api: path.join(packageDir, 'lib', 'browser.js'), wasm: path.join(packageDir, 'esbuild.wasm') };
  } catch {
    throw new LensError(
      `esbuild-wasm is missing: neither ${path.join(dir ?? '(no folder)', ESBUILD_WASM_FILE)} nor the esbuild-wasm package was found. Reinstall CNN Lens.`,
      'unsupported',
    );
  }
}

/**
 * Starts esbuild in this thread, once. Its browser build refers to the page's global `self`; it is
 * given this thread's globalThis as a parameter instead of defining `self` for everyone (tfjs and
 * other code tell a browser from Node by looking for it).
 */
export function startEsbuild(dir?: string): Promise<typeof Esbuild> {
  esbuildReady ??= (async () => {
    const files = locateEsbuildFiles(dir);
    const module = { exports: {} as typeof Esbuild };
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- esbuild's own file, loaded as it ships
    new Function('self', 'module', 'exports', await fs.promises.readFile(files.api, 'utf8'))(globalThis, module, module.exports);
    const esbuild = module.exports;
    // Compiled here (not fetched: the browser build would fetch a URL) and run in this thread.
    const wasm = (globalThis as unknown as { WebAssembly: { Module: new (bytes: Uint8Array) => unknown } }).WebAssembly;
    const wasmModule = new wasm.Module(await fs.promises.readFile(files.wasm)) as Esbuild.InitializeOptions['wasmModule'];
    await esbuild.initialize({ wasmModule, worker: false });
    return esbuild;
  })();
  esbuildReady.catch(() => (esbuildReady = undefined));
  return esbuildReady;
}

export async function bundleCodeModel(entry: string, options: { esbuildDir?: string } = {}): Promise<CodeBundle> {
  const esbuild = await startEsbuild(options.esbuildDir);
  const entryPath = path.resolve(entry);
  const workingDir = path.dirname(entryPath);
  const outfile = path.join(workingDir, `${path.basename(entryPath)}.cnn-lens-bundle.js`);
  const sources = new Set<string>();
  let result: Esbuild.BuildResult<{ write: false }>;
  try {
    result = await esbuild.build({
      entryPoints: [entryPath],
      outfile,
      absWorkingDir: workingDir,
      bundle: true,
      write: false,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      sourcemap: 'external',
      sourcesContent: false,
      logLevel: 'silent',
      // In a CommonJS bundle import.meta is empty: give the model file's own URL, so
      // `new URL('./model.json', import.meta.url)` finds files beside it.
      define: { 'import.meta.url': JSON.stringify(pathToFileURL(entryPath).href) },
      plugins: [workspaceFiles(sources)],
    });
  } catch (error) {
    throw bundleError(error, workingDir, entryPath);
  }
  const code = result.outputFiles.find((file) => file.path.endsWith('.js'));
  const map = result.outputFiles.find((file) => file.path.endsWith('.js.map'));
  if (!code || !map) {
    throw new LensError(`${entryPath}: esbuild produced no bundle.`, 'unsupported');
  }
  const rawMap = JSON.parse(map.text) as RawSourceMap;
  // The map's sources are relative to the bundle's folder (the model file's).
  rawMap.sources = rawMap.sources.map((source) => path.resolve(workingDir, source));
  return { code: code.text, fileName: outfile, map: rawMap, sources: [...sources] };
}

function workspaceFiles(sources: Set<string>): Esbuild.Plugin {
  return {
    name: 'cnn-lens-workspace-files',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if ((TF_MODULES as readonly string[]).includes(args.path)) {
          return { path: args.path, external: true };
        }
        if (args.path.startsWith('node:') || builtinModules.includes(args.path)) {
          return { path: args.path, external: true };
        }
        if (args.kind === 'entry-point' || path.isAbsolute(args.path) || args.path.startsWith('.')) {
          const base = path.resolve(args.resolveDir || '/', args.path);
          const file = resolveFile(base);
          return file ? { path: file, namespace: 'file' } : { errors: [{ text: `Cannot find "${args.path}" (looked for ${base} with ${RESOLVE_EXTENSIONS.join(', ')}).` }] };
        }
        try {
          return { path: createRequire(args.importer || path.join(args.resolveDir, 'x.js')).resolve(args.path), namespace: 'file' };
        } catch {
          return {
            errors: [
              {
                text: `Cannot find package "${args.path}". Install it in the workspace (npm install ${args.path}); @tensorflow/tfjs, -core and -layers need no install, CNN Lens provides them.`,
              },
            ],
          };
        }
      });
      build.onLoad({ filter: /.*/, namespace: 'file' }, async (args) => {
        const loader = LOADERS[path.extname(args.path).toLowerCase()] ?? 'js';
        if (!args.path.includes(`${path.sep}node_modules${path.sep}`)) {
          sources.add(args.path);
        }
        return { contents: await fs.promises.readFile(args.path, 'utf8'), loader, resolveDir: path.dirname(args.path) };
      });
    },
  };
}

/** The file itself, else with a known extension, else a folder's index; a .js import may name a .ts file. */
function resolveFile(base: string): string | undefined {
  const candidates = [base, ...RESOLVE_EXTENSIONS.map((ext) => base + ext), ...RESOLVE_EXTENSIONS.map((ext) => path.join(base, `index${ext}`))];
  // TypeScript's ESM style: `import './layers.js'` for layers.ts.
  const jsExt = /\.(m|c)?js$/.exec(base);
  if (jsExt) {
    const stem = base.slice(0, -jsExt[0].length);
    candidates.splice(1, 0, `${stem}.${jsExt[1] ?? ''}ts`, `${stem}.tsx`);
  }
  return candidates.find((file) => {
    try {
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  });
}

/** esbuild's errors as "file:line:column: message" lines (1-based, as editors show positions). */
function bundleError(error: unknown, workingDir: string, entry: string): LensError {
  const failures = (error as { errors?: Esbuild.Message[] }).errors;
  if (!Array.isArray(failures) || failures.length === 0) {
    return new LensError(`${entry}: could not bundle the model code (${error instanceof Error ? error.message : String(error)}).`, 'bad-input');
  }
  const lines = failures.slice(0, 5).map((message) => {
    const location = message.location;
    if (!location) {
      return `${entry}: ${message.text}`;
    }
    const file = path.resolve(workingDir, location.file);
    return `${file}:${location.line}:${location.column + 1}: ${message.text}`;
  });
  if (failures.length > 5) {
    lines.push(`… and ${failures.length - 5} more`);
  }
  return new LensError(lines.join('\n'), 'bad-input');
}
