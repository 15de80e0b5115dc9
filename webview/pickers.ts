// Fills the dropdowns (vscode-single-select with vscode-option children). Options are replaced only
// when their list changes, so the class list of a 1000-class model is built once per model, and
// the selection is set both as the option's `selected` attribute and as the value (the component
// reads slotted options asynchronously; either path then lands on the right one).
import type { VscodeSingleSelect } from './components';

export { layerOption } from '../src/shared/layerNames';

export interface PickerOption {
  value: string;
  label: string;
  description?: string;
  /** Tooltip of the entry, and of the picker while the entry is chosen: the full text of a shortened label. */
  title?: string;
}

const signatures = new WeakMap<VscodeSingleSelect, string>();

export function setOptions(select: VscodeSingleSelect, options: PickerOption[], selected: string): void {
  const signature = JSON.stringify(options);
  if (signatures.get(select) !== signature) {
    signatures.set(select, signature);
    select.replaceChildren(
      ...options.map((option) => {
        const element = document.createElement('vscode-option');
        element.value = option.value;
        element.textContent = option.label;
        if (option.description) {
          element.description = option.description;
        }
        if (option.title) {
          element.title = option.title;
        }
        if (option.value === selected) {
          element.setAttribute('selected', '');
        }
        return element;
      }),
    );
  }
  selectValue(select, selected);
}

export function selectValue(select: VscodeSingleSelect, value: string): void {
  for (const option of Array.from(select.querySelectorAll('vscode-option'))) {
    option.toggleAttribute('selected', option.value === value);
  }
  if (select.value !== value) {
    select.value = value;
  }
  // A disabled picker's tooltip says why it is disabled (main.ts showLayerUse); keep that.
  if (!select.disabled) {
    select.title = selectedTitle(select);
  }
}

/** The full text of the chosen entry (its title), or '' when its label is all of it. */
export function selectedTitle(select: VscodeSingleSelect): string {
  const chosen = Array.from(select.querySelectorAll('vscode-option')).find((option) => option.hasAttribute('selected'));
  return chosen?.title ?? '';
}

