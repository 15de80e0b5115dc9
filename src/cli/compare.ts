// `cnn-lens compare IMAGE --model PATH [--methods a,b,c] --out grid.png [--json FILE|-] [--metrics]`:
// several methods on one image, for the same class (the first method's, default top-1) and layer,
// written as a labelled grid of overlays with each method's time (and metrics when asked).
import * as path from 'path';
import { INPUT_LEVEL_METHODS, METHOD_LABELS, METHOD_NAMES, RANK_METRICS, RANK_METRIC_NAMES, rankByMetric, type FaithfulnessMetrics, type MethodName, type RankMetric } from '../shared/types';
import { backendLine, detailForModel } from '../shared/backendText';
import { UsageError, camResultToJson } from './format';
import { formatValue } from '../shared/outputs';
import type { CamResult } from '../shared/types';
import type { CommonOptions, Values } from './session';
import { openExplainSession, renderOptions, writeFile } from './session';
import { methodOptionsFrom } from './methodFlags';
import type { CaptionLine } from '../engine/index';

export function parseMethodList(text: string | undefined): MethodName[] {
  if (text === undefined) {
    return [...METHOD_NAMES];
  }
  const names = text.split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (names.length === 0) {
    throw new UsageError('--methods needs at least one method name.');
  }
  for (const name of names) {
    if (!(METHOD_NAMES as readonly string[]).includes(name)) {
      throw new UsageError(`--methods: unknown method "${name}"; methods: ${METHOD_NAMES.join(', ')}.`);
    }
  }
  return [...new Set(names)] as MethodName[];
}

export async function runCompare(positionals: string[], values: Values, common: CommonOptions): Promise<number> {
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'IMAGE is required.' : `Expected one IMAGE, got ${positionals.length}.`);
  }
  if (values.method !== undefined) {
    throw new UsageError('compare takes --methods a,b,c, not --method.');
  }
  const imagePath = path.resolve(positionals[0]);
  const methods = parseMethodList(values.methods);
  const { colormap, alpha, topK } = renderOptions(values);
  const options = methodOptionsFrom(values);
  let rankBy: RankMetric | undefined;
  if (values['rank-by'] !== undefined) {
    if (!(RANK_METRIC_NAMES as string[]).includes(values['rank-by'])) {
      throw new UsageError(`--rank-by must be one of ${RANK_METRIC_NAMES.join(', ')}, not "${values['rank-by']}".`);
    }
    rankBy = values['rank-by'] as RankMetric;
  }
  const metrics = values.metrics || rankBy !== undefined;
  const columns = values.columns === undefined ? 4 : Number(values.columns);
  if (!Number.isInteger(columns) || columns < 1 || columns > 16) {
    throw new UsageError(`--columns must be a whole number from 1 to 16, not "${values.columns}".`);
  }

  const { engine, backendReport, model, image, classIndex, output, samplePool, close } = await openExplainSession(common, values, imagePath);
  try {
    let lastMessage = '';
    const compared = await engine.compareMethods(model, image, methods, { layer: values.layer, classIndex, output: output.index, topK, options, metrics }, {
      samplePool,
      onProgress: (p) => {
        // One line per method as it starts, on stderr, so --json - stays clean.
        const method = p.message.split(' ')[0];
        if (method !== lastMessage) {
          lastMessage = method;
          process.stderr.write(`${p.message.split(':')[0]}…\n`);
        }
      },
    });
    const ordered = rankBy ? rankByMetric(compared.map((c) => ({ ...c, metrics: c.result.metrics })), rankBy) : compared;
    const first = compared[0].result;
    const tiles = [
      { image, lines: ['Input', `${first.className} (class ${first.classIndex})`, inputTileScore(first)] },
      ...ordered.map(({ method, result, timeMs }) => ({
        image: engine.renderOverlay(image, result.cam, colormap, alpha),
        lines: tileLines(method, result.layer, timeMs, result.metrics, INPUT_LEVEL_METHODS.includes(method)),
      })),
    ];
    const outPath = path.resolve(values.out ?? `${path.parse(imagePath).name}.compare.png`);
    writeFile(outPath, await engine.encodePng(engine.renderCompareGrid(tiles, { columns })));
    const json = {
      image: imagePath,
      model: model.summary.path,
      backend: first.backend,
      backendDetail: backendReport.detail,
      classIndex: first.classIndex,
      className: first.className,
      output: first.output,
      grid: outPath,
      ...(rankBy ? { rankBy } : {}),
      methods: ordered.map(({ method, result, timeMs, metricsMs }) => ({ ...camResultToJson(result, {}), method, timeMs, ...(metricsMs !== undefined ? { metricsMs } : {}) })),
    };
    if (values.json === '-') {
      process.stdout.write(JSON.stringify(json) + '\n');
    } else {
      if (values.json) {
        writeFile(path.resolve(values.json), JSON.stringify(json) + '\n');
      }
      const lines = [`Backend: ${backendLine(first.backend === 'onnxruntime' ? detailForModel(backendReport, 'onnx') : detailForModel(backendReport, ''), values.verbose === true)}`];
      if (first.output.of > 1) {
        lines.push(`Output: ${first.output.index} "${first.output.name}" (${first.output.kind})`);
      }
      lines.push(`Class: ${first.className} (class ${first.classIndex})`);
      for (const { method, result, timeMs, metricsMs } of ordered) {
        const m = result.metrics;
        // The method's own time first; its metrics' time apart (they score ~86 images and often dominate).
        const metricText = m
          ? `  deletion ${m.deletion.auc.toFixed(3)}  insertion ${m.insertion.auc.toFixed(3)}  ROAD ${m.roadCombined.toFixed(3)}  confidence ${m.confidenceChange.toFixed(3)}  (metrics ${formatMs(metricsMs ?? m.timeMs)})`
          : '';
        lines.push(`  ${METHOD_LABELS[method].padEnd(21)} ${formatMs(timeMs).padStart(8)}${metricText}`);
      }
      if (rankBy) {
        lines.push(`Ranked by ${RANK_METRICS[rankBy].label} (${RANK_METRICS[rankBy].better} is better).`);
      }
      lines.push(`Grid written to ${outPath}`);
      if (values.json) {
        lines.push(`JSON written to ${path.resolve(values.json)}`);
      }
      process.stdout.write(lines.join('\n') + '\n');
    }
    return 0;
  } finally {
    close();
  }
}


function tileLines(method: MethodName, layer: string, timeMs: number, metrics: FaithfulnessMetrics | undefined, inputLevel: boolean): CaptionLine[] {
  // The layer name is shortened from the left to fit the tile (its full name is in the JSON).
  const lines: CaptionLine[] = [METHOD_LABELS[method], { text: `${formatMs(timeMs)} - `, name: inputLevel ? 'input' : layer }];
  if (metrics) {
    lines.push(`del ${metrics.deletion.auc.toFixed(3)}  ins ${metrics.insertion.auc.toFixed(3)}`);
    lines.push(`road ${metrics.roadCombined.toFixed(3)}  conf ${metrics.confidenceChange >= 0 ? '+' : ''}${metrics.confidenceChange.toFixed(3)}`);
  }
  return lines;
}

/** The input tile's last line: the class's probability, or a regression's value. */
function inputTileScore(result: CamResult): string {
  const prediction = result.predictions.find((p) => p.index === result.classIndex);
  if (result.output.kind === 'regression') {
    return `value = ${formatValue(result.score)}`;
  }
  return `p = ${(prediction?.probability ?? 0).toFixed(3)}`;
}

function formatMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
