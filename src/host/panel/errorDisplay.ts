// Where a panel's errors go. The panel shows the last one over the previous result (dimmed) until a
// run succeeds, and again on a page rebuilt meanwhile; a run the user asked for also pops up a
// notification (src/host/reportError.ts), while a live refresh (the user is editing the model) only
// writes to the output channel: fixing the file clears it. No vscode: test/unit/errorDisplay.test.ts.
import { errorCode } from '../../shared/errors';
import type { ErrorNotification } from '../../shared/panel';

/**
 * Why a run starts. `user`: the user asked (a command, a picker), so errors also pop up as a
 * notification and a long run (./progress.ts) shows one. `refresh`: files changed under the user's
 * hands while editing, so a long run shows in the status bar and an error in the panel only (over
 * the dimmed previous result) instead of a notification on every save.
 */
export type RunOrigin = 'user' | 'refresh';

export interface ErrorDisplayDeps {
  /** Posts to the page (dropped while no page listens; replay() catches up). */
  notify(message: ErrorNotification): void;
  log(line: string): void;
  /** The notification with its way out (Select Model…, Open Settings…); not awaited. */
  report(context: string, error: unknown): void;
}

export class ErrorDisplay {
  private shown: { message: string; code?: string } | undefined;

  constructor(private readonly deps: ErrorDisplayDeps) {}

  /** The error the panel shows now, if any. */
  get current(): { message: string; code?: string } | undefined {
    return this.shown;
  }

  /** Shows `error` in the panel and, when the user asked for the work, as a notification. */
  fail(context: string, error: unknown, origin: RunOrigin = 'user'): void {
    const code = errorCode(error);
    this.shown = { message: error instanceof Error ? error.message : String(error), ...(code !== undefined ? { code } : {}) };
    this.deps.notify({ type: 'error', ...this.shown });
    if (origin === 'refresh') {
      this.deps.log(`[refresh] ${context} failed: ${this.shown.message}`);
      return;
    }
    this.deps.report(context, error);
  }

  /** A run succeeded: the panel drops the error. */
  clear(): void {
    this.shown = undefined;
    this.deps.notify({ type: 'error', message: '' });
  }

  /** A new page: shows the error again (nothing when there is none). */
  replay(): void {
    if (this.shown) {
      this.deps.notify({ type: 'error', ...this.shown });
    }
  }
}
