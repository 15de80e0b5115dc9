// The panel's HTML: a static skeleton (so the e2e hooks exist before the script runs), one nonce'd
// script (dist/webview.js) and one stylesheet (media/panel.css). The CSP allows nothing else: no
// inline styles or scripts without the nonce, no remote hosts. Pictures are drawn on canvases with
// putImageData, which needs no img-src at all; blob:/data: stay allowed for images the UI may add.
import { randomBytes } from 'crypto';
import * as vscode from 'vscode';

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
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(webview.cspSource, nonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}" nonce="${nonce}">
<title>CNN Lens</title>
</head>
<body>
<header class="files">
  <span class="file"><span class="caption">Model</span> <a href="#" id="model-link" data-testid="model-link" title="Open the model file"></a></span>
  <span class="file"><span class="caption">Image</span> <a href="#" id="image-link" data-testid="image-link" title="Open the image"></a></span>
  <span class="actions">
    <vscode-button id="select-model" data-testid="select-model" secondary title="Explain with another model">Change Model…</vscode-button>
    <vscode-button id="export" data-testid="export" title="Save the overlay at the image's resolution as a PNG" disabled>Export Overlay as PNG…</vscode-button>
  </span>
</header>
<div id="model-notice" class="notice" data-testid="model-notice" role="note" hidden></div>
<nav id="tabs" class="tabs" data-testid="tabs" aria-label="Views"></nav>
<div id="panel-busy" hidden></div>
<div id="tab-panels">
<section id="panel-gradcam" data-testid="panel-gradcam">
<section class="controls" aria-label="Grad-CAM settings">
  <div class="control" id="output-control" hidden><span class="caption" id="output-caption">Output</span><vscode-single-select id="output-select" data-testid="output-select" aria-labelledby="output-caption"></vscode-single-select></div>
  <div class="control"><span class="caption" id="class-caption">Class</span><vscode-single-select id="class-select" data-testid="class-select" aria-labelledby="class-caption" combobox filter="contains"></vscode-single-select></div>
  <div class="control"><span class="caption" id="layer-caption">Layer</span><vscode-single-select id="layer-select" data-testid="layer-select" aria-labelledby="layer-caption"></vscode-single-select></div>
  <div class="control"><span class="caption" id="method-caption">Method</span><vscode-single-select id="method-select" data-testid="method-select" aria-labelledby="method-caption"></vscode-single-select></div>
  <div class="control"><span class="caption" id="colormap-caption">Colormap</span><vscode-single-select id="colormap-select" data-testid="colormap-select" aria-labelledby="colormap-caption"></vscode-single-select></div>
  <div class="control opacity"><label class="caption" for="opacity">Opacity</label><input type="range" id="opacity" data-testid="opacity" min="0" max="1" step="0.05"><output id="opacity-value" for="opacity"></output></div>
</section>
<div id="busy" hidden></div>
<div id="confirm-run" class="confirm-run" data-testid="confirm-run" role="alertdialog" aria-labelledby="confirm-run-text" hidden>
  <p id="confirm-run-text"></p>
  <span class="confirm-actions"><vscode-button id="confirm-run-go" data-testid="confirm-run-go"></vscode-button><vscode-button id="confirm-run-skip" data-testid="confirm-run-skip" secondary>Cancel</vscode-button></span>
</div>
<div id="error" data-testid="error" role="alert" hidden></div>
<main class="views">
  <figure><canvas id="image" data-testid="image" width="0" height="0"></canvas><figcaption>Image</figcaption></figure>
  <figure><canvas id="heatmap" data-testid="heatmap" width="0" height="0"></canvas><figcaption>Heatmap</figcaption></figure>
  <figure><canvas id="overlay" data-testid="overlay" width="0" height="0"></canvas><figcaption>Overlay</figcaption></figure>
</main>
<section class="predictions" aria-labelledby="predictions-title">
  <h2 id="predictions-title" data-testid="predictions-title">Top predictions</h2>
  <ol id="predictions" data-testid="predictions"></ol>
</section>
</section>
<section class="compare" id="compare" data-testid="compare" aria-labelledby="compare-title">
  <h2 id="compare-title">Methods side by side</h2>
</section>
</div>
<footer id="status" data-testid="status" role="status"></footer>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
