// Method options: defaults filled in and every value checked before any pass runs, so a bad value
// fails at once with a message naming the option and what it accepts.
import { DEFAULT_METHOD_OPTIONS, IG_BASELINES, type IgBaseline, type MethodOptions } from '../../shared/types';
import { LensError } from '../../shared/errors';

export type ResolvedOptions = Required<Omit<MethodOptions, 'baseline'>> & { baseline: IgBaseline };

/** Patch side of occlusion when none is given: an eighth of the shorter side (8×8 patches cover a 64×64 image in 8 steps). */
export function defaultPatch(height: number, width: number): number {
  return Math.max(1, Math.round(Math.min(height, width) / 8));
}

export function resolveOptions(options: MethodOptions, height: number, width: number): ResolvedOptions {
  const patch = options.patch ?? defaultPatch(height, width);
  const resolved: ResolvedOptions = {
    batchSize: options.batchSize ?? DEFAULT_METHOD_OPTIONS.batchSize,
    samples: options.samples ?? DEFAULT_METHOD_OPTIONS.samples,
    noise: options.noise ?? DEFAULT_METHOD_OPTIONS.noise,
    steps: options.steps ?? DEFAULT_METHOD_OPTIONS.steps,
    baseline: options.baseline ?? DEFAULT_METHOD_OPTIONS.baseline,
    patch,
    stride: options.stride ?? Math.max(1, Math.floor(patch / 2)),
    fill: options.fill ?? DEFAULT_METHOD_OPTIONS.fill,
    seed: options.seed ?? DEFAULT_METHOD_OPTIONS.seed,
  };
  wholeNumber('batchSize', resolved.batchSize, 1, 4096);
  wholeNumber('samples', resolved.samples, 1, 10_000);
  wholeNumber('steps', resolved.steps, 1, 10_000);
  wholeNumber('patch', resolved.patch, 1, Math.min(height, width));
  wholeNumber('stride', resolved.stride, 1, Math.min(height, width));
  wholeNumber('seed', resolved.seed, 0, 2 ** 31 - 1);
  if (!Number.isFinite(resolved.noise) || resolved.noise < 0 || resolved.noise > 10) {
    throw new LensError(`Option noise must be a number from 0 to 10 (a fraction of the input's value range), not ${resolved.noise}.`, 'bad-request');
  }
  if (!Number.isFinite(resolved.fill) || resolved.fill < 0 || resolved.fill > 1) {
    throw new LensError(`Option fill must be a gray level from 0 (black) to 1 (white), not ${resolved.fill}.`, 'bad-request');
  }
  if (!(IG_BASELINES as readonly string[]).includes(resolved.baseline)) {
    throw new LensError(`Option baseline must be one of ${IG_BASELINES.join(', ')}, not "${resolved.baseline}".`, 'bad-request');
  }
  return resolved;
}

function wholeNumber(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new LensError(`Option ${name} must be a whole number from ${min} to ${max}, not ${value}.`, 'bad-request');
  }
}
