// `cnn-lens activations` and `cnn-lens filters`: the layer inspection views without VS Code. The
// grid PNG draws every channel (or filter) with its index above it; the JSON carries the raw numbers
// (shape plus row-major data per channel or filter) so results can be checked outside the tool;
// filters in the source's own order (HWIO for tfjs and TensorFlow, OIHW for ONNX and PyTorch), so
// a filter's data is weight[f] of the tensor in the user's code.
import * as path from 'path';
import {
  ACTIVATION_SCALES,
  ACTIVATION_SORTS,
  COLORMAPS,
  FILTER_LAYOUT_AXES,
  FILTER_LAYOUT_SOURCES,
  FILTER_MODES,
  FILTER_SCALES,
  filterBankShape,
  filterShape,
  type ActivationScale,
  type ActivationSort,
  type ColormapName,
  type FilterMode,
  type FilterScale,
} from '../shared/types';
import { backendLine, detailForModel } from '../shared/backendText';
import { UsageError, shortestFloat32 } from './format';
import { loadCliModel } from './loadModel';
import type { CommonOptions } from './loadModel';

export interface InspectValues {
  layer?: string;
  colormap?: string;
  scale?: string;
  sort?: string;
  'hide-dead'?: boolean;
  mode?: string;
  out?: string;
  json?: string;
}

export interface InspectIo extends CommonOptions {
  writeFile(filePath: string, data: Uint8Array | string): void;
  stdout(text: string): void;
}

/** Pages the engine hands out are bounded; the CLI walks all of them for one picture. */
const ALL = 512;

function oneOf<T extends string>(flag: string, value: string | undefined, choices: readonly T[], fallback: T): T {
  if (value === undefined) {
    return fallback;
  }
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`${flag} must be one of ${choices.join(', ')}, not "${value}".`);
  }
  return value as T;
}

function requireLayer(values: InspectValues): string {
  if (!values.layer) {
    throw new UsageError('--layer NAME is required (list them with: cnn-lens layers --model PATH).');
  }
  return values.layer;
}

function floats(values: ArrayLike<number>): number[] {
  return Array.from(values, shortestFloat32);
}

/**
 * Ends a command's output: the JSON (built only when asked) to its file, or alone on standard
 * output with "-"; the summary lines on standard output unless the JSON took it.
 */
function report(io: InspectIo, jsonTarget: string | undefined, lines: string[], json: () => unknown): void {
  if (jsonTarget) {
    const text = JSON.stringify(json()) + '\n';
    if (jsonTarget === '-') {
      io.stdout(text);
      return;
    }
    io.writeFile(path.resolve(jsonTarget), text);
    lines.push(`JSON written to ${path.resolve(jsonTarget)}`);
  }
  io.stdout(lines.join('\n') + '\n');
}

export async function runActivations(positionals: string[], values: InspectValues, io: InspectIo): Promise<number> {
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'IMAGE is required.' : `Expected one IMAGE, got ${positionals.length}.`);
  }
  const imagePath = path.resolve(positionals[0]);
  const layer = requireLayer(values);
  const colormap = oneOf<ColormapName>('--colormap', values.colormap, COLORMAPS, 'viridis');
  const scale = oneOf<ActivationScale>('--scale', values.scale, ACTIVATION_SCALES, 'channel');
  const sort = values.sort === undefined ? undefined : oneOf<ActivationSort>('--sort', values.sort, ACTIVATION_SORTS, 'index');
  const hideDead = values['hide-dead'] === true;

  const engine = await import('../engine/index');
  const backend = await engine.initBackend(io.backend);
  const image = await engine.readImage(imagePath, { maxPixels: io.maxImagePixels });
  const model = await loadCliModel(io, false, image);
  try {
    const acts = await engine.computeActivations(model, image, layer);
    const pages = [];
    for (let page = 0, count = 1; page < count; page++) {
      const next = engine.activationPage(acts, { layer, page, pageSize: ALL, sort, scale, hideDead });
      count = next.pageCount;
      pages.push(next);
    }
    const first = pages[0];
    const lines = [
      `Backend: ${backendLine(detailForModel(backend, '', true))}`,
      `Layer "${layer}" (${engine.shownClassName(model.summary, layer, acts.className)}): ${acts.kind === 'maps' ? `${acts.channels} channels of ${acts.height}×${acts.width}` : `${acts.channels} units`}, ` +
        `values ${first.layerMin.toPrecision(4)} to ${first.layerMax.toPrecision(4)}, ${first.deadCount} dead (all zero)`,
    ];
    if (acts.kind === 'units') {
      const top = pages.flatMap((p) => Array.from(p.channels, (c, i) => ({ c, v: p.max[i] }))).slice(0, 10);
      lines.push(`Top units: ${top.map(({ c, v }) => `${c} (${v.toPrecision(4)})`).join(', ')}`);
    }
    if (values.out || acts.kind === 'maps') {
      const outPath = path.resolve(values.out ?? `${path.parse(imagePath).name}.${layer.replace(/[\\/]/g, '_')}.activations.png`);
      if (acts.kind === 'maps') {
        const tiles = pages.flatMap((p) => mapTiles(p));
        const grid = engine.renderGrid(tiles, { lut: engine.colormapLut(colormap), tileTarget: 64 });
        io.writeFile(outPath, await engine.encodePng(grid));
        lines.push(`Grid (${tiles.length} tiles, ${grid.width}×${grid.height}) written to ${outPath}`);
      } else {
        // Units: a bar chart in the listed order (top first unless --sort index).
        const bars = pages.flatMap((p) => Array.from(p.channels, (c, i) => ({ label: String(c), value: p.max[i] })));
        const chart = engine.renderBars(bars, engine.colormapLut(colormap));
        io.writeFile(outPath, await engine.encodePng(chart));
        lines.push(`Bar chart (${bars.length} units, ${chart.width}×${chart.height}) written to ${outPath}`);
      }
    }
    const area = acts.height * acts.width;
    report(io, values.json, lines, () => ({
      kind: 'activations',
      model: model.summary.path,
      image: imagePath,
      backend: backend.backend,
      layer,
      className: engine.shownClassName(model.summary, layer, acts.className),
      activation: acts.kind,
      shape: acts.kind === 'maps' ? [acts.height, acts.width, acts.channels] : [acts.channels],
      layout: acts.kind === 'maps' ? 'channels[c].data is the h×w map of channel c, row-major' : 'channels[c].data is [value of unit c]',
      deadChannels: Array.from({ length: acts.channels }, (_, c) => c).filter((c) => acts.dead[c] === 1),
      channels: Array.from({ length: acts.channels }, (_, c) => ({
        index: c,
        min: shortestFloat32(acts.min[c]),
        mean: shortestFloat32(acts.mean[c]),
        max: shortestFloat32(acts.max[c]),
        dead: acts.dead[c] === 1,
        data: floats(acts.data.subarray(c * area, (c + 1) * area)),
      })),
    }));
    return 0;
  } finally {
    model.dispose();
  }
}

function mapTiles(page: import('../shared/types').ActivationPage) {
  const bytes = page.tileWidth * page.tileHeight;
  return Array.from(page.channels, (c, i) => ({
    label: String(c),
    width: page.tileWidth,
    height: page.tileHeight,
    channels: 1 as const,
    data: page.maps.subarray(i * bytes, (i + 1) * bytes),
  }));
}

export async function runFilters(positionals: string[], values: InspectValues, io: InspectIo): Promise<number> {
  if (positionals.length !== 0) {
    throw new UsageError(`"filters" takes no positional arguments (got ${positionals.join(' ')}).`);
  }
  const layer = requireLayer(values);
  const scale = oneOf<FilterScale>('--scale', values.scale, FILTER_SCALES, 'filter');
  const mode = values.mode === undefined ? undefined : oneOf<FilterMode>('--mode', values.mode, FILTER_MODES, 'mean');

  const engine = await import('../engine/index');
  const backend = await engine.initBackend(io.backend);
  const model = await loadCliModel(io, false);
  try {
    const bank = engine.readFilterBank(model.model, layer);
    const pages = [];
    let inputPageCount = 1;
    for (let inputPage = 0; inputPage < inputPageCount; inputPage++) {
      for (let page = 0, count = 1; page < count; page++) {
        const next = engine.filterPage(bank, { mode, scale, page, pageSize: ALL, inputPage, inputsPerPage: 64 });
        count = next.pageCount;
        inputPageCount = next.inputPageCount;
        pages.push(next);
      }
    }
    const first = pages[0];
    // Shapes in the source's own order (HWIO for tfjs and TensorFlow, OIHW for ONNX and PyTorch).
    const oneFilter = filterShape(bank.layout, bank.kernelHeight, bank.kernelWidth, bank.inputs);
    const shape = filterBankShape(bank.layout, bank.kernelHeight, bank.kernelWidth, bank.inputs, bank.count);
    const grouping = bank.kind === 'depthwise' ? ', one input channel each' : bank.groups > 1 ? `, in ${bank.groups} groups` : '';
    const describe =
      bank.kind === 'dense-image'
        ? `${bank.count} units, each a ${bank.kernelHeight}×${bank.kernelWidth}×${bank.inputs} weight image`
        : `${bank.count} filters of ${oneFilter.join('×')}${grouping}`;
    const order = `${bank.layout} order (${FILTER_LAYOUT_AXES[bank.layout].join(', ')})`;
    const lines = [
      `Backend: ${backendLine(detailForModel(backend, '', true))}`,
      `Layer "${layer}" (${engine.shownClassName(model.summary, layer, bank.className)}, ${bank.kind}): ${describe}; drawn as ${first.mode}, ${first.scale} scale`,
      `Weights [${shape.join(', ')}] in ${order}${weightsSource(bank)}`,
    ];
    const outPath = path.resolve(values.out ?? `${path.parse(io.modelPath).name}.${layer.replace(/[\\/]/g, '_')}.filters.png`);
    const tiles = pages.flatMap((p) => filterTiles(p));
    const grid = engine.renderGrid(tiles, {
      lut: engine.divergingLut('coolwarm'),
      tileTarget: 48,
      columns: first.mode === 'channels' ? Math.min(first.inputChannels, 16) : undefined,
    });
    io.writeFile(outPath, await engine.encodePng(grid));
    lines.push(`Grid (${tiles.length} tiles, ${grid.width}×${grid.height}; blue negative, gray zero, red positive) written to ${outPath}`);
    report(io, values.json, lines, () => ({
      kind: 'filters',
      model: model.summary.path,
      backend: backend.backend,
      layer,
      className: engine.shownClassName(model.summary, layer, bank.className),
      filterKind: bank.kind,
      layout: bank.layout,
      shape,
      groups: bank.groups,
      dataLayout: `filters[f].data is filter f as [${FILTER_LAYOUT_AXES[bank.layout].filter((a) => a !== 'filters').join(', ')}], row-major`,
      filters: Array.from({ length: bank.count }, (_, f) => {
        const weights = engine.filterWeights(bank, f);
        return {
          index: f,
          shape: oneFilter,
          min: shortestFloat32(Math.min(...weights)),
          max: shortestFloat32(Math.max(...weights)),
          data: floats(weights),
        };
      }),
    }));
    return 0;
  } finally {
    model.dispose();
  }
}

/** Where the bank's shape comes from, when it is not the stored tensor's own (tfjs depthwise, Dense). */
function weightsSource(bank: import('../engine/index').FilterBank): string {
  if (bank.kind === 'dense-image') {
    return ": the Dense kernel's rows read as pixels of the input";
  }
  if (bank.layout === 'HWIO' && bank.groups > 1) {
    // TensorFlow keeps depthwise kernels [kh, kw, channels, multiplier]: the same values, one filter per channel and multiplier.
    return `: the depthwise kernel [${bank.kernelHeight}, ${bank.kernelWidth}, ${bank.groups}, ${bank.count / bank.groups}] (channels, multiplier), one filter per pair`;
  }
  return `, ${FILTER_LAYOUT_SOURCES[bank.layout]}`;
}

/** One tile per filter, or (per input channel) one per filter and input labelled "filter:input". */
function filterTiles(page: import('../shared/types').FilterPage) {
  const bytes = page.kernelHeight * page.kernelWidth * page.tileChannels;
  return Array.from(page.filters).flatMap((f, i) =>
    Array.from({ length: page.tilesPerFilter }, (_, t) => ({
      label: page.mode === 'channels' ? `${f}:${page.inputs[t]}` : String(f),
      width: page.kernelWidth,
      height: page.kernelHeight,
      channels: page.tileChannels,
      data: page.tiles.subarray((i * page.tilesPerFilter + t) * bytes, (i * page.tilesPerFilter + t + 1) * bytes),
    })),
  );
}
