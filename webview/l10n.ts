// The webview's translations: the host puts VS Code's loaded bundle for the display language into
// the page (src/panel/html.ts, a JSON script element; empty for English) and this installs a
// translator over it for `t` (src/shared/l10n.ts), which the webview and the shared modules it
// uses call. Imported first by main.ts, so text built while modules load is translated too.
import { bundleTranslator, setTranslator } from '../src/shared/l10n';

function readBundle(): Record<string, string> {
  const text = document.getElementById('l10n-bundle')?.textContent;
  if (!text) {
    return {};
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) {
      return {};
    }
    // Only string entries: anything else would print as "[object Object]".
    return Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  } catch {
    return {};
  }
}

setTranslator(bundleTranslator(readBundle()));

export { t } from '../src/shared/l10n';
