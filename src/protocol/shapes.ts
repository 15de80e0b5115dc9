// One notation for tensor shapes everywhere a user reads them (panel, quick picks, lenses, hovers,
// the model viewer, the CLI). CNN Lens runs every model channels-last with a free batch dimension,
// [null, 16, 16, 32]; users of most formats read that as 16×16×32. PyTorch users read shapes as
// PyTorch prints them, N×C×H×W: 1×32×16×16.
import type { ModelSummary } from './types';

export type ShapeOrder = ModelSummary['shapeOrder'];

/** "16×16×32" (channels last, batch left out), or "1×32×16×16" for a PyTorch model; "?" for an unknown dimension. */
export function formatShape(shape: readonly (number | null)[], order?: ShapeOrder): string {
  if (shape.length === 0) {
    return 'unknown';
  }
  const dims = shape.slice(1).map((d) => (d === null ? '?' : String(d)));
  if (order === 'NCHW') {
    const [height, width, channels] = dims;
    return ['1', ...(dims.length === 3 ? [channels, height, width] : dims)].join('×');
  }
  return dims.length > 0 ? dims.join('×') : '?';
}

/** The same shape as a list, as the framework writes it: "[1, 32, 16, 16]" or "[null, 16, 16, 32]". */
export function shapeList(shape: readonly (number | null)[], order?: ShapeOrder): string {
  if (order === 'NCHW') {
    return `[${formatShape(shape, order).split('×').join(', ')}]`;
  }
  return `[${shape.map((d) => (d === null ? 'null' : d)).join(', ')}]`;
}
