// The busy state of one view, in one look for every tab: a thin progress bar across the top of the
// view being recomputed (vscode-elements' progress bar: determinate when the host says how far the
// work is), what runs, and Cancel in place. The control that started the work is disabled while it
// runs. It shows only after SHOW_AFTER_MS, so the many runs that take 20-100 ms do not flicker.
//
// Use:
//   const busy = new BusyIndicator({ testid: 'compare-busy', region: section, onCancel: () => send({ type: 'cancel' }) });
//   section.prepend(busy.element);
//   registerBusyView('compare', busy);        // the host's `busy` notifications for view 'compare' reach it
//   runButton.addEventListener('click', () => { busy.startedBy(runButton); send(…); });
// or, for requests the view makes itself, busy.update(true, 'Reading…') … busy.update(false).
import { t } from './l10n';
import type { VscodeProgressBar } from '@vscode-elements/elements/dist/vscode-progress-bar/vscode-progress-bar.js';

/** Work shorter than this shows no busy state at all. */
export const SHOW_AFTER_MS = 150;

type Control = HTMLElement & { disabled?: boolean };

export interface BusyOptions {
  /** An element of the page to use (it is emptied); else a new one. */
  element?: HTMLElement;
  testid?: string;
  /** The view being recomputed: marked aria-busy (and dimmed by CSS) while the work runs. */
  region?: HTMLElement;
  /** Cancel in place; without it no Cancel button is shown. */
  onCancel?: () => void;
}

export class BusyIndicator {
  readonly element: HTMLElement;
  private readonly bar: VscodeProgressBar;
  private readonly message = document.createElement('span');
  private starter: Control | undefined;
  /** The starter as it was: a control the page had disabled for its own reason stays disabled. */
  private starterWasDisabled = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;

  constructor(private readonly options: BusyOptions) {
    this.element = options.element ?? document.createElement('div');
    this.element.replaceChildren();
    this.element.classList.add('busy-bar');
    if (options.testid) {
      this.element.dataset.testid = options.testid;
    }
    this.element.setAttribute('role', 'status');
    this.bar = document.createElement('vscode-progress-bar') as VscodeProgressBar;
    this.bar.setAttribute('aria-label', t('Working'));
    this.message.className = 'busy-message';
    const line = document.createElement('div');
    line.className = 'busy-line';
    line.append(this.message);
    if (options.onCancel) {
      const cancel = document.createElement('vscode-button');
      cancel.setAttribute('secondary', '');
      cancel.className = 'busy-cancel';
      cancel.textContent = t('Cancel');
      cancel.dataset.testid = options.testid ? `${options.testid}-cancel` : 'busy-cancel';
      cancel.addEventListener('click', () => options.onCancel?.());
      line.append(cancel);
    }
    this.element.append(this.bar, line);
    this.element.hidden = true;
  }

  /** Whether work is running (shown or not yet). */
  get busy(): boolean {
    return this.running;
  }

  /** The control whose change starts the coming work: disabled while it runs (call before sending). */
  startedBy(control: Control | undefined): void {
    this.release();
    this.starter = control;
    this.starterWasDisabled = control?.disabled === true;
    if (this.running && !this.element.hidden) {
      this.hold();
    }
  }

  /** The work's state: running with a message (and how far, 0..1), or ended. */
  update(busy: boolean, message = '', fraction?: number): void {
    if (!busy) {
      this.running = false;
      clearTimeout(this.timer);
      this.timer = undefined;
      this.element.hidden = true;
      this.options.region?.removeAttribute('aria-busy');
      this.release();
      this.starter = undefined;
      return;
    }
    this.message.textContent = message;
    if (fraction !== undefined && Number.isFinite(fraction)) {
      this.bar.value = Math.round(Math.min(1, Math.max(0, fraction)) * 100);
    } else {
      this.bar.value = undefined; // indeterminate
    }
    if (!this.running) {
      this.running = true;
      this.timer = setTimeout(() => this.reveal(), SHOW_AFTER_MS);
    }
  }

  private reveal(): void {
    this.timer = undefined;
    if (!this.running) {
      return;
    }
    this.element.hidden = false;
    this.options.region?.setAttribute('aria-busy', 'true');
    this.hold();
  }

  private hold(): void {
    if (this.starter && !this.starterWasDisabled) {
      this.starter.disabled = true;
      this.starter.dataset.busyDisabled = 'true';
    }
  }

  private release(): void {
    if (this.starter?.dataset.busyDisabled === 'true') {
      delete this.starter.dataset.busyDisabled;
      this.starter.disabled = this.starterWasDisabled;
    }
  }
}

const views = new Map<string, BusyIndicator>();

/** The indicator that shows the host's `busy` notifications for `view` ('gradcam', 'compare', …). */
export function registerBusyView(view: string, indicator: BusyIndicator): void {
  views.set(view, indicator);
}

/** The indicator registered for a view, if any. */
export function busyIndicatorFor(view: string): BusyIndicator | undefined {
  return views.get(view);
}
