// Long layer names shortened from the left (src/shared/layerNames.ts): the distinctive end stays,
// at a scope boundary when one is close; the CLI's compare grid draws them that way (rather than
// "StatefulPartitionedC.."), and the webview's pickers show them with the full name as tooltip.
import * as assert from 'assert';
import { renderCompareGrid } from '../../src/render/compareGrid';
import { layerOption, NAME_ELLIPSIS, PICKER_NAME_CHARS, shortenLayerName } from '../../src/shared/layerNames';
import type { RgbaImage } from '../../src/shared/types';
import { seededRandom } from '../fixtures/models';

const KERAS = 'StatefulPartitionedCall/model/block3_sepconv2_act/Relu';

describe('layer names shortened from the left', () => {
  it('leaves a name that fits as it is', () => {
    assert.strictEqual(shortenLayerName('conv4', 5), 'conv4');
    assert.strictEqual(shortenLayerName(KERAS, KERAS.length), KERAS);
  });

  it('keeps the end, starting at a "/" when one falls in the first third of what is kept', () => {
    // 29 characters of room: "odel/block3_sepconv2_act/Relu"; its "/" is 4 in, so the cut moves there.
    assert.strictEqual(shortenLayerName(KERAS, 30), '…/block3_sepconv2_act/Relu');
    // 19 characters of room: "3_sepconv2_act/Relu"; its "/" is 14 in (beyond a third): cut by characters.
    assert.strictEqual(shortenLayerName(KERAS, 20), '…3_sepconv2_act/Relu');
    // ONNX names: the block index is what tells the layers apart, so it is not dropped for a boundary.
    assert.strictEqual(shortenLayerName('/layer4/layer4.1/relu_1/Relu', 20), '…ayer4.1/relu_1/Relu');
    assert.strictEqual(shortenLayerName('/layer4/layer4.1/relu_1/Relu', 26), '…/layer4.1/relu_1/Relu');
  });

  it('degenerate room: an ellipsis alone, or nothing', () => {
    assert.strictEqual(shortenLayerName(KERAS, 1), NAME_ELLIPSIS);
    assert.strictEqual(shortenLayerName(KERAS, 0), '');
    assert.strictEqual(shortenLayerName(KERAS, 2), '…u');
  });

  it('never exceeds the room, always ends like the name, never splits a character', () => {
    const random = seededRandom(3);
    const alphabet = ['a', 'b', '/', '_', '1', '.', '😀', 'é'];
    for (let n = 0; n < 500; n++) {
      const length = Math.floor(((random() + 1) / 2) * 60);
      const name = Array.from({ length }, () => alphabet[Math.floor(((random() + 1) / 2) * alphabet.length)]).join('');
      const max = Math.floor(((random() + 1) / 2) * 40);
      const short = shortenLayerName(name, max);
      const chars = Array.from(short);
      assert.ok(chars.length <= Math.max(max, 0), `"${short}" fits ${max}`);
      if (Array.from(name).length <= max) {
        assert.strictEqual(short, name);
      } else if (max >= 1) {
        assert.strictEqual(chars[0], NAME_ELLIPSIS);
        assert.ok(name.endsWith(chars.slice(1).join('')), `"${short}" is the end of "${name}"`);
        assert.ok(!/[\uD800-\uDBFF]$|^[\uDC00-\uDFFF]/.test(chars.slice(1).join('')), 'no half of a surrogate pair');
        // The kept end is at least two thirds of the room: a boundary never costs more than a third.
        assert.ok(chars.length - 1 >= Math.ceil(((max - 1) * 2) / 3), `"${short}" keeps enough of ${max}`);
      }
    }
  });

  it('the compare grid draws a long layer name by its end, the time before it kept', () => {
    const image: RgbaImage = { width: 4, height: 4, data: new Uint8Array(64).fill(255) };
    const name = 'StatefulPartitionedCall/fashion_scenes_cnn/conv4/Relu';
    const drawn = renderCompareGrid([{ image, lines: ['Grad-CAM', { text: '123 ms - ', name }] }], { tileSize: 192 });
    // 192 pixels hold 32 glyphs of 6 at scale 1: 9 for the time, 23 for the name.
    const expected = renderCompareGrid([{ image, lines: ['Grad-CAM', '123 ms - …_scenes_cnn/conv4/Relu'] }], { tileSize: 192 });
    assert.deepStrictEqual(drawn, expected);
    const cutAtEnd = renderCompareGrid([{ image, lines: ['Grad-CAM', `123 ms - ${name}`] }], { tileSize: 192 });
    assert.notDeepStrictEqual(drawn.data, cutAtEnd.data, 'a plain line is cut at its end instead');
    // A name that fits is drawn whole.
    const short = renderCompareGrid([{ image, lines: ['Grad-CAM', { text: '123 ms - ', name: 'conv4' }] }], { tileSize: 192 });
    assert.deepStrictEqual(short, renderCompareGrid([{ image, lines: ['Grad-CAM', '123 ms - conv4'] }], { tileSize: 192 }));
  });

  it('picker entries show the shortened name, with the full name as their tooltip', () => {
    const long = layerOption(KERAS + '/extra/scope/to/make/it/long', { indent: 1, suffix: ' (default)', description: 'Relu 1×8×8×32' });
    assert.strictEqual(long.value, KERAS + '/extra/scope/to/make/it/long');
    assert.strictEqual(long.title, KERAS + '/extra/scope/to/make/it/long');
    assert.strictEqual(long.label, `\u2003${shortenLayerName(long.value, PICKER_NAME_CHARS)} (default)`);
    assert.ok(long.label.startsWith('\u2003…'), long.label);
    assert.strictEqual(long.description, 'Relu 1×8×8×32');
    const short = layerOption('conv4');
    assert.deepStrictEqual(short, { value: 'conv4', label: 'conv4' });
  });
});
