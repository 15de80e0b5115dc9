// The compare tiles' deletion/insertion chart (src/shared/curveChart.ts): axes 0..1 with ticks
// and titles, curves where their values say, the shaded areas equal to the AUCs, labels that fit.
import * as assert from 'assert';
import { curveChart, niceDomain, polygonArea, textWidth } from '../../src/shared/curveChart';
import type { MetricCurve } from '../../src/shared/types';

function curve(scores: number[]): MetricCurve {
  const fractions = scores.map((_, i) => i / (scores.length - 1));
  let auc = 0;
  for (let i = 1; i < scores.length; i++) auc += ((scores[i] + scores[i - 1]) / 2) * (fractions[i] - fractions[i - 1]);
  return { fractions, scores, auc };
}

const size = { width: 200, height: 110, fontPx: 9 };
const deletion = curve([0.9, 0.5, 0.2, 0.1, 0.05]);
const insertion = curve([0.05, 0.3, 0.7, 0.85, 0.9]);

describe('compare curve chart', () => {
  it('probability: both axes 0..1, titled, with 0 / 0.5 / 1 ticks at the plot\'s edges and middle', () => {
    const chart = curveChart({ deletion, insertion }, size);
    const { plot } = chart;
    assert.deepStrictEqual(chart.xTicks.map((t) => t.label), ['0', '0.5', '1']);
    assert.deepStrictEqual(chart.yTicks.map((t) => t.label), ['0', '0.5', '1']);
    assert.strictEqual(chart.xTicks[0].at, plot.left);
    assert.strictEqual(chart.xTicks[2].at, plot.right);
    assert.strictEqual(chart.yTicks[0].at, plot.bottom);
    assert.strictEqual(chart.yTicks[2].at, plot.top);
    assert.strictEqual(chart.xTitle, 'fraction of pixels removed / inserted');
    assert.strictEqual(chart.yTitle, 'probability');
    assert.strictEqual(chart.baseline, plot.bottom);
  });

  it('places every point by its fraction and score', () => {
    const chart = curveChart({ deletion, insertion }, size);
    const { plot } = chart;
    const [del] = chart.series;
    del.points.forEach(([x, y], i) => {
      assert.ok(Math.abs(x - (plot.left + deletion.fractions[i] * (plot.right - plot.left))) < 1e-9);
      assert.ok(Math.abs(y - (plot.bottom - deletion.scores[i] * (plot.bottom - plot.top))) < 1e-9);
    });
  });

  it('shades the area under each curve: the polygon\'s area is the AUC in plot units', () => {
    const chart = curveChart({ deletion, insertion }, size);
    const unit = (chart.plot.right - chart.plot.left) * (chart.plot.bottom - chart.plot.top);
    for (const [i, c] of [deletion, insertion].entries()) {
      const area = polygonArea(chart.series[i].area) / unit;
      assert.ok(Math.abs(area - c.auc) < 1e-9, `${chart.series[i].name}: ${area} vs AUC ${c.auc}`);
    }
  });

  it('the legend says which curve is which, its AUC and which way is better', () => {
    const chart = curveChart({ deletion, insertion }, size);
    assert.deepStrictEqual(
      chart.series.map((s) => `${s.label} (${s.hint})`),
      [`deletion AUC ${deletion.auc.toFixed(3)} (lower is better)`, `insertion AUC ${insertion.auc.toFixed(3)} (higher is better)`],
    );
  });

  it('labels fit: the y labels and the rotated title left of the plot, the x labels and title below it, the plot inside the box', () => {
    for (const box of [size, { width: 150, height: 90, fontPx: 8 }, { width: 300, height: 160, fontPx: 11 }]) {
      const chart = curveChart({ deletion, insertion }, box);
      const { plot } = chart;
      const widest = Math.max(...chart.yTicks.map((t) => textWidth(t.label, box.fontPx)));
      assert.ok(plot.left >= box.fontPx + widest + 3, `y labels fit in ${plot.left} px`);
      assert.ok(box.height - plot.bottom >= 2 * box.fontPx + 3, 'x labels and title below');
      assert.ok(plot.top >= box.fontPx / 2 - 1e-9 && plot.right <= box.width && plot.right - plot.left > box.width / 2);
      assert.ok(chart.xTicks.every((t) => t.at + textWidth(t.label, box.fontPx) / 2 <= box.width), 'the last x label is not cut');
    }
  });

  it('a regression\'s values: a round range that holds every value and 0, titled "value"', () => {
    const values = { deletion: curve([3.2, 1.5, -0.4]), insertion: curve([-0.4, 2, 3.2]), scoreKind: 'value' as const };
    const chart = curveChart(values, size);
    assert.strictEqual(chart.yTitle, 'value');
    const low = chart.yTicks[0].value;
    const high = chart.yTicks[chart.yTicks.length - 1].value;
    assert.ok(low <= -0.4 && high >= 3.2, `${low}..${high}`);
    for (const s of chart.series) {
      assert.ok(s.points.every(([, y]) => y >= chart.plot.top - 1e-9 && y <= chart.plot.bottom + 1e-9), `${s.name} inside the plot`);
    }
    const zero = chart.yTicks.find((t) => t.value === 0);
    assert.ok(zero && Math.abs(chart.baseline - zero.at) < 1e-9, 'shaded down to 0');
  });

  it('nice domains: round ticks, widened when flat', () => {
    assert.deepStrictEqual(niceDomain(0, 1), { domain: [0, 1], ticks: [0, 0.5, 1] });
    assert.deepStrictEqual(niceDomain(0, 37).ticks, [0, 20, 40]);
    const flat = niceDomain(2, 2);
    assert.ok(flat.domain[0] < 2 && flat.domain[1] > 2);
    assert.deepStrictEqual(niceDomain(NaN, 1).domain, [0, 1]);
  });
});
