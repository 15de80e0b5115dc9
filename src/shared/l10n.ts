// One translation function for text that shared code builds (status lines, lens titles, hovers,
// shapes): the extension host installs VS Code's (vscode.l10n.t, whose bundle is l10n/bundle.l10n.*.json),
// the webview installs one over the same bundle entries the host passes it (webview/l10n.ts), and the
// CLI and unit tests install nothing, so they stay English. Shared modules call `t` instead of
// importing vscode (src/engine, src/cli and the webview must not). The message is the key, as
// vscode.l10n.t takes it: English text with {0}, {1}… for the arguments (test/unit/l10nBundle.test.ts
// checks that every literal passed to `t` has a Korean entry).

export type Translate = (message: string, ...args: Array<string | number>) => string;

/** Fills {0}, {1}… with the arguments, as vscode.l10n.t does; an index without an argument stays as written. */
export function formatMessage(message: string, args: ReadonlyArray<string | number>): string {
  return message.replace(/\{(\d+)\}/g, (whole, index: string) => {
    const value = args[Number(index)];
    return value === undefined ? whole : String(value);
  });
}

const english: Translate = (message, ...args) => formatMessage(message, args);

let current: Translate = english;

/** The message in the user's language (English until a host installs a translator). */
export function t(message: string, ...args: Array<string | number>): string {
  return current(message, ...args);
}

/** Called once by the extension host and by the webview at start; `undefined` goes back to English (tests). */
export function setTranslator(translate: Translate | undefined): void {
  current = translate ?? english;
}

/** A translator over a bundle's entries (English message → translation), for the webview. */
export function bundleTranslator(bundle: Readonly<Record<string, string>>): Translate {
  return (message, ...args) => formatMessage(Object.prototype.hasOwnProperty.call(bundle, message) ? bundle[message] : message, args);
}

