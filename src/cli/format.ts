// Pure helpers of the CLI: argument parsing and output formatting. No engine import, so they are
// testable without tfjs and the CLI can report usage errors before loading it.
import { formatShape, type ShapeOrder } from '../shared/shapes';
import type { CamResult, FaithfulnessMetrics, LayerInfo, Map2D } from '../shared/types';

/** A mistake in the command line: exit code 2 with the usage text. */
export class UsageError extends Error {}

export function parseNumberList(flag: string, text: string): number[] {
  const parts = text.split(',').map((part) => part.trim());
  const values = parts.map(Number);
  if (parts.length === 0 || parts.some((p) => p === '') || values.some((v) => !Number.isFinite(v))) {
    throw new UsageError(`${flag} must be comma-separated numbers like 0.485,0.456,0.406, not "${text}".`);
  }
  if (values.length !== 1 && values.length !== 3) {
    throw new UsageError(`${flag} takes 1 or 3 numbers (one per channel), got ${values.length}.`);
  }
  return values;
}

/** `--class` accepts an index or a label (exact, then case-insensitive). */
export function parseClassArg(text: string, labels: string[]): number {
  if (/^\d+$/.test(text.trim())) {
    return Number(text.trim());
  }
  const exact = labels.indexOf(text);
  if (exact >= 0) {
    return exact;
  }
  const lower = text.toLowerCase();
  const loose = labels.findIndex((label) => label.toLowerCase() === lower);
  if (loose >= 0) {
    return loose;
  }
  const shown = labels.slice(0, 12).map((l) => `"${l}"`).join(', ');
  throw new UsageError(`--class "${text}" is neither a class index nor a label of this model (labels: ${shown}${labels.length > 12 ? ', …' : ''}).`);
}

export function formatLayerTable(layers: LayerInfo[], defaultCamLayer: string, order?: ShapeOrder): string {
  const rows = layers.map((layer) => [
    (layer.name === defaultCamLayer ? '* ' : '  ') + '  '.repeat(layer.depth) + layer.name,
    layer.className,
    formatShape(layer.outputShape, order),
    layer.params.toLocaleString('en-US'),
  ]);
  const header = ['  name', 'type', 'output shape', 'params'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

function mapToJson(map: Map2D): { width: number; height: number; data: number[] } {
  return { width: map.width, height: map.height, data: Array.from(map.data, shortestFloat32) };
}

/** The CLI's --json shape (issue 2), plus provenance fields. */
export function camResultToJson(result: CamResult, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    method: result.method,
    backend: result.backend,
    layer: result.layer,
    classIndex: result.classIndex,
    className: result.className,
    score: result.score,
    output: result.output,
    // A regression's entries are values (no probability); a binary output's are its two sides.
    predictions: result.predictions.map((p) =>
      p.probability === undefined ? { index: p.index, label: p.label, value: p.value ?? p.score, score: p.score } : { index: p.index, label: p.label, probability: p.probability, score: p.score },
    ),
    cam: mapToJson(result.cam),
    layerCam: mapToJson(result.layerCam),
    timings: result.timings,
    ...(result.details ? { details: result.details } : {}),
    ...(result.metrics ? { metrics: result.metrics } : {}),
    ...extra,
  };
}

/** Lines about what a method did beyond the map: options, passes, Integrated Gradients' completeness. */
export function describeDetails(result: CamResult): string[] {
  const details = result.details;
  if (!details) {
    return [];
  }
  const lines: string[] = [];
  const options = Object.entries(details.options).map(([key, value]) => `${key} ${value}`);
  if (options.length > 0 || details.passes > 1) {
    const elsewhere = details.inputsElsewhere ? `, and ${details.inputsElsewhere} inputs on sample workers` : '';
    lines.push(`Options: ${options.length ? options.join(', ') : 'none'}; ${details.passes} passes over ${details.inputsScored} inputs${elsewhere}`);
  }
  const check = details.completeness;
  if (check) {
    lines.push(
      `Completeness: sum of attributions ${check.attributionSum.toFixed(4)} vs score(x) − score(baseline) ` +
        `${check.scoreDifference.toFixed(4)} (error ${(check.relativeError * 100).toFixed(2)}%${check.relativeError > 0.05 ? '; use more --steps' : ''})`,
    );
  }
  return lines;
}

/** The metrics as text lines: which direction is better is said each time. */
export function describeMetrics(metrics: FaithfulnessMetrics): string[] {
  const f = (v: number) => v.toFixed(3);
  const base = metrics.scoreKind === 'value' ? `value ${f(metrics.probability)}; curves follow the value` : `class probability ${f(metrics.probability)}`;
  return [
    `Metrics (${base}; ${metrics.passes} passes over ${metrics.inputsScored} inputs):`,
    `  deletion AUC ${f(metrics.deletion.auc)} (lower is better), insertion AUC ${f(metrics.insertion.auc)} (higher is better)`,
    `  ROAD most-relevant-first AUC ${f(metrics.roadMostRelevantFirst.auc)}, least-relevant-first AUC ${f(metrics.roadLeastRelevantFirst.auc)}, combined ${f(metrics.roadCombined)} (higher is better)`,
    `  ${metrics.scoreKind === 'value' ? 'value' : 'confidence'} change when the image is multiplied by the map ${metrics.confidenceChange >= 0 ? '+' : ''}${f(metrics.confidenceChange)} (higher is better)`,
  ];
}

/**
 * The shortest decimal that reads back as the same float32. A plain float32→double conversion
 * prints false digits (0.3f becomes 0.30000001192092896); this keeps JSON short and exact.
 */
export function shortestFloat32(value: number): number {
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === Math.fround(value)) {
      return candidate;
    }
  }
  return Number(value.toPrecision(9));
}
