// The Filters tab: a layer's kernels as tiles (signed 8-bit from the host, 128 = zero, coloured with
// the host's diverging LUT; RGB patches drawn as they are). Toggles: per-filter or shared scale; for
// kernels over several inputs, the mean over inputs or one tile per input channel (paged). Shapes are
// stated in the source's own order (page.layout): HWIO for tfjs and TensorFlow, OIHW for ONNX and
// PyTorch, so they read like the tensor in the user's code.
import { ExplanationRegion } from './explain';
import { viewExplanation } from '../src/shared/explanations';
import { t } from './l10n';
import { formatShape } from '../src/shared/shapes';
import type { InspectFiltersRequest, InspectModelInfo } from '../src/shared/inspectPanel';
import { FILTER_LAYOUT_AXES, filterBankShape, filterShape, type FilterMode, type FilterPage, type FilterScale } from '../src/shared/types';
import type { InspectContext } from './inspectContext';
import { element, formatValue } from './dom';
import { paintIndexed, paintRgb } from './canvas';
import { divergingLut, FILTER_COLORMAP } from '../src/render/colormap';
import { Latest, Legend, Pager, picker, Status } from './viewParts';
import { layerOption } from './pickers';

const FILTERS_PER_PAGE = 64;
/** Per input channel, rows of this many filters a page (each row up to 16 inputs). */
const FILTER_ROWS_PER_PAGE = 16;
const INPUTS_PER_PAGE = 16;

/** Read when shown (translated: the bundle is installed before, but these stay functions to make the order irrelevant). */
const MODE_LABELS: Record<FilterMode, () => string> = {
  rgb: () => t('RGB patch'),
  mean: () => t('Mean over inputs'),
  channels: () => t('Per input channel'),
};

export class FiltersView {
  readonly element = element('section', 'inspect-view filters-view');
  private readonly layer = picker('filter-layer', t('Layer'), (name) => this.changeLayer(name));
  private readonly mode = picker('filter-mode', t('Show'), (value) => this.change({ filterMode: value as FilterMode }, true, this.mode.select));
  private readonly scale = picker('filter-scale', t('Color scale'), (value) => this.change({ filterScale: value as FilterScale }, false, this.scale.select));
  private readonly summary = element('p', 'view-summary');
  private readonly legend = new Legend(false);
  private readonly grid = element('div', 'tile-grid');
  private readonly rows = element('div', 'filter-rows');
  private readonly pager = new Pager('filter-pager', (page) => void this.load(page, this.inputPage));
  private readonly inputPager = new Pager('filter-input-pager', (inputPage) => void this.load(this.page, inputPage));
  private readonly status = new Status('filters', this.element);
  private readonly latest = new Latest();
  private info: InspectModelInfo | undefined;
  private page = 0;
  private inputPage = 0;

  constructor(private readonly context: InspectContext) {
    const controls = element('div', 'controls');
    // ⓘ: what a filter tile is, and why the filters of later layers look like noise.
    const explain = new ExplanationRegion('filters-explanation');
    controls.append(this.layer.wrap, this.mode.wrap, this.scale.wrap, explain.button('filters-info', t('What do filters show?'), () => [viewExplanation('filters')]));
    this.scale.set(
      [
        { value: 'filter', label: t('Per filter') },
        { value: 'shared', label: t('Shared (whole layer)') },
      ],
      context.state.filterScale,
    );
    this.grid.dataset.testid = 'filter-grid';
    this.grid.setAttribute('role', 'list');
    this.rows.dataset.testid = 'filter-rows';
    this.summary.dataset.testid = 'filter-summary';
    this.element.append(controls, explain.element, this.status.busy, this.status.error, this.summary, this.legend.element, this.inputPager.element, this.grid, this.rows, this.pager.element);
  }

  show(): void {
    void this.load(this.page, this.inputPage);
  }

  refresh(): void {
    void this.load(this.page, this.inputPage);
  }

  private changeLayer(name: string): void {
    if (name !== this.context.state.filterLayer) {
      // Another layer: its own default mode (RGB where it has 3 inputs).
      this.context.pickLayer('filters', name);
      void this.load(0, 0, this.layer.select);
    }
  }

  private change(patch: { filterMode?: FilterMode; filterScale?: FilterScale }, resetPages: boolean, control: HTMLElement): void {
    this.context.update(patch);
    void this.load(resetPages ? 0 : this.page, resetPages ? 0 : this.inputPage, control);
  }

  private async load(page: number, inputPage: number, control?: HTMLElement): Promise<void> {
    const result = await this.latest.run(this.status, t('Reading the weights…'), async (signal) => {
      const info = await this.context.model();
      this.info = info;
      const layers = info.layers.filter((l) => info.views.find((v) => v.name === l.name)?.filters);
      if (layers.length === 0) {
        throw new Error(
          t(
            '{0} has no layer with drawable filters (Conv2D, DepthwiseConv2D, SeparableConv2D, ONNX Conv, TF.js graph Conv2D or DepthwiseConv2dNative, or a first Dense layer over the image).',
            info.name,
          ),
        );
      }
      const state = this.context.state;
      const name = layers.some((l) => l.name === state.filterLayer) ? (state.filterLayer as string) : layers[0].name;
      this.layer.set(
        layers.map((l) => layerOption(l.name, { indent: l.depth, description: `${l.className} ${formatShape(l.outputShape, info.shapeOrder)}` })),
        name,
      );
      const first = await this.context.request<InspectFiltersRequest>({ type: 'inspectFilters', request: this.request(name, page, inputPage) }, signal);
      return first;
    }, control);
    if (result) {
      this.page = result.page;
      this.inputPage = result.inputPage;
      this.render(result);
    }
  }

  private request(layer: string, page: number, inputPage: number) {
    const state = this.context.state;
    const mode = state.filterMode;
    return {
      layer,
      mode,
      scale: state.filterScale,
      page,
      pageSize: mode === 'channels' ? FILTER_ROWS_PER_PAGE : FILTERS_PER_PAGE,
      inputPage,
      inputsPerPage: INPUTS_PER_PAGE,
    };
  }

  private render(page: FilterPage): void {
    const info = this.info as InspectModelInfo;
    this.mode.set(
      page.modes.map((m) => ({ value: m, label: MODE_LABELS[m]() })),
      page.mode,
    );
    this.mode.wrap.hidden = page.modes.length < 2;
    // Shapes in the source's own order: kh×kw×inputs for tfjs and TensorFlow, inputs×kh×kw for ONNX (PyTorch).
    const size =
      page.kind === 'conv2d' || page.kind === 'dense-image'
        ? page.groups > 1
          ? t('{0} in {1} groups', oneFilterText(page), page.groups)
          : oneFilterText(page)
        : t('{0} (per channel)', `${page.kernelHeight}×${page.kernelWidth}`);
    const bank =
      page.kind === 'dense-image'
        ? t('{0} units (weight images) of {1}', page.filterCount, size)
        : page.kind === 'conv2d'
          ? t('{0} filters of {1}', page.filterCount, size)
          : t('{0} channel kernels of {1}', page.filterCount, size);
    const shape = filterBankShape(page.layout, page.kernelHeight, page.kernelWidth, page.inputChannels, page.filterCount);
    this.summary.textContent =
      `${page.layer} · ${page.className} · ${bank}` +
      ` · ${MODE_LABELS[page.mode]().toLowerCase()} · ${page.scale === 'shared' ? t('one scale for the layer') : t('each filter on its own ±max|w|')}` +
      ` · ${t('weights [{0}] {1}', shape.join(', '), page.layout)}`;
    this.summary.title = t('Weights [{0}]: {1}, {2}.', shape.join(', '), FILTER_LAYOUT_AXES[page.layout].join(', '), weightsSource(page));
    const shared = page.scale === 'shared' && page.bound.length > 0;
    this.legend.show(divergingLut(FILTER_COLORMAP), shared ? formatValue(-page.bound[0]) : '−max|w|', shared ? t('{0} (0 = gray)', formatValue(page.bound[0])) : t('{0} (0 = gray)', '+max|w|'));
    if (page.mode === 'rgb') {
      this.legend.hidden = true; // colours are the RGB weights themselves: grey = zero in every channel
    } else {
      this.legend.hidden = false;
    }
    const first = page.page * page.pageSize;
    this.pager.update(page.page, page.pageCount, `${t('Page {0} of {1}', page.page + 1, page.pageCount)} · ${t('filters {0}–{1} of {2}', first + 1, first + page.filters.length, page.filterCount)}`);
    const lastInput = page.inputs.length ? page.inputs[page.inputs.length - 1] : 0;
    this.inputPager.update(
      page.inputPage,
      page.inputPageCount,
      t('Input channels {0}–{1} of {2}', page.inputs.length ? page.inputs[0] : 0, lastInput, page.inputChannels),
    );
    if (page.mode === 'channels') {
      this.grid.hidden = true;
      this.rows.hidden = false;
      this.renderRows(page, divergingLut(FILTER_COLORMAP));
    } else {
      this.rows.hidden = true;
      this.grid.hidden = false;
      this.renderGrid(page, divergingLut(FILTER_COLORMAP));
    }
  }

  private tileCanvas(page: FilterPage, filterIndex: number, tile: number, lut: Uint8Array): HTMLCanvasElement {
    const bytes = page.kernelHeight * page.kernelWidth * page.tileChannels;
    const offset = (filterIndex * page.tilesPerFilter + tile) * bytes;
    const data = page.tiles.subarray(offset, offset + bytes);
    const canvas = element('canvas');
    if (page.tileChannels === 3) {
      paintRgb(canvas, data, page.kernelWidth, page.kernelHeight);
    } else {
      paintIndexed(canvas, data, page.kernelWidth, page.kernelHeight, lut);
    }
    return canvas;
  }

  private renderGrid(page: FilterPage, lut: Uint8Array): void {
    const tiles = Array.from(page.filters, (filter, i) => {
      const tile = element('figure', 'tile filter-tile');
      tile.dataset.testid = 'filter-tile';
      tile.dataset.filter = String(filter);
      tile.setAttribute('role', 'listitem');
      tile.title = t(
        'Filter {0}, {1} ({2}): min {3}, max {4} (drawn on ±{5})',
        filter,
        oneFilterText(page),
        filterAxesText(page),
        formatValue(page.min[i]),
        formatValue(page.max[i]),
        formatValue(page.bound[i]),
      );
      const caption = element('figcaption');
      caption.append(element('span', 'tile-label', String(filter)), element('span', 'tile-range', `${formatValue(page.min[i], 2)} … ${formatValue(page.max[i], 2)}`));
      tile.append(this.tileCanvas(page, i, 0, lut), caption);
      return tile;
    });
    this.grid.replaceChildren(...tiles);
  }

  /** One row per filter: its kernel for each input channel on this input page. */
  private renderRows(page: FilterPage, lut: Uint8Array): void {
    const header = element('div', 'filter-row header');
    header.append(element('span', 'row-label', t('filter \\ input')), ...Array.from(page.inputs, (input) => element('span', 'input-label', String(input))));
    const rows = Array.from(page.filters, (filter, i) => {
      const row = element('div', 'filter-row');
      row.dataset.testid = 'filter-row';
      row.dataset.filter = String(filter);
      const label = element('span', 'row-label');
      label.append(element('span', 'tile-label', String(filter)), element('span', 'tile-range', `${formatValue(page.min[i], 2)} … ${formatValue(page.max[i], 2)}`));
      row.append(label);
      for (let tile = 0; tile < page.tilesPerFilter; tile++) {
        const canvas = this.tileCanvas(page, i, tile, lut);
        canvas.title = t('Filter {0}, {1}', filter, inputText(page, filter, page.inputs[tile]));
        canvas.dataset.testid = 'filter-input-tile';
        row.append(canvas);
      }
      return row;
    });
    this.rows.replaceChildren(header, ...rows);
  }
}

/** One filter's shape in the source's order: "3×3×8" (HWIO), "8×3×3" (OIHW). */
function oneFilterText(page: FilterPage): string {
  return filterShape(page.layout, page.kernelHeight, page.kernelWidth, page.inputChannels).join('×');
}

/** Its axes by name, in the same order: "height×width×inputs" or "inputs×height×width". */
function filterAxesText(page: FilterPage): string {
  return FILTER_LAYOUT_AXES[page.layout].filter((axis) => axis !== 'filters').join('×');
}

/** Where the shape comes from, when it is not the stored tensor's own (tfjs depthwise kernels, a Dense kernel). */
function weightsSource(page: FilterPage): string {
  if (page.kind === 'dense-image') {
    return t("the Dense kernel's rows read as pixels of the input");
  }
  if (page.layout === 'HWIO' && page.groups > 1) {
    return t(
      'the depthwise kernel [{0}] (channels, multiplier), one filter per pair',
      [page.kernelHeight, page.kernelWidth, page.groups, page.filterCount / page.groups].join(', '),
    );
  }
  return page.layout === 'HWIO' ? t('as TensorFlow stores kernels') : t('as PyTorch stores weights');
}

/** Which input a tile draws; a grouped filter's inputs are its group's, so name the layer's channel too. */
function inputText(page: FilterPage, filter: number, input: number): string {
  if (page.groups <= 1) {
    return t('input channel {0}', input);
  }
  const group = Math.floor(filter / (page.filterCount / page.groups));
  return t("input {0} of group {1} (channel {2} of the layer's input)", input, group, group * page.inputChannels + input);
}
