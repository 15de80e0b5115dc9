// The Compare tab (issue 4, issue 16): the chosen methods side by side as overlays on the same
// image, class and layer, after the input itself; each with its own time, and with metrics its
// deletion/insertion chart (axes, legend, the areas under the curves shaded), ROAD, confidence
// change and the metrics' time apart; rank by a metric; click (or Enter) a tile to see it large.
// While a comparison runs: a progress line (which method of how many, its metrics), the Run button
// disabled and Cancel beside it. Before a long one, the host's estimate and a confirmation, here in
// the tab. Everything shown comes from the host (times, maps, words, staleness); this file lays
// it out, blends each map over the image in the Grad-CAM tab's colormap and opacity (repainted in
// place when they change), and reports the user's choices through `send`. Controls are @vscode-elements ones,
// like the other tabs'.
import { ExplanationRegion } from './explain';
import { methodExplanation, metricExplanation } from '../src/shared/explanations';
import { t } from './l10n';
import type { CompareCommand, CompareConfirm, CompareProgress, PanelCompare, PanelCompareItem, WebviewToHost } from '../src/shared/panel';
import { INPUT_LEVEL_METHODS, METHOD_LABELS, METHOD_NAMES, RANK_METRICS, RANK_METRIC_NAMES, rankByMetric, type FaithfulnessMetrics, type MethodName, type RankMetric } from '../src/shared/types';
import { shortenLayerName, TILE_NAME_CHARS } from '../src/shared/layerNames';
import { curveChart, type ChartLayout } from '../src/shared/curveChart';
import { drawRgba, paintOverlay } from './canvas';
import type { RgbaImage } from '../src/shared/types';
import type { VscodeButton, VscodeCheckbox, VscodeProgressBar, VscodeSingleSelect } from './components';
import { setOptions } from './pickers';

export interface CompareView {
  /** A comparison and the display image its maps are drawn over (undefined: the page lacks it; nothing is drawn). */
  show(compare: PanelCompare, image: RgbaImage | undefined): void;
  /** The colormap or opacity changed: every overlay is painted again from its map. */
  repaint(): void;
  /** The host's word on whether the comparison still matches the panel (undefined: it does). */
  setStale(reason: string | undefined): void;
  setProgress(progress: CompareProgress | undefined, note?: { text: string; error?: boolean }): void;
  confirm(confirm: CompareConfirm | undefined): void;
}

type Order = 'run' | RankMetric;

/** The tiles' chart, in CSS pixels (drawn at the device's pixel ratio). */
const CHART = { width: 200, height: 112, fontPx: 9 };
const LARGE_CHART = { width: 260, height: 150, fontPx: 10 };

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

/** Each ranking metric's name in the user's language (RANK_METRICS holds the English the CLI prints). */
function metricLabel(metric: RankMetric): string {
  switch (metric) {
    case 'deletion':
      return t('Deletion AUC');
    case 'insertion':
      return t('Insertion AUC');
    case 'road':
      return t('ROAD combined');
    case 'confidence':
      return t('Confidence change');
  }
}

/** The Grad-CAM tab's colormap table and opacity, which the overlays follow. */
export interface Appearance {
  lut: Uint8Array;
  opacity: number;
}

export function createCompareView(
  root: HTMLElement,
  send: (command: CompareCommand | Extract<WebviewToHost, { type: 'cancel' }>) => void,
  appearance: () => Appearance,
): CompareView {
  let current: PanelCompare | undefined;
  let image: RgbaImage | undefined;
  /** The overlay canvases on screen, repainted in place when the appearance changes. */
  let painted: Array<{ canvas: HTMLCanvasElement; item: PanelCompareItem }> = [];
  let order: Order = 'run';
  let enlarged: MethodName | undefined;
  let running = false;

  const controls = element('div', { class: 'compare-controls' });
  const runButton = element('vscode-button', { 'data-testid': 'compare-run', title: t('Run the ticked methods on this image, class and layer') }, t('Run Comparison')) as VscodeButton;
  const cancelButton = element('vscode-button', { 'data-testid': 'compare-cancel', secondary: '', title: t('Stop the comparison') }, t('Cancel')) as VscodeButton;
  cancelButton.hidden = true;
  const metricsBox = element('vscode-checkbox', {
    'data-testid': 'compare-metrics',
    label: t('Faithfulness metrics'),
    title: t('Also score each map: deletion and insertion curves, ROAD, confidence change (takes longer)'),
  }) as VscodeCheckbox;
  const rankControl = element('div', { class: 'control compare-rank' });
  const rankCaption = element('span', { class: 'caption', id: 'compare-rank-caption' }, t('Rank by'));
  const rankSelect = element('vscode-single-select', { 'data-testid': 'compare-rank', id: 'compare-rank', 'aria-labelledby': 'compare-rank-caption', label: t('Rank by') }) as VscodeSingleSelect;
  rankControl.append(rankCaption, rankSelect);
  setOptions(
    rankSelect,
    [
      { value: 'run', label: t('Method order') },
      ...RANK_METRIC_NAMES.map((name) => ({ value: name, label: metricLabel(name), description: RANK_METRICS[name].better === 'lower' ? t('lower is better') : t('higher is better') })),
    ],
    'run',
  );
  rankSelect.disabled = true;
  rankSelect.title = t('Tick Faithfulness metrics and compare to rank the maps');
  // ⓘ beside the metrics and on each tile: what the metrics and each method's map mean, under the controls.
  const explain = new ExplanationRegion('compare-explanation');
  const metricsInfo = explain.button('compare-metrics-info', t('What do the faithfulness metrics mean?'), () => RANK_METRIC_NAMES.map(metricExplanation));
  controls.append(runButton, cancelButton, metricsBox, metricsInfo, rankControl);

  const progressLine = element('div', { class: 'compare-progress', role: 'status', 'data-testid': 'compare-progress' });
  const progressLabel = element('span', { class: 'compare-progress-label' });
  const progressBar = element('vscode-progress-bar', { 'aria-label': t('Comparison progress') }) as VscodeProgressBar;
  progressLine.append(element('vscode-progress-ring', { 'aria-hidden': 'true' }), progressLabel, progressBar);
  progressLine.hidden = true;

  const confirmBox = element('div', { class: 'compare-confirm', role: 'alert', 'data-testid': 'compare-confirm' });
  confirmBox.hidden = true;
  let pending: CompareConfirm | undefined;

  const chooser = element('fieldset', { class: 'compare-methods', 'data-testid': 'compare-methods' });
  chooser.append(element('legend', {}, t('Methods')));
  const boxes = new Map<MethodName, VscodeCheckbox>();
  for (const method of METHOD_NAMES) {
    const box = element('vscode-checkbox', { value: method, label: METHOD_LABELS[method], 'data-method': method }) as VscodeCheckbox;
    box.checked = true;
    boxes.set(method, box);
    chooser.append(box);
  }

  const note = element('p', { class: 'compare-note', 'data-testid': 'compare-note' });
  note.hidden = true;
  const summary = element('p', { class: 'compare-summary', 'data-testid': 'compare-summary' }, t('Tick the methods to compare and run them: each map is drawn over the image, with its time.'));
  const large = element('figure', { class: 'compare-large', 'data-testid': 'compare-large' });
  large.hidden = true;
  const grid = element('div', { class: 'compare-grid', 'data-testid': 'compare-grid' });
  root.append(controls, explain.element, progressLine, confirmBox, chooser, note, summary, large, grid);

  const chosen = (): MethodName[] => METHOD_NAMES.filter((method) => boxes.get(method)?.checked);
  const updateRunButton = (): void => {
    runButton.disabled = running || chosen().length === 0;
    runButton.title = chosen().length === 0 ? t('Tick at least one method') : t('Run the ticked methods on this image, class and layer');
  };
  const start = (command: CompareCommand): void => {
    showConfirm(undefined);
    send(command);
  };
  runButton.addEventListener('click', () => {
    if (!runButton.disabled) {
      start({ type: 'compare', methods: chosen(), metrics: metricsBox.checked });
    }
  });
  cancelButton.addEventListener('click', () => send({ type: 'cancel' }));
  chooser.addEventListener('change', updateRunButton);
  rankSelect.addEventListener('change', () => {
    const next = rankSelect.value as Order;
    if (next && next !== order) {
      order = next;
      render();
    }
  });

  // The charts are drawn with the theme's colours of the moment: draw them again when the theme
  // changes (VS Code swaps the body's vscode-light / vscode-dark / vscode-high-contrast class).
  const themeOf = (): string => Array.from(document.body.classList).filter((c) => c.startsWith('vscode-')).join(' ');
  let theme = themeOf();
  new MutationObserver(() => {
    if (themeOf() !== theme) {
      theme = themeOf();
      render();
    }
  }).observe(document.body, { attributes: true, attributeFilter: ['class'] });

  function ordered(items: readonly PanelCompareItem[]): PanelCompareItem[] {
    return order === 'run' ? [...items] : rankByMetric(items, order);
  }

  function paint(canvas: HTMLCanvasElement, item: PanelCompareItem): void {
    if (image) {
      const { lut, opacity } = appearance();
      paintOverlay(canvas, image, item.map, lut, opacity);
    }
  }

  function render(): void {
    grid.replaceChildren();
    painted = [];
    if (!current || !image) {
      return;
    }
    const hasMetrics = current.items.some((item) => item.metrics);
    rankSelect.disabled = !hasMetrics;
    rankSelect.title = hasMetrics ? '' : t('Tick Faithfulness metrics and compare to rank the maps');
    const ranked = order !== 'run' && hasMetrics;
    const count = current.items.length;
    const what =
      count === 1
        ? t('1 method for “{0}” (class {1})', current.className, current.classIndex)
        : t('{0} methods for “{1}” (class {2})', count, current.className, current.classIndex);
    summary.textContent = ranked
      ? t('{0}, best first by {1}. Select a map to enlarge it.', what, metricLabel(order as RankMetric))
      : t('{0}. Select a map to enlarge it.', what);
    grid.append(inputTile(current));
    ordered(current.items).forEach((item, rank) => grid.append(tile(item, ranked ? rank + 1 : undefined)));
    showLarge();
    explain.refresh();
  }

  function inputTile(compare: PanelCompare): HTMLElement {
    const figure = element('figure', { class: 'compare-tile input', 'data-testid': 'compare-input' });
    const canvas = element('canvas', { id: 'compare-input-canvas', role: 'img', 'aria-label': t('The input image: {0}', compare.target) });
    if (image) {
      drawRgba(canvas, image);
    }
    canvas.setAttribute('aria-label', t('The input image: {0}', compare.target));
    const caption = element('figcaption');
    caption.append(element('strong', {}, t('Input')), element('span', { class: 'compare-time', title: compare.target }, compare.target));
    figure.append(canvas, caption);
    return figure;
  }

  function tile(item: PanelCompareItem, rank: number | undefined): HTMLElement {
    const label = METHOD_LABELS[item.method];
    const where = INPUT_LEVEL_METHODS.includes(item.method) ? t('input') : item.layer;
    const figure = element('figure', { class: 'compare-tile', tabindex: '0', role: 'button', 'data-testid': 'compare-tile', 'data-method': item.method });
    // Its name is what it shows (method, time, layer, metrics: no aria-label that would say less
    // than the tile); aria-pressed says whether it is the enlarged one, the tooltip what a click does.
    figure.title = item.method === enlarged ? t('Close the enlarged {0}', label) : t('Enlarge {0}', label);
    figure.setAttribute('aria-pressed', String(item.method === enlarged));
    if (item.method === enlarged) {
      figure.classList.add('selected');
    }
    const canvas = element('canvas', { id: `compare-${item.method}` });
    paint(canvas, item);
    painted.push({ canvas, item });
    canvas.setAttribute('aria-hidden', 'true');
    const caption = element('figcaption');
    caption.append(element('strong', {}, `${rank !== undefined ? `${rank}. ` : ''}${label}`));
    // The method's own time; a long layer name keeps its distinctive end (the full name is the tooltip).
    caption.append(element('span', { class: 'compare-time', title: t('{0} took {1} at {2}', label, formatMs(item.timeMs), where) }, `${formatMs(item.timeMs)} · ${shortenLayerName(where, TILE_NAME_CHARS)}`));
    if (item.metrics) {
      caption.append(...metricsParts(item.metrics, item.metricsMs, CHART, item.method));
    }
    figure.append(canvas, caption);
    const open = () => {
      enlarged = enlarged === item.method ? undefined : item.method;
      render();
      grid.querySelector<HTMLElement>(`[data-method="${CSS.escape(item.method)}"]`)?.focus();
    };
    figure.addEventListener('click', open);
    figure.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        open();
      }
    });
    // The tile is a button (it enlarges); its ⓘ sits beside it in the same cell, not inside it.
    const cell = element('div', { class: 'compare-cell' });
    cell.append(figure, explain.button('compare-tile-info', t('What does {0} show?', label), () => [methodExplanation(item.method)], `method:${item.method}`));
    return cell;
  }

  function showLarge(): void {
    const item = current?.items.find((i) => i.method === enlarged);
    large.hidden = !item;
    large.replaceChildren();
    if (!item) {
      return;
    }
    const canvas = element('canvas', { id: 'compare-large-canvas', role: 'img', 'aria-label': t('{0} over the image, enlarged', METHOD_LABELS[item.method]) });
    paint(canvas, item);
    painted.push({ canvas, item });
    canvas.setAttribute('aria-label', t('{0} over the image, enlarged', METHOD_LABELS[item.method]));
    const caption = element('figcaption');
    const close = element('vscode-button', { secondary: '', 'data-testid': 'compare-large-close' }, t('Close')) as VscodeButton;
    close.addEventListener('click', () => {
      const method = enlarged;
      enlarged = undefined;
      render();
      if (method) {
        grid.querySelector<HTMLElement>(`[data-method="${CSS.escape(method)}"]`)?.focus();
      }
    });
    const at = INPUT_LEVEL_METHODS.includes(item.method) ? t('{0} at the input', formatMs(item.timeMs)) : t('{0} at {1}', formatMs(item.timeMs), item.layer);
    caption.append(element('strong', {}, METHOD_LABELS[item.method]), element('span', { class: 'compare-time' }, at));
    if (item.metrics) {
      caption.append(...metricsParts(item.metrics, item.metricsMs, LARGE_CHART, `${item.method}-large`));
    }
    caption.append(close);
    large.append(canvas, caption);
  }

  function showConfirm(next: CompareConfirm | undefined): void {
    pending = next;
    confirmBox.hidden = !next;
    confirmBox.replaceChildren();
    if (!next) {
      return;
    }
    const list = element('ul');
    next.details.forEach((line) => list.append(element('li', {}, line)));
    const buttons = element('div', { class: 'compare-confirm-buttons' });
    const go = element('vscode-button', { 'data-testid': 'compare-confirm-run' }, t('Run Anyway')) as VscodeButton;
    const stop = element('vscode-button', { secondary: '', 'data-testid': 'compare-confirm-cancel' }, t('Don’t Run')) as VscodeButton;
    go.addEventListener('click', () => {
      if (pending) {
        start({ type: 'compare', methods: pending.methods, metrics: pending.metrics, confirmed: true });
      }
    });
    stop.addEventListener('click', () => {
      showConfirm(undefined);
      runButton.focus();
    });
    buttons.append(go, stop);
    confirmBox.append(element('p', {}, next.headline), list, buttons);
    go.focus();
  }

  return {
    show(compare, shown) {
      current = compare;
      image = shown;
      if (enlarged && !compare.items.some((i) => i.method === enlarged)) {
        enlarged = undefined;
      }
      render();
    },
    repaint() {
      painted.forEach(({ canvas, item }) => paint(canvas, item));
    },
    setStale(reason) {
      grid.classList.toggle('stale', reason !== undefined);
      large.classList.toggle('stale', reason !== undefined);
      if (reason !== undefined) {
        summary.textContent = reason;
      } else if (current) {
        render();
      }
    },
    setProgress(progress, next) {
      const wasRunning = running;
      running = progress !== undefined;
      progressLine.hidden = !progress;
      progressLabel.textContent = progress?.label ?? '';
      progressLine.title = progress?.detail ?? '';
      if (progress?.fraction !== undefined) {
        progressBar.indeterminate = false;
        progressBar.value = Math.round(progress.fraction * 100);
      } else {
        progressBar.indeterminate = true;
      }
      cancelButton.hidden = !running;
      updateRunButton();
      note.hidden = !next;
      note.textContent = next?.text ?? '';
      note.classList.toggle('error', next?.error === true);
      note.setAttribute('role', next?.error ? 'alert' : 'status');
      // Cancel goes away with the run: keep the keyboard where it was.
      if (wasRunning && !running && document.activeElement === cancelButton) {
        runButton.focus();
      }
    },
    confirm(next) {
      showConfirm(next);
    },
  };
}

/** The chart, its legend, ROAD and confidence, and the metrics' own time. */
function metricsParts(m: FaithfulnessMetrics, metricsMs: number | undefined, size: typeof CHART, id: string): HTMLElement[] {
  const layout = curveChart(m, size);
  const canvas = element('canvas', { class: 'compare-curves', id: `curves-${id}`, role: 'img' });
  canvas.setAttribute(
    'aria-label',
    m.scoreKind === 'value'
      ? t('Value as pixels are removed ({0}, {1}) or inserted ({2}, {3}), most important first', ...seriesWords(layout))
      : t('Probability as pixels are removed ({0}, {1}) or inserted ({2}, {3}), most important first', ...seriesWords(layout)),
  );
  drawChart(canvas, layout, size);
  const legend = element('ul', { class: 'compare-legend', 'aria-hidden': 'true' });
  for (const series of layout.series) {
    const how = series.name === 'deletion' ? t('Most important pixels replaced by a blurred copy first') : t('Most important pixels restored onto a blurred copy first');
    const entry = element('li', { class: series.name, title: `${how}; ${series.hint}` });
    entry.append(element('span', { class: `swatch ${series.name}` }), element('span', {}, series.label));
    legend.append(entry);
  }
  const road = element(
    'span',
    { class: 'compare-metric', title: t('ROAD combined · confidence change when the image is multiplied by the map (higher is better for both)') },
    `ROAD ${m.roadCombined.toFixed(3)} · ${t('conf {0}', `${m.confidenceChange >= 0 ? '+' : '−'}${Math.abs(m.confidenceChange).toFixed(3)}`)}`,
  );
  const parts: HTMLElement[] = [canvas, legend, road];
  if (metricsMs !== undefined) {
    parts.push(
      element(
        'span',
        { class: 'compare-metric compare-metrics-time', title: t('Scoring {0} perturbed images took {1}', m.inputsScored, formatMs(metricsMs)) },
        t('metrics {0}', formatMs(metricsMs)),
      ),
    );
  }
  return parts;
}

/** The chart's two curves for its accessible name: deletion's label and hint, then insertion's. */
function seriesWords(layout: ChartLayout): [string, string, string, string] {
  return [layout.series[0].label, layout.series[0].hint, layout.series[1].label, layout.series[1].hint];
}

/** Strokes and fills the chart's layout with the theme's colours (VS Code's chart and text variables). */
function drawChart(canvas: HTMLCanvasElement, layout: ChartLayout, size: typeof CHART): void {
  const ratio = Math.max(1, Math.round(window.devicePixelRatio || 1)) * 2;
  canvas.width = size.width * ratio;
  canvas.height = size.height * ratio;
  const context = canvas.getContext('2d');
  if (!context) {
    return;
  }
  const style = getComputedStyle(document.body);
  const text = style.color;
  const color = (name: string, otherwise: string) => style.getPropertyValue(name).trim() || otherwise;
  const axis = color('--vscode-descriptionForeground', text);
  const grid = color('--vscode-editorWidget-border', color('--vscode-panel-border', axis));
  const colours = { deletion: color('--vscode-charts-red', text), insertion: color('--vscode-charts-blue', text) };
  context.scale(ratio, ratio);
  const { plot } = layout;
  context.font = `${size.fontPx}px ${style.fontFamily}`;
  context.lineWidth = 1;

  // Grid lines at the inner ticks, faint; then the two axes.
  context.strokeStyle = grid;
  context.globalAlpha = 0.6;
  context.beginPath();
  for (const tick of layout.yTicks.slice(1)) {
    context.moveTo(plot.left, Math.round(tick.at) + 0.5);
    context.lineTo(plot.right, Math.round(tick.at) + 0.5);
  }
  for (const tick of layout.xTicks.slice(1)) {
    context.moveTo(Math.round(tick.at) + 0.5, plot.top);
    context.lineTo(Math.round(tick.at) + 0.5, plot.bottom);
  }
  context.stroke();
  context.globalAlpha = 1;

  // Areas under the curves (the AUCs), then the curves over them.
  for (const series of layout.series) {
    context.fillStyle = colours[series.name];
    context.globalAlpha = 0.16;
    context.beginPath();
    series.area.forEach(([x, y], i) => (i === 0 ? context.moveTo(x, y) : context.lineTo(x, y)));
    context.closePath();
    context.fill();
  }
  context.globalAlpha = 1;
  context.lineWidth = 1.5;
  context.lineJoin = 'round';
  for (const series of layout.series) {
    context.strokeStyle = colours[series.name];
    context.beginPath();
    series.points.forEach(([x, y], i) => (i === 0 ? context.moveTo(x, y) : context.lineTo(x, y)));
    context.stroke();
  }

  context.strokeStyle = axis;
  context.fillStyle = axis;
  context.lineWidth = 1;
  context.beginPath();
  context.moveTo(plot.left + 0.5, plot.top);
  context.lineTo(plot.left + 0.5, plot.bottom + 0.5);
  context.lineTo(plot.right, plot.bottom + 0.5);
  for (const tick of layout.yTicks) {
    context.moveTo(plot.left - 3, Math.round(tick.at) + 0.5);
    context.lineTo(plot.left, Math.round(tick.at) + 0.5);
  }
  for (const tick of layout.xTicks) {
    context.moveTo(Math.round(tick.at) + 0.5, plot.bottom);
    context.lineTo(Math.round(tick.at) + 0.5, plot.bottom + 3);
  }
  context.stroke();
  context.textAlign = 'right';
  context.textBaseline = 'middle';
  for (const tick of layout.yTicks) {
    context.fillText(tick.label, plot.left - 5, tick.at);
  }
  context.textAlign = 'center';
  context.textBaseline = 'top';
  for (const tick of layout.xTicks) {
    context.fillText(tick.label, tick.at, plot.bottom + 5);
  }
  context.textBaseline = 'bottom';
  context.fillText(layout.xTitle, (plot.left + plot.right) / 2, size.height);
  context.save();
  context.translate(0, (plot.top + plot.bottom) / 2);
  context.rotate(-Math.PI / 2);
  context.textBaseline = 'top';
  context.fillText(layout.yTitle, 0, 0);
  context.restore();
}

function formatMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
