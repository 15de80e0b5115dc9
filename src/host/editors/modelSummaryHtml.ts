// The model viewer's page: the summary of a model file (format, input, preprocessing, classes,
// every layer with its output shape and parameters) as static HTML, one button, and each layer's
// name as a link that opens its activations (a message to the viewer's host, which runs Visualize
// Layer). The page's one script is dist/modelViewer.js (webview/modelViewer.ts), loaded with the
// nonce: no inline script. Pure (no vscode import) so it is unit-tested as text. Everything from the
// file is escaped: a model's layer names and labels are untrusted input.
import { t } from '../../shared/l10n';
import { FORMAT_NAMES } from '../../shared/modelFormats';
import { modelNotices } from '../../shared/modelNotes';
import { defaultLayerMark, defaultLayerTooltip } from '../../shared/layerNames';
import { formatShape, shapeNotation } from '../../shared/shapes';
import { describeKind, outputShapeText } from '../../shared/outputs';
import type { ModelSummary } from '../../shared/types';

export interface SummaryPageOptions {
  /** The webview's CSP source (webview.cspSource). */
  cspSource: string;
  nonce: string;
  /** dist/modelViewer.js as a webview URI (webview.asWebviewUri). */
  scriptUri: string;
  fileName: string;
  /** Layers whose activations can be shown (the engine's layer views): their names become links. */
  openable?: ReadonlySet<string>;
  /** The page's language (vscode.env.language); English when not given. */
  lang?: string;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

function page(options: SummaryPageOptions, body: string): string {
  const { cspSource, nonce, fileName, scriptUri, lang = 'en' } = options;
  const csp = [`default-src 'none'`, `style-src ${cspSource} 'nonce-${nonce}'`, `script-src 'nonce-${nonce}'`].join('; ');
  return `<!DOCTYPE html>
<html lang="${escapeHtml(lang)}">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(fileName)}</title>
<style nonce="${nonce}">
  body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 12px 20px; }
  h1 { font-size: 1.4em; font-weight: 600; margin: 0 0 4px; }
  .detail { color: var(--vscode-descriptionForeground); margin: 0 0 12px; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 12px 0; }
  dt { color: var(--vscode-descriptionForeground); }
  dd { margin: 0; }
  table { border-collapse: collapse; margin-top: 8px; }
  th, td { text-align: left; padding: 2px 12px 2px 0; font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); white-space: nowrap; }
  th { color: var(--vscode-descriptionForeground); font-weight: normal; border-bottom: 1px solid var(--vscode-panel-border); }
  td.num { text-align: right; }
  tr.spatial td { background: var(--vscode-editor-inactiveSelectionBackground, transparent); }
  tr.default td { font-weight: 600; }
  a { color: var(--vscode-textLink-foreground); text-decoration: none; }
  a:hover, a:focus-visible { color: var(--vscode-textLink-activeForeground); text-decoration: underline; }
  a:focus-visible, button:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: 1px; }
  button { background: var(--vscode-button-background); color: var(--vscode-button-foreground); border: none; padding: 6px 14px; cursor: pointer; font: inherit; }
  button:hover { background: var(--vscode-button-hoverBackground); }
  .error { color: var(--vscode-errorForeground); white-space: pre-wrap; }
  .note { color: var(--vscode-descriptionForeground); margin-top: 12px; }
  .notice { padding: 6px 10px; border: 1px solid var(--vscode-inputValidation-warningBorder, var(--vscode-editorWarning-foreground)); background: var(--vscode-inputValidation-warningBackground, transparent); border-radius: 2px; }
</style>
</head>
<body>
${body}
<script nonce="${nonce}" src="${escapeHtml(scriptUri)}"></script>
</body>
</html>`;
}

function preprocessingText(summary: ModelSummary): string {
  const { mean, std } = summary.preprocessing;
  const parts = [t('scaled to [0, 1]')];
  if (mean) parts.push(`mean ${mean.join(', ')}`);
  if (std) parts.push(`std ${std.join(', ')}`);
  const source = ` ${summary.sidecar ? t('(from {0})', summary.sidecar) : t('(no cnn-lens.json beside the model)')}`;
  return parts.join(', ') + source;
}

/**
 * The output(s): one classifier as before ("Classes"); a binary or regression output, or several
 * outputs, as "Output(s)" with each one's name, shape and kind.
 */
function outputRows(summary: ModelSummary, labels: string): string {
  const only = summary.outputs.length === 1 ? summary.outputs[0] : undefined;
  if (only && only.kind === 'classes') {
    return `<dt>${t('Classes')}</dt><dd>${labels}${summary.outputSoftmax ? t(', softmax output (CAMs use the pre-softmax score)') : ''}</dd>`;
  }
  const items = summary.outputs.map((o) => {
    const kind = describeKind(o);
    const sides = o.kind === 'binary' ? ` ${t('(class 0 “{0}”: 1 − σ(z), explained with −z; class 1 “{1}”: σ(z), +z)', escapeHtml(o.labels[0]), escapeHtml(o.labels[1]))}` : '';
    return `${summary.outputs.length > 1 ? `${o.index}: ` : ''}${escapeHtml(o.name)} · ${escapeHtml(outputShapeText(o.shape))} · ${escapeHtml(kind)}${sides}`;
  });
  return `<dt>${items.length > 1 ? t('Outputs') : t('Output')}</dt><dd id="outputs">${items.join('<br>')}</dd>`;
}

/** The page for a model that loaded. */
export function summaryPage(summary: ModelSummary, options: SummaryPageOptions): string {
  const [h, w, c] = summary.inputShape;
  const spatialCount = summary.layers.filter((l) => l.spatial).length;
  const rows = summary.layers
    .map((layer) => {
      const classes = [layer.spatial ? 'spatial' : '', layer.name === summary.defaultCamLayer ? 'default' : ''].filter(Boolean).join(' ');
      const name = escapeHtml(layer.name);
      const shown = options.openable?.has(layer.name)
        ? `<a href="#" data-layer="${name}" title="${escapeHtml(t('Show the activations of {0} for an image', layer.name))}">${name}</a>`
        : name;
      const mark = layer.name === summary.defaultCamLayer ? `<span title="${escapeHtml(defaultLayerTooltip())}">${defaultLayerMark()}</span>` : '';
      return `<tr${classes ? ` class="${classes}"` : ''}><td class="name">${shown}${mark}</td><td>${escapeHtml(layer.className)}</td><td>${formatShape(layer.outputShape, summary.shapeOrder)}</td><td class="num">${layer.params.toLocaleString('en-US')}</td></tr>`;
    })
    .join('\n');
  const labels = summary.labelsSource ? t('{0} (labels from {1})', summary.numClasses, escapeHtml(summary.labelsSource)) : t('{0} (no labels file: "class N")', summary.numClasses);
  const body = `
<h1>${escapeHtml(options.fileName)}</h1>
<p class="detail" id="format">${escapeHtml(FORMAT_NAMES[summary.format])}${summary.formatDetail ? ` · ${escapeHtml(summary.formatDetail)}` : ''}</p>${
    modelNotices(summary).map((notice, i) => `\n<p class="notice"${i === 0 ? ' id="notice"' : ''}>${escapeHtml(notice)}</p>`).join('')
  }
<button data-action="explain" id="explain">${t('Explain an Image with This Model…')}</button>
<dl>
  <dt>${t('Input')}</dt><dd id="input">${formatShape([null, h, w, c], summary.shapeOrder)} (${shapeNotation(summary.shapeOrder)})</dd>
  <dt>${t('Preprocessing')}</dt><dd>${escapeHtml(preprocessingText(summary))}</dd>
  ${outputRows(summary, labels)}
  <dt>${t('Parameters')}</dt><dd>${summary.totalParams.toLocaleString('en-US')}</dd>
  <dt>${t('Layers')}</dt><dd>${escapeHtml(
    t(
      '{0}, of which {1} with 4-D output (the layers Grad-CAM can explain, highlighted); "{2}": the one it explains unless another is chosen. Click a name to see its activations for an image.',
      summary.layers.length,
      spatialCount,
      defaultLayerMark().trim(),
    ),
  )}</dd>
</dl>
<table id="layers">
<thead><tr><th>${t('Layer')}</th><th>${t('Type')}</th><th>${t('Output shape ({0})', shapeNotation(summary.shapeOrder))}</th><th>${t('Params')}</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
<p class="note">${
    summary.shapeOrder === 'NCHW'
      ? t('Shapes as PyTorch shows them: N×C×H×W, batch × channels × height × width.')
      : t('Shapes are H×W×C, height × width × channels (batch left out), as Keras and TF.js run them.')
  }</p>`;
  return page(options, body);
}

/** The page while the engine loads the model. */
export function loadingPage(options: SummaryPageOptions): string {
  return page(options, `<h1>${escapeHtml(options.fileName)}</h1><p class="detail" id="loading">${t('Loading the model…')}</p>`);
}

/** The page for a file that did not load: the engine's message (it names the file and the fix). */
export function errorPage(message: string, options: SummaryPageOptions): string {
  return page(
    options,
    `<h1>${escapeHtml(options.fileName)}</h1><p class="error" id="error">${escapeHtml(message)}</p><button data-action="reload" id="reload">${t('Try Again')}</button>`,
  );
}
