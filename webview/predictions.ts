// The predictions list: one row per entry, label first (so the row's first text line is the label),
// then a probability bar and the percentage. The explained entry is marked. A binary classifier's
// two sides are rows like classes (their tooltip says which side, σ(z) or 1 − σ(z), and its score);
// a regression's values are numbers, with no bar: they are not probabilities.
import { binarySide, predictionValueText, scoreName } from '../src/protocol/outputs';
import type { OutputKind, Prediction } from '../src/protocol/types';

export function renderPredictions(list: HTMLOListElement, predictions: Prediction[], explainedClass: number, kind: OutputKind = 'classes'): void {
  list.classList.toggle('values', kind === 'regression');
  const rows = predictions.map((prediction) => {
    const row = document.createElement('li');
    row.className = 'prediction';
    row.dataset.index = String(prediction.index);
    const side = kind === 'binary' ? `class ${prediction.index}: ${binarySide(prediction.index)}, explained with ${scoreName(kind, prediction.index)}` : '';
    if (prediction.index === explainedClass) {
      row.classList.add('explained');
      row.title = kind === 'regression' ? 'The value the heatmap explains' : `The class the heatmap explains${side ? ` (${side})` : ''}`;
    } else if (side) {
      row.title = side;
    }
    const label = document.createElement('span');
    label.className = 'label';
    label.textContent = prediction.label;
    const value = document.createElement('span');
    value.className = 'percent';
    value.textContent = predictionValueText(prediction);
    if (prediction.probability === undefined) {
      row.append(label, value);
      return row;
    }
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
    row.append(label, bar, value);
    return row;
  });
  list.replaceChildren(...rows);
}

export function formatPercent(probability: number): string {
  return `${(probability * 100).toFixed(1)}%`;
}
