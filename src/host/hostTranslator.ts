// The extension host's translator for shared modules (src/shared/l10n.ts `t`): VS Code's own,
// whose bundle is l10n/bundle.l10n.<language>.json for the display language. Installed at activation.
import * as vscode from 'vscode';
import { setTranslator } from '../shared/l10n';

export function installHostTranslator(): void {
  setTranslator((message, ...args) => vscode.l10n.t(message, ...args));
}
