// The predictions list: one row per entry, label first (so the row's first text line is the label),
// then a probability bar and the percentage. The explained entry is marked. A binary classifier's
// two sides are rows like classes (their tooltip says which side, σ(z) or 1 − σ(z), and its score);
// a regression's values are numbers, with no bar: they are not probabilities. Class rows are
// focusable (Tab, then arrow keys between rows) and explain their class on click, Enter or Space,
// each with a name that says what it is ("Ankle boot, 87.3%, explained").
import { binarySide, predictionValueText, scoreName } from '../src/shared/outputs';
import type { OutputKind, Prediction } from '../src/shared/types';

export function renderPredictions(
  list: HTMLOListElement,
  predictions: Prediction[],
  explainedClass: number,
  kind: OutputKind = 'classes',
  onPick?: (index: number) => void,
): void {
  list.classList.toggle('values', kind === 'regression');
  // A regression's values are not choices: nothing to pick.
  const pickable = onPick !== undefined && kind !== 'regression';
  const rows = predictions.map((prediction) => {
    const row = document.createElement('li');
    row.className = 'prediction';
    row.dataset.index = String(prediction.index);
    const side = kind === 'binary' ? `class ${prediction.index}: ${binarySide(prediction.index)}, explained with ${scoreName(kind, prediction.index)}` : '';
    const explained = prediction.index === explainedClass;
    if (explained) {
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
    row.setAttribute('aria-label', `${prediction.label}, ${value.textContent}${explained ? ', explained' : ''}`);
    if (pickable) {
      row.classList.add('pickable');
      row.tabIndex = explained ? 0 : -1;
      if (!explained) {
        row.title = `${row.title ? `${row.title}. ` : ''}Explain ${prediction.label}`;
      }
      row.setAttribute('aria-current', String(explained));
      row.addEventListener('click', () => onPick?.(prediction.index));
      row.addEventListener('keydown', (event) => onRowKey(event, list, row, prediction.index, onPick));
    }
    if (prediction.probability === undefined) {
      row.append(label, value);
      return row;
    }
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.setAttribute('role', 'meter');
    bar.setAttribute('aria-label', `${prediction.label} probability`);
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
  if (pickable && !rows.some((row) => row.tabIndex === 0) && rows[0]) {
    rows[0].tabIndex = 0; // the explained class is not among the top rows: Tab still reaches the list
  }
  list.replaceChildren(...rows);
}

/** Enter/Space explain the row's class; arrows, Home and End move between rows (one tab stop for the list). */
function onRowKey(event: KeyboardEvent, list: HTMLOListElement, row: HTMLLIElement, index: number, onPick: ((index: number) => void) | undefined): void {
  const rows = Array.from(list.querySelectorAll<HTMLLIElement>('li.pickable'));
  const at = rows.indexOf(row);
  const target =
    event.key === 'ArrowDown' ? rows[Math.min(rows.length - 1, at + 1)] :
    event.key === 'ArrowUp' ? rows[Math.max(0, at - 1)] :
    event.key === 'Home' ? rows[0] :
    event.key === 'End' ? rows[rows.length - 1] :
    undefined;
  if (target) {
    event.preventDefault();
    rows.forEach((r) => (r.tabIndex = r === target ? 0 : -1));
    target.focus();
  } else if (event.key === 'Enter' || event.key === ' ') {
    event.preventDefault();
    onPick?.(index);
  }
}

export function formatPercent(probability: number): string {
  return `${(probability * 100).toFixed(1)}%`;
}
