// The Activations tab: every channel of a layer's output for the panel's image, as a grid of small
// heatmaps (8-bit maps from the host, colored with the host's LUT), one page at a time. Toggles:
// color scale per channel or shared, sort by index/mean/max, hide dead (all-zero) channels. A click
// shows the channel large over the image with its min/mean/max; it closes when the layer, the image
// or the model changes (it would describe something no longer shown). 2-D layers: a bar chart, top first.
import { ExplanationRegion } from './explain';
import { viewExplanation } from '../src/shared/explanations';
import { t } from './l10n';
import { formatShape } from '../src/shared/shapes';
import type { InspectActivationsRequest, InspectChannelRequest, InspectModelInfo } from '../src/shared/inspectPanel';
import type { ActivationChannel, ActivationPage, ActivationScale, ActivationSort } from '../src/shared/types';
import type { InspectContext } from './inspectContext';
import { element, formatValue } from './dom';
import { drawRgba, paintIndexed } from './canvas';
import { ACTIVATION_COLORMAP, colormapLut } from '../src/render/colormap';
import { checkbox, Latest, Legend, Pager, picker, secondaryButton, Status } from './viewParts';
import { layerOption } from './pickers';
import { defaultLayerMark } from '../src/shared/layerNames';

const MAPS_PER_PAGE = 64;
const UNITS_PER_PAGE = 40;

export class ActivationsView {
  readonly element = element('section', 'inspect-view activations-view');
  private readonly layer = picker('activation-layer', t('Layer'), (name) => this.changeLayer(name));
  private readonly scale = picker('activation-scale', t('Color scale'), (value) => this.changeSettings({ scale: value as ActivationScale }, this.scale.select));
  private readonly sort = picker('activation-sort', t('Sort'), (value) => this.changeSettings({ sort: value as ActivationSort }, this.sort.select));
  private readonly hideDead = checkbox('activation-hide-dead', (checked) => this.changeSettings({ hideDead: checked }, this.hideDead.input));
  private readonly summary = element('p', 'view-summary');
  private readonly legend = new Legend(true);
  private readonly grid = element('div', 'tile-grid');
  private readonly bars = element('ol', 'unit-bars');
  private readonly pager = new Pager('activation-pager', (page) => this.load(page));
  private readonly status = new Status('activations', this.element);
  private readonly detail = element('section', 'channel-detail');
  private readonly latest = new Latest();
  private readonly detailRequest = new Latest();
  /** The layer of the enlarged channel, while one is shown. */
  private detailLayer: string | undefined;
  private info: InspectModelInfo | undefined;
  private page = 0;
  private shown: ActivationPage | undefined;

  constructor(private readonly context: InspectContext) {
    const controls = element('div', 'controls');
    // ⓘ: what a tile shows and what a dead channel is.
    const explain = new ExplanationRegion('activations-explanation');
    controls.append(this.layer.wrap, this.scale.wrap, this.sort.wrap, this.hideDead.wrap, explain.button('activations-info', t('What do activations show?'), () => [viewExplanation('activations')]));
    this.scale.set(
      [
        { value: 'channel', label: t('Per channel') },
        { value: 'shared', label: t('Shared (whole layer)') },
      ],
      context.state.scale,
    );
    this.sort.set(
      [
        { value: 'index', label: t('Channel index') },
        { value: 'mean', label: t('Mean activation') },
        { value: 'max', label: t('Max activation') },
      ],
      context.state.sort,
    );
    this.hideDead.input.checked = context.state.hideDead;
    this.hideDead.setLabel(t('Hide dead channels'));
    this.grid.dataset.testid = 'activation-grid';
    // A group of buttons (one per channel), named for screen readers.
    this.grid.setAttribute('role', 'group');
    this.grid.setAttribute('aria-label', t('Channels'));
    this.bars.dataset.testid = 'activation-bars';
    this.bars.hidden = true;
    this.detail.dataset.testid = 'channel-detail';
    this.detail.hidden = true;
    this.summary.dataset.testid = 'activation-summary';
    this.element.append(controls, explain.element, this.status.busy, this.status.error, this.summary, this.legend.element, this.detail, this.grid, this.bars, this.pager.element);
  }

  show(): void {
    void this.load(this.page);
  }

  /** Asked again: the host opened another layer here, or the image or model changed (`invalidated`). */
  refresh(invalidated = false): void {
    if (invalidated) {
      this.closeDetail(); // a channel of the previous image or model
    }
    void this.load(this.page);
  }

  private changeLayer(name: string): void {
    if (name !== this.context.state.activationLayer) {
      this.context.pickLayer('activations', name);
      this.closeDetail();
      void this.load(0, this.layer.select);
    }
  }

  private changeSettings(patch: { scale?: ActivationScale; sort?: ActivationSort; hideDead?: boolean }, control: HTMLElement): void {
    this.context.update(patch);
    void this.load(patch.scale !== undefined ? this.page : 0, control);
  }

  private async load(page: number, control?: HTMLElement): Promise<void> {
    const layerName = this.context.state.activationLayer;
    const result = await this.latest.run(this.status, layerName ? t('Activations of {0}…', layerName) : t('Activations of the layer…'), async (signal) => {
      const info = await this.context.model();
      this.info = info;
      const layers = info.layers.filter((l) => info.views.find((v) => v.name === l.name)?.activations);
      const state = this.context.state;
      const name = layers.some((l) => l.name === state.activationLayer) ? (state.activationLayer as string) : info.defaultCamLayer;
      this.layer.set(
        layers.map((l) =>
          layerOption(l.name, {
            indent: l.depth,
            suffix: l.name === info.defaultCamLayer ? defaultLayerMark() : '',
            description: `${l.className} ${formatShape(l.outputShape, info.shapeOrder)}`,
          }),
        ),
        name,
      );
      const kind = info.views.find((v) => v.name === name)?.activations;
      return this.context.request<InspectActivationsRequest>(
        {
          type: 'inspectActivations',
          request: {
            layer: name,
            page,
            pageSize: kind === 'units' ? UNITS_PER_PAGE : MAPS_PER_PAGE,
            // Units are a ranking: always top first.
            sort: kind === 'units' ? 'max' : state.sort,
            scale: state.scale,
            hideDead: state.hideDead,
          },
        },
        signal,
      );
    }, control);
    if (result) {
      this.page = result.page;
      this.render(result);
    }
  }

  private render(page: ActivationPage): void {
    const info = this.info as InspectModelInfo;
    if (this.detailLayer !== undefined && this.detailLayer !== page.layer) {
      // Another layer (its picker, Visualize Layer…, the Model tab): "Channel 3 of conv3" must not stay above conv1's grid.
      this.closeDetail();
    }
    this.shown = page;
    const maps = page.kind === 'maps';
    this.sort.wrap.hidden = !maps;
    this.scale.wrap.hidden = !maps;
    this.hideDead.setLabel(t('Hide dead channels ({0})', page.deadCount));
    const what = maps ? t('{0} channels of {1}×{2}', page.channelCount, page.height, page.width) : t('{0} units', page.channelCount);
    this.summary.textContent =
      `${page.layer} · ${page.className} · ${what} · ${t('{0} dead (all zero)', page.deadCount)} · ${t('values {0} to {1}', formatValue(page.layerMin), formatValue(page.layerMax))}` +
      ` · ${maps ? (page.scale === 'shared' ? t('one color scale for the layer') : t('each map on its own min..max')) : t('top units first')}`;
    const first = page.page * page.pageSize;
    const range = [first + 1, first + page.channels.length, page.listedCount] as const;
    this.pager.update(
      page.page,
      page.pageCount,
      `${t('Page {0} of {1}', page.page + 1, page.pageCount)} · ${maps ? t('channels {0}–{1} of {2}', ...range) : t('units {0}–{1} of {2}', ...range)}`,
    );

    this.legend.hidden = !maps;
    this.grid.hidden = !maps;
    this.bars.hidden = maps;
    if (maps) {
      const shared = page.scale === 'shared';
      this.legend.show(colormapLut(ACTIVATION_COLORMAP), shared ? formatValue(page.layerMin) : t('channel min'), shared ? formatValue(page.layerMax) : t('channel max'));
      this.renderTiles(page, colormapLut(ACTIVATION_COLORMAP));
    } else {
      this.renderBars(page);
    }
  }

  private renderTiles(page: ActivationPage, lut: Uint8Array): void {
    const bytes = page.tileWidth * page.tileHeight;
    const tiles = Array.from(page.channels, (channel, i) => {
      const tile = element('button', 'tile');
      tile.type = 'button';
      tile.dataset.testid = 'activation-tile';
      tile.dataset.channel = String(channel);
      const dead = page.max[i] === 0 && page.min[i] === 0;
      // The name is short (what a screen reader says on each tile); the numbers are its description (title).
      tile.setAttribute('aria-label', dead ? t('Channel {0}, dead', channel) : t('Channel {0}', channel));
      tile.classList.toggle('dead', dead);
      tile.title = [
        dead ? t('Channel {0} (dead: zero everywhere)', channel) : t('Channel {0}', channel),
        t('min {0} · mean {1} · max {2}', formatValue(page.min[i]), formatValue(page.mean[i]), formatValue(page.max[i])),
        t('Click to show it over the image'),
      ].join('\n');
      const canvas = element('canvas');
      paintIndexed(canvas, page.maps.subarray(i * bytes, (i + 1) * bytes), page.tileWidth, page.tileHeight, lut);
      tile.append(canvas, element('span', 'tile-label', String(channel)));
      tile.addEventListener('click', () => void this.openDetail(channel));
      return tile;
    });
    if (tiles.length === 0) {
      const empty = element('p', 'view-summary', t('All {0} channels are dead (zero everywhere) for this image. Clear “Hide dead channels” to see them.', page.channelCount));
      this.grid.replaceChildren(empty);
      return;
    }
    this.grid.replaceChildren(...tiles);
  }

  private renderBars(page: ActivationPage): void {
    const extent = Math.max(Math.abs(page.layerMin), Math.abs(page.layerMax)) || 1;
    const rows = Array.from(page.channels, (unit, i) => {
      const row = element('li', 'unit-bar');
      row.dataset.testid = 'activation-unit';
      row.dataset.unit = String(unit);
      const value = page.max[i];
      const track = element('span', 'bar');
      const fill = element('span', value < 0 ? 'fill negative' : 'fill');
      // CSSOM assignment, not a style attribute: allowed under the CSP.
      fill.style.width = `${(Math.abs(value) / extent) * 100}%`;
      track.append(fill);
      row.append(element('span', 'unit-name', t('unit {0}', unit)), track, element('span', 'unit-value', formatValue(value)));
      row.classList.toggle('dead', value === 0);
      return row;
    });
    this.bars.replaceChildren(...rows);
  }

  private async openDetail(channel: number): Promise<void> {
    const layer = this.shown?.layer;
    if (!layer) {
      return;
    }
    const result = await this.detailRequest.run(this.status, t('Channel {0}…', channel), (signal) =>
      this.context.request<InspectChannelRequest>({ type: 'inspectChannel', request: { layer, channel } }, signal),
    );
    if (result && this.info) {
      this.renderDetail(result, colormapLut(ACTIVATION_COLORMAP));
    }
  }

  private renderDetail(channel: ActivationChannel, lut: Uint8Array): void {
    const header = element('header', 'detail-header');
    const title = element('h3', undefined, t('Channel {0} of {1}', channel.channel, channel.layer));
    const stats = element('span', 'detail-stats', `${t('min {0} · mean {1} · max {2}', formatValue(channel.min), formatValue(channel.mean), formatValue(channel.max))} · ${channel.width}×${channel.height}`);
    stats.dataset.testid = 'channel-stats';
    const close = secondaryButton(t('Close'), 'channel-detail-close', t('Close channel {0} of {1}', channel.channel, channel.layer));
    close.classList.add('detail-close');
    close.addEventListener('click', () => this.closeDetail());
    header.append(title, stats, close);

    const figures = element('div', 'detail-figures');
    const image = this.context.image();
    if (image) {
      const overlay = element('figure');
      const stack = element('div', 'overlay-stack');
      const base = element('canvas');
      drawRgba(base, image);
      const heat = element('canvas', 'heat');
      paintIndexed(heat, channel.map, channel.width, channel.height, lut);
      stack.append(base, heat);
      overlay.append(stack, element('figcaption', undefined, t('Over the image')));
      figures.append(overlay);
    }
    const alone = element('figure');
    const map = element('canvas');
    paintIndexed(map, channel.map, channel.width, channel.height, lut);
    alone.append(map, element('figcaption', undefined, t('Map (its own min..max)')));
    figures.append(alone);
    this.detail.replaceChildren(header, figures);
    this.detail.hidden = false;
    this.detailLayer = channel.layer;
    this.detail.scrollIntoView({ block: 'nearest' });
  }

  /** Closes the enlarged channel (also when the image or model changed while another tab was shown). */
  closeDetail(): void {
    this.detailRequest.cancel();
    this.detailLayer = undefined;
    this.detail.hidden = true;
    this.detail.replaceChildren();
  }
}
