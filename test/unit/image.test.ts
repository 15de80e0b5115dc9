// Image decoding (every supported format, bad files) and the model-input preprocessing: compositing,
// channel conversion, half-pixel bilinear resize and mean/std, checked against hand-computed values.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createJimp } from '@jimp/core';
import { defaultFormats } from 'jimp';
import * as tf from '../../src/engine/tf';
import { initBackend } from '../../src/engine/backend';
import { LensError } from '../../src/shared/errors';
import { checkPreprocessing, decodeImage, encodePng, readImageFile, toModelInput } from '../../src/engine/images/image';
import type { RgbaImage } from '../../src/shared/types';

/** Encoders for fixtures: jimp's own (PNG, JPEG, BMP, TIFF). */
const encoders = createJimp({ formats: defaultFormats });

/** A 5x3 test picture with distinct, irregular pixels. */
function testPicture(): RgbaImage {
  const width = 5;
  const height = 3;
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    data.set([(i * 37) % 256, 200 - i * 10, i * 15, 255], i * 4);
  }
  return { width, height, data };
}

async function encodeWithJimp(image: RgbaImage, mime: 'image/png' | 'image/jpeg' | 'image/bmp' | 'image/tiff'): Promise<Buffer> {
  // Buffer.from(ArrayBuffer) of an exact copy: jimp's fromBitmap reads `data.buffer` whole.
  const jimpImage = encoders.fromBitmap({ width: image.width, height: image.height, data: Buffer.from(new Uint8Array(image.data).buffer) });
  return jimpImage.getBuffer(mime);
}

function maxDifference(a: Uint8Array, b: Uint8Array): number {
  assert.strictEqual(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    max = Math.max(max, Math.abs(a[i] - b[i]));
  }
  return max;
}

async function assertBadInput(promise: Promise<unknown>, ...fragments: string[]): Promise<LensError> {
  const error = await promise.then(
    () => assert.fail('expected an LensError'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof LensError, `expected LensError, got ${String(error)}`);
  assert.strictEqual(error.code, 'bad-input');
  for (const fragment of fragments) {
    assert.ok(error.message.includes(fragment), `"${error.message}" should mention "${fragment}"`);
  }
  return error;
}

// A 5x3 lossless WebP with alpha written by OpenCV 4.6 (libwebp), not by the library under test:
// pixel (x, y) = RGBA(x*50, 30+60y, (17xy) mod 256, x<4 ? 255 : 128).
const OPENCV_WEBP =
  'UklGRlQAAABXRUJQVlA4TEcAAAAvBIAAEHcgEEhxJJMsEEhmyp9hJoJsm7KM5f4qVyCQtLH5WfJHOQCgG38+n+8ghFAwFcnGew+/RhalZFFJFsEi+h/VvhP3CQA=';
// A 4x2 two-frame GIF written by PIL. Frame 1: pixel (x, y) = palette[(x+y) mod 4] with palette
// red, green, blue, white; frame 2 is all white (must be ignored: the first frame is the image).
const PIL_ANIMATED_GIF =
  'R0lGODlhBAACAIEAAP8AAAD/AAAA/////yH/C05FVFNDQVBFMi4wAwEAAAAh+QQACgAAACwAAAAABAACAAAICwABBBAwYOAAAAEBACH5BAAKAAAALAAAAAAEAAIAgf///wAAAAAAAAAAAAgHAAEIHCgwIAA7';

describe('image decoding', () => {
  it('decodes PNG, BMP and TIFF exactly and JPEG approximately', async () => {
    const picture = testPicture();
    for (const mime of ['image/png', 'image/bmp', 'image/tiff'] as const) {
      const decoded = await decodeImage(await encodeWithJimp(picture, mime), `picture.${mime}`);
      assert.deepStrictEqual([decoded.width, decoded.height], [5, 3], mime);
      assert.strictEqual(maxDifference(decoded.data, picture.data), 0, mime);
    }
    const jpeg = await decodeImage(await encodeWithJimp(picture, 'image/jpeg'), 'picture.jpg');
    assert.deepStrictEqual([jpeg.width, jpeg.height], [5, 3]);
    const difference = maxDifference(jpeg.data, picture.data);
    assert.ok(difference <= 8, `JPEG differs by ${difference}`);
  });

  it('decodes the first frame of an animated GIF', async () => {
    const decoded = await decodeImage(Buffer.from(PIL_ANIMATED_GIF, 'base64'), 'anim.gif');
    const palette = [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
      [255, 255, 255],
    ];
    assert.deepStrictEqual([decoded.width, decoded.height], [4, 2]);
    for (let y = 0; y < 2; y++) {
      for (let x = 0; x < 4; x++) {
        const i = (y * 4 + x) * 4;
        assert.deepStrictEqual([...decoded.data.subarray(i, i + 4)], [...palette[(x + y) % 4], 255], `pixel ${x},${y}`);
      }
    }
  });

  it('decodes WebP (lossless, with alpha) through libwebp wasm', async () => {
    const decoded = await decodeImage(Buffer.from(OPENCV_WEBP, 'base64'), 'opencv.webp');
    assert.deepStrictEqual([decoded.width, decoded.height], [5, 3]);
    for (let y = 0; y < 3; y++) {
      for (let x = 0; x < 5; x++) {
        const i = (y * 5 + x) * 4;
        const expected = [x * 50, 30 + 60 * y, (17 * x * y) % 256, x < 4 ? 255 : 128];
        assert.deepStrictEqual([...decoded.data.subarray(i, i + 4)], expected, `pixel ${x},${y}`);
      }
    }
  });

  it('refuses empty, non-image and truncated files with errors naming the file', async () => {
    await assertBadInput(decodeImage(new Uint8Array(0), 'empty.png'), 'empty.png', 'empty');
    await assertBadInput(decodeImage(Buffer.from('just some text, no pixels'), 'notes.txt'), 'notes.txt', 'not a PNG');
    const png = await encodeWithJimp(testPicture(), 'image/png');
    await assertBadInput(decodeImage(png.subarray(0, Math.floor(png.length / 2)), 'cut.png'), 'cut.png', 'PNG', 'truncated');
    const jpeg = await encodeWithJimp(testPicture(), 'image/jpeg');
    await assertBadInput(decodeImage(jpeg.subarray(0, Math.floor(jpeg.length / 2)), 'cut.jpg'), 'cut.jpg', 'JPEG');
    const webp = Buffer.from(OPENCV_WEBP, 'base64');
    await assertBadInput(decodeImage(webp.subarray(0, 40), 'cut.webp'), 'cut.webp', 'WebP');
  });

  it('reads files from disk and explains a missing one', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'cnn-lens-image-'));
    try {
      const file = path.join(folder, 'picture.png');
      fs.writeFileSync(file, await encodeWithJimp(testPicture(), 'image/png'));
      const decoded = await readImageFile(file);
      assert.strictEqual(maxDifference(decoded.data, testPicture().data), 0);
      await assertBadInput(readImageFile(path.join(folder, 'nope.png')), 'nope.png', 'no such file');
      fs.writeFileSync(path.join(folder, 'fake.png'), 'not really a png');
      await assertBadInput(readImageFile(path.join(folder, 'fake.png')), 'fake.png');
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it('encodes PNGs that decode to the same pixels', async () => {
    const picture = testPicture();
    picture.data[7] = 77; // a translucent pixel survives too
    const png = await encodePng(picture);
    assert.deepStrictEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    const decoded = await decodeImage(png, 'roundtrip.png');
    assert.strictEqual(maxDifference(decoded.data, picture.data), 0);
  });
});

describe('model input preprocessing', () => {
  before(async () => {
    await initBackend('cpu');
  });

  /** A w x h opaque black image with one coloured pixel. */
  function onePixel(width: number, height: number, x: number, y: number, rgb: [number, number, number]): RgbaImage {
    const data = new Uint8Array(width * height * 4);
    for (let i = 3; i < data.length; i += 4) data[i] = 255;
    data.set(rgb, (y * width + x) * 4);
    return { width, height, data };
  }

  it('puts a known pixel where half-pixel bilinear resizing puts it, then applies mean/std', () => {
    // 4x4 -> 3x3: output x samples source x' = (x + 0.5) * 4/3 - 0.5, i.e. 1/6, 3/2 and 17/6.
    // The source has G = 255 at (2, 1) only, so output G/255 is (weight of x'=2) * (weight of y'=1):
    //   out(1,1): x 3/2 -> 1/2 of x=2; y 3/2 -> 1/2 of y=1         => 1/4
    //   out(2,0): x 17/6 -> 1/6 of x=2; y 1/6 -> 1/6 of y=1        => 1/36
    //   out(2,1): 1/6 * 1/2                                        => 1/12
    //   out(1,0): 1/2 * 1/6                                        => 1/12
    //   out(2,2): y 17/6 blends source y=2 and 3 only              => 0
    //   out(0,*): x 1/6 blends source x=0 and 1 only               => 0
    const image = onePixel(4, 4, 2, 1, [0, 255, 0]);
    const before = tf.memory().numTensors;
    const input = toModelInput(image, [3, 3, 3], {});
    assert.strictEqual(tf.memory().numTensors, before + 1, 'only the result tensor remains');
    assert.deepStrictEqual(input.shape, [1, 3, 3, 3]);
    assert.strictEqual(input.dtype, 'float32');
    const values = input.dataSync();
    input.dispose();
    const green = (x: number, y: number) => values[(y * 3 + x) * 3 + 1];
    const expected: [number, number, number][] = [
      [1, 1, 1 / 4],
      [2, 0, 1 / 36],
      [2, 1, 1 / 12],
      [1, 0, 1 / 12],
      [2, 2, 0],
      [0, 0, 0],
      [0, 1, 0],
    ];
    for (const [x, y, value] of expected) {
      assert.ok(Math.abs(green(x, y) - value) < 1e-6, `G(${x},${y}) = ${green(x, y)}, expected ${value}`);
    }

    const normalised = toModelInput(image, [3, 3, 3], { mean: [0.5, 0.25, 0], std: [0.5, 0.25, 2] });
    const n = normalised.dataSync();
    normalised.dispose();
    assert.ok(Math.abs(n[(1 * 3 + 1) * 3 + 1] - (0.25 - 0.25) / 0.25) < 1e-6, 'G at (1,1) after mean/std');
    assert.ok(Math.abs(n[(0 * 3 + 2) * 3 + 1] - (1 / 36 - 0.25) / 0.25) < 1e-6, 'G at (2,0) after mean/std');
    assert.ok(Math.abs(n[0] - (0 - 0.5) / 0.5) < 1e-6, 'R after mean/std');
    assert.ok(Math.abs(n[2] - 0) < 1e-6, 'B after mean/std');
  });

  it('clamps at the edges when upsampling (2x2 -> 4x4)', () => {
    const image: RgbaImage = { width: 2, height: 2, data: new Uint8Array([0, 0, 0, 255, 255, 0, 0, 255, 0, 0, 0, 255, 255, 0, 0, 255]) };
    const input = toModelInput(image, [4, 4, 3], {});
    const values = input.dataSync();
    input.dispose();
    // Output x samples x' = (x + 0.5) / 2 - 0.5 = -1/4, 1/4, 3/4, 5/4; clamped to [0, 1]: R = 0, 1/4, 3/4, 1.
    const red = [0, 1, 2, 3].map((x) => values[x * 3]);
    [0, 0.25, 0.75, 1].forEach((want, x) => assert.ok(Math.abs(red[x] - want) < 1e-6, `R(${x}) = ${red[x]}, expected ${want}`));
  });

  it('keeps the size when it already matches and scales to [0,1]', () => {
    const picture = testPicture();
    const input = toModelInput(picture, [3, 5, 3], {});
    const values = input.dataSync();
    input.dispose();
    for (let i = 0; i < 15; i++) {
      for (let c = 0; c < 3; c++) {
        assert.ok(Math.abs(values[i * 3 + c] - picture.data[i * 4 + c] / 255) < 1e-6);
      }
    }
  });

  it('converts to one channel with ITU-R 601 luma, as PIL convert("L")', () => {
    const image = onePixel(1, 1, 0, 0, [100, 150, 200]);
    const input = toModelInput(image, [1, 1, 1], { mean: [0.5], std: [0.25] });
    const [value] = input.dataSync();
    input.dispose();
    // PIL: (100*19595 + 150*38470 + 200*7471 + 0x8000) >> 16 = 141 (0.299R + 0.587G + 0.114B = 140.75).
    assert.ok(Math.abs(value - (141 / 255 - 0.5) / 0.25) < 1e-6, `luma ${value}`);
  });

  it('composites transparency over black (RGBA input)', () => {
    const image: RgbaImage = { width: 2, height: 1, data: new Uint8Array([200, 100, 50, 128, 200, 100, 50, 0]) };
    const input = toModelInput(image, [1, 2, 3], {});
    const values = [...input.dataSync()].map((v) => Math.round(v * 255));
    input.dispose();
    // 200*128/255 = 100.4 -> 100, 100*128/255 = 50.2 -> 50, 50*128/255 = 25.1 -> 25; alpha 0 -> black.
    assert.deepStrictEqual(values, [100, 50, 25, 0, 0, 0]);
  });

  it('gives the same input on the wasm backend', async () => {
    const image = onePixel(7, 5, 3, 2, [10, 250, 90]);
    const onCpu = toModelInput(image, [3, 4, 3], { mean: [0.4], std: [0.2] });
    const cpuValues = onCpu.dataSync().slice();
    onCpu.dispose();
    await initBackend('wasm');
    try {
      const onWasm = toModelInput(image, [3, 4, 3], { mean: [0.4], std: [0.2] });
      const wasmValues = onWasm.dataSync();
      onWasm.dispose();
      cpuValues.forEach((v, i) => assert.ok(Math.abs(v - wasmValues[i]) < 1e-5, `value ${i}: cpu ${v} wasm ${wasmValues[i]}`));
    } finally {
      await initBackend('cpu');
    }
  });

  it('refuses channel counts and mean/std it cannot apply', () => {
    const image = testPicture();
    assert.throws(() => toModelInput(image, [4, 4, 4], {}), (e: unknown) => e instanceof LensError && /4 input channels/.test(e.message));
    assert.throws(() => toModelInput(image, [4, 4, 3], { mean: [0.1, 0.2] }), /"mean" has 2 values but the model takes 3 channels/);
    assert.throws(() => toModelInput(image, [4, 4, 3], { std: [0.5, 0, 0.5] }), /must not contain 0/);
    assert.throws(() => checkPreprocessing({ mean: [Number.NaN] }, 3, 'cnn-lens.json'), /cnn-lens.json: "mean" must be a list of numbers/);
  });
});
