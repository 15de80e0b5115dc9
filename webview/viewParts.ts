// Pieces the inspection views share: a labelled picker, a checkbox, a pager, a busy/error line,
// and a request runner that cancels the previous request when a newer one starts.
import { isCancelled } from '../src/protocol/messaging';
import type { VscodeSingleSelect } from './components';
import { element, paintLegend } from './lut';
import { setOptions, type PickerOption } from './pickers';

export function picker(id: string, caption: string, onChange: (value: string) => void): { wrap: HTMLElement; select: VscodeSingleSelect; set(options: PickerOption[], value: string): void } {
  const wrap = element('div', 'control');
  const label = element('span', 'caption', caption);
  label.id = `${id}-caption`;
  const select = document.createElement('vscode-single-select') as VscodeSingleSelect;
  select.id = id;
  select.dataset.testid = id;
  select.setAttribute('aria-labelledby', label.id);
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

export function checkbox(id: string, onChange: (checked: boolean) => void): { wrap: HTMLLabelElement; input: HTMLInputElement; text: HTMLSpanElement } {
  const wrap = element('label', 'control checkbox');
  const input = element('input');
  input.type = 'checkbox';
  input.id = id;
  input.dataset.testid = id;
  const text = element('span');
  input.addEventListener('change', () => onChange(input.checked));
  wrap.append(input, text);
  return { wrap, input, text };
}

export class Pager {
  readonly element = element('nav', 'pager');
  private readonly prev = element('button', 'pager-button', '‹ Previous');
  private readonly next = element('button', 'pager-button', 'Next ›');
  private readonly label = element('span', 'pager-label');
  private page = 0;
  private count = 1;

  constructor(testid: string, private readonly onPage: (page: number) => void) {
    this.element.dataset.testid = testid;
    this.element.setAttribute('aria-label', 'Pages');
    this.prev.type = 'button';
    this.next.type = 'button';
    this.prev.dataset.testid = `${testid}-prev`;
    this.next.dataset.testid = `${testid}-next`;
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

/** A busy ring with a message and a Cancel button, and an error line, for one view. */
export class Status {
  readonly busy = element('div', 'view-busy');
  readonly error = element('div', 'view-error');
  private readonly message = element('span');
  private readonly cancel = element('button', 'pager-button', 'Cancel');
  /** Set by Latest while a request runs. */
  onCancel: (() => void) | undefined;

  constructor(testid: string) {
    this.cancel.type = 'button';
    this.cancel.addEventListener('click', () => this.onCancel?.());
    this.busy.append(document.createElement('vscode-progress-ring'), this.message, this.cancel);
    this.busy.hidden = true;
    this.error.hidden = true;
    this.error.setAttribute('role', 'alert');
    this.busy.dataset.testid = `${testid}-busy`;
    this.error.dataset.testid = `${testid}-error`;
  }

  working(message: string | undefined): void {
    this.busy.hidden = message === undefined;
    this.message.textContent = message ?? '';
  }

  fail(message: string): void {
    this.error.textContent = message;
    this.error.hidden = message === '';
  }
}

/** Runs one request at a time: starting another cancels the one in flight; a cancelled one is silent. */
export class Latest {
  private controller: AbortController | undefined;

  async run<T>(status: Status, message: string, work: (signal: AbortSignal) => Promise<T>): Promise<T | undefined> {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    status.onCancel = () => {
      controller.abort();
      status.working(undefined);
      status.fail('Cancelled.');
    };
    // Only show the ring when it takes a moment: a cached page answers at once and must not flicker.
    const timer = setTimeout(() => status.working(message), 150);
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
      clearTimeout(timer);
      if (this.controller === controller) {
        status.working(undefined);
        status.onCancel = undefined;
        this.controller = undefined;
      }
    }
  }
}

/** A colour legend: the low value, the colour bar of a lookup table, the high value. */
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
