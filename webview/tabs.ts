// The panel's tab bar: Grad-CAM | Activations | Filters | Model, and any tab another module adds
// with registerTab() from its own file (e.g. a Compare tab). A tab is a button in the tablist and a
// panel element; showing one hides the others and calls its onShow, so a view fetches its data
// only when it is looked at. Keyboard: Left/Right/Home/End move between tabs (WAI-ARIA tabs).

export interface TabSpec {
  id: string;
  label: string;
  /** The panel's content; created empty when not given. */
  panel?: HTMLElement;
  /** Called each time the tab is shown (also on the first show after a reload). */
  onShow?(): void;
  /** Where to put it: tabs are ordered by this (default: after the others). */
  order?: number;
}

interface Tab {
  spec: TabSpec;
  button: HTMLButtonElement;
  panel: HTMLElement;
  order: number;
}

type ChangeListener = (id: string) => void;

class TabBar {
  private readonly tabs = new Map<string, Tab>();
  private current: string | undefined;
  private readonly listeners: ChangeListener[] = [];

  constructor(
    private readonly list: HTMLElement,
    private readonly panels: HTMLElement,
  ) {
    list.setAttribute('role', 'tablist');
    list.addEventListener('keydown', (event) => this.onKey(event));
  }

  get active(): string | undefined {
    return this.current;
  }

  has(id: string): boolean {
    return this.tabs.has(id);
  }

  add(spec: TabSpec): HTMLElement {
    if (this.tabs.has(spec.id)) {
      throw new Error(`CNN Lens panel: a tab "${spec.id}" exists already.`);
    }
    const order = spec.order ?? (this.tabs.size + 1) * 10;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'tab';
    button.id = `tab-${spec.id}`;
    button.dataset.testid = `tab-${spec.id}`;
    button.dataset.tab = spec.id;
    button.setAttribute('role', 'tab');
    button.textContent = spec.label;
    button.addEventListener('click', () => this.show(spec.id));
    const panel = spec.panel ?? document.createElement('section');
    panel.id ||= `panel-${spec.id}`;
    panel.dataset.testid ??= `panel-${spec.id}`;
    panel.classList.add('tab-panel');
    panel.setAttribute('role', 'tabpanel');
    panel.setAttribute('aria-labelledby', button.id);
    button.setAttribute('aria-controls', panel.id);
    const tab: Tab = { spec, button, panel, order };
    this.tabs.set(spec.id, tab);
    // Keep buttons and panels in `order`.
    const after = [...this.tabs.values()].filter((t) => t.order > order && t !== tab).sort((a, b) => a.order - b.order)[0];
    this.list.insertBefore(button, after?.button ?? null);
    if (!panel.parentElement) {
      this.panels.insertBefore(panel, after?.panel.parentElement === this.panels ? after.panel : null);
    }
    this.render();
    return panel;
  }

  /** Shows a tab; an unknown id (a tab from a newer version) falls back to the first. */
  show(id: string): void {
    const target = this.tabs.has(id) ? id : [...this.tabs.values()].sort((a, b) => a.order - b.order)[0]?.spec.id;
    if (!target) {
      return;
    }
    const changed = target !== this.current;
    this.current = target;
    this.render();
    this.tabs.get(target)?.spec.onShow?.();
    if (changed) {
      this.listeners.forEach((listener) => listener(target));
    }
  }

  onDidChange(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  private render(): void {
    for (const [id, tab] of this.tabs) {
      const selected = id === this.current;
      tab.button.setAttribute('aria-selected', String(selected));
      tab.button.tabIndex = selected ? 0 : -1;
      tab.panel.hidden = !selected;
    }
  }

  private onKey(event: KeyboardEvent): void {
    const ordered = [...this.tabs.values()].sort((a, b) => a.order - b.order);
    const index = ordered.findIndex((t) => t.spec.id === this.current);
    const next =
      event.key === 'ArrowRight' ? ordered[(index + 1) % ordered.length] :
      event.key === 'ArrowLeft' ? ordered[(index - 1 + ordered.length) % ordered.length] :
      event.key === 'Home' ? ordered[0] :
      event.key === 'End' ? ordered[ordered.length - 1] :
      undefined;
    if (next) {
      event.preventDefault();
      this.show(next.spec.id);
      next.button.focus();
    }
  }
}

let bar: TabBar | undefined;

/** The panel's tab bar (#tabs and #tab-panels in html.ts). */
export function panelTabs(): TabBar {
  if (!bar) {
    const list = document.getElementById('tabs');
    const panels = document.getElementById('tab-panels');
    if (!list || !panels) {
      throw new Error('CNN Lens panel: #tabs or #tab-panels is missing from the page.');
    }
    bar = new TabBar(list, panels);
  }
  return bar;
}

/** Adds a tab to the panel; returns its (empty or given) panel element. */
export function registerTab(spec: TabSpec): HTMLElement {
  return panelTabs().add(spec);
}
