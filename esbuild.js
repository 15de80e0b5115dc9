// Builds one bundle per runtime into dist/:
//   extension.js (extension host, Node, CommonJS, `vscode` external)
//   worker.js    (engine worker_threads entry, Node)
//   cli.js       (the `cnn-lens` command, Node)
//   webview.js / webview.css (the panel UI, browser)
//   modelViewer.js (the model viewer page's script, browser)
// and copies the WebAssembly binaries the Node bundles load at run time next to them: tfjs-backend-wasm's
// (found through setWasmPaths) and the WebP decoder's (src/engine/images/image.ts), esbuild-wasm's two
// run-time files for models defined in code (src/engine/models/codeModel/bundle.ts loads them from dist/),
// and the Python bridge that PyTorch models run through (python/cnn_lens_torch.py).
// `node esbuild.js --watch` rebuilds on change; otherwise bundles are minified with source maps.
'use strict';
const esbuild = require('esbuild');
const fs = require('fs');
const path = require('path');

const watch = process.argv.includes('--watch');
const root = __dirname;
const dist = path.join(root, 'dist');

/** Native or optional modules that must never be bundled: loaded at run time if present. */
const nodeExternals = ['vscode', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'];

const targets = [
  { entry: 'src/host/extension.ts', out: 'extension.js', platform: 'node' },
  { entry: 'src/worker/engineWorker.ts', out: 'worker.js', platform: 'node' },
  { entry: 'src/cli/main.ts', out: 'cli.js', platform: 'node', banner: '#!/usr/bin/env node' },
  { entry: 'webview/main.ts', out: 'webview.js', platform: 'browser' },
  { entry: 'webview/modelViewer.ts', out: 'modelViewer.js', platform: 'browser' },
];

function optionsFor(target) {
  const common = {
    entryPoints: [path.join(root, target.entry)],
    outfile: path.join(dist, target.out),
    bundle: true,
    sourcemap: true,
    minify: !watch,
    logLevel: 'warning',
    legalComments: 'none',
  };
  if (target.platform === 'node') {
    return {
      ...common,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: nodeExternals,
      // tfjs packages declare their side-effect files (kernel and gradient registration) by their
      // ES-module paths; resolving `main` (their pre-bundled CommonJS copies) would make esbuild
      // drop `import '@tensorflow/tfjs-backend-cpu'` as side-effect free, and would load a second
      // tfjs-core beside the deep `dist/` imports in src/engine/tf.ts.
      mainFields: ['module', 'main'],
      banner: target.banner ? { js: target.banner } : undefined,
    };
  }
  return { ...common, platform: 'browser', format: 'iife', target: 'es2022', loader: { '.css': 'css' } };
}

function copyWasmBinaries() {
  const tfjsWasmDir = path.join(root, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
  const binaries = fs
    .readdirSync(tfjsWasmDir)
    .filter((file) => file.endsWith('.wasm'))
    .map((file) => path.join(tfjsWasmDir, file));
  binaries.push(path.join(root, 'node_modules', '@jsquash', 'webp', 'codec', 'dec', 'webp_dec.wasm'));
  fs.mkdirSync(dist, { recursive: true });
  for (const binary of binaries) {
    // A missing binary would only show at run time, on a user's machine: fail the build instead.
    if (!fs.existsSync(binary)) {
      throw new Error(`esbuild: ${path.relative(root, binary)} is missing; run npm ci`);
    }
    fs.copyFileSync(binary, path.join(dist, path.basename(binary)));
  }
}

/**
 * esbuild-wasm's browser build (run in the engine worker's own thread; its Node API would spawn a
 * `node` from the PATH) and its WebAssembly binary, under the names src/engine/models/codeModel/bundle.ts
 * looks for. They are copied, not bundled: the API file is evaluated as it ships.
 */
function copyEsbuildWasm() {
  const packageDir = path.join(root, 'node_modules', 'esbuild-wasm');
  const files = [
    [path.join(packageDir, 'lib', 'browser.js'), 'esbuild-wasm.js'],
    [path.join(packageDir, 'esbuild.wasm'), 'esbuild.wasm'],
  ];
  fs.mkdirSync(dist, { recursive: true });
  for (const [from, to] of files) {
    if (!fs.existsSync(from)) {
      throw new Error(`esbuild: ${path.relative(root, from)} is missing; run npm ci`);
    }
    fs.copyFileSync(from, path.join(dist, to));
  }
}

/**
 * CNN Lens's bridge to the user's PyTorch (python/cnn_lens_torch.py), run by the user's Python; it
 * ships as its own file beside the bundles (src/engine/models/pytorch/python.ts looks for it there).
 */
function copyPythonBridge() {
  const script = path.join(root, 'python', 'cnn_lens_torch.py');
  fs.mkdirSync(dist, { recursive: true });
  fs.copyFileSync(script, path.join(dist, path.basename(script)));
}

/**
 * ONNX Runtime (onnxruntime-node, an optional dependency) for one platform, as dist/onnxruntime-node
 * with its JavaScript, onnxruntime-common and only that platform's native binaries, so a VSIX built
 * for a target carries its own (src/engine/onnxRuntime/runtime.ts loads it from there). The target
 * is CNN_LENS_TARGET (VS Code's names: linux-x64, darwin-arm64, win32-x64...), else this machine's.
 * Without the package or a binary for the target the folder is left out: that VSIX runs on wasm
 * and its backend line says so. Unchanged binaries are not copied again (they are tens of MB).
 */
function copyOnnxRuntime() {
  const target = process.env.CNN_LENS_TARGET || `${process.platform}-${process.arch}`;
  const [platform, arch] = target.split('-');
  const from = path.join(root, 'node_modules', 'onnxruntime-node');
  const common = path.join(root, 'node_modules', 'onnxruntime-common');
  const to = path.join(dist, 'onnxruntime-node');
  const binaries = path.join(from, 'bin', 'napi-v6', platform, arch);
  if (!fs.existsSync(binaries) || !fs.existsSync(common)) {
    fs.rmSync(to, { recursive: true, force: true });
    console.log(`esbuild: no onnxruntime-node binaries for ${target}; the build runs on the tfjs backends`);
    return;
  }
  const copy = (source, destination) => {
    const stat = fs.statSync(source);
    if (stat.isDirectory()) {
      fs.mkdirSync(destination, { recursive: true });
      for (const entry of fs.readdirSync(source)) {
        if (!entry.endsWith('.map') && !entry.endsWith('.d.ts')) copy(path.join(source, entry), path.join(destination, entry));
      }
      return;
    }
    fs.mkdirSync(path.dirname(destination), { recursive: true });
    const existing = fs.existsSync(destination) ? fs.statSync(destination) : undefined;
    if (!existing || existing.size !== stat.size || existing.mtimeMs < stat.mtimeMs) fs.copyFileSync(source, destination);
  };
  // Another target's binaries from an earlier build must not ship.
  const built = path.join(to, 'bin', 'napi-v6');
  for (const p of fs.existsSync(built) ? fs.readdirSync(built) : []) {
    for (const a of fs.readdirSync(path.join(built, p))) {
      if (p !== platform || a !== arch) fs.rmSync(path.join(built, p, a), { recursive: true, force: true });
    }
  }
  copy(path.join(from, 'package.json'), path.join(to, 'package.json'));
  copy(path.join(from, 'dist'), path.join(to, 'dist'));
  copy(binaries, path.join(to, 'bin', 'napi-v6', platform, arch));
  copy(path.join(common, 'package.json'), path.join(to, 'node_modules', 'onnxruntime-common', 'package.json'));
  copy(path.join(common, 'dist', 'cjs'), path.join(to, 'node_modules', 'onnxruntime-common', 'dist', 'cjs'));
}

async function main() {
  copyWasmBinaries();
  copyEsbuildWasm();
  copyPythonBridge();
  copyOnnxRuntime();
  if (watch) {
    for (const t of targets) {
      const context = await esbuild.context(optionsFor(t));
      await context.watch();
    }
    console.log('esbuild: watching');
    return;
  }
  await Promise.all(targets.map((t) => esbuild.build(optionsFor(t))));
  const cli = path.join(dist, 'cli.js');
  if (fs.existsSync(cli)) {
    fs.chmodSync(cli, 0o755);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
