// The deletion/insertion chart of a compare tile, as geometry: axes with ticks and titles, each
// curve as a polyline, the area under it (its AUC) as a polygon, and the legend's words. The page
// only strokes and fills what this returns, from the curves the host sent; no DOM, so the layout is
// unit-tested (test/unit/curveChart.test.ts). Coordinates are CSS pixels, y down.
import type { FaithfulnessMetrics, MetricCurve } from './types';

export interface ChartSize {
  width: number;
  height: number;
  /** Font size of the tick labels and titles, in CSS pixels. */
  fontPx: number;
}

export interface Tick {
  value: number;
  /** Position along its axis (x for the x axis, y for the y axis). */
  at: number;
  label: string;
}

export interface ChartSeries {
  name: 'deletion' | 'insertion';
  /** The legend's words: "deletion AUC 0.137". */
  label: string;
  /** Which way is better, for the legend's tooltip: "lower is better". */
  hint: string;
  points: [number, number][];
  /** The area under the curve down to the baseline, a closed polygon (its area is the AUC, in plot units). */
  area: [number, number][];
}

export interface ChartLayout {
  plot: { left: number; top: number; right: number; bottom: number };
  xTicks: Tick[];
  yTicks: Tick[];
  xTitle: string;
  yTitle: string;
  /** The y value of the horizontal axis and of the shaded areas' lower edge. */
  baseline: number;
  series: ChartSeries[];
}

/** An estimate of a label's width: tick labels are short numbers, in a proportional UI font about 0.6 em per character. */
export function textWidth(text: string, fontPx: number): number {
  return text.length * fontPx * 0.6;
}

/** Three round ticks spanning [min, max]: the domain is widened to them. */
export function niceDomain(min: number, max: number): { domain: [number, number]; ticks: number[] } {
  if (!(Number.isFinite(min) && Number.isFinite(max))) {
    return { domain: [0, 1], ticks: [0, 0.5, 1] };
  }
  if (max - min < 1e-9) {
    const pad = Math.abs(max) > 1e-9 ? Math.abs(max) * 0.5 : 0.5;
    min -= pad;
    max += pad;
  }
  const rough = (max - min) / 2;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  const low = Math.floor(min / step) * step;
  const high = Math.ceil(max / step) * step;
  const ticks: number[] = [];
  for (let v = low; v <= high + step / 2; v += step) {
    ticks.push(Number(v.toPrecision(12)));
  }
  return { domain: [low, high], ticks };
}

function tickLabel(value: number): string {
  if (value === 0 || value === 1) {
    return String(value);
  }
  return Math.abs(value) >= 1000 || Math.abs(value) < 0.01 ? value.toExponential(0) : String(Number(value.toPrecision(3)));
}

/**
 * Deletion and insertion over the fraction of pixels (0..1), probability 0..1 (a regression's
 * value: a round range around its values), both curves' areas shaded down to 0.
 */
export function curveChart(metrics: Pick<FaithfulnessMetrics, 'deletion' | 'insertion' | 'scoreKind'>, size: ChartSize): ChartLayout {
  const { width, height, fontPx } = size;
  const isValue = metrics.scoreKind === 'value';
  const scores = [...metrics.deletion.scores, ...metrics.insertion.scores];
  const y = isValue ? niceDomain(Math.min(0, ...scores), Math.max(0, ...scores)) : { domain: [0, 1] as [number, number], ticks: [0, 0.5, 1] };
  const yLabels = y.ticks.map(tickLabel);
  const tickLength = 3;
  const gap = 2;
  // Left: the rotated y title, the widest tick label, the tick. Bottom: the tick, its label, the x title.
  const left = Math.ceil(fontPx + gap + Math.max(...yLabels.map((l) => textWidth(l, fontPx))) + gap + tickLength);
  const bottom = Math.ceil(tickLength + gap + fontPx + gap + fontPx);
  const plot = { left, top: Math.ceil(fontPx / 2), right: width - Math.ceil(textWidth('1', fontPx) / 2) - 1, bottom: height - bottom };
  const xAt = (fraction: number): number => plot.left + fraction * (plot.right - plot.left);
  const [low, high] = y.domain;
  const yAt = (value: number): number => plot.bottom - ((value - low) / (high - low)) * (plot.bottom - plot.top);
  const baseline = yAt(Math.min(Math.max(0, low), high));
  const series = (name: ChartSeries['name'], curve: MetricCurve, better: string): ChartSeries => {
    const points = curve.fractions.map((f, i): [number, number] => [xAt(f), yAt(curve.scores[i])]);
    const area: [number, number][] = points.length > 0 ? [...points, [points[points.length - 1][0], baseline], [points[0][0], baseline]] : [];
    return { name, label: `${name} AUC ${curve.auc.toFixed(3)}`, hint: `${better} is better`, points, area };
  };
  return {
    plot,
    xTicks: [0, 0.5, 1].map((value) => ({ value, at: xAt(value), label: tickLabel(value) })),
    yTicks: y.ticks.map((value, i) => ({ value, at: yAt(value), label: yLabels[i] })),
    xTitle: 'fraction of pixels removed / inserted',
    yTitle: isValue ? 'value' : 'probability',
    baseline,
    series: [series('deletion', metrics.deletion, 'lower'), series('insertion', metrics.insertion, 'higher')],
  };
}

/** The area of a polygon (shoelace), for tests and checks: the shaded area equals the AUC in plot units. */
export function polygonArea(points: readonly [number, number][]): number {
  let sum = 0;
  for (let i = 0; i < points.length; i++) {
    const [x1, y1] = points[i];
    const [x2, y2] = points[(i + 1) % points.length];
    sum += x1 * y2 - x2 * y1;
  }
  return Math.abs(sum) / 2;
}
