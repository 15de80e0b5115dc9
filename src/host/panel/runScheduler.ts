// One engine run at a time for a panel: a new run (another class, layer, method, a comparison, a
// file changed) cancels the one in flight, and a run that was superseded drops whatever it was about
// to show. No vscode: test/unit/runScheduler.test.ts drives it with plain promises.
import { isCancelled } from '../../shared/errors';

/** What a run's work sees of its own standing. */
export interface RunTicket {
  /** Aborted when a newer run starts, the user cancels, or the panel closes. */
  readonly signal: AbortSignal;
  /** True once a newer run started or the panel closed: the run must not show its result. */
  stale(): boolean;
  /** Cancels this run (the Compare view's own Cancel). */
  abort(): void;
}

/** How a run that threw ends: dropped (superseded), a cancellation to note, or an error to show. */
export type RunFailure = 'superseded' | 'cancelled' | 'failed';

export class RunScheduler {
  private running: AbortController | undefined;
  /** Increases with every run; a run whose number is not the latest is stale. */
  private generation = 0;
  private disposed = false;

  /** True while the latest run has not ended. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  /**
   * Starts `work`, cancelling the run in flight. `ended` runs when this run's work settles and it is
   * still the latest (a superseded run leaves the progress to the newer one). Never throws: `work`
   * handles its own errors (see failureOf).
   */
  start(work: (ticket: RunTicket) => Promise<void>, ended?: () => void): RunTicket {
    this.running?.abort();
    const controller = new AbortController();
    this.running = controller;
    const generation = ++this.generation;
    const ticket: RunTicket = {
      signal: controller.signal,
      stale: () => generation !== this.generation || this.disposed,
      abort: () => controller.abort(),
    };
    void work(ticket)
      .catch(() => undefined) // the work reports its own errors; a stray one must not go unhandled
      .finally(() => {
        if (generation === this.generation) {
          this.running = undefined;
          ended?.();
        }
      });
    return ticket;
  }

  /** Whether the run with this ticket is still the latest (its progress may be shown). */
  isCurrent(ticket: RunTicket): boolean {
    return !ticket.stale();
  }

  /** Cancels the run in flight (the panel's Cancel); the next start begins afresh. */
  cancel(): void {
    this.running?.abort();
  }

  /** The panel closed: cancels the run in flight, and every run is stale from now on. */
  dispose(): void {
    this.disposed = true;
    this.running?.abort();
  }

  /**
   * How a run that threw ends. A superseded run's error is nobody's business (the newer run's
   * outcome is the one shown); a cancellation is a note, not an error; anything else is shown.
   */
  static failureOf(error: unknown, ticket: RunTicket): RunFailure {
    if (ticket.stale()) {
      return 'superseded';
    }
    return isCancelled(error) ? 'cancelled' : 'failed';
  }
}
