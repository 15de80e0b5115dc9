// The panel's compare view, host side (issue 4): runs the chosen methods through the engine worker
// for the panel's image, class and layer, with a cancellable progress notification, and sends the
// overlays (at display resolution, in the panel's colormap and opacity), times and metrics.
import * as vscode from 'vscode';
import { isCancelled } from '../protocol/messaging';
import { baseName, type CompareCommand, type HostToWebview, type PanelCompare, type PanelViewState } from '../protocol/panel';
import { METHOD_LABELS } from '../protocol/types';
import { readSettings } from '../settings';
import type { EngineClient } from '../worker/client';
import { errorCode } from '../commands/reportError';
import { downscaleForDisplay, renderViews } from './panelState';

export interface CompareHost {
  engine: EngineClient;
  output: vscode.OutputChannel;
  state: PanelViewState;
  notify(message: HostToWebview): void;
  setBusy(message: string | undefined): void;
  fail(context: string, error: unknown): void;
  /** True once a newer run or the panel's disposal made this one irrelevant. */
  stale(): boolean;
}

export async function runComparison(host: CompareHost, command: CompareCommand, signal: AbortSignal): Promise<void> {
  const { engine, output, state } = host;
  const imageName = baseName(state.imagePath);
  if (command.methods.length === 0) {
    host.notify({ type: 'status', message: 'Choose at least one method to compare.' });
    return;
  }
  try {
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `CNN Lens: comparing ${command.methods.length} methods on ${imageName}`, cancellable: true },
      async (progress, token) => {
        let fraction = 0;
        const step = (message: string, next?: number): void => {
          host.setBusy(message);
          const increment = next !== undefined && next > fraction ? (next - fraction) * 100 : undefined;
          fraction = next !== undefined ? Math.max(fraction, next) : fraction;
          progress.report({ message, increment });
        };
        // The panel's Cancel (the run's signal) and the notification's Cancel end the same request.
        const controller = new AbortController();
        signal.addEventListener('abort', () => controller.abort(), { once: true });
        const cancelFromToken = token.onCancellationRequested(() => controller.abort());
        try {
          step('starting…', 0);
          const { results, image } = await engine.compare(
            {
              modelPath: state.modelPath,
              imagePath: state.imagePath,
              methods: command.methods,
              request: { layer: state.layer, classIndex: state.classIndex, output: state.output, topK: readSettings().topK, metrics: command.metrics },
            },
            { signal: controller.signal, onProgress: (p) => step(p.message, p.fraction) },
          );
          if (host.stale()) {
            return;
          }
          const display = downscaleForDisplay(image);
          const first = results[0].result;
          const compare: PanelCompare = {
            imagePath: state.imagePath,
            classIndex: first.classIndex,
            className: first.className,
            items: results.map(({ method, result, timeMs }) => ({
              method,
              layer: result.layer,
              overlay: renderViews(display, result.cam, state.colormap, state.opacity).overlay,
              timeMs,
              metrics: result.metrics,
            })),
          };
          host.notify({ type: 'compare', compare });
          output.appendLine(
            `[compare] ${imageName} · class ${first.classIndex} "${first.className}" · ` +
              results.map((r) => `${METHOD_LABELS[r.method]} ${Math.round(r.timeMs)} ms`).join(', '),
          );
        } finally {
          cancelFromToken.dispose();
        }
      },
    );
  } catch (error) {
    if (host.stale()) {
      return;
    }
    if (isCancelled(error) || errorCode(error) === 'cancelled') {
      output.appendLine(`[compare] ${imageName}: cancelled`);
      host.notify({ type: 'status', message: 'Comparison cancelled.' });
      return;
    }
    host.fail(`Comparing methods on ${state.imagePath}`, error);
  }
}
