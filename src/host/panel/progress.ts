// Progress for work the panel starts, in one place for every view (Grad-CAM, Compare, …): each step
// goes at once to the view's in-panel progress bar (`show`, which posts a `busy` notification for
// that view), and a VS Code notification with Cancel opens only when the work outlasts
// NOTIFY_AFTER_MS (./progressGate.ts), closing as soon as it ends. Cancel, in the panel or in the
// notification, aborts the work's controller.
//
// Use (host side):
//   await withPanelProgress(
//     { title: 'CNN Lens: comparing 5 methods on sample.png', controller, show: (busy) => this.setBusy(busy, 'compare') },
//     async (progress) => { progress.step('Grad-CAM…', 0.2); … },
//   );
// and in the webview, a BusyIndicator registered for that view (webview/busy.ts).
import * as vscode from 'vscode';
import { NOTIFY_AFTER_MS, ProgressGate, type ProgressSink } from './progressGate';

export interface PanelProgress {
  /** What runs now ("Score-CAM at conv4: scoring channels 17–32 of 64"), and how far it is (0..1) when known. */
  step(message: string, fraction?: number): void;
}

/** A view's busy state as the panel shows it; undefined when the work ended. */
export interface BusyState {
  message: string;
  fraction?: number;
}

export interface PanelProgressOptions {
  /** The notification's title, naming the work and its file ("CNN Lens: Score-CAM of sample.png"). */
  title: string;
  /** Aborted by either Cancel. */
  controller: Pick<AbortController, 'abort'>;
  /** The in-panel progress of the view doing the work. */
  show(busy: BusyState | undefined): void;
  /**
   * Work the user did not ask for (a live refresh while editing): a long run shows in the status bar
   * instead of a notification.
   */
  quiet?: boolean;
  notifyAfterMs?: number;
}

export async function withPanelProgress<T>(options: PanelProgressOptions, work: (progress: PanelProgress) => Promise<T>): Promise<T> {
  const gate = new ProgressGate(() => openNotification(options), options.notifyAfterMs ?? NOTIFY_AFTER_MS);
  const progress: PanelProgress = {
    step(message, fraction) {
      options.show({ message, fraction });
      gate.step(message, fraction);
    },
  };
  try {
    return await work(progress);
  } finally {
    gate.finish();
    options.show(undefined);
  }
}

function openNotification(options: PanelProgressOptions): ProgressSink {
  let progress: vscode.Progress<{ message?: string; increment?: number }> | undefined;
  // Steps that arrive before VS Code hands over the progress object: the message is kept, the increments summed.
  let pending: { message: string; increment: number } | undefined;
  let close: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => {
    close = resolve;
  });
  void vscode.window.withProgress(
    {
      location: options.quiet ? vscode.ProgressLocation.Window : vscode.ProgressLocation.Notification,
      title: options.title,
      cancellable: !options.quiet,
    },
    (given, token) => {
      progress = given;
      if (pending) {
        given.report({ message: pending.message, increment: pending.increment || undefined });
        pending = undefined;
      }
      const cancel = token.onCancellationRequested(() => options.controller.abort());
      return closed.finally(() => cancel.dispose());
    },
  );
  return {
    report(message, increment) {
      if (progress) {
        progress.report({ message, increment });
      } else {
        pending = { message, increment: (pending?.increment ?? 0) + (increment ?? 0) };
      }
    },
    close: () => close(),
  };
}
