// How long a comparison will take, before it runs (issue 16): Score-CAM runs one forward pass per
// channel of its layer (1280 on MobileNetV2's last layer: about 40 s) and the metrics score 86
// perturbed images per map, so a run can take a minute on a large model. The engine measures what
// one forward pass of this model costs (and one ROAD imputation per pixel); this file counts the
// passes each method and the metrics will run and multiplies. Pure arithmetic: no tensors, no
// VS Code, so the panel host, the worker and the tests share it.
import { DEFAULT_METHOD_OPTIONS, METHOD_LABELS, type MethodName, type MethodOptions } from './types';

/** Above this, the panel asks before it runs (in the panel, not a modal). */
export const CONFIRM_ABOVE_MS = 10_000;

/**
 * A gradient pass (forward + backward to the input or the layer) in forward passes. The bench's
 * medians: MobileNetV2 input gradient 88 ms / forward 26 ms = 3.4, ResNet-18 close to 3, the sample
 * model 3.0 / 1.3 = 2.3.
 */
export const GRADIENT_PASS_COST = 3;

/** Perturbed images the metrics score per map: deletion and insertion (33 each), ROAD (9 + 9), the original and the map-multiplied image. */
export const METRIC_IMAGES = 33 + 33 + 9 + 9 + 1 + 1;
/** ROAD's noisy linear imputations per map (9 fractions, most and least relevant first). */
export const METRIC_IMPUTATIONS = 18;

/** What the engine measured and knows about the run, the input of the estimate. */
export interface CompareEstimateInput {
  methods: readonly MethodName[];
  metrics: boolean;
  /** Wall time of one forward pass of one image through this model on this backend (warm). */
  forwardMs: number;
  /** Wall time of one ROAD imputation per pixel of the input (its solver is linear in pixels). */
  imputationMsPerPixel: number;
  /** Channels of the CAM layer's output (Score-CAM's forward passes); 0 when no method uses the layer. */
  channels: number;
  /** The model input's size. */
  height: number;
  width: number;
  options?: MethodOptions;
  /** Helper engines that hold the model now and share sampling batches (cnnLens.sampleWorkers). */
  helpers: number;
}

export interface MethodEstimate {
  method: MethodName;
  ms: number;
  /** Forward-pass equivalents, for the explanation ("1280 forward passes"). */
  passes: number;
  /** Why it costs what it does, for the slow ones ("1280 channels of conv_1, one forward pass each"). */
  why?: string;
}

export interface CompareEstimate {
  methods: MethodEstimate[];
  /** All the maps' metrics together (0 when not asked). */
  metricsMs: number;
  totalMs: number;
  forwardMs: number;
  helpers: number;
}

/** Patches along a side, as occlusion places them (engine/methods/occlusion.ts patchStarts): every stride, plus one flush with the end. */
export function patchCount(size: number, patch: number, stride: number): number {
  if (patch > size) {
    return 0;
  }
  const regular = Math.floor((size - patch) / stride) + 1;
  return (regular - 1) * stride === size - patch ? regular : regular + 1;
}

/** Occlusion's default patch: an eighth of the shorter side (engine/methodOptions.ts defaultPatch). */
export function defaultPatch(height: number, width: number): number {
  return Math.max(1, Math.round(Math.min(height, width) / 8));
}

/**
 * Forward-pass equivalents a method runs, and which of them are sampling batches (shared with the
 * helper engines, so divided among them).
 */
export function methodPasses(method: MethodName, input: Pick<CompareEstimateInput, 'channels' | 'height' | 'width' | 'options'>): { passes: number; shared: number; why?: string } {
  const options = input.options ?? {};
  switch (method) {
    case 'gradcam':
    case 'gradcam++':
    case 'xgradcam':
    case 'hirescam':
    case 'layercam':
    case 'saliency':
    case 'guided-backprop':
      return { passes: GRADIENT_PASS_COST, shared: 0 };
    case 'eigencam':
      return { passes: 1, shared: 0 };
    case 'guided-gradcam':
      return { passes: 2 * GRADIENT_PASS_COST, shared: 0 };
    case 'scorecam':
      return { passes: 1 + input.channels, shared: input.channels, why: `one forward pass for each of the layer's ${input.channels} channels` };
    case 'smoothgrad': {
      const samples = options.samples ?? DEFAULT_METHOD_OPTIONS.samples;
      return { passes: 1 + samples * GRADIENT_PASS_COST, shared: samples * GRADIENT_PASS_COST, why: `${samples} noisy samples, a gradient each` };
    }
    case 'integrated-gradients': {
      const steps = options.steps ?? DEFAULT_METHOD_OPTIONS.steps;
      return { passes: 1 + steps * GRADIENT_PASS_COST, shared: steps * GRADIENT_PASS_COST, why: `${steps} steps, a gradient each` };
    }
    case 'occlusion': {
      const patch = options.patch ?? defaultPatch(input.height, input.width);
      const stride = options.stride ?? Math.max(1, Math.floor(patch / 2));
      const patches = patchCount(input.height, patch, stride) * patchCount(input.width, patch, stride);
      return { passes: 1 + patches, shared: patches, why: `${patches} patch positions, a forward pass each` };
    }
  }
}

export function estimateCompare(input: CompareEstimateInput): CompareEstimate {
  const share = 1 + Math.max(0, input.helpers);
  const cost = (passes: number, shared: number): number => ((passes - shared) + shared / share) * input.forwardMs;
  const methods = input.methods.map((method): MethodEstimate => {
    const { passes, shared, why } = methodPasses(method, input);
    return { method, ms: cost(passes, shared), passes, ...(why ? { why } : {}) };
  });
  const perMap = input.metrics ? cost(METRIC_IMAGES, METRIC_IMAGES) + METRIC_IMPUTATIONS * input.height * input.width * input.imputationMsPerPixel : 0;
  const metricsMs = perMap * input.methods.length;
  const totalMs = methods.reduce((sum, m) => sum + m.ms, 0) + metricsMs;
  return { methods, metricsMs, totalMs, forwardMs: input.forwardMs, helpers: input.helpers };
}

export function needsConfirmation(estimate: CompareEstimate, thresholdMs = CONFIRM_ABOVE_MS): boolean {
  return estimate.totalMs > thresholdMs;
}

/** "about 40 s", "about 2 min", "under a second". */
export function formatDuration(ms: number): string {
  if (ms < 1000) {
    return 'under a second';
  }
  if (ms < 90_000) {
    return `about ${Math.round(ms / 1000)} s`;
  }
  return `about ${Math.round(ms / 60_000)} min`;
}

/**
 * The confirmation's words: a headline with the total, then the parts that make it long (the
 * methods above a tenth of the total, the metrics), each with why.
 */
export function describeEstimate(estimate: CompareEstimate, layer: string | undefined): { headline: string; details: string[] } {
  const headline = `This comparison will take ${formatDuration(estimate.totalMs)} (one forward pass of this model takes ${formatPassMs(estimate.forwardMs)}${estimate.helpers > 0 ? `; ${estimate.helpers} helper worker${estimate.helpers === 1 ? '' : 's'} share the batches` : ''}).`;
  const details: string[] = [];
  const slow = estimate.methods.filter((m) => m.ms >= estimate.totalMs / 10).sort((a, b) => b.ms - a.ms);
  for (const m of slow) {
    const why = m.method === 'scorecam' && layer ? m.why?.replace("the layer's", `${layer}'s`) : m.why;
    details.push(`${METHOD_LABELS[m.method]}: ${formatDuration(m.ms)}${why ? ` (${why})` : ''}`);
  }
  if (estimate.metricsMs >= estimate.totalMs / 10) {
    const maps = estimate.methods.length;
    details.push(`Faithfulness metrics: ${formatDuration(estimate.metricsMs)} (${METRIC_IMAGES} perturbed images scored for each of the ${maps} map${maps === 1 ? '' : 's'})`);
  }
  return { headline, details };
}

function formatPassMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}
