// Localization completeness (issue 17): every message the extension host, the shared modules and
// the webview translate has a Korean entry, no entry is left unused, placeholders agree, package.json's
// %keys% exist in both package.nls files, and the calls that show text to users are not given plain
// English literals. The sources are read as text: a message is the first argument of `t(...)` or
// `vscode.l10n.t(...)`, which must be a string literal (so it can be found and translated).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');
const KO_BUNDLE = path.join(ROOT, 'l10n', 'bundle.l10n.ko.json');

/** Folders whose text reaches users through the UI; the engine and the CLI stay English by design. */
const UI_SOURCE_DIRS = ['src', 'webview'];
const ENGLISH_ONLY = ['engine', 'render', 'cli', 'worker', 'workerClient', 'types'].map((dir) => path.join('src', dir));
/** Where `t` is defined or installed: their `t(` takes variables. */
const TRANSLATOR_FILES = [path.join('src', 'shared', 'l10n.ts'), path.join('src', 'host', 'hostTranslator.ts'), path.join('webview', 'l10n.ts')];

function listSources(): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const relative = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!ENGLISH_ONLY.includes(relative)) walk(relative);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        files.push(relative);
      }
    }
  };
  UI_SOURCE_DIRS.forEach(walk);
  return files.sort();
}

/** The value of a single- or double-quoted TypeScript string literal's body. */
function unescape(body: string): string {
  return body.replace(/\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|.)/g, (_whole, code: string) => {
    if (code.startsWith('u')) return String.fromCodePoint(parseInt(code.replace(/[u{}]/g, ''), 16));
    return ({ n: '\n', t: '\t', r: '\r', '0': '\0' } as Record<string, string>)[code] ?? code;
  });
}

interface Call {
  file: string;
  line: number;
  /** The message, or undefined when the first argument is not a plain string literal. */
  message?: string;
  argument: string;
}

/** Every `t(` / `l10n.t(` call: its first argument as a literal when it is one. */
function translationCalls(file: string, text: string): Call[] {
  const calls: Call[] = [];
  const call = /(?:\bl10n\.|(?<![\w$.]))t\(\s*/g;
  for (let match = call.exec(text); match; match = call.exec(text)) {
    const start = match.index + match[0].length;
    const line = text.slice(0, match.index).split('\n').length;
    const quote = text[start];
    if (quote === "'" || quote === '"') {
      let end = start + 1;
      while (end < text.length && text[end] !== quote) end += text[end] === '\\' ? 2 : 1;
      const after = text.slice(end + 1).trimStart()[0];
      // `t('a' + b)` is not a literal message.
      calls.push({ file, line, argument: text.slice(start, end + 1), ...(after === ',' || after === ')' ? { message: unescape(text.slice(start + 1, end)) } : {}) });
    } else {
      calls.push({ file, line, argument: text.slice(start, start + 40).split('\n')[0] });
    }
  }
  return calls;
}

function allCalls(): Call[] {
  return listSources()
    .filter((file) => !TRANSLATOR_FILES.includes(file))
    .flatMap((file) => translationCalls(file, fs.readFileSync(path.join(ROOT, file), 'utf8')));
}

function readJson(file: string): Record<string, string> {
  return JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8')) as Record<string, string>;
}

function placeholders(message: string): string[] {
  return [...new Set(message.match(/\{\d+\}/g) ?? [])].sort();
}

describe('localization bundles (l10n/, package.nls)', () => {
  const calls = allCalls();
  const messages = new Set(calls.flatMap((c) => (c.message !== undefined ? [c.message] : [])));
  const ko = readJson(path.relative(ROOT, KO_BUNDLE));

  it('finds the translated messages (the scan itself works)', () => {
    // A broken scan would pass every check below vacuously.
    assert.ok(messages.size > 200, `only ${messages.size} messages found`);
    assert.ok(messages.has('Activations'), 'a shared-module message');
    assert.ok(messages.has('Run Comparison'), 'a webview message');
    assert.ok(messages.has('Select the method'), 'a host message');
  });

  it('every translation call passes a string literal (so the bundle can hold it)', () => {
    const dynamic = calls.filter((c) => c.message === undefined).map((c) => `${c.file}:${c.line}: t(${c.argument}`);
    assert.deepStrictEqual(dynamic, [], 'use a literal with {0} placeholders instead');
  });

  it('every message has a Korean translation', () => {
    const missing = [...messages].filter((m) => typeof ko[m] !== 'string' || ko[m].trim() === '');
    assert.deepStrictEqual(missing, [], `add these to ${path.relative(ROOT, KO_BUNDLE)}`);
  });

  it('no Korean entry is left without a message that uses it', () => {
    const unused = Object.keys(ko).filter((key) => !messages.has(key));
    assert.deepStrictEqual(unused, [], 'remove these entries, or restore the messages they translate');
  });

  it('each translation keeps exactly the placeholders of its message', () => {
    const wrong = Object.entries(ko)
      .filter(([key, value]) => placeholders(key).join() !== placeholders(value).join())
      .map(([key, value]) => `${key} → ${value}`);
    assert.deepStrictEqual(wrong, []);
  });

  it("package.json's %keys% are in package.nls.json and package.nls.ko.json, and both have no others", () => {
    const manifest = fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8');
    const used = new Set([...manifest.matchAll(/"%([^%"]+)%"/g)].map((m) => m[1]));
    assert.ok(used.size > 20, `only ${used.size} %keys% in package.json`);
    for (const file of ['package.nls.json', 'package.nls.ko.json']) {
      const nls = readJson(file);
      assert.deepStrictEqual([...used].filter((key) => typeof nls[key] !== 'string' || !nls[key].trim()), [], `missing from ${file}`);
      assert.deepStrictEqual(Object.keys(nls).filter((key) => !used.has(key)), [], `unused in ${file}`);
    }
  });

  it('package.json names the l10n folder and the VSIX ships it with the nls files', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { l10n?: string };
    assert.strictEqual(manifest.l10n, './l10n');
    const ignore = fs.readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8').split('\n');
    for (const pattern of ['!package.nls.json', '!package.nls.*.json', '!l10n/*.json']) {
      assert.ok(ignore.includes(pattern), `.vscodeignore lacks ${pattern}`);
    }
  });

  describe('text shown to users goes through the translation', () => {
    // A literal that starts with a word (not `${data}`, not a one-letter symbol such as the ⓘ
    // button's "i", not a proper name every language keeps).
    const WORDS = String.raw`['"\`](?!Grad-CAM['"\`]|CNN Lens['"\`])(?:\$\([\w-]+\) )?[A-Za-z][A-Za-z ]`;
    const words = (before: string): RegExp => new RegExp(before + WORDS);
    /** [what, pattern]: a call or property that shows its string argument to users, given an English literal. */
    const HOST_PATTERNS: Array<[string, RegExp]> = [
      ['a notification', /\bshow(?:Information|Warning|Error)Message\(\s*(['"`])(?!CNN Lens: \$\{[\w.]+\}`)/],
      ['a quick pick, dialog or progress title', words(String.raw`\b(?:title|placeHolder|prompt|openLabel|saveLabel):\s*`)],
      ['a progress step', words(String.raw`\bprogress\.step\(\s*`)],
      ['a hover', /new vscode\.Hover\(\s*['"`]/],
      ['a lens tooltip', words(String.raw`\btooltip:\s*`)],
      ['an error thrown to users', words(String.raw`throw new (?:Error|ModelNotFoundError)\(\s*`)],
    ];
    /** In files that talk to VS Code: quick pick entries (the shared tables the CLI prints stay English). */
    const QUICK_PICK_PATTERNS: Array<[string, RegExp]> = [['a quick pick entry', words(String.raw`\b(?:label|description|detail):\s*`)]];
    const WEBVIEW_PATTERNS: Array<[string, RegExp]> = [
      ['element text', words(String.raw`\.textContent\s*=\s*`)],
      ['a tooltip', words(String.raw`\.title\s*=\s*`)],
      ['an accessible name', words(String.raw`'aria-label',\s*`)],
      ['an element built with text', words(String.raw`\belement\(\s*'[\w-]+',\s*(?:'[^']*'|undefined|\{[^{}]*\}),\s*`)],
      ['a tab, picker or option label', words(String.raw`\blabel:\s*`)],
      ['a picker caption', words(String.raw`\bpicker\('[\w-]+',\s*`)],
    ];
    // The host and the shared lens and panel logic that builds its text.
    const hostFiles = listSources().filter((file) => file.startsWith(`src${path.sep}`));
    const vscodeFiles = hostFiles.filter((file) => /from 'vscode'/.test(fs.readFileSync(path.join(ROOT, file), 'utf8')));
    const webviewFiles = listSources().filter((file) => file.startsWith(`webview${path.sep}`));

    const offenders = (files: string[], patterns: Array<[string, RegExp]>): string[] =>
      files.flatMap((file) =>
        fs
          .readFileSync(path.join(ROOT, file), 'utf8')
          .split('\n')
          .flatMap((line, i) => {
            if (/^\s*(\/\/|\*|\/\*)/.test(line) || /appendLine|\blog\(/.test(line)) return [];
            return patterns.filter(([, pattern]) => pattern.test(line)).map(([what]) => `${file}:${i + 1}: ${what}: ${line.trim()}`);
          }),
      );

    it('the extension host and shared modules', () => {
      assert.deepStrictEqual([...offenders(hostFiles, HOST_PATTERNS), ...offenders(vscodeFiles, QUICK_PICK_PATTERNS)], []);
    });

    it('the webview', () => {
      assert.deepStrictEqual(offenders(webviewFiles, WEBVIEW_PATTERNS), []);
    });

    it('catches an untranslated notification, placeholder and hover (the patterns work)', () => {
      const sample = [
        "void vscode.window.showInformationMessage('CNN Lens: saved.');",
        "  placeHolder: 'Select a layer',",
        'return new vscode.Hover(`CNN Lens: ${x} is not in the model`);',
      ];
      for (const line of sample) {
        assert.ok(HOST_PATTERNS.some(([, pattern]) => pattern.test(line)), line);
      }
      assert.ok(QUICK_PICK_PATTERNS.some(([, pattern]) => pattern.test("    { label: '$(folder-opened) Browse…', description: 'an image outside the workspace' },")));
      assert.ok(!HOST_PATTERNS.some(([, pattern]) => pattern.test("void vscode.window.showInformationMessage(vscode.l10n.t('CNN Lens: saved.'));")));
      assert.ok(WEBVIEW_PATTERNS.some(([, pattern]) => pattern.test("    cancel.textContent = 'Cancel';")));
    });
  });
});
