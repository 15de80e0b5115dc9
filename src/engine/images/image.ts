// Image input and output for the engine: decode the user's file into 8-bit RGBA, turn it into the
// model's input tensor the way the usual Python pipelines do (PIL / OpenCV), and encode PNGs.
//
// Codecs are jimp 1.6's (PNG, JPEG, BMP, GIF first frame, TIFF). WebP uses the libwebp decoder that
// @jimp/wasm-webp wraps (@jsquash/webp), but not through that plugin: in Node it locates its .wasm
// with fetch(file://...), which Node does not implement, and the failure surfaces as an unhandled
// rejection that kills the process. Here the .wasm is read from disk and compiled once (see webp below).
import * as fs from 'fs';
import * as path from 'path';
import { createJimp } from '@jimp/core';
import { defaultFormats } from 'jimp';
import type { Preprocessing, RgbaImage } from '../../shared/types';
import { LensError } from '../../shared/errors';
import { imageExtents, type ImageExtent, type ImageFormat } from './imageHeader';
import { DEFAULT_MAX_IMAGE_PIXELS, IMAGE_LIMIT_CONTROLS, describePixels, megapixels } from '../limits';
import * as tf from '../tf';

/** File name of libwebp's decoder; esbuild.js copies it next to the bundles in dist/. */
export const WEBP_WASM_FILE = 'webp_dec.wasm';

const SUPPORTED = 'PNG, JPEG, BMP, GIF, WebP or TIFF';

export interface ImageReadOptions {
  /**
   * The largest image decoded, in pixels (width × height); larger ones are refused before decoding.
   * Default DEFAULT_MAX_IMAGE_PIXELS (limits.ts).
   */
  maxPixels?: number;
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Decodes an image file's bytes to RGBA. Errors name `sourceName` and say what is wrong; an image
 * larger than `options.maxPixels` is refused from its header, before anything is decoded.
 */
export async function decodeImage(bytes: Uint8Array, sourceName: string, options: ImageReadOptions = {}): Promise<RgbaImage> {
  if (bytes.length === 0) {
    throw new LensError(`${sourceName}: the file is empty (0 bytes), not an image.`, 'bad-input');
  }
  const format = sniffFormat(bytes);
  if (!format) {
    throw new LensError(`${sourceName}: not a ${SUPPORTED} image (unrecognised file contents).`, 'bad-input');
  }
  const maxPixels = maxPixelsOf(options);
  checkDeclaredPixels(imageExtents(bytes, format), format, maxPixels, sourceName);
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let bitmap: { width: number; height: number; data: Uint8Array };
  try {
    // fromBuffer also applies a JPEG's EXIF orientation, so pixels are upright as viewers show them.
    bitmap = (await codecs().fromBuffer(buffer, jpegLimits(maxPixels))).bitmap;
  } catch (error) {
    if (error instanceof LensError) {
      throw error; // already says what is wrong (e.g. the WebP decoder binary is missing)
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new LensError(
      `${sourceName}: cannot decode the ${format} image (${reason}); the file may be truncated or corrupt.`,
      'bad-input',
    );
  }
  const { width, height } = bitmap;
  if (!(width > 0 && height > 0) || bitmap.data.length < width * height * 4) {
    throw new LensError(`${sourceName}: the ${format} image decodes to no pixels (${width}x${height}).`, 'bad-input');
  }
  if (width * height > maxPixels) {
    // A header the check could not read (e.g. a JPEG whose height comes later, in a DNL segment).
    throw tooManyPixels(sourceName, format, { width, height, part: '' }, maxPixels);
  }
  // A private copy: decoders may hand out views into pooled or wasm memory.
  return { width, height, data: new Uint8Array(bitmap.data.subarray(0, width * height * 4)), source: sourceName };
}

/** Reads and decodes an image file (see decodeImage for the size limit). */
export async function readImageFile(filePath: string, options: ImageReadOptions = {}): Promise<RgbaImage> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.promises.readFile(filePath);
  } catch (error) {
    throw new LensError(`${filePath}: cannot read the image (${fileErrorReason(error)}).`, 'bad-input');
  }
  return decodeImage(bytes, filePath, options);
}

function maxPixelsOf(options: ImageReadOptions): number {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  if (!(Number.isInteger(maxPixels) && maxPixels > 0)) {
    throw new LensError(`The image limit must be a positive whole number of pixels, got ${maxPixels}.`, 'bad-request');
  }
  return maxPixels;
}

/** Refuses a header declaring more than `maxPixels` (TIFF: all pages together, jimp decodes each). */
function checkDeclaredPixels(extents: ImageExtent[], format: ImageFormat, maxPixels: number, sourceName: string): void {
  for (const extent of extents) {
    if (extent.width * extent.height > maxPixels) {
      throw tooManyPixels(sourceName, format, extent, maxPixels);
    }
  }
  const pages = extents.reduce((sum, e) => sum + e.width * e.height, 0);
  if (format === 'TIFF' && pages > maxPixels) {
    throw new LensError(
      `${sourceName}: the TIFF's ${extents.length} pages hold ${megapixels(pages)} megapixels together, more than the limit of ${megapixels(maxPixels)} megapixels; ` +
        `raise the limit (${IMAGE_LIMIT_CONTROLS}) to open it, or save the page you need on its own.`,
      'bad-input',
    );
  }
}

function tooManyPixels(sourceName: string, format: ImageFormat, extent: ImageExtent, maxPixels: number): LensError {
  const what = extent.part ? `the ${format}'s ${extent.part}` : `the ${format} image`;
  return new LensError(
    `${sourceName}: ${what} is ${describePixels(extent.width, extent.height)}, more than the limit of ${megapixels(maxPixels)} megapixels; ` +
      `raise the limit (${IMAGE_LIMIT_CONTROLS}) to open it, or downscale the image.`,
    'bad-input',
  );
}

/**
 * jpeg-js's own limits, set from ours: its defaults (100 MP, 512 MB) would refuse images below our
 * limit with "maxMemoryUsageInMB limit exceeded", which reads like a damaged file. It needs up to
 * about 16 bytes a pixel (coefficients of up to 4 components, then RGBA).
 */
function jpegLimits(maxPixels: number): Record<string, Record<string, number>> {
  return { 'image/jpeg': { maxResolutionInMP: maxPixels / 1e6, maxMemoryUsageInMB: Math.ceil((maxPixels * 16) / 2 ** 20) + 64 } };
}

/** Encodes RGBA pixels as a PNG file's bytes. */
export async function encodePng(image: RgbaImage): Promise<Uint8Array> {
  if (image.data.length !== image.width * image.height * 4) {
    throw new Error(`Cannot encode ${image.width}x${image.height} RGBA from ${image.data.length} bytes.`);
  }
  // An exact-size copy: jimp's fromBitmap reads `data.buffer` whole, so a view into a larger buffer
  // (a subarray, or a small Buffer from Node's pool) would encode the wrong bytes.
  const exact = new Uint8Array(image.data);
  const jimpImage = codecs().fromBitmap({ width: image.width, height: image.height, data: Buffer.from(exact.buffer) });
  // Level 6 instead of jimp's 9: overlays are re-encoded on every change and 9 is much slower for ~1% smaller files.
  return jimpImage.getBuffer('image/png', { deflateLevel: 6 });
}

/** Which supported format the bytes start like, from the formats' magic numbers. */
function sniffFormat(bytes: Uint8Array): ImageFormat | undefined {
  const startsWith = (offset: number, signature: number[] | string): boolean => {
    const codes = typeof signature === 'string' ? [...signature].map((ch) => ch.charCodeAt(0)) : signature;
    return bytes.length >= offset + codes.length && codes.every((code, i) => bytes[offset + i] === code);
  };
  if (startsWith(0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'PNG';
  if (startsWith(0, [0xff, 0xd8, 0xff])) return 'JPEG';
  if (startsWith(0, 'GIF87a') || startsWith(0, 'GIF89a')) return 'GIF';
  if (startsWith(0, 'BM')) return 'BMP';
  if (startsWith(0, 'RIFF') && startsWith(8, 'WEBP')) return 'WebP';
  if (startsWith(0, [0x49, 0x49, 0x2a, 0x00]) || startsWith(0, [0x4d, 0x4d, 0x00, 0x2a])) return 'TIFF';
  return undefined;
}

function fileErrorReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'it is a folder, not a file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

// ---------------------------------------------------------------------------------------------
// Codecs: jimp's JavaScript decoders plus libwebp (wasm) for WebP

interface DecodedRgba {
  width: number;
  height: number;
  data: Buffer;
}

function webp() {
  return {
    mime: 'image/webp' as const,
    hasAlpha: true,
    encode: (): Buffer => {
      throw new Error('CNN Lens does not write WebP images.');
    },
    decode: (data: Buffer): Promise<DecodedRgba> => decodeWebp(data),
  };
}

let jimpWithWebp: ReturnType<typeof makeCodecs> | undefined;

function makeCodecs() {
  // No plugins: the engine does its own resizing and blending, so only the codecs are needed.
  return createJimp({ formats: [...defaultFormats, webp] });
}

function codecs(): ReturnType<typeof makeCodecs> {
  jimpWithWebp ??= makeCodecs();
  return jimpWithWebp;
}

type WebpDecode = (buffer: ArrayBuffer) => Promise<{ width: number; height: number; data: Uint8ClampedArray }>;
/** @jsquash/webp's real init signature (its .d.ts predates the wasm-module parameter). */
type WebpInit = (module: unknown, overrides: { locateFile: (file: string) => string }) => void;
/** The slice of the WebAssembly global used here (lib "ES2022" has no WebAssembly typings). */
declare const WebAssembly: { Module: new (bytes: Uint8Array) => unknown };
let webpDecoder: Promise<WebpDecode> | undefined;

async function decodeWebp(data: Buffer): Promise<DecodedRgba> {
  const decode = await (webpDecoder ??= loadWebpDecoder().catch((error: unknown) => {
    webpDecoder = undefined; // let a later call retry (e.g. after the .wasm file was restored)
    throw error;
  }));
  // libwebp takes an ArrayBuffer of exactly the file: copy out of Node's shared buffer pool.
  const exact = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  const result = await decode(exact);
  return {
    width: result.width,
    height: result.height,
    // A copy: the pixels may live in the decoder's wasm memory, which the next decode reuses.
    data: Buffer.from(result.data),
  };
}

async function loadWebpDecoder(): Promise<WebpDecode> {
  const wasmPath = webpWasmPath();
  const module = new WebAssembly.Module(await fs.promises.readFile(wasmPath));
  const codec = await import('@jsquash/webp/decode.js');
  // Passing the compiled module makes the emscripten glue instantiate it directly instead of fetching
  // the .wasm; locateFile keeps it from building a URL out of import.meta.url (empty when bundled).
  (codec.init as unknown as WebpInit)(module, { locateFile: (file: string) => path.join(path.dirname(wasmPath), file) });
  return codec.default as WebpDecode;
}

/** The libwebp decoder binary: next to the bundle in dist/, else in node_modules (tests, tsx). */
function webpWasmPath(): string {
  const bundled = path.join(__dirname, WEBP_WASM_FILE);
  if (fs.existsSync(bundled)) {
    return bundled;
  }
  try {
    return require.resolve(`@jsquash/webp/codec/dec/${WEBP_WASM_FILE}`);
  } catch {
    throw new LensError(
      `WebP support is missing: ${WEBP_WASM_FILE} is neither next to ${__dirname} nor in node_modules/@jsquash/webp; reinstall CNN Lens.`,
      'unsupported',
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Model input

const LUMA_WEIGHTS = [0.299, 0.587, 0.114]; // ITU-R 601, as PIL's convert('L') and cv2's RGB2GRAY

/**
 * The model input for an image: [1, h, w, c] float32.
 *  1. alpha composited over black (a transparent pixel is black, as the pixels are premultiplied);
 *  2. the model's channel count: 3 = RGB, 1 = luma with ITU-R 601 weights; both rounded to 8 bits,
 *     the intermediate PIL and OpenCV keep;
 *  3. resized to h x w, bilinear with half-pixel centres (= cv2.resize INTER_LINEAR, PIL-style pixel
 *     centres). Like cv2.resize, downscaling does NOT antialias: each output pixel blends only its 2x2
 *     nearest source pixels. The result is kept in float (no second rounding to 8 bits);
 *  4. scaled to [0,1], then (x - mean) / std per channel when given.
 * Leaves no tensors behind except the returned one.
 */
export function toModelInput(image: RgbaImage, inputShape: [number, number, number], preprocessing: Preprocessing): tf.Tensor4D {
  const [height, width, channels] = inputShape;
  if (!(Number.isInteger(height) && height > 0 && Number.isInteger(width) && width > 0)) {
    throw new LensError(`The model's input size ${height}x${width} is not a fixed positive size; CNN Lens needs one.`, 'unsupported');
  }
  if (channels !== 1 && channels !== 3) {
    throw new LensError(`The model takes ${channels} input channels; CNN Lens feeds 1 (grayscale) or 3 (RGB).`, 'unsupported');
  }
  checkPreprocessing(preprocessing, channels, 'preprocessing settings');
  const pixels = toChannels(image, channels);
  return tf.tidy(() => {
    const source = tf.tensor4d(pixels, [1, image.height, image.width, channels]);
    const resized = tf.image.resizeBilinear(source, [height, width], false, true);
    let input: tf.Tensor4D = tf.div(resized, 255);
    if (preprocessing.mean) {
      input = tf.sub(input, tf.tensor1d(preprocessing.mean));
    }
    if (preprocessing.std) {
      input = tf.div(input, tf.tensor1d(preprocessing.std));
    }
    return input;
  });
}

/** How far mean and std may go: inputs are scaled to [0, 1] first, so real values are near that range. */
const MAX_PREPROCESSING_MAGNITUDE = 1e6;
const MIN_STD = 1e-6;
const FLOAT32_MIN_NORMAL = 2 ** -126;

/**
 * Checks mean/std: finite numbers, 1 value or one per channel, |mean| at most 1e6, std from 1e-6 to
 * 1e6 (the model runs in float32: a std of 1e-300 is 0 there and every image would give the same
 * result; a mean of 1e308 swamps every pixel). `source` names where the values came from (e.g.
 * "…/cnn-lens.json" or "--mean") so the message says what to fix.
 */
export function checkPreprocessing(preprocessing: Preprocessing, channels: number | undefined, source: string): void {
  for (const key of ['mean', 'std'] as const) {
    const values = preprocessing[key];
    if (values === undefined) {
      continue;
    }
    if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new LensError(`${source}: "${key}" must be a list of numbers, all finite, got ${describeValues(values)}.`, 'bad-input');
    }
    // With the channel count unknown (e.g. a multi-input model the caller will refuse), lengths cannot be checked.
    if (channels !== undefined && values.length !== 1 && values.length !== channels) {
      throw new LensError(
        `${source}: "${key}" has ${values.length} values but the model takes ${channels} channel${channels === 1 ? '' : 's'}; give 1 or ${channels}.`,
        'bad-input',
      );
    }
    const index = values.findIndex((v) => degeneratePreprocessing(key, v) !== undefined);
    if (index >= 0) {
      throw new LensError(`${source}: "${key}" value ${index + 1} (${values[index]}) ${degeneratePreprocessing(key, values[index])}.`, 'bad-input');
    }
  }
}

/** Values as written, NaN and Infinity included (JSON.stringify shows them as null). */
export function describeValues(values: unknown): string {
  return Array.isArray(values) ? `[${values.map((v) => (typeof v === 'number' ? String(v) : JSON.stringify(v))).join(', ')}]` : JSON.stringify(values);
}

/** Why a mean or std value cannot be used, or undefined when it can. */
function degeneratePreprocessing(key: 'mean' | 'std', value: number): string | undefined {
  if (key === 'mean') {
    return Math.abs(value) > MAX_PREPROCESSING_MAGNITUDE ? `is beyond ±${MAX_PREPROCESSING_MAGNITUDE.toExponential()}; inputs are scaled to [0, 1] before the mean is subtracted` : undefined;
  }
  if (value === 0) return 'must not contain 0 (it divides the input)';
  if (value < 0) return 'must be positive (it divides the input)';
  if (Math.fround(value) < FLOAT32_MIN_NORMAL) return 'is 0 or subnormal in float32, the precision the model runs in (it divides the input)';
  if (value < MIN_STD || value > MAX_PREPROCESSING_MAGNITUDE) {
    return `is outside ${MIN_STD.toExponential()}..${MAX_PREPROCESSING_MAGNITUDE.toExponential()}; inputs are scaled to [0, 1] before they are divided by it`;
  }
  return undefined;
}

/** RGBA (8-bit) to the model's channels after compositing over black, rounded to 8 bits, as float32. */
function toChannels(image: RgbaImage, channels: 1 | 3): Float32Array {
  const count = image.width * image.height;
  if (image.data.length !== count * 4) {
    throw new Error(`Image data holds ${image.data.length} bytes but ${image.width}x${image.height} RGBA needs ${count * 4}.`);
  }
  const out = new Float32Array(count * channels);
  const src = image.data;
  for (let i = 0; i < count; i++) {
    const opacity = src[i * 4 + 3] / 255;
    const r = Math.round(src[i * 4] * opacity);
    const g = Math.round(src[i * 4 + 1] * opacity);
    const b = Math.round(src[i * 4 + 2] * opacity);
    if (channels === 3) {
      out[i * 3] = r;
      out[i * 3 + 1] = g;
      out[i * 3 + 2] = b;
    } else {
      out[i] = Math.round(LUMA_WEIGHTS[0] * r + LUMA_WEIGHTS[1] * g + LUMA_WEIGHTS[2] * b);
    }
  }
  return out;
}
