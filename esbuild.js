// Builds one bundle per runtime into dist/:
//   extension.js (extension host, Node, CommonJS, `vscode` external)
//   worker.js    (engine worker_threads entry, Node)
//   cli.js       (the `cnn-lens` command, Node)
//   webview.js / webview.css (the panel UI, browser)
// and copies tfjs-backend-wasm's .wasm binaries next to the Node bundles, where setWasmPaths finds them.
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
  { entry: 'src/extension.ts', out: 'extension.js', platform: 'node' },
  { entry: 'src/worker/engineWorker.ts', out: 'worker.js', platform: 'node' },
  { entry: 'src/cli/main.ts', out: 'cli.js', platform: 'node', banner: '#!/usr/bin/env node' },
  { entry: 'webview/main.ts', out: 'webview.js', platform: 'browser' },
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
      banner: target.banner ? { js: target.banner } : undefined,
    };
  }
  return { ...common, platform: 'browser', format: 'iife', target: 'es2022', loader: { '.css': 'css' } };
}

function copyWasmBinaries() {
  const wasmDir = path.join(root, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
  fs.mkdirSync(dist, { recursive: true });
  for (const file of fs.readdirSync(wasmDir)) {
    if (file.endsWith('.wasm')) {
      fs.copyFileSync(path.join(wasmDir, file), path.join(dist, file));
    }
  }
}

async function main() {
  copyWasmBinaries();
  const active = targets.filter((t) => fs.existsSync(path.join(root, t.entry)));
  const skipped = targets.filter((t) => !active.includes(t));
  for (const t of skipped) {
    console.warn(`esbuild: skipping ${t.entry} (not present)`);
  }
  if (watch) {
    for (const t of active) {
      const context = await esbuild.context(optionsFor(t));
      await context.watch();
    }
    console.log('esbuild: watching');
    return;
  }
  await Promise.all(active.map((t) => esbuild.build(optionsFor(t))));
  const cli = path.join(dist, 'cli.js');
  if (fs.existsSync(cli)) {
    fs.chmodSync(cli, 0o755);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
