// How large the things the engine reads may be. Models and images come from any repository a user
// opens, and a few crafted bytes can declare gigabytes (a 16000² GIF screen in 35 bytes, a gzip'd
// HDF5 dataset, a ConstantOfShape of 10000² floats), so every loader compares what a file declares
// with these limits, and with the bytes that hold it, before it allocates; each refusal names the
// file, what is too large and both numbers. The numbers and why: docs/formats.md, "Limits and safety".
import { DEFAULT_MAX_IMAGE_MEGAPIXELS, megapixelsToPixels } from '../shared/imageLimit';
import { isCancelled, LensError } from '../shared/errors';

/**
 * The largest image decoded by default, in pixels (width × height; a GIF's screen and each frame, a
 * TIFF's pages together). readImageFile + toModelInput peak at 31 (PNG) to 39 (JPEG) bytes a pixel:
 * the decoder's buffers, RGBA, the float copy at full size and its copy in the wasm heap. At 24
 * megapixels (a 6000×4000 photo) a whole `cnn-lens gradcam` peaks at 0.8 to 1.13 GB (JPEG), well
 * under 1.5 GB; at 40 megapixels WebP reached 1.66 GB. Pillow refuses 2 × 89 megapixels, but holds 3
 * to 4 bytes a pixel. Callers change it with the `maxPixels` option of readImage / decodeImage.
 */
export const DEFAULT_MAX_IMAGE_PIXELS = megapixelsToPixels(DEFAULT_MAX_IMAGE_MEGAPIXELS);

/** What raises the image limit, for messages refusing an image: the extension's setting, the CLI's flag. */
export const IMAGE_LIMIT_CONTROLS = 'the "cnnLens.maxImageMegapixels" setting, or --max-image-megapixels in the CLI';

/** The longest side of a model input. */
export const MAX_MODEL_INPUT_SIDE = 8192;
/** A model input's height × width (4096²): its float copy and first activations stay in hundreds of MB. */
export const MAX_MODEL_INPUT_PIXELS = 4096 * 4096;
/**
 * The most values one tensor may hold (2^27, 512 MiB as float32): a weight, a folded constant, a
 * layer's output for one image. VGG16's largest weight (25088×4096) holds 103 million.
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 27;
/**
 * All of a model's weights, in bytes as stored. Where a format stores weights plainly they must
 * also fit in the bytes that hold them; compressed HDF5 datasets are bounded by this alone.
 */
export const MAX_WEIGHT_BYTES = 2 * 1024 ** 3;

/** "16000×16000 (256.0 megapixels)" */
export function describePixels(width: number, height: number): string {
  return `${width}×${height} (${megapixels(width * height)} megapixels)`;
}

/** "24.0", and two significant digits below one megapixel ("0.066"), so a small limit never reads as its image. */
export function megapixels(pixels: number): string {
  const value = pixels / 1e6;
  return value >= 1 ? value.toFixed(1) : String(Number(value.toPrecision(2)));
}

/** "134,217,728" */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** "1.5 GB", "12.0 MB", "512 bytes" */
export function describeBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e4) return `${(bytes / 1e3).toFixed(0)} kB`;
  return `${bytes} bytes`;
}

/** Elements of a shape; NaN when a dimension is not a non-negative integer (then no check passes). */
export function elementCount(shape: readonly number[]): number {
  let total = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) return NaN;
    total *= d;
  }
  return total;
}

/**
 * Refuses a tensor of more than MAX_TENSOR_ELEMENTS values (or of a shape that is not one), before
 * anything allocates it. `where` starts the message: "model.onnx: node "x" (ConstantOfShape) output".
 */
export function checkTensorSize(shape: readonly number[], where: string): void {
  const size = elementCount(shape);
  if (Number.isNaN(size)) {
    throw new LensError(`${where} has shape [${shape.join(', ')}], which is not a list of non-negative whole numbers.`, 'bad-input');
  }
  if (size > MAX_TENSOR_ELEMENTS) {
    throw new LensError(
      `${where} would hold ${count(size)} values (shape [${shape.join(', ')}]), more than the ${count(MAX_TENSOR_ELEMENTS)} CNN Lens allows in one tensor.`,
      'bad-input',
    );
  }
}

/** Refuses a model input larger than MAX_MODEL_INPUT_SIDE a side or MAX_MODEL_INPUT_PIXELS in all. */
export function checkModelInputSize(height: number, width: number, where: string): void {
  if (height > MAX_MODEL_INPUT_SIDE || width > MAX_MODEL_INPUT_SIDE) {
    throw new LensError(
      `${where}: the model input is ${height}×${width} pixels; CNN Lens runs inputs of at most ${MAX_MODEL_INPUT_SIDE} pixels a side.`,
      'unsupported',
    );
  }
  if (height * width > MAX_MODEL_INPUT_PIXELS) {
    throw new LensError(
      `${where}: the model input is ${describePixels(width, height)}; CNN Lens runs inputs of at most ${count(MAX_MODEL_INPUT_PIXELS)} pixels (4096×4096).`,
      'unsupported',
    );
  }
}

/** The shape two shapes broadcast to (numpy rules), for sizing an element-wise result before computing it. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    out.push(x === 1 ? y : y === 1 ? x : Math.max(x, y));
  }
  return out;
}

/**
 * The error as one line that names the file: an LensError that does not name it yet gets the
 * name in front (its code kept); a raw JavaScript or tfjs error ("Invalid typed array length:
 * 4800000000") becomes a LensError saying what failed (`failed`, e.g. "cannot be loaded").
 */
export function namingFile(error: unknown, file: string, failed: string): LensError {
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  if (error instanceof LensError) {
    return message.includes(file) || isCancelled(error) ? error : new LensError(`${file}: ${message}`, error.code);
  }
  return new LensError(`${file}: ${failed} (${message}).`, 'bad-input');
}
