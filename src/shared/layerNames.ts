// Layer names shortened to fit a tile or a picker. Converted models name layers by their whole
// scope ("StatefulPartitionedCall/model/block3_sepconv2_act/Relu", "/layer4/layer4.1/relu_1/Relu"):
// the start is the same for every layer and the end tells them apart, so names are cut from the
// left, at a scope boundary when one is close. Shared by the webview (pickers, compare tiles) and
// the engine's PNG grids; wherever a name is shortened, the full one is in a tooltip or the JSON.

/** What stands for the part cut off. */
export const NAME_ELLIPSIS = '…';

/**
 * `name` in at most `maxChars` characters (code points): unchanged when it fits, else an ellipsis
 * and the name's end. The end starts at a '/' when one falls in its first third (so "…/conv4/Relu"
 * rather than "…ck3/conv4/Relu"); a shorter cut would throw away more than it tidies.
 */
export function shortenLayerName(name: string, maxChars: number): string {
  const chars = Array.from(name);
  if (chars.length <= maxChars) {
    return name;
  }
  const room = Math.max(0, Math.floor(maxChars) - 1);
  if (room === 0) {
    return maxChars >= 1 ? NAME_ELLIPSIS : '';
  }
  let tail = chars.slice(chars.length - room);
  const slash = tail.indexOf('/');
  if (slash > 0 && slash <= tail.length / 3) {
    tail = tail.slice(slash);
  }
  return NAME_ELLIPSIS + tail.join('');
}

/**
 * How every picker, table, lens and quick pick marks the model's default layer: the one Grad-CAM
 * explains and the Activations tab opens when none is chosen (the last 4-D layer before the head).
 */
export const DEFAULT_LAYER_MARK = ' (default)';

/** The tooltip that says what "(default)" means. */
export const DEFAULT_LAYER_TOOLTIP = 'The default layer: Grad-CAM explains it and Activations open it unless another is chosen (the last layer with a 4-D output before the head).';

/** Characters of a layer name shown in a picker's entries (the full name is the entry's tooltip). */
export const PICKER_NAME_CHARS = 44;

/** A picker entry (webview/pickers.ts PickerOption) for a layer. */
export interface LayerPickerEntry {
  value: string;
  label: string;
  description?: string;
  /** The full name, when the label shortens it. */
  title?: string;
}

/** A picker entry for a layer: its name shortened from the left, indented by nesting depth, the full name as its tooltip. */
export function layerOption(name: string, options: { indent?: number; suffix?: string; description?: string } = {}): LayerPickerEntry {
  const shown = shortenLayerName(name, PICKER_NAME_CHARS);
  return {
    value: name,
    label: `${'\u2003'.repeat(options.indent ?? 0)}${shown}${options.suffix ?? ''}`,
    ...(options.description ? { description: options.description } : {}),
    ...(shown !== name ? { title: name } : {}),
  };
}

/** Characters of a layer name in a compare tile's caption (about 150 px of caption at the panel's font). */
export const TILE_NAME_CHARS = 22;
