// A stand-in language pack for the display-language e2e test. VS Code (and code-server's --locale)
// resolves a display language only when an installed extension contributes a language pack for it;
// otherwise it stays English and so does `vscode.env.language`, whatever the locale asked for. The
// real Korean pack cannot be downloaded here, so the test installs this one: a pack for "ko" whose
// translation file is empty. VS Code's own UI then stays English (every message falls back to its
// default) while the language is "ko", which is what makes VS Code load CNN Lens's package.nls.ko.json
// and l10n/bundle.l10n.ko.json: exactly what the test checks.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, type Sandbox } from './codeServer';

/** Builds the pack's VSIX in the sandbox (vsce, as the extension's own package script) and returns its path. */
export function buildStubLanguagePack(sandbox: Sandbox, languageId: string, languageName: string): string {
  const dir = path.join(sandbox.root, `language-pack-${languageId}`);
  fs.mkdirSync(path.join(dir, 'translations'), { recursive: true });
  const manifest = {
    name: `test-language-pack-${languageId}`,
    displayName: `Test language pack (${languageName}, no translations)`,
    description: `Makes "${languageId}" a display language for tests of extensions' own translations.`,
    publisher: 'cnn-lens-tests',
    version: '1.0.0',
    license: 'MIT',
    engines: { vscode: '^1.90.0' },
    categories: ['Language Packs'],
    contributes: {
      localizations: [{ languageId, languageName, localizedLanguageName: languageName, translations: [{ id: 'vscode', path: './translations/main.i18n.json' }] }],
    },
  };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  fs.writeFileSync(path.join(dir, 'translations', 'main.i18n.json'), JSON.stringify({ version: '1.0.0', contents: {} }));
  fs.writeFileSync(path.join(dir, 'README.md'), `# ${manifest.displayName}\n\n${manifest.description}\n`);
  fs.writeFileSync(path.join(dir, 'LICENSE'), 'MIT\n');
  const vsix = path.join(sandbox.root, `language-pack-${languageId}.vsix`);
  const vsce = path.join(REPO_ROOT, 'node_modules', '.bin', 'vsce');
  execFileSync(vsce, ['package', '--no-dependencies', '--allow-missing-repository', '--out', vsix], { cwd: dir, stdio: 'pipe', env: sandbox.env });
  return vsix;
}

/**
 * Registers the installed pack in the profile's languagepacks.json, which VS Code's server reads to
 * resolve a display language. The workbench writes this file when a pack is installed from its UI;
 * `code-server --install-extension` does not (coder/code-server#3372), so the test writes the entry
 * the same way: the pack's id and version, a hash that names its translation cache, and its
 * translation file for VS Code's own messages.
 */
export function registerLanguagePack(sandbox: Sandbox, languageId: string, languageName: string): void {
  const id = `cnn-lens-tests.test-language-pack-${languageId}`;
  const folder = fs.readdirSync(sandbox.extensionsDir).find((name) => name.toLowerCase().startsWith(id.toLowerCase()));
  if (!folder) {
    throw new Error(`the ${languageId} test language pack is not installed in ${sandbox.extensionsDir}`);
  }
  const translations = path.join(sandbox.extensionsDir, folder, 'translations', 'main.i18n.json');
  const packs = {
    [languageId]: {
      hash: `test${languageId}1`,
      extensions: [{ extensionIdentifier: { id }, version: '1.0.0' }],
      translations: { vscode: translations },
      label: languageName,
    },
  };
  fs.writeFileSync(path.join(sandbox.userDataDir, 'languagepacks.json'), JSON.stringify(packs, null, 2));
}
