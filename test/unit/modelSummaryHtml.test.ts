// The model viewer's page (src/host/editors/modelSummaryHtml.ts): what a user sees when opening an
// .onnx file. Names from the file are untrusted and must arrive escaped; the CSP allows only the
// nonce'd script (dist/modelViewer.js, never inline) and style. What the script does with the page's
// links and buttons: test/unit/modelViewerPage.test.ts.
import * as assert from 'assert';
import { errorPage, summaryPage } from '../../src/host/editors/modelSummaryHtml';
import type { ModelSummary } from '../../src/shared/types';

const summary: ModelSummary = {
  path: '/w/resnet18.onnx',
  format: 'onnx',
  formatDetail: 'opset 13, pytorch 1.13.0, input [1, 3, 224, 224] NCHW (run as NHWC)',
  shapeOrder: 'NCHW',
  name: 'resnet18',
  inputShape: [224, 224, 3],
  layers: [
    { name: 'input', className: 'InputLayer', outputShape: [null, 224, 224, 3], params: 0, trainable: false, spatial: false, depth: 0 },
    { name: '/layer4/relu/Relu', className: 'Relu', outputShape: [null, 7, 7, 512], params: 0, trainable: false, spatial: true, depth: 0 },
    { name: '<img src=x onerror=alert(1)>', className: 'Gemm', outputShape: [null, 1000], params: 513000, trainable: false, spatial: false, depth: 0 },
  ],
  labels: [],
  labelsSource: null,
  preprocessing: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  sidecar: '/w/cnn-lens.json',
  defaultCamLayer: '/layer4/relu/Relu',
  outputSoftmax: false,
  totalParams: 11689512,
  numClasses: 1000,
  outputs: [
    { index: 0, name: 'logits', shape: ['batch', 1000], kind: 'classes', kindSource: 'model', activation: null, labels: [], labelsSource: null, defaultCamLayer: '/layer4/relu/Relu' },
  ],
  defaultOutput: 0,
};
const options = { cspSource: 'vscode-resource:', nonce: 'N0NCE', scriptUri: 'https://file+.vscode-resource/ext/dist/modelViewer.js', fileName: 'resnet18.onnx' };

describe('model viewer page', () => {
  it('shows format, input, preprocessing, classes, parameters and every layer in one shape notation, the default layer marked', () => {
    const html = summaryPage(summary, options);
    assert.match(html, /<p class="detail" id="format">ONNX · opset 13, pytorch 1\.13\.0/);
    assert.match(html, /<dd id="input">1×3×224×224 \(N×C×H×W\)<\/dd>/);
    assert.match(html, /mean 0\.485, 0\.456, 0\.406, std 0\.229, 0\.224, 0\.225 \(from \/w\/cnn-lens\.json\)/);
    assert.match(html, /11,689,512/);
    assert.match(html, /3, of which 1 with 4-D output/);
    assert.match(html, /<th>Output shape \(N×C×H×W\)<\/th>/);
    assert.match(html, /<tr class="spatial default"><td class="name">\/layer4\/relu\/Relu<span title="[^"]+"> \(default\)<\/span><\/td><td>Relu<\/td><td>1×512×7×7<\/td>/);
    assert.ok(!html.includes('★') && !/\[null|None/.test(html), 'one notation, one default mark');
    assert.match(html, /id="explain"/);
  });

  it('a TF.js or Keras model reads H×W×C', () => {
    const { shapeOrder: _nchw, ...keras } = summary;
    const html = summaryPage({ ...keras, format: 'keras' }, options);
    assert.match(html, /<dd id="input">224×224×3 \(H×W×C\)<\/dd>/);
    assert.match(html, /<td>7×7×512<\/td>/);
  });

  it('layer names with activations are links that ask the host for them; others are plain text', () => {
    const html = summaryPage(summary, { ...options, openable: new Set(['/layer4/relu/Relu']) });
    assert.match(html, /<a href="#" data-layer="\/layer4\/relu\/Relu" title="Show the activations of \/layer4\/relu\/Relu for an image">\/layer4\/relu\/Relu<\/a>/);
    assert.strictEqual((html.match(/<a href/g) ?? []).length, 1, 'only the openable layer is a link');
    // The links work through the page's script (modelViewerPage.ts wires a[data-layer]).
    assert.match(html, /<script nonce="N0NCE" src="https:\/\/file\+\.vscode-resource\/ext\/dist\/modelViewer\.js"><\/script>/);
    const escaped = summaryPage(summary, { ...options, openable: new Set(['<img src=x onerror=alert(1)>']) });
    assert.match(escaped, /data-layer="&lt;img src=x onerror=alert\(1\)&gt;"/);
    assert.ok(!escaped.includes('<img'));
  });

  it('escapes names from the file and allows only nonce\'d script and style', () => {
    const html = summaryPage(summary, options);
    assert.ok(!html.includes('<img'), 'a layer name became markup');
    assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/);
    assert.match(html, /content="default-src 'none'; style-src vscode-resource: 'nonce-N0NCE'; script-src 'nonce-N0NCE'"/);
    // One script, external and nonce'd: no inline code, so the CSP needs no 'unsafe-inline'.
    assert.deepStrictEqual(html.match(/<script[^>]*>/g), ['<script nonce="N0NCE" src="https://file+.vscode-resource/ext/dist/modelViewer.js">']);
    assert.match(html, /<script[^>]*><\/script>/, 'the script element is empty');
  });

  it('shows each of the engine\'s warnings as a notice, escaped', () => {
    assert.ok(!summaryPage(summary, options).includes('class="notice"'));
    const html = summaryPage({ ...summary, warnings: ['labels.txt has 3 labels but the model has 1000 classes <b>'] }, options);
    assert.match(html, /<p class="notice" id="notice">labels\.txt has 3 labels but the model has 1000 classes &lt;b&gt;<\/p>/);
  });

  it('shows a load failure as the engine words it, escaped, with a retry button', () => {
    const html = errorPage('/w/x.onnx: CNN Lens cannot run ONNX operator Resize (node "<up>").', options);
    assert.match(html, /id="error">\/w\/x\.onnx: CNN Lens cannot run ONNX operator Resize \(node &quot;&lt;up&gt;&quot;\)\./);
    assert.match(html, /data-action="reload"/);
  });
});
