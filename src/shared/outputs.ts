// How an output and its predictions read, the same in the panel, the CLI and the model viewer: a
// class's probability as a percentage, a binary classifier's two sides with the score each is
// explained with (−z, +z), a regression's value as a number (never a percentage).
import type { ExplainedOutput, ModelOutput, OutputKind, Prediction } from './types';

/** A shape as users read it: 1×896×16 (a batch that is not fixed shows as 1). */
export function outputShapeText(shape: readonly (number | string | null)[]): string {
  return shape.map((d, i) => (typeof d === 'number' && d >= 0 ? String(d) : i === 0 ? '1' : (d ?? '?'))).join('×');
}

/** A regression value with about four significant digits, without exponent noise for usual sizes. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude >= 1e6 || magnitude < 1e-3)) return value.toExponential(3);
  return String(Number(value.toPrecision(4)));
}

/** "97.1%" for a class (or a binary side), "37.21" for a regression value. */
export function predictionValueText(prediction: Prediction): string {
  if (prediction.probability === undefined) {
    return formatValue(prediction.value ?? prediction.score);
  }
  return `${(prediction.probability * 100).toFixed(1)}%`;
}

/** What the score of an entry is, by kind: a binary side's ±z, a regression's value, a class's logit. */
export function scoreName(kind: OutputKind, index: number): string {
  if (kind === 'binary') return index === 1 ? '+z' : '−z';
  if (kind === 'regression') return 'value';
  return 'score';
}

/** A binary classifier's side as pytorch-grad-cam's target names it: "class 1: σ(z)". */
export function binarySide(index: number): string {
  return index === 1 ? 'σ(z)' : '1 − σ(z)';
}

/** "binary classifier (sigmoid)", "regression", "10 classes (softmax)": what an output is, in a few words. */
export function describeKind(output: Pick<ModelOutput, 'kind' | 'activation' | 'labels' | 'kindSource'>): string {
  const source = output.kindSource === 'sidecar' ? ', set in cnn-lens.json' : '';
  switch (output.kind) {
    case null:
      return 'not scores (cannot be explained)';
    case 'binary':
      return `binary classifier (${output.activation === 'sigmoid' ? 'sigmoid' : 'logit'}${source})`;
    case 'regression':
      return `regression, ${output.labels.length === 1 ? 'one value' : `${output.labels.length} values`}${source}`;
    default:
      return `${output.labels.length} classes${output.activation === 'softmax' ? ' (softmax)' : ''}${source}`;
  }
}

/** "output 1 "gender" (binary)", for status lines and logs; empty for the only output of a model. */
export function explainedOutputText(output: ExplainedOutput | undefined): string {
  if (!output || output.of <= 1) return '';
  return `output ${output.index} "${output.name}" (${output.kind})`;
}
