// `npm run test:electron`: the integration suite in a desktop VS Code downloaded by
// @vscode/test-electron. For machines that CAN download VS Code (update.code.visualstudio.com);
// this project's CI machines cannot, so it is not part of `npm test` -- there, the code-server
// suite (scripts/e2e/run.sh) covers the same ground and more. See README.md in this folder.
//
// Bundles suite/ with esbuild into out/test-electron/, opens a temp copy of samples/workspace
// (so the repository stays clean) with a throwaway profile, and runs the suite in the Extension
// Development Host of this repository's extension (build it first: `npm run build`).
import { runTests } from '@vscode/test-electron';
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
/** The VS Code the code-server suite also runs (code-server 4.100.3 = VS Code 1.100.3). */
const VSCODE_VERSION = process.env.CNN_LENS_VSCODE_VERSION ?? '1.100.3';

async function bundleSuite(outDir: string): Promise<string> {
  const outfile = path.join(outDir, 'index.js');
  await esbuild.build({
    entryPoints: [path.join(__dirname, 'suite', 'index.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
    sourcemap: 'inline',
    logLevel: 'warning',
    // mocha's parallel mode resolves worker files at run time; the suite runs serially, never there.
    logOverride: { 'require-resolve-not-external': 'silent' },
  });
  return outfile;
}

function prepareWorkspace(tempRoot: string): string {
  const source = path.join(ROOT, 'samples', 'workspace');
  if (!fs.existsSync(path.join(source, 'model', 'model.json'))) {
    throw new Error(`sample workspace missing: ${path.relative(ROOT, source)}/model/model.json`);
  }
  const workspace = path.join(tempRoot, 'workspace');
  fs.cpSync(source, workspace, { recursive: true });
  const settingsFile = path.join(workspace, '.vscode', 'settings.json');
  fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
  fs.writeFileSync(settingsFile, JSON.stringify({ 'cnnLens.modelPath': 'model/model.json' }, null, 2));
  return workspace;
}

async function main(): Promise<number> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'extension.js'))) {
    console.error('test:electron: dist/extension.js is missing: run `npm run build` first');
    return 1;
  }
  const tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-electron-'));
  try {
    const extensionTestsPath = await bundleSuite(path.join(ROOT, 'out', 'test-electron'));
    const workspace = prepareWorkspace(tempRoot);
    await runTests({
      version: VSCODE_VERSION,
      extensionDevelopmentPath: ROOT,
      extensionTestsPath,
      launchArgs: [
        workspace,
        '--disable-extensions',
        '--disable-workspace-trust',
        '--skip-welcome',
        '--skip-release-notes',
        '--user-data-dir', path.join(tempRoot, 'user-data'),
      ],
    });
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|getaddrinfo/.test(message)) {
      console.error(`test:electron: could not download VS Code ${VSCODE_VERSION} (${message}). This suite needs access to update.code.visualstudio.com; without it, run the code-server suite: scripts/e2e/run.sh`);
    } else {
      console.error(`test:electron: ${message}`);
    }
    return 1;
  } finally {
    fs.rmSync(tempRoot, { recursive: true, force: true });
  }
}

main().then((code) => process.exit(code));
