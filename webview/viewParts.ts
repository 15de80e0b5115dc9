// Pieces the inspection views share: a labelled picker, a checkbox, a pager, a busy state and an error line,
// and a request runner that cancels the previous request when a newer one starts.
import { t } from './l10n';
import { isCancelled } from '../src/shared/errors';
import { BusyIndicator } from './busy';
import type { VscodeButton, VscodeCheckbox, VscodeSingleSelect } from './components';
import { element } from './dom';
import { paintLegend } from './canvas';
import { setOptions, type PickerOption } from './pickers';

export function picker(id: string, caption: string, onChange: (value: string) => void): { wrap: HTMLElement; select: VscodeSingleSelect; set(options: PickerOption[], value: string): void } {
  const wrap = element('div', 'control');
  const label = element('span', 'caption', caption);
  label.id = `${id}-caption`;
  const select = document.createElement('vscode-single-select') as VscodeSingleSelect;
  select.id = id;
  select.dataset.testid = id;
  select.setAttribute('aria-labelledby', label.id);
  // The name of the combobox inside the component's shadow root (an id reference cannot reach it).
  select.label = caption;
  let current = '';
  select.addEventListener('change', () => {
    if (select.value && select.value !== current) {
      current = select.value;
      onChange(select.value);
    }
  });
  wrap.append(label, select);
  return {
    wrap,
    select,
    set(options, value) {
      current = value;
      setOptions(select, options, value);
    },
  };
}

/** A labelled @vscode-elements checkbox (its label is its accessible name and its click target). */
export function checkbox(id: string, onChange: (checked: boolean) => void): { wrap: VscodeCheckbox; input: VscodeCheckbox; setLabel(text: string): void } {
  const box = document.createElement('vscode-checkbox') as VscodeCheckbox;
  box.id = id;
  box.dataset.testid = id;
  box.classList.add('control', 'checkbox');
  box.addEventListener('change', () => onChange(box.checked));
  return {
    wrap: box,
    input: box,
    setLabel(text) {
      box.label = text;
    },
  };
}

/** A secondary @vscode-elements button (the panel's look and focus ring in every theme). */
export function secondaryButton(text: string, testid: string, ariaLabel?: string): VscodeButton {
  const button = document.createElement('vscode-button') as VscodeButton;
  button.secondary = true;
  button.textContent = text;
  button.dataset.testid = testid;
  if (ariaLabel) {
    button.setAttribute('aria-label', ariaLabel);
  }
  return button;
}

export class Pager {
  readonly element = element('nav', 'pager');
  private readonly prev: VscodeButton;
  private readonly next: VscodeButton;
  private readonly label = element('span', 'pager-label');
  private page = 0;
  private count = 1;

  constructor(testid: string, private readonly onPage: (page: number) => void) {
    this.element.dataset.testid = testid;
    this.element.setAttribute('aria-label', t('Pages'));
    this.prev = secondaryButton(`‹ ${t('Previous')}`, `${testid}-prev`, t('Previous page'));
    this.next = secondaryButton(`${t('Next')} ›`, `${testid}-next`, t('Next page'));
    this.prev.addEventListener('click', () => this.page > 0 && this.onPage(this.page - 1));
    this.next.addEventListener('click', () => this.page < this.count - 1 && this.onPage(this.page + 1));
    this.element.append(this.prev, this.label, this.next);
  }

  update(page: number, count: number, text: string): void {
    this.page = page;
    this.count = count;
    this.label.textContent = text;
    this.prev.disabled = page <= 0;
    this.next.disabled = page >= count - 1;
    this.element.hidden = count <= 1;
  }
}

/** A view's busy state (webview/busy.ts: progress bar, message, Cancel in place) and its error line. */
export class Status {
  readonly indicator: BusyIndicator;
  readonly busy: HTMLElement;
  readonly error = element('div', 'view-error');
  /** Set by Latest while a request runs. */
  onCancel: (() => void) | undefined;

  constructor(testid: string, region?: HTMLElement) {
    this.indicator = new BusyIndicator({ testid: `${testid}-busy`, region, onCancel: () => this.onCancel?.() });
    this.busy = this.indicator.element;
    this.error.hidden = true;
    this.error.setAttribute('role', 'alert');
    this.error.dataset.testid = `${testid}-error`;
  }

  working(message: string | undefined): void {
    this.indicator.update(message !== undefined, message ?? '');
  }

  fail(message: string): void {
    this.error.textContent = message;
    this.error.hidden = message === '';
  }
}

/**
 * Runs one request at a time: starting another cancels the one in flight; a cancelled one is silent.
 * `control` (the picker or button that asked) is disabled while the request runs.
 */
export class Latest {
  private controller: AbortController | undefined;

  /** Drops the request in flight, if any (its answer would be stale). */
  cancel(): void {
    this.controller?.abort();
  }

  async run<T>(status: Status, message: string, work: (signal: AbortSignal) => Promise<T>, control?: HTMLElement & { disabled?: boolean }): Promise<T | undefined> {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    status.onCancel = () => {
      controller.abort();
      status.working(undefined);
      status.fail(t('Cancelled.'));
    };
    // The indicator itself waits a moment before it shows: a cached page answers at once and must not flicker.
    status.indicator.startedBy(control);
    status.working(message);
    try {
      const result = await work(controller.signal);
      if (controller.signal.aborted) {
        return undefined;
      }
      status.fail('');
      return result;
    } catch (error) {
      if (!controller.signal.aborted && !isCancelled(error)) {
        status.fail(error instanceof Error ? error.message : String(error));
      }
      return undefined;
    } finally {
      if (this.controller === controller) {
        status.working(undefined);
        status.onCancel = undefined;
        this.controller = undefined;
      }
    }
  }
}

/** A color legend: the low value, the colour bar of a lookup table, the high value. */
export class Legend {
  readonly element = element('div', 'legend');
  private readonly bar = element('canvas', 'legend-bar');
  private readonly low = element('span', 'legend-value');
  private readonly high = element('span', 'legend-value');

  constructor(hidden: boolean) {
    this.element.append(this.low, this.bar, this.high);
    this.element.hidden = hidden;
  }

  show(lut: Uint8Array, low: string, high: string): void {
    paintLegend(this.bar, lut);
    this.low.textContent = low;
    this.high.textContent = high;
  }

  set hidden(hidden: boolean) {
    this.element.hidden = hidden;
  }
}
