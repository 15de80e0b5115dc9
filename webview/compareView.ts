// The compare view (issue 4): the chosen methods side by side as overlays on the same image, class
// and layer, each with its time and, when asked, its faithfulness metrics as small deletion and
// insertion curves with their AUCs; rank by a metric; click a tile to see it large. It builds its
// own DOM inside the #compare section and talks to the host only through `send`.
import type { CompareCommand, PanelCompare, PanelCompareItem } from '../src/protocol/panel';
import { INPUT_LEVEL_METHODS, METHOD_LABELS, METHOD_NAMES, RANK_METRICS, RANK_METRIC_NAMES, rankByMetric, type MetricCurve, type MethodName, type RankMetric } from '../src/protocol/types';
import { shortenLayerName, TILE_NAME_CHARS } from '../src/protocol/layerNames';
import { drawRgba } from './canvas';

export interface CompareView {
  show(compare: PanelCompare): void;
  /** A new image or model: the old comparison no longer describes what the panel shows. */
  markStale(): void;
}

type Order = 'run' | RankMetric;

function element<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    node.setAttribute(key, value);
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

export function createCompareView(root: HTMLElement, send: (command: CompareCommand) => void): CompareView {
  let current: PanelCompare | undefined;
  let order: Order = 'run';
  let enlarged: MethodName | undefined;

  const controls = element('div', { class: 'compare-controls' });
  const runButton = element('button', { type: 'button', class: 'compare-run', 'data-testid': 'compare-run' }, 'Compare methods');
  const metricsLabel = element('label', { class: 'compare-check' });
  const metricsBox = element('input', { type: 'checkbox', 'data-testid': 'compare-metrics' });
  metricsLabel.append(metricsBox, ' Faithfulness metrics');
  const rankLabel = element('label', { class: 'compare-rank' }, 'Rank by ');
  const rankSelect = element('select', { 'data-testid': 'compare-rank' });
  rankSelect.append(element('option', { value: 'run' }, 'method order'));
  for (const name of RANK_METRIC_NAMES) {
    rankSelect.append(element('option', { value: name }, `${RANK_METRICS[name].label} (${RANK_METRICS[name].better} is better)`));
  }
  rankSelect.disabled = true;
  rankLabel.append(rankSelect);
  controls.append(runButton, metricsLabel, rankLabel);

  const chooser = element('fieldset', { class: 'compare-methods', 'data-testid': 'compare-methods' });
  chooser.append(element('legend', {}, 'Methods'));
  const boxes = new Map<MethodName, HTMLInputElement>();
  for (const method of METHOD_NAMES) {
    const label = element('label', { class: 'compare-check' });
    const box = element('input', { type: 'checkbox', value: method });
    box.checked = true;
    boxes.set(method, box);
    label.append(box, ` ${METHOD_LABELS[method]}`);
    chooser.append(label);
  }

  const summary = element('p', { class: 'compare-summary', 'data-testid': 'compare-summary' });
  const large = element('figure', { class: 'compare-large', 'data-testid': 'compare-large' });
  large.hidden = true;
  const grid = element('div', { class: 'compare-grid', 'data-testid': 'compare-grid' });
  root.append(controls, chooser, summary, large, grid);

  const chosen = (): MethodName[] => METHOD_NAMES.filter((method) => boxes.get(method)?.checked);
  runButton.addEventListener('click', () => {
    const methods = chosen();
    runButton.disabled = methods.length === 0;
    send({ type: 'compare', methods, metrics: metricsBox.checked });
  });
  chooser.addEventListener('change', () => {
    runButton.disabled = chosen().length === 0;
  });
  rankSelect.addEventListener('change', () => {
    order = rankSelect.value as Order;
    render();
  });

  function ordered(items: readonly PanelCompareItem[]): PanelCompareItem[] {
    return order === 'run' ? [...items] : rankByMetric(items, order);
  }

  function render(): void {
    grid.replaceChildren();
    if (!current) {
      return;
    }
    const hasMetrics = current.items.some((item) => item.metrics);
    rankSelect.disabled = !hasMetrics;
    summary.textContent =
      `${current.items.length} methods for “${current.className}” (class ${current.classIndex})` +
      (order !== 'run' && hasMetrics ? `, best first by ${RANK_METRICS[order].label}` : '') +
      '. Click a map to enlarge it.';
    ordered(current.items).forEach((item, rank) => grid.append(tile(item, order !== 'run' && hasMetrics ? rank + 1 : undefined)));
    showLarge();
  }

  function tile(item: PanelCompareItem, rank: number | undefined): HTMLElement {
    const figure = element('figure', { class: 'compare-tile', tabindex: '0', role: 'button', 'data-testid': 'compare-tile', 'data-method': item.method });
    figure.setAttribute('aria-label', `${METHOD_LABELS[item.method]}: enlarge`);
    if (item.method === enlarged) {
      figure.classList.add('selected');
    }
    const canvas = element('canvas', { id: `compare-${item.method}` });
    drawRgba(canvas, item.overlay);
    const caption = element('figcaption');
    caption.append(element('strong', {}, `${rank !== undefined ? `${rank}. ` : ''}${METHOD_LABELS[item.method]}`));
    const where = INPUT_LEVEL_METHODS.includes(item.method) ? 'input' : item.layer;
    // A long layer name keeps its distinctive end in the tile; the full name is the tooltip.
    caption.append(element('span', { class: 'compare-time', title: where }, `${formatMs(item.timeMs)} · ${shortenLayerName(where, TILE_NAME_CHARS)}`));
    if (item.metrics) {
      caption.append(curves(item.metrics.deletion, item.metrics.insertion));
      const m = item.metrics;
      caption.append(
        element(
          'span',
          { class: 'compare-metric', title: 'Deletion AUC (lower is better) · insertion AUC (higher is better)' },
          `del ${m.deletion.auc.toFixed(3)} · ins ${m.insertion.auc.toFixed(3)}`,
        ),
      );
      caption.append(
        element(
          'span',
          { class: 'compare-metric', title: 'ROAD combined · confidence change when the image is multiplied by the map (higher is better for both)' },
          `ROAD ${m.roadCombined.toFixed(3)} · conf ${m.confidenceChange >= 0 ? '+' : '−'}${Math.abs(m.confidenceChange).toFixed(3)}`,
        ),
      );
    }
    figure.append(canvas, caption);
    const open = () => {
      enlarged = enlarged === item.method ? undefined : item.method;
      render();
    };
    figure.addEventListener('click', open);
    figure.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        open();
      }
    });
    return figure;
  }

  function showLarge(): void {
    const item = current?.items.find((i) => i.method === enlarged);
    large.hidden = !item;
    large.replaceChildren();
    if (!item) {
      return;
    }
    const canvas = element('canvas', { id: 'compare-large-canvas' });
    drawRgba(canvas, item.overlay);
    const caption = element('figcaption', {}, `${METHOD_LABELS[item.method]} · ${formatMs(item.timeMs)} · click again to close`);
    canvas.addEventListener('click', () => {
      enlarged = undefined;
      render();
    });
    large.append(canvas, caption);
  }

  return {
    show(compare) {
      current = compare;
      runButton.disabled = false;
      if (enlarged && !compare.items.some((i) => i.method === enlarged)) {
        enlarged = undefined;
      }
      render();
    },
    markStale() {
      grid.classList.add('stale');
      summary.textContent = current ? 'The image or model changed: compare again to update.' : '';
    },
  };
}

/** Deletion (falling) and insertion (rising) curves over the fraction of pixels, in one small chart. */
function curves(deletion: MetricCurve, insertion: MetricCurve): HTMLCanvasElement {
  const width = 120;
  const height = 36;
  const canvas = element('canvas', { class: 'compare-curves', width: String(width * 2), height: String(height * 2) });
  canvas.setAttribute('aria-label', `deletion AUC ${deletion.auc.toFixed(3)}, insertion AUC ${insertion.auc.toFixed(3)}`);
  canvas.title = 'Class probability as pixels are deleted (red) or inserted (blue), most important first';
  const context = canvas.getContext('2d');
  if (!context) {
    return canvas;
  }
  const style = getComputedStyle(document.body);
  const color = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  context.scale(2, 2);
  context.strokeStyle = color('--vscode-panel-border', '#555');
  context.lineWidth = 1;
  context.strokeRect(0.5, 0.5, width - 1, height - 1);
  const draw = (curve: MetricCurve, stroke: string) => {
    context.strokeStyle = stroke;
    context.lineWidth = 1.5;
    context.beginPath();
    curve.fractions.forEach((f, i) => {
      const x = 1 + f * (width - 2);
      const y = height - 1 - curve.scores[i] * (height - 2);
      if (i === 0) context.moveTo(x, y);
      else context.lineTo(x, y);
    });
    context.stroke();
  };
  draw(deletion, color('--vscode-charts-red', '#f14c4c'));
  draw(insertion, color('--vscode-charts-blue', '#3794ff'));
  return canvas;
}

function formatMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
