// The panel's HTML: a static skeleton (so the e2e hooks exist before the script runs), one nonce'd
// script (dist/webview.js) and one stylesheet (media/panel.css). The CSP allows nothing else: no
// inline styles or scripts without the nonce, no remote hosts. Pictures are drawn on canvases with
// putImageData, which needs no img-src at all; blob:/data: stay allowed for images the UI may add.
import { randomBytes } from 'crypto';
import * as vscode from 'vscode';
import { escapeHtml as text } from '../editors/modelSummaryHtml';

export interface PanelHtmlOptions {
  webview: vscode.Webview;
  extensionUri: vscode.Uri;
  /** Fresh per render; tests may pass a fixed one. */
  nonce?: string;
}

/** Folders the webview may load from: the bundles and the static media, nothing else. */
export function localResourceRoots(extensionUri: vscode.Uri): vscode.Uri[] {
  return [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')];
}

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  // No retainContextWhenHidden: a hidden panel is rebuilt from its state and the host's last result,
  // which costs less memory than keeping the page (and its canvases) alive.
  return { enableScripts: true, localResourceRoots: localResourceRoots(extensionUri) };
}

export function makeNonce(): string {
  return randomBytes(18).toString('base64').replace(/[^A-Za-z0-9]/g, 'x');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} blob: data:`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
  ].join('; ');
}

export function getPanelHtml({ webview, extensionUri, nonce = makeNonce() }: PanelHtmlOptions): string {
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'panel.css'));
  return `<!DOCTYPE html>
<html lang="${text(vscode.env.language)}">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(webview.cspSource, nonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}" nonce="${nonce}">
<title>CNN Lens</title>
</head>
<body>
<header class="files">
  <span class="file"><span class="caption">${text(vscode.l10n.t('Model'))}</span> <a href="#" id="model-link" data-testid="model-link" title="${text(vscode.l10n.t('Open the model file'))}"></a></span>
  <span class="file"><span class="caption">${text(vscode.l10n.t('Image'))}</span> <a href="#" id="image-link" data-testid="image-link" title="${text(vscode.l10n.t('Open the image'))}"></a></span>
  <span class="actions">
    <vscode-button id="select-model" data-testid="select-model" secondary title="${text(vscode.l10n.t('Explain with another model'))}">${text(vscode.l10n.t('Change Model…'))}</vscode-button>
    <vscode-button id="export" data-testid="export" title="${text(vscode.l10n.t('Save the overlay at the image\'s resolution as a PNG'))}" disabled>${text(vscode.l10n.t('Export Overlay as PNG…'))}</vscode-button>
  </span>
</header>
<div id="model-notice" class="notice" data-testid="model-notice" role="note" hidden></div>
<nav id="tabs" class="tabs" data-testid="tabs" aria-label="${text(vscode.l10n.t('Views'))}"></nav>
<div id="panel-busy" hidden></div>
<div id="tab-panels">
<section id="panel-gradcam" data-testid="panel-gradcam">
<section class="controls" aria-label="${text(vscode.l10n.t('Grad-CAM settings'))}">
  <div class="control" id="output-control" hidden><span class="caption" id="output-caption">${text(vscode.l10n.t('Output'))}</span><vscode-single-select id="output-select" data-testid="output-select" aria-labelledby="output-caption" label="${text(vscode.l10n.t('Output'))}"></vscode-single-select></div>
  <div class="control"><span class="caption" id="class-caption">${text(vscode.l10n.t('Class'))}</span><vscode-single-select id="class-select" data-testid="class-select" aria-labelledby="class-caption" label="${text(vscode.l10n.t('Class'))}" combobox filter="contains"></vscode-single-select></div>
  <div class="control"><span class="caption" id="layer-caption">${text(vscode.l10n.t('Layer'))}</span><vscode-single-select id="layer-select" data-testid="layer-select" aria-labelledby="layer-caption" label="${text(vscode.l10n.t('Layer'))}"></vscode-single-select></div>
  <div class="control"><span class="caption" id="method-caption">${text(vscode.l10n.t('Method'))}</span><vscode-single-select id="method-select" data-testid="method-select" aria-labelledby="method-caption" label="${text(vscode.l10n.t('Method'))}"></vscode-single-select></div>
  <div class="control"><span class="caption" id="colormap-caption">${text(vscode.l10n.t('Colormap'))}</span><vscode-single-select id="colormap-select" data-testid="colormap-select" aria-labelledby="colormap-caption" label="${text(vscode.l10n.t('Colormap'))}"></vscode-single-select></div>
  <div class="control opacity"><label class="caption" for="opacity">${text(vscode.l10n.t('Opacity'))}</label><input type="range" id="opacity" data-testid="opacity" min="0" max="1" step="0.05"><output id="opacity-value" for="opacity"></output></div>
</section>
<div id="busy" hidden></div>
<div id="confirm-run" class="confirm-run" data-testid="confirm-run" role="alertdialog" aria-labelledby="confirm-run-text" hidden>
  <p id="confirm-run-text"></p>
  <span class="confirm-actions"><vscode-button id="confirm-run-go" data-testid="confirm-run-go"></vscode-button><vscode-button id="confirm-run-skip" data-testid="confirm-run-skip" secondary>${text(vscode.l10n.t('Cancel'))}</vscode-button></span>
</div>
<div id="error" data-testid="error" role="alert" hidden></div>
<main class="views">
  <figure><canvas id="image" data-testid="image" width="0" height="0"></canvas><figcaption>${text(vscode.l10n.t('Image'))}</figcaption></figure>
  <figure><canvas id="heatmap" data-testid="heatmap" width="0" height="0"></canvas><figcaption>${text(vscode.l10n.t('Heatmap'))}</figcaption></figure>
  <figure><canvas id="overlay" data-testid="overlay" width="0" height="0"></canvas><figcaption>${text(vscode.l10n.t('Overlay'))}</figcaption></figure>
</main>
<section class="predictions" aria-labelledby="predictions-title">
  <h2 id="predictions-title" data-testid="predictions-title">${text(vscode.l10n.t('Top predictions'))}</h2>
  <ol id="predictions" data-testid="predictions" aria-labelledby="predictions-title"></ol>
</section>
</section>
<section class="compare" id="compare" data-testid="compare" aria-labelledby="compare-title">
  <h2 id="compare-title">${text(vscode.l10n.t('Methods side by side'))}</h2>
</section>
</div>
<footer class="status-bar">
  <span id="status" data-testid="status" role="status"></span>
  <vscode-button id="status-details-toggle" data-testid="status-details-toggle" secondary aria-expanded="false" aria-controls="status-details" title="${text(vscode.l10n.t('Show the score, the input and the time of each stage'))}" hidden>${text(vscode.l10n.t('Details'))}</vscode-button>
  <pre id="status-details" data-testid="status-details" class="status-details" hidden></pre>
</footer>
<script type="application/json" id="l10n-bundle">${bundleJson()}</script>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}

/**
 * The translations the webview shows (webview/l10n.ts reads them): VS Code's loaded bundle for the
 * display language (l10n/bundle.l10n.<lang>.json), empty for English. Data, not code: a JSON script
 * element runs nothing, so the CSP needs no change; "<" is escaped so no entry can close the element.
 */
function bundleJson(): string {
  return JSON.stringify(vscode.l10n.bundle ?? {}).replace(/</g, '\\u003c');
}
