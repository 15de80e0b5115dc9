// `cnn-lens`: the engine without VS Code, for scripts, CI and benchmarks. It runs the same engine
// calls as the extension's worker and writes the same result types (as JSON) plus PNG images.
// Exit codes: 0 success, 2 bad usage (usage text printed), 1 failure (one line naming the file and
// what is wrong; the stack only with --verbose).
import * as path from 'path';
import { parseArgs } from 'util';
import { BACKEND_CHOICES, COLORMAPS, INPUT_LEVEL_METHODS, METHOD_NAMES } from '../shared/types';
import type { CamResult, LayerInfo, MethodName, ModelSummary } from '../shared/types';
import { runActivations, runFilters, type InspectIo } from './inspect';
import { FORMAT_NAMES } from '../shared/modelFormats';
import { pytorchInputNote, untrainedNotice } from '../shared/modelNotes';
import { backendLine, detailForModel } from '../shared/backendText';
import { formatShape } from '../shared/shapes';
import { binarySide, describeKind, formatValue, outputShapeText, predictionValueText, scoreName } from '../shared/outputs';
import { DEFAULT_MAX_IMAGE_MEGAPIXELS } from '../shared/imageLimit';
import { runCompare } from './compare';
import { UsageError, formatLayerTable, camResultToJson, describeDetails, describeMetrics } from './format';
import { methodOptionsFrom, METHOD_OPTIONS_USAGE } from './methodFlags';
import { loadCliModel } from './loadModel';
import { OPTIONS, commonOptions, openExplainSession, renderOptions, writeFile, type Values } from './session';
export type { CommonOptions } from './loadModel';
export { writeFile } from './session';

const USAGE = `Usage:
  cnn-lens METHOD IMAGE --model PATH [options]
  cnn-lens compare IMAGE --model PATH [--methods a,b,c] [--out grid.png] [--json FILE|-] [--metrics]
  cnn-lens layers --model PATH [--json FILE|-]
  cnn-lens activations IMAGE --model PATH --layer NAME [--out grid.png] [--json FILE|-]
  cnn-lens filters --model PATH --layer NAME [--out grid.png] [--json FILE|-]

Commands:
  METHOD    Explain IMAGE with one method and write the overlay as a PNG. Methods:
            ${METHOD_NAMES.join(', ')}
            (gradcam also takes --method NAME, as before)
  compare   Run several methods (default: all) on IMAGE for the same class and layer; write a
            labelled grid of overlays with each method's time (and metrics with --metrics).
  layers    List the model's layers (name, type, output shape, params; * marks the default CAM layer)
            and its outputs (name, shape, kind).
  activations  Every channel of a layer's output for IMAGE as a labelled grid PNG (2-D layers: unit values).
  filters      A layer's kernels as a labelled grid PNG (blue negative, grey zero, red positive).

Options:
  --model PATH         model file: a PyTorch model.py (model.py:ClassName to pick one class;
                       also a TorchScript or pickled-model .pt), TF.js model.json, .onnx,
                       Keras .keras or .h5; labels.txt / cnn-lens.json beside it are read
  --checkpoint FILE    PyTorch: the weights (default: cnn-lens.json's "checkpoint", else the
                       .pt/.pth/.ckpt with the .py's name, else the only one beside it)
  --python PATH        PyTorch: the Python with torch that runs the model (default:
                       $CNN_LENS_PYTHON, else the first python3/python on the PATH with torch)
  --layer NAME         target layer (default: last 4-D layer before the head)
  --class INDEX|LABEL  class to explain (default: the top-1 prediction; a binary output's classes
                       are 0 = 1 − σ(z) and 1 = σ(z); a regression's value is class 0)
  --output N|NAME      the output to explain, by index in the model's output order or by name
                       (default: the first; \`cnn-lens layers\` lists them)
  --method NAME        ${METHOD_NAMES.join(' | ')} (default: gradcam)
  --colormap NAME      ${COLORMAPS.join(' | ')} (default: jet)
  --alpha A            heatmap opacity in the overlay, 0..1 (default: 0.5)
  --mean r,g,b         per-channel mean after scaling to [0,1] (overrides cnn-lens.json)
  --std r,g,b          per-channel std (overrides cnn-lens.json)
  --backend NAME       ${BACKEND_CHOICES.join(' | ')} (default: auto = onnxruntime for ONNX/PyTorch where it loads; node if installed, else wasm, else cpu)
  --top-k K            number of predictions reported (default: 5)
  --max-image-megapixels M  larger images are refused before decoding (default: ${DEFAULT_MAX_IMAGE_MEGAPIXELS};
                       each megapixel costs about 40 MB while the image is prepared)
  --sample-workers N   helper workers sharing the batches of sampling methods and metrics
                       (default 0; each starts an engine and loads the model: worth it for
                       large models and many samples)
  --out FILE           overlay PNG (default: <image name>.gradcam.png in the current folder)
  --heatmap FILE       also write the colorized heatmap PNG at the image's resolution
  --json FILE|-        write the result as JSON (to FILE, or "-" for standard output)
  --metrics            add faithfulness metrics (deletion/insertion AUC, ROAD, confidence change)
  --methods a,b,c      compare: the methods to run (default: all)
  --rank-by METRIC     compare: order the grid by deletion | insertion | road | confidence
  --columns N          compare: tiles per row of the grid (default 4)
${METHOD_OPTIONS_USAGE}  --verbose            print stack traces on errors

Options of activations and filters:
  --scale channel|shared | filter|shared   one color scale per channel/filter (default) or one for the layer
  --sort index|mean|max                   activations: channel order (default index; units top first)
  --hide-dead                             activations: leave out channels that are zero everywhere
  --mode rgb|mean|channels                filters: RGB patch (3 inputs, default there), mean over
                                          inputs (default elsewhere), or a tile per input channel
  --colormap NAME                         activations: ${COLORMAPS.join(' | ')} (default: viridis)
  -h, --help           show this help
`;

export async function main(argv: string[]): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true }));
  } catch (error) {
    return usageFailure(error instanceof Error ? error.message : String(error));
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    const [command, ...rest] = positionals;
    switch (command) {
      case 'layers':
        return await runLayers(rest, values);
      case 'activations':
        return await runActivations(rest, values, inspectIo(values));
      case 'filters':
        return await runFilters(rest, values, inspectIo(values));
      case 'compare':
        return await runCompare(rest, values, commonOptions(values));
      case undefined:
        throw new UsageError('No command given.');
      default:
        if ((METHOD_NAMES as readonly string[]).includes(command)) {
          return await runExplain(command as MethodName, rest, values);
        }
        throw new UsageError(`Unknown command "${command}"; commands: ${METHOD_NAMES.join(', ')}, compare, layers.`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      return usageFailure(error.message, positionals.length === 0);
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`cnn-lens: ${message}\n`);
    if (values.verbose && error instanceof Error && error.stack) {
      process.stderr.write(error.stack + '\n');
    }
    return 1;
  }
}

/**
 * A usage error is the one line that says what is wrong and how to see the options; the whole usage
 * only when no command was given (the user is finding out what the CLI does).
 */
function usageFailure(message: string, showUsage = false): number {
  process.stderr.write(showUsage ? `cnn-lens: ${message}\n\n${USAGE}` : `cnn-lens: ${message}\nRun "cnn-lens --help" for the commands and options.\n`);
  return 2;
}

async function runExplain(command: MethodName, positionals: string[], values: Values): Promise<number> {
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'IMAGE is required.' : `Expected one IMAGE, got ${positionals.length}.`);
  }
  const imagePath = path.resolve(positionals[0]);
  const common = commonOptions(values);
  // `gradcam IMAGE --method NAME` is the original spelling and still works; other commands are their own method.
  let method = command;
  if (values.method !== undefined) {
    if (!(METHOD_NAMES as readonly string[]).includes(values.method)) {
      throw new UsageError(`--method must be one of ${METHOD_NAMES.join(', ')}, not "${values.method}".`);
    }
    if (command !== 'gradcam' && values.method !== command) {
      throw new UsageError(`"${command}" is a method; --method ${values.method} contradicts it (use "cnn-lens ${values.method} IMAGE").`);
    }
    method = values.method as MethodName;
  }
  const { colormap, alpha, topK } = renderOptions(values);
  const options = methodOptionsFrom(values);

  const { engine, backendReport, model, image, classIndex, output, samplePool, close } = await openExplainSession(common, values, imagePath);
  try {
    const result = await engine.explain(model, image, { method, layer: values.layer, classIndex, output: output.index, topK, options, metrics: values.metrics }, { samplePool });

    const outPath = path.resolve(values.out ?? `${path.parse(imagePath).name}.${method}.png`);
    const overlay = engine.renderOverlay(image, result.cam, colormap, alpha);
    writeFile(outPath, await engine.encodePng(overlay));
    if (values.heatmap) {
      const heatmap = engine.renderHeatmap(result.cam, image.width, image.height, colormap);
      writeFile(path.resolve(values.heatmap), await engine.encodePng(heatmap));
    }
    const json = camResultToJson(result, {
      backendDetail: backendReport.detail,
      model: model.summary.path,
      image: imagePath,
      imageSize: { width: image.width, height: image.height },
      overlay: outPath,
    });
    if (values.json === '-') {
      process.stdout.write(JSON.stringify(json) + '\n');
    } else {
      if (values.json) {
        writeFile(path.resolve(values.json), JSON.stringify(json) + '\n');
      }
      process.stdout.write(describeResult(result, backendLine(result.backend === 'onnxruntime' ? detailForModel(backendReport, 'onnx') : detailForModel(backendReport, ''), values.verbose === true), model.summary, outPath, values.json));
    }
    return 0;
  } finally {
    close();
  }
}

async function runLayers(positionals: string[], values: Values): Promise<number> {
  if (positionals.length !== 0) {
    throw new UsageError(`"layers" takes no positional arguments (got ${positionals.join(' ')}).`);
  }
  const common = commonOptions(values);
  const engine = await import('../engine/index');
  await engine.initBackend(common.backend);
  const model = await loadCliModel(common, values.verbose === true);
  try {
    const summary = model.summary;
    if (values.json) {
      const text = JSON.stringify(summary, null, 2) + '\n';
      if (values.json === '-') {
        process.stdout.write(text);
        return 0;
      }
      writeFile(path.resolve(values.json), text);
    }
    process.stdout.write(formatLayerTable(summary.layers as LayerInfo[], summary.defaultCamLayer, summary.shapeOrder));
    const [height, width, channels] = summary.inputShape;
    const shown = summary.outputs[summary.defaultOutput];
    process.stdout.write(
      `\n${summary.layers.length} layers, ${summary.totalParams.toLocaleString('en-US')} parameters, ` +
        `input ${formatShape([null, height, width, channels], summary.shapeOrder)}, ${summary.outputs.length > 1 ? `${summary.outputs.length} outputs` : describeKind(shown)}\n`,
    );
    process.stdout.write(formatOutputTable(summary));
    const notice = untrainedNotice(summary);
    if (notice) {
      process.stdout.write(`${notice}\n`);
    }
    process.stdout.write(`Format: ${FORMAT_NAMES[summary.format]}${summary.formatDetail ? ` (${summary.formatDetail})` : ''}\n`);
    return 0;
  } finally {
    model.dispose();
  }
}

export function describeResult(
  result: CamResult,
  /** The backend as told to people (backendLine). */
  backend: string,
  summary: ModelSummary,
  outPath: string,
  jsonPath: string | undefined,
): string {
  const lines = [`Backend: ${backend}`, `Model: ${summary.path}`];
  const input = pytorchInputNote(summary, result.cam.width, result.cam.height);
  if (input) {
    lines.push(`PyTorch: ${summary.pytorch?.builtWith}, ${input}`);
  }
  const notice = untrainedNotice(summary);
  if (notice) {
    lines.push(notice);
  }
  const output = summary.outputs[result.output.index];
  if (result.output.of > 1 || result.output.kind !== 'classes') {
    lines.push(`Output: ${result.output.index} "${result.output.name}" (${output ? describeKind(output) : result.output.kind}${result.output.of > 1 ? `; ${result.output.of} outputs` : ''})`);
  }
  const kind = result.output.kind;
  lines.push(kind === 'regression' ? 'Values:' : 'Top predictions:');
  for (const p of result.predictions) {
    const entry = kind === 'binary' ? `class ${p.index}: ${binarySide(p.index)}` : kind === 'regression' ? `value ${p.index}` : `class ${p.index}`;
    lines.push(`  ${predictionValueText(p).padStart(kind === 'regression' ? 10 : 6)}  ${p.label} (${entry})`);
  }
  const where = (INPUT_LEVEL_METHODS as readonly string[]).includes(result.method) ? 'at the input' : `at layer "${result.layer}"`;
  const explained =
    kind === 'regression'
      ? `"${result.className}" = ${formatValue(result.score)} (value ${result.classIndex})`
      : kind === 'binary'
        ? `"${result.className}" (class ${result.classIndex}: ${binarySide(result.classIndex)}, ${scoreName(kind, result.classIndex)} = ${formatValue(result.score)})`
        : `"${result.className}" (class ${result.classIndex}, score ${result.score.toFixed(3)})`;
  lines.push(`${result.method} of ${explained} ${where}`);
  lines.push(...describeDetails(result));
  if (result.metrics) {
    lines.push(...describeMetrics(result.metrics));
  }
  lines.push(`Overlay written to ${outPath}`);
  if (jsonPath) {
    lines.push(`JSON written to ${path.resolve(jsonPath)}`);
  }
  return lines.join('\n') + '\n';
}

/** The outputs as `layers` prints them: index, name, shape, kind, labels; * marks the default. */
export function formatOutputTable(summary: ModelSummary): string {
  const rows = summary.outputs.map((o) => [
    `${o.index === summary.defaultOutput ? '*' : ' '} ${o.index}`,
    o.name,
    outputShapeText(o.shape),
    describeKind(o),
    o.kind === null ? '' : o.labelsSource ? `labels from ${path.basename(o.labelsSource)}` : o.kind === 'binary' ? 'class 0: 1 − σ(z), class 1: σ(z)' : '',
  ]);
  const header = ['  #', 'output', 'shape', 'kind', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  return `\n${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** What the inspection commands (src/cli/inspect.ts) need from this file. */
function inspectIo(values: Values): InspectIo {
  return { ...commonOptions(values), writeFile, stdout: (text) => process.stdout.write(text) };
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`cnn-lens: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
