// The top-k list: one row per class, label first (so the row's first text line is the label),
// then a probability bar and the percentage. The explained class is marked.
import type { Prediction } from '../src/protocol/types';

export function renderPredictions(list: HTMLOListElement, predictions: Prediction[], explainedClass: number): void {
  const rows = predictions.map((prediction) => {
    const row = document.createElement('li');
    row.className = 'prediction';
    row.dataset.index = String(prediction.index);
    if (prediction.index === explainedClass) {
      row.classList.add('explained');
      row.title = 'The class the heatmap explains';
    }
    const label = document.createElement('span');
    label.className = 'label';
    label.textContent = prediction.label;
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.setAttribute('role', 'meter');
    bar.setAttribute('aria-valuemin', '0');
    bar.setAttribute('aria-valuemax', '1');
    bar.setAttribute('aria-valuenow', prediction.probability.toFixed(4));
    const fill = document.createElement('span');
    fill.className = 'fill';
    // CSSOM assignment, not a style attribute: allowed under a CSP without 'unsafe-inline'.
    fill.style.width = `${Math.max(0, Math.min(1, prediction.probability)) * 100}%`;
    bar.append(fill);
    const percent = document.createElement('span');
    percent.className = 'percent';
    percent.textContent = formatPercent(prediction.probability);
    row.append(label, bar, percent);
    return row;
  });
  list.replaceChildren(...rows);
}

export function formatPercent(probability: number): string {
  return `${(probability * 100).toFixed(1)}%`;
}
