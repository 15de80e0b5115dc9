// How long a run will take, told before it starts when that is long. Score-CAM scores every channel
// of its layer with forward passes, `batchSize` masked images at a time: on MobileNetV2's last layer
// (1280 channels) that is 80 batches, about 40 s, where Grad-CAM takes a fraction of a second. The
// estimate comes from what this model measured in this session: the time Score-CAM took per channel
// the last time it ran (the best predictor), else one forward pass's time per batch. Above
// CONFIRM_ABOVE_MS the panel asks before it runs. Pure: no vscode, tested directly.
import { formatDuration } from '../../shared/statusLine';
import { METHOD_LABELS, type MethodName } from '../../shared/types';

/** Longer runs are confirmed in the panel first. */
export const CONFIRM_ABOVE_MS = 10_000;

/** What a model's runs measured so far (per model, per session). */
export interface MeasuredCost {
  /** One forward pass of one image (the engine's `forward` stage, when it was not reused). */
  forwardMs?: number;
  /** Score-CAM's own time divided by the channels it scored, from its last run on this model. */
  scoreCamMsPerChannel?: number;
}

export interface RunPlan {
  method: MethodName;
  layer: string;
  /** Channels of the layer's output. */
  channels: number;
  /** Masked images per forward pass (DEFAULT_METHOD_OPTIONS.batchSize unless set). */
  batchSize: number;
  backend: string;
}

export interface RunEstimate {
  ms: number;
  /** What the panel says: "Score-CAM at out_relu scores 1280 channels in 80 batches: about 40 s (a forward pass took 500 ms on wasm)." */
  text: string;
  /** The confirming button's label. */
  action: string;
}

/** The estimate for a run, when its method has one (today: Score-CAM) and a cost was measured. */
export function estimateRun(plan: RunPlan, cost: MeasuredCost): RunEstimate | undefined {
  if (plan.method !== 'scorecam' || plan.channels <= 0) {
    return undefined;
  }
  const batches = Math.ceil(plan.channels / Math.max(1, plan.batchSize));
  let ms: number;
  let basis: string;
  if (cost.scoreCamMsPerChannel !== undefined && cost.scoreCamMsPerChannel > 0) {
    ms = cost.scoreCamMsPerChannel * plan.channels;
    basis = 'from its last run on this model';
  } else if (cost.forwardMs !== undefined && cost.forwardMs > 0) {
    ms = cost.forwardMs * batches;
    basis = `a forward pass took ${formatDuration(cost.forwardMs)} on ${plan.backend}`;
  } else {
    return undefined;
  }
  const label = METHOD_LABELS[plan.method];
  return {
    ms,
    text: `${label} at ${plan.layer} scores ${plan.channels} channels in ${batches} ${batches === 1 ? 'batch' : 'batches'} of forward passes: about ${formatDuration(ms)} (${basis}).`,
    action: `Run ${label}`,
  };
}

/** Whether to ask before running. */
export function needsConfirmation(estimate: RunEstimate | undefined, thresholdMs = CONFIRM_ABOVE_MS): estimate is RunEstimate {
  return estimate !== undefined && estimate.ms > thresholdMs;
}

/** What a finished run teaches about the model's costs (kept for the next estimate). */
export function learnCost(cost: MeasuredCost, run: { method: MethodName; timings: Record<string, number>; channels?: number }): MeasuredCost {
  let next = cost;
  const forward = run.timings.forward;
  if (forward !== undefined && Number.isFinite(forward) && forward > 0) {
    next = { ...next, forwardMs: forward };
  }
  // The method's own stage: Score-CAM's scoring happens in `cam`.
  const cam = run.timings.cam;
  if (run.method === 'scorecam' && run.channels && cam !== undefined && Number.isFinite(cam) && cam > 0) {
    next = { ...next, scoreCamMsPerChannel: cam / run.channels };
  }
  return next;
}
