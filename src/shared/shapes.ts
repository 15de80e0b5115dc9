// One notation for tensor shapes everywhere a user reads them (panel, quick picks, lenses, hovers,
// the model viewer, the CLI), one per model family, and said once where shapes are listed
// (shapeNotation). CNN Lens runs every model channels-last with a free batch dimension,
// [null, 16, 16, 32]; TF.js and Keras users read that as 16×16×32 (H×W×C). PyTorch and ONNX users
// read shapes as PyTorch prints them, N×C×H×W: 1×32×16×16.
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

/** What the notation means, said once beside a list of shapes: "H×W×C" or "N×C×H×W". */
export function shapeNotation(order?: ShapeOrder): string {
  return order === 'NCHW' ? 'N×C×H×W' : 'H×W×C';
}
