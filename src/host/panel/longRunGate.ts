// Long runs ask first. What each model's runs measured this session feeds an estimate
// (./runEstimate.ts) before a run that may be long (Score-CAM on a wide layer); above the threshold
// the panel shows the estimate with a button to run it, and the run waits for the answer. A run the
// user confirmed is not asked again this session. No vscode: test/unit/longRunGate.test.ts.
import { DEFAULT_METHOD_OPTIONS, type MethodName, type ModelSummary } from '../../shared/types';
import { estimateRun, learnCost, needsConfirmation, type MeasuredCost } from './runEstimate';
import { t } from '../../shared/l10n';

/** The question the panel shows (ConfirmRunNotification's `confirm`). */
export interface LongRunQuestion {
  id: number;
  text: string;
  action: string;
}

/** What a check may need: one timed forward pass, and a progress line while it runs. */
export interface TimingPass {
  /** Runs a Grad-CAM at the layer and returns its timings (a forward pass the Score-CAM then reuses). */
  timeForwardPass(): Promise<Record<string, number>>;
  step(message: string): void;
}

/** Channels of a layer's 4-D output (channels last, as the engine keeps every format), if it has one. */
export function channelsOf(summary: ModelSummary, layer: string): number | undefined {
  const shape = summary.layers.find((l) => l.name === layer)?.outputShape;
  const channels = shape && shape.length === 4 ? shape[3] : undefined;
  return typeof channels === 'number' && channels > 0 ? channels : undefined;
}

export class LongRunGate {
  /** What each model's runs measured this session, by model path. */
  private readonly costs = new Map<string, MeasuredCost>();
  /** Long runs the user confirmed (model, method, layer). */
  private readonly confirmed = new Set<string>();
  private waiting: (LongRunQuestion & { key: string }) | undefined;
  private nextId = 0;

  /** Keeps what a run measured for the next estimate. */
  learn(summary: ModelSummary, method: MethodName, layer: string, timings: Record<string, number>): void {
    const cost = this.costs.get(summary.path) ?? {};
    this.costs.set(summary.path, learnCost(cost, { method, timings, channels: channelsOf(summary, layer) }));
  }

  /**
   * Undefined when the run may go ahead: it is short, or the user confirmed it before. Otherwise the
   * question to show; the run must end and wait for answer(). A Score-CAM on a model whose forward
   * pass was never timed first times one.
   */
  async check(summary: ModelSummary, method: MethodName, layer: string, backend: string, timing: TimingPass): Promise<LongRunQuestion | undefined> {
    const key = `${summary.path}\n${method}\n${layer}`;
    const channels = channelsOf(summary, layer);
    if (method !== 'scorecam' || channels === undefined || this.confirmed.has(key)) {
      return undefined;
    }
    const plan = { method, layer, channels, batchSize: DEFAULT_METHOD_OPTIONS.batchSize, backend };
    let cost = this.costs.get(summary.path) ?? {};
    if (cost.forwardMs === undefined && cost.scoreCamMsPerChannel === undefined && channels > 4 * plan.batchSize) {
      timing.step(t('Timing one forward pass for an estimate…'));
      this.learn(summary, 'gradcam', layer, await timing.timeForwardPass());
      cost = this.costs.get(summary.path) ?? {};
    }
    const estimate = estimateRun(plan, cost);
    if (!needsConfirmation(estimate)) {
      return undefined;
    }
    this.waiting = { id: ++this.nextId, key, text: estimate.text, action: estimate.action };
    return this.question;
  }

  /** The question waiting for the user's answer, if any. */
  get question(): LongRunQuestion | undefined {
    return this.waiting && { id: this.waiting.id, text: this.waiting.text, action: this.waiting.action };
  }

  /** Another choice replaced the waiting run: true when a question was withdrawn (the page must hide it). */
  withdraw(): boolean {
    const had = this.waiting !== undefined;
    this.waiting = undefined;
    return had;
  }

  /**
   * The user's answer to question `id`: the question answered (undefined for an old one, whose run
   * was replaced meanwhile). A yes is remembered: that run is not asked about again.
   */
  answer(id: number, run: boolean): LongRunQuestion | undefined {
    const waiting = this.waiting;
    if (!waiting || waiting.id !== id) {
      return undefined;
    }
    this.waiting = undefined;
    if (run) {
      this.confirmed.add(waiting.key);
    }
    return { id: waiting.id, text: waiting.text, action: waiting.action };
  }
}
