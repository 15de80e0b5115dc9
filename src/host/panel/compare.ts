// The panel's compare view, host side (issue 4, issue 16). Runs the chosen methods through the
// engine worker for the panel's image, class and layer and sends the view what to show: each
// method's map (8-bit, at the display image's size: the page blends it over the image in the Grad-CAM
// tab's colormap and opacity), its own time and its metrics' time apart, the progress line (in
// the panel; a notification only once a run has taken ~2 s), the estimate's confirmation before a
// long run, and whether the comparison still matches the panel. The pure parts are in
// ./compareState.ts and ../protocol/compareEstimate.ts.
import * as vscode from 'vscode';
import { isCancelled } from '../../shared/errors';
import { describeEstimate, formatDuration, needsConfirmation } from '../../shared/compareEstimate';
import {
  baseName,
  type CompareCommand,
  type CompareProgress,
  type HostToWebview,
  type PanelCompare,
  type PanelModelInfo,
  type PanelViewState,
} from '../../shared/panel';
import { METHOD_LABELS } from '../../shared/types';
import { readSettings } from '../settings';
import type { EngineClient } from '../../workerClient/client';
import { errorMessage } from '../reportError';
import { buildPanelCompare, compareProgressLabel, compareTargetOf, staleReason, type CompareTarget } from './compareState';
import type { PageImages } from './pageImages';

/** Runs shorter than this never show a notification; the panel's own progress line is enough. */
export const NOTIFY_AFTER_MS = 2000;

export interface CompareHost {
  engine: EngineClient;
  output: vscode.OutputChannel;
  state(): PanelViewState;
  model(): PanelModelInfo | undefined;
  /** The panel's display images: the comparison's is posted only when the page lacks it. */
  images: PageImages;
  notify(message: HostToWebview): void;
  /** Reports a failure as the panel does (the output channel and a notification). */
  fail(context: string, error: unknown): void;
}

/** One run's handle from the panel: its signal, whether a newer run or the panel's disposal superseded it, and how to stop it. */
export interface CompareRun {
  signal: AbortSignal;
  stale(): boolean;
  abort(): void;
}

interface Shown {
  compare: PanelCompare;
  target: CompareTarget;
}

export class CompareSession {
  private shown: Shown | undefined;
  private filesVersion = 0;
  private staleText: string | undefined;
  private progress: CompareProgress | undefined;
  private note: { text: string; error?: boolean } | undefined;
  /** Increases with every comparison: only the latest one clears the progress line. */
  private runNumber = 0;
  /** The estimate the user was shown, for the progress line of the run they confirmed. */
  private confirmedEstimateMs: number | undefined;

  constructor(private readonly host: CompareHost) {}

  /** The model's or the image's files changed on disk (live refresh). */
  filesChanged(): void {
    this.filesVersion++;
    this.checkStale();
  }

  /** The panel's state changed (files, output, class, layer): does the comparison still match? */
  stateChanged(): void {
    this.checkStale();
  }

  /** A new page (first open, shown again, reloaded): what it missed. */
  replay(): void {
    if (this.shown) {
      this.post(this.shown.compare);
      this.host.notify({ type: 'compareStale', reason: this.staleText });
    }
    this.host.notify({ type: 'compareProgress', progress: this.progress, note: this.note });
  }

  async run(command: CompareCommand, run: CompareRun): Promise<void> {
    const { engine, output } = this.host;
    const state = this.host.state();
    const imageName = baseName(state.imagePath);
    const number = ++this.runNumber;
    this.host.notify({ type: 'compareConfirm' });
    if (command.methods.length === 0) {
      this.finish(number, { text: vscode.l10n.t('Choose at least one method to compare.') });
      return;
    }
    const estimateMs = command.confirmed ? this.confirmedEstimateMs : undefined;
    this.confirmedEstimateMs = undefined;
    const notification = new LateNotification(
      command.methods.length === 1
        ? vscode.l10n.t('CNN Lens: comparing {0} on {1}', METHOD_LABELS[command.methods[0]], imageName)
        : vscode.l10n.t('CNN Lens: comparing {0} methods on {1}', command.methods.length, imageName),
      run.abort,
    );
    let note: { text: string; error?: boolean } | undefined;
    try {
      const request = { layer: state.layer, classIndex: state.classIndex, output: state.output, topK: readSettings().topK, metrics: command.metrics };
      const files = { modelPath: state.modelPath, imagePath: state.imagePath, methods: command.methods, request };
      let total = estimateMs;
      if (!command.confirmed) {
        this.setProgress({ label: vscode.l10n.t('Estimating the time…') });
        const { estimate, layer } = await engine.estimateCompare(files, { signal: run.signal });
        if (run.stale()) {
          return;
        }
        output.appendLine(`[compare] estimate for ${imageName}: ${formatDuration(estimate.totalMs)} (forward pass ${estimate.forwardMs.toFixed(1)} ms, ${estimate.helpers} helpers)`);
        if (needsConfirmation(estimate)) {
          // Asked in the panel, where the user clicked: a modal would block the whole window for a question about one tab.
          this.confirmedEstimateMs = estimate.totalMs;
          this.host.notify({ type: 'compareConfirm', confirm: { methods: command.methods, metrics: command.metrics, ...describeEstimate(estimate, layer) } });
          return;
        }
        total = estimate.totalMs;
      }
      this.setProgress({ label: compareProgressLabel(undefined, total), fraction: 0 });
      const { results, maps, display } = await engine.compare({ ...files, knownImageKey: this.host.images.latestKey }, {
        signal: run.signal,
        onProgress: (p) => {
          const label = compareProgressLabel(p.step, total);
          this.setProgress({ label, fraction: p.fraction, detail: p.message });
          notification.report(label, p.fraction);
        },
      });
      if (run.stale()) {
        return;
      }
      const model = this.host.model();
      this.host.images.receive(display);
      const compare = buildPanelCompare(state.imagePath, display.key, results, maps);
      this.shown = {
        compare,
        target: model ? compareTargetOf(state, model, results[0].result, command.methods, this.filesVersion) : targetWithoutModel(state, results[0].result, this.filesVersion),
      };
      this.post(compare);
      this.staleText = undefined;
      this.checkStale(true);
      output.appendLine(
        `[compare] ${imageName} · class ${compare.classIndex} "${compare.className}" · ` +
          results.map((r) => `${METHOD_LABELS[r.method]} ${Math.round(r.timeMs)} ms${r.metricsMs !== undefined ? ` (metrics ${Math.round(r.metricsMs)} ms)` : ''}`).join(', '),
      );
    } catch (error) {
      if (run.stale()) {
        return;
      }
      if (isCancelled(error)) {
        output.appendLine(`[compare] ${imageName}: cancelled`);
        note = { text: this.shown ? vscode.l10n.t('Comparison cancelled: showing the previous one.') : vscode.l10n.t('Comparison cancelled.') };
        return;
      }
      note = { text: errorMessage(error), error: true };
      this.host.fail(`Comparing methods on ${state.imagePath}`, error);
    } finally {
      notification.done();
      this.finish(number, note);
    }
  }

  /** The comparison to the page, with the display image when the page does not hold it yet. */
  private post(compare: PanelCompare): void {
    this.host.notify({ type: 'compare', compare, image: this.host.images.show('compare', compare.imageKey) });
  }

  private finish(number: number, note: { text: string; error?: boolean } | undefined): void {
    if (number !== this.runNumber) {
      return; // a newer comparison owns the progress line
    }
    this.note = note;
    this.progress = undefined;
    this.host.notify({ type: 'compareProgress', note });
  }

  private setProgress(progress: CompareProgress): void {
    this.progress = progress;
    this.note = undefined;
    this.host.notify({ type: 'compareProgress', progress });
  }

  private checkStale(force = false): void {
    if (!this.shown) {
      return;
    }
    const reason = staleReason(this.shown.target, this.host.state(), this.host.model(), this.filesVersion);
    if (force || reason !== this.staleText) {
      this.staleText = reason;
      this.host.notify({ type: 'compareStale', reason });
    }
  }
}

/** Without the model's details (not loaded in this panel yet): the paths, the output and the class. */
function targetWithoutModel(state: PanelViewState, first: { classIndex: number; output: { index: number } }, filesVersion: number): CompareTarget {
  return { imagePath: state.imagePath, modelPath: state.modelPath, output: first.output.index, classIndex: first.classIndex, topClass: state.classIndex === undefined, filesVersion };
}

/**
 * A progress notification that appears only once the run has taken NOTIFY_AFTER_MS: a 300 ms
 * comparison shows the panel's progress line and nothing else; a 40 s one can be followed (and
 * cancelled) from anywhere in the window.
 */
class LateNotification {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private latest: { label: string; fraction?: number } = { label: vscode.l10n.t('starting…') };
  private progress: vscode.Progress<{ message?: string; increment?: number }> | undefined;
  private shownFraction = 0;
  private finished: (() => void) | undefined;
  private ended = false;

  constructor(title: string, cancel: () => void) {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
        token.onCancellationRequested(cancel);
        this.progress = progress;
        this.report(this.latest.label, this.latest.fraction);
        return new Promise<void>((resolve) => {
          this.finished = resolve;
          if (this.ended) {
            resolve();
          }
        });
      });
    }, NOTIFY_AFTER_MS);
  }

  report(label: string, fraction?: number): void {
    this.latest = { label, fraction };
    if (!this.progress) {
      return;
    }
    const increment = fraction !== undefined && fraction > this.shownFraction ? (fraction - this.shownFraction) * 100 : undefined;
    this.shownFraction = Math.max(this.shownFraction, fraction ?? 0);
    this.progress.report({ message: label, increment });
  }

  done(): void {
    this.ended = true;
    clearTimeout(this.timer);
    this.finished?.();
  }
}
