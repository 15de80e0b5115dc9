// Lines of a PyTorch model source linked to the modules they wrote (src/host/lens/pythonLayers.ts), on
// real exports of varied shapes: the SimpleCNN sample; ResNet-style blocks whose convolutions come
// from a helper, built in a loop, with an inline Sequential, a ModuleList and add_module;
// MobileNet-style inverted residuals with multi-line inline Sequentials and a helper called twice;
// a file with two models. The hover on `self.NAME`, lenses following the text as it is edited, and
// where a load error points.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../../src/engine/backend';
import { loadPytorchModel } from '../../src/engine/models/pytorch/loadPytorch';
import { moduleLines, pythonHoverMarkdown, pythonLayerLenses, userCodeErrorLocation } from '../../src/host/lens/pythonLayers';
import type { ModelSummary } from '../../src/shared/types';
import { requireTorch } from './fixtures/pytorch';

const REPO = path.resolve(__dirname, '..', '..');
const SIMPLE = path.join(REPO, 'samples', 'workspace', 'pytorch', 'model.py');
const SHAPES = path.join(REPO, 'test', 'fixtures', 'pytorch', 'shapes');

/** "line: title" for every lens, 1-based lines, actions left out unless asked. */
function lensLines(modelPath: string, file: string, text: string, summary: ModelSummary, withActions = false): string[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return pythonLayerLenses(modelPath, file, text, summary)
    .filter((lens) => withActions || !/^(Activations|Filters|Grad-CAM here|Explain here…)/.test(lens.title))
    .map((lens) => `${starts.filter((s) => s <= lens.offset).length}: ${lens.title}`);
}

describe('PyTorch sources: lines linked to the modules they wrote', function () {
  this.timeout(180_000);
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-lenses-cache-'));
  const summaries = new Map<string, ModelSummary>();
  const summaryOf = async (modelPath: string): Promise<ModelSummary> => {
    if (!summaries.has(modelPath)) {
      const model = await loadPytorchModel(modelPath, { cacheDir });
      summaries.set(modelPath, model.summary);
      model.dispose();
    }
    return summaries.get(modelPath) as ModelSummary;
  };

  before(async () => {
    requireTorch();
    await initBackend('cpu');
  });
  after(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

  it('SimpleCNN: the class line, then conv1, pool (and its second call), conv2 (the default) and fc1 as written', async () => {
    const summary = await summaryOf(SIMPLE);
    const text = fs.readFileSync(SIMPLE, 'utf8');
    assert.deepStrictEqual(lensLines(SIMPLE, SIMPLE, text, summary, true), [
      '11: Show Grad-CAM…',
      '11: Model summary',
      '14: conv1 · 1×16×32×32',
      '14: Activations',
      '14: Filters',
      '14: Grad-CAM here',
      '14: Explain here…',
      '15: pool · 1×16×16×16',
      '15: Activations',
      '15: Grad-CAM here',
      '15: Explain here…',
      '15: +1 more',
      '16: conv2 · 1×32×16×16',
      '16: Activations',
      '16: Filters',
      '16: Grad-CAM here (default)',
      '16: Explain here…',
      '17: fc1 · 1×10',
      '17: Activations',
    ]);
    const lines = text.split('\n');
    assert.match(lines[13], /self\.conv1 = nn\.Conv2d/);
    assert.match(lines[14], /self\.pool = nn\.MaxPool2d/);
    const more = pythonLayerLenses(SIMPLE, SIMPLE, text, summary).find((l) => l.title === '+1 more');
    assert.deepStrictEqual(more?.arguments, [{ modelPath: SIMPLE, layers: ['pool', 'pool (call 2)'] }]);
  });

  it('ResNet-style: a helper\'s convolution lands on the assignment, a loop\'s blocks on the loop, inline Sequential, ModuleList and add_module', async () => {
    const file = path.join(SHAPES, 'resnetish.py');
    const summary = await summaryOf(file);
    const text = fs.readFileSync(file, 'utf8');
    const lines = lensLines(file, file, text, summary);
    assert.deepStrictEqual(lines, [
      '11: layers.0.conv1 · 1×8×224×224', // self.conv1 = conv3x3(...), not conv3x3's own line
      '11: +1 more',
      '12: layers.0.bn1 · 1×8×224×224',
      '12: +1 more',
      '13: layers.0.relu · 1×8×224×224', // called twice in each of two blocks
      '13: +3 more',
      '14: layers.0.conv2 · 1×8×224×224',
      '14: +1 more',
      '15: layers.0.bn2 · 1×8×224×224',
      '15: +1 more',
      '18: layers.1.down · 1×16×112×112', // only the second block downsamples
      '19: layers.1.down.0 · 1×16×112×112',
      '20: layers.1.down.1 · 1×16×112×112',
      '30: Show Grad-CAM…',
      '30: Model summary',
      '33: stem · 1×8×224×224', // a one-line Sequential: the container, then its three elements
      '33: +3 more',
      '36: layers.0 · 1×8×224×224', // blocks built in a loop
      '36: +1 more',
      '37: layers · 1×16×112×112',
      '38: heads.0 · 1×10', // the ModuleList itself never runs; its element does
      '39: pool · 1×16×1×1', // self.add_module("pool", ...)
    ]);
    assert.ok(!lines.some((l) => l.startsWith('5:')), "the helper's return line makes no lens: the assignment does");
    const relu = moduleLines(text, file, summary).find((l) => l.line === 12);
    assert.deepStrictEqual(relu?.modules.map((m) => m.layers), [['layers.0.relu', 'layers.0.relu (call 2)'], ['layers.1.relu', 'layers.1.relu (call 2)']]);
  });

  it('MobileNet-style: each line of a multi-line inline Sequential, blocks\' lines for every instance, a helper called twice', async () => {
    const file = path.join(SHAPES, 'mobilenetish.py');
    const summary = await summaryOf(file);
    const text = fs.readFileSync(file, 'utf8');
    const lines = lensLines(file, file, text, summary);
    for (const expected of [
      '9: features.3.conv · 1×8×112×112',
      '13: features.3.conv.3 · 1×32×112×112', // the depthwise conv of the first block...
      '25: left.0 · 1×16×56×56', // make_branch's line made both branches' modules
      '25: +3 more',
      '31: features · 1×16×56×56',
      '32: features.0 · 1×8×112×112',
      '35: features.3 · 1×8×112×112',
      '36: features.4 · 1×16×56×56',
      '38: left · 1×16×56×56',
      '39: right · 1×16×56×56',
      '40: classifier · 1×5',
    ]) {
      assert.ok(lines.includes(expected), `${expected} in ${JSON.stringify(lines)}`);
    }
    const depthwise = pythonLayerLenses(file, file, text, summary).filter((l) => l.offset === text.split('\n').slice(0, 12).join('\n').length + 1);
    assert.deepStrictEqual(
      depthwise.map((l) => l.title),
      ['features.3.conv.3 · 1×32×112×112', 'Activations', 'Filters', 'Grad-CAM here', 'Explain here…', '+1 more'],
      '...and of the second: one line, two instances',
    );
  });

  it('a file with two models: only the chosen class\'s lines get lenses', async () => {
    const file = path.join(SHAPES, 'two_models.py');
    const modelPath = `${file}:Large`;
    const summary = await summaryOf(modelPath);
    const text = fs.readFileSync(file, 'utf8');
    assert.deepStrictEqual(lensLines(modelPath, file, text, summary), ['15: Show Grad-CAM…', '15: Model summary', '18: conv_a · 1×8×224×224', '19: conv_b · 1×8×224×224', '20: head · 1×3']);
  });

  it('lenses follow the text: lines added above move them; an edited line loses its lens until saved', async () => {
    const summary = await summaryOf(SIMPLE);
    const text = fs.readFileSync(SIMPLE, 'utf8');
    const moved = `# a comment\n# another\n\n${text}`;
    assert.deepStrictEqual(lensLines(SIMPLE, SIMPLE, moved, summary), ['14: Show Grad-CAM…', '14: Model summary', '17: conv1 · 1×16×32×32', '18: pool · 1×16×16×16', '18: +1 more', '19: conv2 · 1×32×16×16', '20: fc1 · 1×10']);
    const edited = text.replace('self.conv2 = nn.Conv2d(16, 32, 3, padding=1)', 'self.conv2 = nn.Conv2d(16, 64, 3, padding=1)');
    assert.ok(!lensLines(SIMPLE, SIMPLE, edited, summary).some((l) => l.includes('conv2')));
    assert.deepStrictEqual(lensLines(SIMPLE, '/elsewhere/model.py', text, summary), [], 'another file with the same text gets nothing');
  });

  it('hover on self.conv2 (in __init__ and forward): class, PyTorch shape, parameters, weight statistics, escaped', async () => {
    const summary = await summaryOf(SIMPLE);
    const text = fs.readFileSync(SIMPLE, 'utf8');
    const inForward = pythonHoverMarkdown(text, text.indexOf('self.conv2(x)') + 7, summary);
    const inInit = pythonHoverMarkdown(text, text.indexOf('self.conv2 =') + 7, summary);
    assert.strictEqual(inForward?.markdown, inInit?.markdown);
    const markdown = inForward?.markdown ?? '';
    assert.match(markdown, /^\*\*conv2\*\* · `Conv2d`\n\nOutput: 1×32×16×16 \(N×C×H×W\) \(default\) {2}\nParameters: 4,640 {2}\n/);
    assert.match(markdown, /\nweight: min -?\d\.\d+, mean -?\d\.\d+, max \d\.\d+ {2}\nbias: min /);
    assert.match(markdown, /_weights from simple\\_cnn\.pth_$/);
    assert.strictEqual(text.slice(inForward?.start, inForward?.end), 'self.conv2');
    assert.match(pythonHoverMarkdown(text, text.indexOf('self.pool(F.relu(self.conv2') + 7, summary)?.markdown ?? '', /Output \(pool\): 1×16×16×16 \(N×C×H×W\) {2}\nOutput \(pool \\\(call 2\\\)\): 1×32×8×8 {2}/);
    assert.strictEqual(pythonHoverMarkdown(text, text.indexOf('import torch'), summary), undefined, 'not on self.NAME');
    // The weights' statistics are the checkpoint's: conv2.weight's max read by PyTorch itself.
    const stats = summary.pytorch?.modules.find((m) => m.name === 'conv2')?.weights?.weight;
    assert.ok(stats && stats[0] < stats[1] && stats[1] < stats[2]);
  });

  it('hover in a block class lists every instance; an attribute that is no module has none', async () => {
    const file = path.join(SHAPES, 'resnetish.py');
    const summary = await summaryOf(file);
    const text = fs.readFileSync(file, 'utf8');
    const markdown = pythonHoverMarkdown(text, text.indexOf('self.conv1(x)') + 7, summary)?.markdown ?? '';
    assert.match(markdown, /^\*\*layers\.0\.conv1\*\* · `Conv2d`\n\nOutput: 1×8×224×224 \(N×C×H×W\) {2}\nParameters: 576/);
    assert.match(markdown, /\*\*layers\.1\.conv1\*\* · `Conv2d`\n\nOutput: 1×16×112×112 \(N×C×H×W\) {2}\nParameters: 1,152/);
    assert.match(markdown, /untrained weights/);
    assert.strictEqual(pythonHoverMarkdown(text, text.indexOf('self.down = None') + 7, summary)?.markdown.includes('layers.1.down'), true);
    const mobile = path.join(SHAPES, 'mobilenetish.py');
    const mobileText = fs.readFileSync(mobile, 'utf8');
    assert.strictEqual(pythonHoverMarkdown(mobileText, mobileText.indexOf('self.use_res =') + 7, await summaryOf(mobile)), undefined);
  });

  it('a load error names the line to mark', () => {
    assert.deepStrictEqual(userCodeErrorLocation('/w/model.py:14: RuntimeError: mat1 and mat2 shapes cannot be multiplied (building the model with Net())'), {
      file: '/w/model.py',
      line: 14,
      message: 'RuntimeError: mat1 and mat2 shapes cannot be multiplied (building the model with Net())',
    });
    assert.deepStrictEqual(userCodeErrorLocation('C:\\w\\model.py:3: SyntaxError: invalid syntax\nmore'), { file: 'C:\\w\\model.py', line: 3, message: 'SyntaxError: invalid syntax' });
    assert.strictEqual(userCodeErrorLocation('No Python with PyTorch found on the PATH: …'), undefined);
  });
});
