// Method option flags of the CLI (--samples, --steps, --patch...), parsed into the engine's typed
// MethodOptions. Pure: no engine import. The engine checks ranges; here only the syntax.
import { DEFAULT_METHOD_OPTIONS, IG_BASELINES, type IgBaseline, type MethodOptions } from '../shared/types';
import { UsageError } from './format';

export const METHOD_OPTION_FLAGS = {
  'batch-size': { type: 'string' },
  samples: { type: 'string' },
  noise: { type: 'string' },
  steps: { type: 'string' },
  baseline: { type: 'string' },
  patch: { type: 'string' },
  stride: { type: 'string' },
  fill: { type: 'string' },
  seed: { type: 'string' },
} as const;

const d = DEFAULT_METHOD_OPTIONS;
export const METHOD_OPTIONS_USAGE = `
Method options (used by the methods named; defaults in brackets):
  --batch-size N       inputs per forward/backward pass: scorecam, smoothgrad, integrated-gradients,
                       occlusion, metrics [${d.batchSize}]
  --samples N          smoothgrad: noisy samples [${d.samples}]
  --noise F            smoothgrad: noise std as a fraction of the input's value range [${d.noise}]
  --steps N            integrated-gradients: integration steps [${d.steps}]
  --baseline NAME      integrated-gradients: ${IG_BASELINES.join(' | ')} [${d.baseline}]
  --patch N            occlusion: patch side in model-input pixels [an eighth of the shorter side]
  --stride N           occlusion: step between patches [half the patch]
  --fill F             occlusion: patch grey level, 0 (black) to 1 (white) [${d.fill}]
  --seed N             smoothgrad noise and ROAD imputation noise [${d.seed}]
`;

type FlagValues = Partial<Record<keyof typeof METHOD_OPTION_FLAGS, string | undefined>>;

export function methodOptionsFrom(values: FlagValues): MethodOptions {
  const options: MethodOptions = {};
  const whole = (flag: keyof typeof METHOD_OPTION_FLAGS): number | undefined => {
    const text = values[flag];
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(value)) {
      throw new UsageError(`--${flag} must be a whole number, not "${text}".`);
    }
    return value;
  };
  const real = (flag: keyof typeof METHOD_OPTION_FLAGS): number | undefined => {
    const text = values[flag];
    if (text === undefined) return undefined;
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) {
      throw new UsageError(`--${flag} must be a number, not "${text}".`);
    }
    return value;
  };
  const set = <K extends keyof MethodOptions>(key: K, value: MethodOptions[K] | undefined): void => {
    if (value !== undefined) options[key] = value;
  };
  set('batchSize', whole('batch-size'));
  set('samples', whole('samples'));
  set('noise', real('noise'));
  set('steps', whole('steps'));
  set('patch', whole('patch'));
  set('stride', whole('stride'));
  set('fill', real('fill'));
  set('seed', whole('seed'));
  if (values.baseline !== undefined) {
    if (!(IG_BASELINES as readonly string[]).includes(values.baseline)) {
      throw new UsageError(`--baseline must be one of ${IG_BASELINES.join(', ')}, not "${values.baseline}".`);
    }
    options.baseline = values.baseline as IgBaseline;
  }
  return options;
}
