// When a computation earns a VS Code notification. Most panel work takes 20-500 ms: a notification
// for that pops up over the panel and is gone before it can be read, so the panel shows its own
// progress bar for everything and a notification (with Cancel) opens only once the work has run
// for NOTIFY_AFTER_MS, carrying what the work said last. It closes the moment the work ends.
// No vscode import: ./progress.ts gives it the notification; tests give it fake timers.

/** Work shorter than this never shows a notification (the panel's own bar is enough). */
export const NOTIFY_AFTER_MS = 2000;

/** The notification, once open: its message and progress (VS Code counts increments in percent). */
export interface ProgressSink {
  report(message: string, increment?: number): void;
  close(): void;
}

export interface GateTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: GateTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class ProgressGate {
  private message = '';
  /** Fraction done so far (0..1), as last reported. */
  private fraction = 0;
  /** Percent the notification has been told (its bar only grows). */
  private reported = 0;
  private sink: ProgressSink | undefined;
  private timer: unknown;
  private done = false;

  constructor(
    private readonly open: () => ProgressSink,
    delayMs = NOTIFY_AFTER_MS,
    private readonly timers: GateTimers = realTimers,
  ) {
    this.timer = timers.setTimeout(() => this.openNow(), delayMs);
  }

  /** Whether the notification is showing. */
  get opened(): boolean {
    return this.sink !== undefined;
  }

  /** The work's latest step; forwarded to the notification when it is open. */
  step(message: string, fraction?: number): void {
    if (this.done) {
      return;
    }
    this.message = message;
    if (fraction !== undefined && Number.isFinite(fraction)) {
      this.fraction = Math.max(this.fraction, Math.min(1, Math.max(0, fraction)));
    }
    this.forward();
  }

  /** The work ended (done, failed or cancelled): no notification any more, and none later. */
  finish(): void {
    if (this.done) {
      return;
    }
    this.done = true;
    this.timers.clearTimeout(this.timer);
    const sink = this.sink;
    this.sink = undefined;
    sink?.close();
  }

  private openNow(): void {
    if (this.done || this.sink) {
      return;
    }
    this.sink = this.open();
    this.forward();
  }

  private forward(): void {
    if (!this.sink) {
      return;
    }
    const percent = this.fraction * 100;
    const increment = percent > this.reported ? percent - this.reported : undefined;
    this.reported = Math.max(this.reported, percent);
    this.sink.report(this.message, increment);
  }
}
