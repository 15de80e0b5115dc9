// The texts behind the panel's ⓘ buttons (src/shared/explanations.ts): every method and metric
// explains itself in two to four sentences with its paper, in English and, through the bundle, Korean.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { methodExplanation, metricExplanation, paperLine, viewExplanation, type Explanation } from '../../src/shared/explanations';
import { bundleTranslator, setTranslator } from '../../src/shared/l10n';
import { METHOD_LABELS, METHOD_NAMES, RANK_METRIC_NAMES } from '../../src/shared/types';

const ko = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', 'l10n', 'bundle.l10n.ko.json'), 'utf8')) as Record<string, string>;

function all(): Explanation[] {
  return [...METHOD_NAMES.map(methodExplanation), ...RANK_METRIC_NAMES.map(metricExplanation), viewExplanation('activations'), viewExplanation('filters')];
}

function sentences(text: string): number {
  return text.split(/(?<=[.!?])\s+/).filter((s) => s.trim()).length;
}

describe('explanations (the ⓘ texts)', () => {
  afterEach(() => setTranslator(undefined));

  it('every method, metric and view: two to four sentences and a paper with its year', () => {
    for (const e of all()) {
      assert.ok(sentences(e.text) >= 2 && sentences(e.text) <= 4, `${e.title}: ${sentences(e.text)} sentences`);
      assert.match(e.paper, /“.+”, .*\b(19|20)\d\d$/, e.title);
    }
  });

  it('methods are titled by their labels; metrics say which way is better', () => {
    assert.deepStrictEqual(METHOD_NAMES.map((m) => methodExplanation(m).title), METHOD_NAMES.map((m) => METHOD_LABELS[m]));
    assert.match(metricExplanation('deletion').text, /Lower is better/);
    for (const metric of ['insertion', 'road', 'confidence'] as const) {
      assert.match(metricExplanation(metric).text, /Higher is better/, metric);
    }
  });

  it('activations say what a dead channel is; filters say why later ones look like noise', () => {
    assert.match(viewExplanation('activations').text, /dead channel is zero everywhere/);
    assert.match(viewExplanation('filters').text, /look like noise/);
  });

  it('reads in Korean once the bundle is installed (paper titles stay as published)', () => {
    const english = all();
    setTranslator(bundleTranslator(ko));
    const korean = all();
    korean.forEach((e, i) => {
      assert.notStrictEqual(e.text, english[i].text, english[i].title);
      assert.match(e.text, /[가-힣]/, english[i].title);
      assert.strictEqual(e.paper, english[i].paper);
    });
    assert.match(paperLine(korean[0]), /^논문: Selvaraju et al\./);
  });
});
