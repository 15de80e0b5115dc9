// Activation maps and filter grids (src/engine/inspect/activations.ts, filters.ts, grid.ts). Activations are
// checked against a sub-model built independently with tf.model({inputs, outputs: layer.output});
// filter tiles against the kernel slices of hand-set kernels whose pictures are known (a vertical
// edge detector, a pure-red filter); sign, normalisation and paging bounds against hand arithmetic.
import * as assert from 'assert';
import * as path from 'path';
import { initBackend } from '../../src/engine/backend';
import * as tf from '../../src/engine/tf';
import { ActivationCache, activationChannel, activationPage, computeActivations, fromChannelsLast, quantize } from '../../src/engine/inspect/activations';
import { divergingLut } from '../../src/render/colormap';
import { filterPage, filterWeights, readFilterBank, quantizeSigned } from '../../src/engine/inspect/filters';
import { renderBars, renderGrid } from '../../src/render/grid';
import { loadModel, wrapModel, type LoadedModel } from '../../src/engine/index';
import { describeLayerViews } from '../../src/engine/inspect/layerViews';
import { MAX_INSPECTION_PAGE_BYTES, type RgbaImage } from '../../src/shared/types';
import { depthwiseModel, flatModel, nestedModel, seededRandom } from '../fixtures/models';

const MODEL = path.resolve(__dirname, '..', '..', 'samples', 'workspace', 'model', 'model.json');

function source(name: string) {
  return { path: name, labels: null, labelsSource: null, preprocessing: {}, sidecar: null };
}

/** A seeded RGBA image of exactly the model's input size, so preprocessing is only the /255. */
function randomImage(width: number, height: number, seed: number): RgbaImage {
  const random = seededRandom(seed);
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < data.length; i++) {
    data[i] = i % 4 === 3 ? 255 : Math.floor(((random() + 1) / 2) * 256) % 256;
  }
  return { width, height, data };
}

/** The model input the engine should build from the image: RGB (or luma) / 255, computed here by hand. */
function inputOf(image: RgbaImage, channels: number): tf.Tensor4D {
  const values = new Float32Array(image.width * image.height * channels);
  for (let p = 0; p < image.width * image.height; p++) {
    for (let c = 0; c < channels; c++) {
      values[p * channels + c] = image.data[p * 4 + c] / 255;
    }
  }
  return tf.tensor4d(values, [1, image.height, image.width, channels]);
}

/** Reference: the layer output of an independently built sub-model, as [c][h·w]. */
function subModelChannels(inputs: tf.SymbolicTensor | tf.SymbolicTensor[], output: tf.SymbolicTensor, input: tf.Tensor4D): { shape: number[]; channels: Float32Array[] } {
  const sub = tf.model({ inputs, outputs: output });
  const result = sub.predict(input) as tf.Tensor;
  const shape = result.shape as number[];
  const values = result.dataSync() as Float32Array;
  result.dispose();
  const c = shape[shape.length - 1];
  const area = values.length / c;
  const channels = Array.from({ length: c }, (_, k) => Float32Array.from({ length: area }, (_, p) => values[p * c + k]));
  return { shape, channels };
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

describe('layer inspection: activations', function () {
  let sample: LoadedModel;

  before(async () => {
    await initBackend('cpu');
    sample = await loadModel(MODEL);
  });
  after(() => sample.dispose());

  it('every layer of the sample equals a sub-model output computed independently', async () => {
    const image = randomImage(64, 64, 11);
    const input = inputOf(image, 3);
    try {
      for (const name of ['conv1', 'pool1', 'conv2', 'bn2', 'relu2', 'conv4', 'gap', 'predictions']) {
        const acts = await computeActivations(sample, image, name);
        const reference = subModelChannels(sample.model.inputs, sample.model.getLayer(name).output as tf.SymbolicTensor, input);
        const c = reference.shape[reference.shape.length - 1];
        assert.equal(acts.channels, c, `${name}: channels`);
        if (reference.shape.length === 4) {
          assert.equal(acts.kind, 'maps');
          assert.deepEqual([acts.height, acts.width], reference.shape.slice(1, 3), `${name}: size`);
        } else {
          assert.equal(acts.kind, 'units');
        }
        const area = acts.height * acts.width;
        for (let k = 0; k < c; k++) {
          const ours = acts.data.subarray(k * area, (k + 1) * area);
          assertClose(ours, reference.channels[k], 1e-4, `${name} channel ${k}`);
          // Relative: the engine folds bn2 into conv2 (batchNormFold.ts), so values downstream
          // differ from the layer-by-layer sub-model in the last float bits (conv4 reaches 54).
          const near = (a: number, b: number, tolerance: number, what: string) =>
            assert.ok(Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(b)), `${name} channel ${k} ${what}: ${a} vs ${b}`);
          near(acts.min[k], Math.min(...reference.channels[k]), 1e-5, 'min');
          near(acts.max[k], Math.max(...reference.channels[k]), 1e-5, 'max');
          const mean = reference.channels[k].reduce((a, v) => a + v, 0) / area;
          near(acts.mean[k], mean, 1e-4, 'mean');
        }
      }
    } finally {
      input.dispose();
    }
  });

  it('layers inside a nested model ("outer/inner") equal the inner sub-model output', async () => {
    const model = wrapModel(nestedModel('linear'), source('nested'));
    const image = randomImage(10, 10, 12);
    const input = inputOf(image, 3);
    try {
      const base = model.model.getLayer('base') as unknown as tf.LayersModel;
      for (const inner of ['b_conv1', 'b_bn', 'b_conv2']) {
        const acts = await computeActivations(model, image, `base/${inner}`);
        const reference = subModelChannels(base.inputs, base.getLayer(inner).output as tf.SymbolicTensor, input);
        reference.channels.forEach((channel, k) => assertClose(acts.data.subarray(k * channel.length, (k + 1) * channel.length), channel, 1e-5, `base/${inner} ${k}`));
      }
      assert.throws(() => activationPage(fromChannelsLast('x', 'X', 'maps', new Float32Array(4), 2, 2, 1), { layer: 'x', sort: 'size' as never }), /Unknown sort/);
      await assert.rejects(computeActivations(model, image, 'base/nope'), /Layer "base\/nope" is not in model/);
      await assert.rejects(computeActivations(model, image, 'image'), /no activations to draw: it is the model input/);
    } finally {
      input.dispose();
      model.dispose();
    }
  });

  it('leaves no tensors behind, honours cancellation, and the cache runs the model once per layer', async () => {
    const image = randomImage(64, 64, 13);
    const before = tf.memory().numTensors;
    await computeActivations(sample, image, 'conv3');
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');

    const controller = new AbortController();
    controller.abort();
    await assert.rejects(computeActivations(sample, image, 'conv3', { signal: controller.signal }), /Cancelled/);
    assert.equal(tf.memory().numTensors, before);

    const cache = new ActivationCache();
    let decodes = 0;
    const decode = async () => {
      decodes++;
      return image;
    };
    const computed = await cache.get(sample, 'img-a', decode, 'conv2');
    const again = await cache.get(sample, 'img-a', decode, 'conv2');
    assert.equal(again, computed, 'paging the same layer reuses the activations');
    assert.equal(decodes, 1);
    await cache.get(sample, 'img-b', decode, 'conv2');
    assert.equal(decodes, 2, 'a new image runs again');
    assert.ok(!cache.has(sample, 'img-a', 'conv2'), 'only the last image is kept');

    // Two requests for a layer being computed share it; cancelling the first ends only its wait.
    const first = new AbortController();
    const a = cache.get(sample, 'img-b', decode, 'conv4', { signal: first.signal });
    const b = cache.get(sample, 'img-b', decode, 'conv4');
    first.abort();
    await assert.rejects(a, /Cancelled/);
    assert.equal((await b).channels, 96, 'the second request still gets the activations');
    assert.equal(decodes, 3, 'one computation (one image read) for both');
    // When every waiter cancels, the computation stops and is not cached.
    const only = new AbortController();
    const c = cache.get(sample, 'img-b', decode, 'conv3', { signal: only.signal });
    only.abort();
    await assert.rejects(c, /Cancelled/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(!cache.has(sample, 'img-b', 'conv3'), 'a cancelled computation is dropped');
    assert.equal(tf.memory().numTensors, before, 'cancelled computations leak no tensors');
  });

  it('finds dead channels, sorts by mean and max, hides dead ones, and scales per channel or shared', async () => {
    // 1×1 conv with ReLU over an input in [0,1]: channel 0 = x, 1 = -x (dead after ReLU), 2 = 2x, 3 = x + 1.
    const model = tf.sequential({
      name: 'hand',
      layers: [
        tf.layers.conv2d({ inputShape: [2, 2, 1], filters: 4, kernelSize: 1, activation: 'relu', name: 'conv' }),
        tf.layers.flatten({ name: 'flat' }),
        tf.layers.dense({ units: 2, name: 'out' }),
      ],
    });
    model.getLayer('conv').setWeights([tf.tensor4d([1, -1, 2, 1], [1, 1, 1, 4]), tf.tensor1d([0, 0, 0, 1])]);
    const loaded = wrapModel(model, source('hand'));
    // Luma of gray pixels is the gray value: 0, 51, 102, 255 → 0, 0.2, 0.4, 1.
    const gray = [0, 51, 102, 255];
    const image: RgbaImage = { width: 2, height: 2, data: Uint8Array.from(gray.flatMap((g) => [g, g, g, 255])) };
    try {
      const acts = await computeActivations(loaded, image, 'conv');
      assertClose(acts.max, [1, 0, 2, 2], 1e-6, 'max');
      assertClose(acts.mean, [0.4, 0, 0.8, 1.4], 1e-6, 'mean');
      assert.deepEqual([...acts.dead], [0, 1, 0, 0]);

      const byIndex = activationPage(acts, { layer: 'conv' });
      assert.deepEqual([...byIndex.channels], [0, 1, 2, 3]);
      assert.equal(byIndex.deadCount, 1);
      assert.deepEqual([...activationPage(acts, { layer: 'conv', sort: 'mean' }).channels], [3, 2, 0, 1]);
      assert.deepEqual([...activationPage(acts, { layer: 'conv', sort: 'max' }).channels], [2, 3, 0, 1], 'ties keep index order');
      const alive = activationPage(acts, { layer: 'conv', hideDead: true });
      assert.deepEqual([...alive.channels], [0, 2, 3]);
      assert.equal(alive.listedCount, 3);

      // Per channel: each map spans 0..255. Channel 3 = x+1: 1, 1.2, 1.4, 2 → (v-1)/1.
      const perChannel = activationPage(acts, { layer: 'conv', scale: 'channel' });
      const tile = (page: typeof perChannel, i: number) => [...page.maps.subarray(i * 4, i * 4 + 4)];
      assert.deepEqual(tile(perChannel, 0), [0, 51, 102, 255]);
      assert.deepEqual(tile(perChannel, 1), [0, 0, 0, 0], 'a dead channel draws flat, not noise');
      assert.deepEqual(tile(perChannel, 3), [0, 51, 102, 255]);
      // Shared: everything on the layer's 0..2.
      const shared = activationPage(acts, { layer: 'conv', scale: 'shared' });
      assert.deepEqual(tile(shared, 0), [0, 26, 51, 128]);
      assert.deepEqual(tile(shared, 3), [128, 153, 178, 255]); // 1.4 in float32 is just under 1.4: 178.49
      assert.equal(shared.low[0], 0);
      assert.equal(shared.high[0], 2);

      const detail = activationChannel(acts, 3);
      assert.deepEqual([...detail.map], [0, 51, 102, 255]);
      assert.ok(Math.abs(detail.mean - 1.4) < 1e-6);
      assert.throws(() => activationChannel(acts, 4), /channels 0 to 3; there is no channel 4/);

      // Dense units: listed top first.
      const units = await computeActivations(loaded, image, 'out');
      const page = activationPage(units, { layer: 'out' });
      assert.equal(page.kind, 'units');
      assert.equal(page.maps.length, 0);
      assert.ok(page.max[0] >= page.max[1]);
      assert.deepEqual([...activationPage(units, { layer: 'out', sort: 'index' }).channels], [0, 1]);
    } finally {
      loaded.dispose();
    }
  });

  it('pages a 2048-channel layer within the byte bound, each channel exactly once', () => {
    for (const [h, w, channels] of [
      [7, 7, 2048],
      [40, 40, 2048],
      [200, 150, 64],
    ]) {
      const random = seededRandom(h);
      const values = Float32Array.from({ length: h * w * channels }, () => Math.max(0, random()));
      const acts = fromChannelsLast('big', 'Conv2D', 'maps', values, h, w, channels);
      const seen = new Set<number>();
      const first = activationPage(acts, { layer: 'big', pageSize: 4096 });
      for (let page = 0; page < first.pageCount; page++) {
        const p = activationPage(acts, { layer: 'big', page, pageSize: 4096 });
        assert.ok(p.maps.byteLength <= MAX_INSPECTION_PAGE_BYTES, `${h}x${w} page ${page}: ${p.maps.byteLength} bytes`);
        assert.ok(p.tileWidth <= 64 && p.tileHeight <= 64, 'tiles are at most 64 pixels a side');
        assert.equal(p.maps.byteLength, p.channels.length * p.tileWidth * p.tileHeight);
        p.channels.forEach((c) => {
          assert.ok(!seen.has(c));
          seen.add(c);
        });
      }
      assert.equal(seen.size, channels);
      if (channels < 2048) {
        continue;
      }
      const beyond = activationPage(acts, { layer: 'big', page: 10_000, pageSize: 64 });
      assert.equal(beyond.page, beyond.pageCount - 1, 'a page past the end is the last page');
      assert.equal(activationPage(acts, { layer: 'big', page: -3 }).page, 0);
    }
    // Area averaging: a 128×128 map whose left half is 1 shrinks to a 64×64 tile whose left half is 255.
    const map = Float32Array.from({ length: 128 * 128 }, (_, i) => (i % 128 < 64 ? 1 : 0));
    const halves = activationPage(fromChannelsLast('m', 'X', 'maps', map, 128, 128, 1), { layer: 'm' });
    assert.deepEqual([halves.tileWidth, halves.tileHeight], [64, 64]);
    assert.equal(halves.maps[31], 255);
    assert.equal(halves.maps[32], 0);
  });

  it('quantises linearly and rounds', () => {
    const out = new Uint8Array(5);
    quantize([-1, 0, 0.5, 1, 3], 0, 1, out);
    assert.deepEqual([...out], [0, 0, 128, 255, 255]);
  });
});

describe('layer inspection: filters', function () {
  before(async () => {
    await initBackend('cpu');
  });

  /** A Conv2D layer whose kernel is set by hand. */
  function convModel(kernel: number[][][][], inputChannels: number): tf.LayersModel {
    const kh = kernel.length;
    const kw = kernel[0].length;
    const filters = kernel[0][0][0].length;
    const model = tf.sequential({
      name: 'hand_conv',
      layers: [
        tf.layers.conv2d({ inputShape: [8, 8, inputChannels], filters, kernelSize: [kh, kw], name: 'conv' }),
        tf.layers.globalAveragePooling2d({ name: 'gap' }),
        tf.layers.dense({ units: 2, name: 'out' }),
      ],
    });
    const layer = model.getLayer('conv');
    const bias = layer.getWeights()[1];
    layer.setWeights([tf.tensor4d(kernel.flat(3), [kh, kw, inputChannels, filters]), bias]);
    return model;
  }

  it('draws a vertical-edge kernel as dark left column, neutral middle, bright right column', () => {
    // K[y][x][input][filter]: filter 0 = Sobel-like vertical edge [-1 0 1]; filter 1 = half of it.
    const kernel = [0, 1, 2].map(() => [-1, 0, 1].map((v) => [[v, v / 2]]));
    const model = convModel(kernel, 1);
    try {
      const bank = readFilterBank(model, 'conv');
      assert.deepEqual([bank.kernelHeight, bank.kernelWidth, bank.inputs, bank.count], [3, 3, 1, 2]);
      assert.deepEqual([bank.layout, bank.groups], ['HWIO', 1]);
      const page = filterPage(bank, {});
      assert.deepEqual(page.modes, ['mean']);
      assert.equal(page.mode, 'mean');
      const row = [0, 128, 255];
      assert.deepEqual([...page.tiles.subarray(0, 9)], [...row, ...row, ...row], 'per-filter scale: -1 → 0, 0 → 128, 1 → 255');
      assert.deepEqual([...page.tiles.subarray(9, 18)], [...row, ...row, ...row], 'the half-strength filter also spans its own range');
      assert.deepEqual([page.min[1], page.max[1], page.bound[1]], [-0.5, 0.5, 0.5]);
      const shared = filterPage(bank, { scale: 'shared' });
      const half = [quantizeSigned(-0.5, 1), 128, quantizeSigned(0.5, 1)];
      assert.deepEqual(half, [64, 128, 191]);
      assert.deepEqual([...shared.tiles.subarray(9, 18)], [...half, ...half, ...half], 'shared scale: the weaker filter is paler');
      // Coloured with the diverging map: negative is blue, zero grey, positive red.
      const lut = divergingLut('coolwarm');
      const colour = (byte: number) => [...lut.subarray(byte * 3, byte * 3 + 3)];
      const [left, middle, right] = row.map(colour);
      assert.ok(left[2] > left[0], 'negative weights are blue');
      assert.ok(right[0] > right[2], 'positive weights are red');
      assert.ok(Math.abs(middle[0] - middle[2]) < 4, 'zero is neutral');
    } finally {
      model.dispose();
    }
  });

  it('draws filters over RGB inputs as colour patches equal to the kernel slices', () => {
    // Filter 0 looks for red (+R), against blue (-B); filter 1 = random weights.
    const random = seededRandom(21);
    const kernel = [0, 1].map((y) => [0, 1].map((x) => [0, 1, 2].map((c) => [c === 0 ? 1 : c === 2 ? -1 : 0, random() * (1 + y + x)])));
    const model = convModel(kernel, 3);
    try {
      const bank = readFilterBank(model, 'conv');
      const page = filterPage(bank, {});
      assert.equal(page.mode, 'rgb');
      assert.equal(page.tileChannels, 3);
      assert.deepEqual([...page.tiles.subarray(0, 3)], [255, 128, 0], 'red on, green zero, blue against');
      for (let y = 0; y < 2; y++) {
        for (let x = 0; x < 2; x++) {
          for (let c = 0; c < 3; c++) {
            const expected = quantizeSigned(kernel[y][x][c][1], page.bound[1]);
            assert.equal(page.tiles[12 + (y * 2 + x) * 3 + c], expected, `filter 1 (${y},${x},${c})`);
          }
        }
      }
      const values = kernel.flat(2).map((v) => v[1]);
      assert.ok(Math.abs(page.bound[1] - Math.max(...values.map(Math.abs))) < 1e-6);
      assertClose(filterWeights(bank, 1), values, 1e-7, 'raw weights of filter 1');
      // Mean over inputs, and one tile per input channel with paging of the inputs.
      const mean = filterPage(bank, { mode: 'mean' });
      assert.equal(mean.tiles[0], 128, 'filter 0: (1 + 0 - 1) / 3 = 0');
      const perInput = filterPage(bank, { mode: 'channels', inputsPerPage: 2, inputPage: 1 });
      assert.deepEqual([...perInput.inputs], [2]);
      assert.equal(perInput.inputPageCount, 2);
      assert.equal(perInput.tilesPerFilter, 1);
      assert.deepEqual([...perInput.tiles.subarray(0, 4)], [0, 0, 0, 0], 'filter 0 on blue: -1 everywhere');
      assert.throws(() => filterPage(readFilterBank(convModel([[[[1]]]], 1), 'conv'), { mode: 'rgb' }), /cannot be drawn in "rgb" mode; it offers mean/);
    } finally {
      model.dispose();
    }
  });

  it('draws depthwise and separable kernels per channel, and a first Dense layer as weight images', () => {
    const dw = depthwiseModel();
    const flat = flatModel();
    try {
      const views = Object.fromEntries(describeLayerViews(dw).map((v) => [v.name, v]));
      assert.deepEqual([views.dw.filters, views.sep.filters, views.gap.filters, views.classes.filters], ['depthwise', 'separable', null, null]);
      assert.deepEqual([views.dw.activations, views.gap.activations], ['maps', 'units']);
      const depthwise = dw.getLayer('dw').getWeights()[0]; // [3, 3, 3, 2]
      const d = depthwise.arraySync() as number[][][][];
      const bank = readFilterBank(dw, 'dw');
      assert.deepEqual([bank.inputs, bank.count], [1, 6]);
      assert.deepEqual([bank.layout, bank.groups], ['HWIO', 3], 'tfjs order; one group per input channel');
      for (let c = 0; c < 3; c++) {
        for (let m = 0; m < 2; m++) {
          const expected = d.flatMap((row) => row.map((px) => px[c][m]));
          assertClose(filterWeights(bank, c * 2 + m), expected, 1e-7, `channel ${c} multiplier ${m}`);
        }
      }
      assert.equal(readFilterBank(dw, 'sep').count, 6, 'separable: the depthwise part, one kernel per input channel (6 from dw)');

      const dense = flat.getLayer('classes').getWeights()[0].arraySync() as number[][]; // [36, 3]
      assert.equal(describeLayerViews(flat).find((v) => v.name === 'classes')?.filters, 'dense-image');
      const unitImages = readFilterBank(flat, 'classes');
      assert.deepEqual([unitImages.kernelHeight, unitImages.kernelWidth, unitImages.inputs, unitImages.count], [6, 6, 1, 3]);
      assertClose(filterWeights(unitImages, 2), dense.map((row) => row[2]), 1e-7, 'unit 2 image');
      assert.throws(() => readFilterBank(flat, 'flatten'), /has no filters to draw/);
    } finally {
      dw.dispose();
      flat.dispose();
    }
  });

  it('pages filters and their input channels within the byte bound', async () => {
    const model = tf.sequential({
      name: 'wide',
      layers: [tf.layers.conv2d({ inputShape: [4, 4, 300], filters: 2048, kernelSize: 3, name: 'conv' }), tf.layers.flatten(), tf.layers.dense({ units: 2 })],
    });
    try {
      const bank = readFilterBank(model, 'conv');
      const seen = new Set<number>();
      const first = filterPage(bank, { mode: 'channels', pageSize: 10_000, inputsPerPage: 64 });
      assert.equal(first.inputPageCount, Math.ceil(300 / 64));
      for (let page = 0; page < first.pageCount; page++) {
        const p = filterPage(bank, { mode: 'channels', page, pageSize: 10_000, inputsPerPage: 64 });
        assert.ok(p.tiles.byteLength <= MAX_INSPECTION_PAGE_BYTES, `page ${page}: ${p.tiles.byteLength} bytes`);
        assert.equal(p.tiles.byteLength, p.filters.length * p.tilesPerFilter * 9);
        p.filters.forEach((f) => seen.add(f));
      }
      assert.equal(seen.size, 2048);
      const lastInputs = filterPage(bank, { mode: 'channels', inputPage: 99, inputsPerPage: 64 });
      assert.deepEqual([lastInputs.inputs[0], lastInputs.inputs[lastInputs.inputs.length - 1]], [256, 299]);
    } finally {
      model.dispose();
    }
  });
});

describe('layer inspection: colormap and grid', () => {
  it('draws unit values as bars proportional to the value, negative ones left of the zero axis', () => {
    const lut = new Uint8Array(768).map((_, i) => Math.floor(i / 3));
    const chart = renderBars(
      [
        { label: '3', value: 4 },
        { label: '0', value: 1 },
        { label: '1', value: -2 },
      ],
      lut,
    );
    const rowLength = (row: number, colour?: number) => {
      const y = 6 + row * 16 + 6;
      let count = 0;
      for (let x = 0; x < chart.width; x++) {
        const o = (y * chart.width + x) * 4;
        const grey = chart.data[o] === chart.data[o + 1] && chart.data[o + 1] === chart.data[o + 2];
        if (grey && chart.data[o] === (colour ?? chart.data[o]) && chart.data[o] !== 30 && chart.data[o] !== 204) {
          count++;
        }
      }
      return count;
    };
    // Colours: index by (v - min) / (max - min): 4 → 255, 1 → 128, -2 → 0.
    const four = rowLength(0, 255);
    const one = rowLength(1, 128);
    const minusTwo = rowLength(2, 0);
    assert.ok(four > 100, `the largest bar is long (${four} px)`);
    assert.ok(Math.abs(one / four - 0.25) < 0.02, `1 is a quarter of 4: ${one} vs ${four}`);
    assert.ok(Math.abs(minusTwo / four - 0.5) < 0.02, `|-2| is half of 4: ${minusTwo} vs ${four}`);
  });

  it('coolwarm matches the colours Moreland published (blue, grey, red)', () => {
    const lut = divergingLut('coolwarm');
    assert.equal(lut.length, 768);
    assert.deepEqual([...lut.subarray(0, 3)], [59, 76, 192]);
    assert.deepEqual([...lut.subarray(765, 768)], [180, 4, 38]);
    lut.subarray(128 * 3, 128 * 3 + 3).forEach((v) => assert.ok(Math.abs(v - 221) <= 1, `middle ${v}`));
  });

  it('lays tiles out with their labels above them', () => {
    const lut = new Uint8Array(768).map((_, i) => Math.floor(i / 3));
    const tiles = [0, 1, 2, 3, 4].map((i) => ({ label: String(i * 10), width: 2, height: 2, channels: 1 as const, data: new Uint8Array(4).fill(i * 50) }));
    const grid = renderGrid(tiles, { lut, tileTarget: 32 });
    // 3 columns × 2 rows of cells: 32-pixel tiles under 18-pixel label strips (5×7 glyphs at 2×), 6-pixel gaps.
    assert.deepEqual([grid.width, grid.height], [6 + 3 * 38, 6 + 2 * (18 + 32 + 6)]);
    const pixel = (x: number, y: number) => [...grid.data.subarray((y * grid.width + x) * 4, (y * grid.width + x) * 4 + 3)];
    assert.deepEqual(pixel(6 + 38 + 5, 6 + 18 + 5), [50, 50, 50], 'tile 1 drawn through the LUT');
    // The "0" of tile 0's label (bitmapFont.ts): its top stroke is ink, its hollow inside is background.
    assert.deepEqual(pixel(6 + 2, 7), [204, 204, 204]);
    assert.deepEqual(pixel(6 + 4, 7 + 2), [30, 30, 30]);
  });
});
