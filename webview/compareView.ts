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
  const runButton = element('vscode-button', { 'data-testid': 'compare-run', title: 'Run the ticked methods on this image, class and layer' }, 'Run Comparison') as VscodeButton;
  const cancelButton = element('vscode-button', { 'data-testid': 'compare-cancel', secondary: '', title: 'Stop the comparison' }, 'Cancel') as VscodeButton;
  cancelButton.hidden = true;
  const metricsBox = element('vscode-checkbox', { 'data-testid': 'compare-metrics', label: 'Faithfulness metrics', title: 'Also score each map: deletion and insertion curves, ROAD, confidence change (takes longer)' }) as VscodeCheckbox;
  const rankControl = element('div', { class: 'control compare-rank' });
  const rankCaption = element('span', { class: 'caption', id: 'compare-rank-caption' }, 'Rank by');
  const rankSelect = element('vscode-single-select', { 'data-testid': 'compare-rank', id: 'compare-rank', 'aria-labelledby': 'compare-rank-caption' }) as VscodeSingleSelect;
  rankControl.append(rankCaption, rankSelect);
  setOptions(
    rankSelect,
    [{ value: 'run', label: 'Method order' }, ...RANK_METRIC_NAMES.map((name) => ({ value: name, label: RANK_METRICS[name].label, description: `${RANK_METRICS[name].better} is better` }))],
    'run',
  );
  rankSelect.disabled = true;
  rankSelect.title = 'Tick Faithfulness metrics and compare to rank the maps';
  controls.append(runButton, cancelButton, metricsBox, rankControl);

  const progressLine = element('div', { class: 'compare-progress', role: 'status', 'data-testid': 'compare-progress' });
  const progressLabel = element('span', { class: 'compare-progress-label' });
  const progressBar = element('vscode-progress-bar', { 'aria-label': 'Comparison progress' }) as VscodeProgressBar;
  progressLine.append(element('vscode-progress-ring', { 'aria-hidden': 'true' }), progressLabel, progressBar);
  progressLine.hidden = true;

  const confirmBox = element('div', { class: 'compare-confirm', role: 'alert', 'data-testid': 'compare-confirm' });
  confirmBox.hidden = true;
  let pending: CompareConfirm | undefined;

  const chooser = element('fieldset', { class: 'compare-methods', 'data-testid': 'compare-methods' });
  chooser.append(element('legend', {}, 'Methods'));
  const boxes = new Map<MethodName, VscodeCheckbox>();
  for (const method of METHOD_NAMES) {
    const box = element('vscode-checkbox', { value: method, label: METHOD_LABELS[method], 'data-method': method }) as VscodeCheckbox;
    box.checked = true;
    boxes.set(method, box);
    chooser.append(box);
  }

  const note = element('p', { class: 'compare-note', 'data-testid': 'compare-note' });
  note.hidden = true;
  const summary = element('p', { class: 'compare-summary', 'data-testid': 'compare-summary' }, 'Tick the methods to compare and run them: each map is drawn over the image, with its time.');
  const large = element('figure', { class: 'compare-large', 'data-testid': 'compare-large' });
  large.hidden = true;
  const grid = element('div', { class: 'compare-grid', 'data-testid': 'compare-grid' });
  root.append(controls, progressLine, confirmBox, chooser, note, summary, large, grid);

  const chosen = (): MethodName[] => METHOD_NAMES.filter((method) => boxes.get(method)?.checked);
  const updateRunButton = (): void => {
    runButton.disabled = running || chosen().length === 0;
    runButton.title = chosen().length === 0 ? 'Tick at least one method' : 'Run the ticked methods on this image, class and layer';
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
    rankSelect.title = hasMetrics ? '' : 'Tick Faithfulness metrics and compare to rank the maps';
    const ranked = order !== 'run' && hasMetrics;
    summary.textContent =
      `${current.items.length} method${current.items.length === 1 ? '' : 's'} for “${current.className}” (class ${current.classIndex})` +
      (ranked ? `, best first by ${RANK_METRICS[order as RankMetric].label}` : '') +
      '. Select a map to enlarge it.';
    grid.append(inputTile(current));
    ordered(current.items).forEach((item, rank) => grid.append(tile(item, ranked ? rank + 1 : undefined)));
    showLarge();
  }

  function inputTile(compare: PanelCompare): HTMLElement {
    const figure = element('figure', { class: 'compare-tile input', 'data-testid': 'compare-input' });
    const canvas = element('canvas', { id: 'compare-input-canvas', role: 'img', 'aria-label': `The input image: ${compare.target}` });
    if (image) {
      drawRgba(canvas, image);
    }
    canvas.setAttribute('aria-label', `The input image: ${compare.target}`);
    const caption = element('figcaption');
    caption.append(element('strong', {}, 'Input'), element('span', { class: 'compare-time', title: compare.target }, compare.target));
    figure.append(canvas, caption);
    return figure;
  }

  function tile(item: PanelCompareItem, rank: number | undefined): HTMLElement {
    const label = METHOD_LABELS[item.method];
    const where = INPUT_LEVEL_METHODS.includes(item.method) ? 'input' : item.layer;
    const figure = element('figure', { class: 'compare-tile', tabindex: '0', role: 'button', 'data-testid': 'compare-tile', 'data-method': item.method });
    figure.setAttribute('aria-label', `${rank !== undefined ? `${rank}. ` : ''}${label}, ${formatMs(item.timeMs)} at ${where}: ${item.method === enlarged ? 'close the enlarged view' : 'enlarge'}`);
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
    caption.append(element('span', { class: 'compare-time', title: `${label} took ${formatMs(item.timeMs)} at ${where}` }, `${formatMs(item.timeMs)} · ${shortenLayerName(where, TILE_NAME_CHARS)}`));
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
    return figure;
  }

  function showLarge(): void {
    const item = current?.items.find((i) => i.method === enlarged);
    large.hidden = !item;
    large.replaceChildren();
    if (!item) {
      return;
    }
    const canvas = element('canvas', { id: 'compare-large-canvas', role: 'img', 'aria-label': `${METHOD_LABELS[item.method]} over the image, enlarged` });
    paint(canvas, item);
    painted.push({ canvas, item });
    canvas.setAttribute('aria-label', `${METHOD_LABELS[item.method]} over the image, enlarged`);
    const caption = element('figcaption');
    const close = element('vscode-button', { secondary: '', 'data-testid': 'compare-large-close' }, 'Close') as VscodeButton;
    close.addEventListener('click', () => {
      const method = enlarged;
      enlarged = undefined;
      render();
      if (method) {
        grid.querySelector<HTMLElement>(`[data-method="${CSS.escape(method)}"]`)?.focus();
      }
    });
    const where = INPUT_LEVEL_METHODS.includes(item.method) ? 'the input' : item.layer;
    caption.append(element('strong', {}, METHOD_LABELS[item.method]), element('span', { class: 'compare-time' }, `${formatMs(item.timeMs)} at ${where}`));
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
    const go = element('vscode-button', { 'data-testid': 'compare-confirm-run' }, 'Run Anyway') as VscodeButton;
    const stop = element('vscode-button', { secondary: '', 'data-testid': 'compare-confirm-cancel' }, 'Don’t Run') as VscodeButton;
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
    `${m.scoreKind === 'value' ? 'Value' : 'Probability'} as pixels are removed (${layout.series[0].label}, ${layout.series[0].hint}) or inserted (${layout.series[1].label}, ${layout.series[1].hint}), most important first`,
  );
  drawChart(canvas, layout, size);
  const legend = element('ul', { class: 'compare-legend', 'aria-hidden': 'true' });
  for (const series of layout.series) {
    const entry = element('li', { class: series.name, title: `${series.name === 'deletion' ? 'Most important pixels replaced by a blurred copy first' : 'Most important pixels restored onto a blurred copy first'}; ${series.hint}` });
    entry.append(element('span', { class: `swatch ${series.name}` }), element('span', {}, series.label));
    legend.append(entry);
  }
  const road = element(
    'span',
    { class: 'compare-metric', title: 'ROAD combined · confidence change when the image is multiplied by the map (higher is better for both)' },
    `ROAD ${m.roadCombined.toFixed(3)} · conf ${m.confidenceChange >= 0 ? '+' : '−'}${Math.abs(m.confidenceChange).toFixed(3)}`,
  );
  const parts: HTMLElement[] = [canvas, legend, road];
  if (metricsMs !== undefined) {
    parts.push(element('span', { class: 'compare-metric compare-metrics-time', title: `Scoring ${m.inputsScored} perturbed images took ${formatMs(metricsMs)}` }, `metrics ${formatMs(metricsMs)}`));
  }
  return parts;
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
