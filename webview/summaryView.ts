// The Model tab: every layer (name, type, output shape, params, and trainable where some layer is
// frozen) with totals, input shape and backend; the default layer is marked; a row opens its
// activations (or filters). The table fits the panel: long names and types wrap instead of pushing
// columns out of view, and the shape notation is said once, in its column's heading.
import { t } from './l10n';
import { showsTrainable, type InspectModelInfo } from '../src/shared/inspectPanel';
import { defaultLayerMark, defaultLayerTooltip } from '../src/shared/layerNames';
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
    const info = await this.latest.run(this.status, t('Reading the model…'), () => this.context.model());
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
      `${info.name} · ${t('{0} layers', info.layers.length)} · ${t('{0} parameters', info.totalParams.toLocaleString('en-US'))}` +
      (keras ? ` ${t('({0} in trainable layers)', trainable.toLocaleString('en-US'))}` : '') +
      ` · ${t('input {0}', formatShape([null, height, width, channels], info.shapeOrder))} · ${info.outputsText} · ${t('backend {0}', info.backend)}`;
    this.detail.textContent = info.formatDetail ?? '';
    this.detail.hidden = !info.formatDetail;

    const head = element('thead');
    const headRow = element('tr');
    for (const [text, className] of [
      [t('Layer'), ''],
      [t('Type'), ''],
      [t('Output shape ({0})', shapeNotation(info.shapeOrder)), ''],
      [t('Params'), 'number'],
      ...(keras ? [[t('Trainable'), '']] : []),
      [t('Open'), ''],
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
        const badge = element('span', 'badge', defaultLayerMark().trim().replace(/^\(|\)$/g, ''));
        badge.title = defaultLayerTooltip();
        name.append(badge);
        row.classList.add('default-layer');
      }
      const actions = element('td', 'layer-actions');
      const link = (label: string, tab: 'activations' | 'filters') => {
        const a = element('a', undefined, label);
        a.href = '#';
        a.dataset.testid = `open-${tab}`;
        a.setAttribute('aria-label', tab === 'activations' ? t('Activations of {0}', layer.name) : t('Filters of {0}', layer.name));
        a.addEventListener('click', (event) => {
          event.preventDefault();
          event.stopPropagation();
          this.context.open(tab, layer.name);
        });
        return a;
      };
      if (views?.activations) {
        actions.append(link(t('Activations'), 'activations'));
      }
      if (views?.filters) {
        actions.append(link(t('Filters'), 'filters'));
      }
      if (views?.activations || views?.filters) {
        row.classList.add('openable');
        row.tabIndex = 0;
        row.title = views.activations ? t('Open the activations of {0} (Enter)', layer.name) : t('Open the filters of {0} (Enter)', layer.name);
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
        ...(keras ? [element('td', undefined, layer.params === 0 ? '' : layer.trainable ? t('yes') : t('no'))] : []),
        actions,
      );
      body.append(row);
    }
    const foot = element('tfoot');
    const footRow = element('tr');
    const total = element('td', undefined, t('Total'));
    total.colSpan = 3;
    const params = element('td', 'number', info.totalParams.toLocaleString('en-US'));
    footRow.append(total, params, ...(keras ? [element('td')] : []), element('td'));
    foot.append(footRow);
    this.table.replaceChildren(head, body, foot);
  }
}
