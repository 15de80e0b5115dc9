// The Model tab: every layer (name, type, output shape, params, and trainable where some layer is
// frozen) with totals, input shape and backend; the default layer is marked; a row opens its
// activations (or filters). The table fits the panel: long names and types wrap instead of pushing
// columns out of view, and the shape notation is said once, in its column's heading.
import { showsTrainable, type InspectModelInfo } from '../src/shared/inspectPanel';
import { DEFAULT_LAYER_MARK, DEFAULT_LAYER_TOOLTIP } from '../src/shared/layerNames';
import type { InspectContext } from './inspectContext';
import { element } from './dom';
import { formatShape, shapeNotation } from '../src/shared/shapes';
import { Latest, Status } from './viewParts';

export class SummaryView {
  readonly element = element('section', 'inspect-view summary-view');
  private readonly totals = element('p', 'view-summary');
  private readonly detail = element('p', 'view-detail');
  private readonly table = element('table', 'layer-table');
  private readonly status = new Status('summary', this.element);
  private readonly latest = new Latest();

  constructor(private readonly context: InspectContext) {
    this.table.dataset.testid = 'layer-table';
    this.totals.dataset.testid = 'model-totals';
    this.detail.dataset.testid = 'model-detail';
    this.element.append(this.status.busy, this.status.error, this.totals, this.detail, this.table);
  }

  show(): void {
    void this.load();
  }

  refresh(): void {
    void this.load();
  }

  private async load(): Promise<void> {
    const info = await this.latest.run(this.status, 'Reading the model…', () => this.context.model());
    if (info) {
      this.render(info);
    }
  }

  private render(info: InspectModelInfo): void {
    const keras = showsTrainable(info);
    const top = info.layers.filter((l) => l.depth === 0);
    const trainable = top.filter((l) => l.trainable).reduce((sum, l) => sum + l.params, 0);
    const [height, width, channels] = info.inputShape;
    this.totals.textContent =
      `${info.name} · ${info.layers.length} layers · ${info.totalParams.toLocaleString('en-US')} parameters` +
      (keras ? ` (${trainable.toLocaleString('en-US')} in trainable layers)` : '') +
      ` · input ${formatShape([null, height, width, channels], info.shapeOrder)} · ${info.outputsText} · backend ${info.backend}`;
    this.detail.textContent = info.formatDetail ?? '';
    this.detail.hidden = !info.formatDetail;

    const head = element('thead');
    const headRow = element('tr');
    for (const [text, className] of [
      ['Layer', ''],
      ['Type', ''],
      [`Output shape (${shapeNotation(info.shapeOrder)})`, ''],
      ['Params', 'number'],
      ...(keras ? [['Trainable', '']] : []),
      ['Open', ''],
    ]) {
      const th = element('th', className, text);
      th.scope = 'col';
      headRow.append(th);
    }
    head.append(headRow);
    const body = element('tbody');
    for (const layer of info.layers) {
      const views = info.views.find((v) => v.name === layer.name);
      const row = element('tr');
      row.dataset.testid = 'layer-row';
      row.dataset.layer = layer.name;
      const name = element('td', 'layer-name');
      name.append(element('span', 'indent', '\u2003'.repeat(layer.depth) + (layer.depth > 0 ? '↳ ' : '')), element('span', undefined, layer.name));
      if (layer.name === info.defaultCamLayer) {
        const badge = element('span', 'badge', DEFAULT_LAYER_MARK.trim().replace(/^\(|\)$/g, ''));
        badge.title = DEFAULT_LAYER_TOOLTIP;
        name.append(badge);
        row.classList.add('default-layer');
      }
      const actions = element('td', 'layer-actions');
      const link = (label: string, tab: 'activations' | 'filters') => {
        const a = element('a', undefined, label);
        a.href = '#';
        a.dataset.testid = `open-${tab}`;
        a.setAttribute('aria-label', `${label} of ${layer.name}`);
        a.addEventListener('click', (event) => {
          event.preventDefault();
          event.stopPropagation();
          this.context.open(tab, layer.name);
        });
        return a;
      };
      if (views?.activations) {
        actions.append(link('Activations', 'activations'));
      }
      if (views?.filters) {
        actions.append(link('Filters', 'filters'));
      }
      if (views?.activations || views?.filters) {
        row.classList.add('openable');
        row.tabIndex = 0;
        row.title = `Open the ${views.activations ? 'activations' : 'filters'} of ${layer.name} (Enter)`;
        const open = () => this.context.open(views.activations ? 'activations' : 'filters', layer.name);
        row.addEventListener('click', open);
        row.addEventListener('keydown', (event) => {
          if (event.key === 'Enter') {
            open();
          }
        });
      }
      row.append(
        name,
        element('td', 'layer-type', layer.className),
        element('td', 'shape', formatShape(layer.outputShape, info.shapeOrder)),
        element('td', 'number', layer.params.toLocaleString('en-US')),
        // A layer without weights has nothing to train or freeze.
        ...(keras ? [element('td', undefined, layer.params === 0 ? '' : layer.trainable ? 'yes' : 'no')] : []),
        actions,
      );
      body.append(row);
    }
    const foot = element('tfoot');
    const footRow = element('tr');
    const total = element('td', undefined, 'Total');
    total.colSpan = 3;
    const params = element('td', 'number', info.totalParams.toLocaleString('en-US'));
    footRow.append(total, params, ...(keras ? [element('td')] : []), element('td'));
    foot.append(footRow);
    this.table.replaceChildren(head, body, foot);
  }
}
