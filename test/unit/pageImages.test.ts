// The display image is posted to the page once (issue 14): the host decides when to send it
// (src/host/panel/pageImages.ts) from the same rule the page keeps images by (webview/shownImages.ts),
// without asking the page. Sequences of results, comparisons, new files and rebuilt pages: the page
// always has the image a message names, and the host never sends one the page holds.
import * as assert from 'assert';
import { PageImages, type ImageView } from '../../src/host/panel/pageImages';
import type { RgbaImage } from '../../src/shared/types';
import type { DisplayImage } from '../../src/shared/worker';
import { ShownImages } from '../../webview/shownImages';

function image(tag: number): RgbaImage {
  return { width: 1, height: 1, data: Uint8Array.of(tag, tag, tag, 255) };
}

/** The worker: sends the image unless the host says it holds that key. */
function workerAnswer(key: string, known: string | undefined): DisplayImage {
  return { key, originalWidth: 1, originalHeight: 1, ...(known === key ? {} : { image: image(Number(key.slice(1))) }) };
}

describe('display images: posted once, held by the same rule on both sides', () => {
  it('another class, the same image: nothing posted; a comparison of it: nothing; another image: posted', () => {
    const host = new PageImages();
    const page = new ShownImages();
    const post = (view: ImageView, key: string) => {
      host.receive(workerAnswer(key, host.latestKey));
      const sent = host.show(view, key);
      const shown = page.show(view, key, sent);
      assert.ok(shown, `the page has ${key}`);
      assert.strictEqual(shown.data[0], Number(key.slice(1)), 'the right image');
      return sent;
    };
    assert.ok(post('gradcam', 'k1'), 'the first result brings it');
    assert.strictEqual(post('gradcam', 'k1'), undefined, 'another class');
    assert.strictEqual(post('compare', 'k1'), undefined, 'a comparison of the same image');
    assert.ok(post('gradcam', 'k2'), 'another image (or the file changed)');
    assert.strictEqual(page.of('compare')?.data[0], 1, 'the comparison still shows the first image');
    assert.ok(host.heldCount <= 2);
    assert.ok(post('compare', 'k2') === undefined, 'compared again: the page has it');
    assert.strictEqual(host.heldCount, 1, 'nothing shows k1 any more: let go');
    host.pageReset();
    const rebuilt = new ShownImages();
    const sent = host.show('gradcam', 'k2');
    assert.ok(sent, 'a new page gets it again');
    assert.ok(rebuilt.show('gradcam', 'k2', sent));
  });

  it('random sequences: the page never lacks an image a message names, and never receives one it holds', () => {
    let seed = 2026;
    const next = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let trial = 0; trial < 200; trial++) {
      const host = new PageImages();
      let page = new ShownImages();
      let views = new Map<ImageView, string>();
      for (let step = 0; step < 30; step++) {
        const action = next(10);
        if (action === 0) {
          // The page is torn down and rebuilt: the host replays what each view shows.
          host.pageReset();
          page = new ShownImages();
          for (const [view, key] of views) {
            assert.ok(page.show(view, key, host.show(view, key)), 'replayed with its image');
          }
          continue;
        }
        const view: ImageView = action < 7 ? 'gradcam' : 'compare';
        const key = `k${next(4)}`;
        host.receive(workerAnswer(key, host.latestKey));
        const before = new Set([...views.values()]);
        const sent = host.show(view, key);
        assert.strictEqual(sent !== undefined, !before.has(key), `step ${step}: sent iff the page lacked ${key}`);
        const shown = page.show(view, key, sent);
        assert.ok(shown, `trial ${trial} step ${step}: the page lacks ${key}`);
        assert.strictEqual(shown.data[0], Number(key.slice(1)));
        views.set(view, key);
        views = new Map(views);
        assert.ok(host.heldCount <= 3, 'the host holds no more than the views show and the newest');
      }
    }
  });

  it('says so when the worker sent no image and the host holds none (never silently blank)', () => {
    const host = new PageImages();
    assert.throws(() => host.receive({ key: '/w/a.png\u0000120\u00001', originalWidth: 1, originalHeight: 1 }), /no display image for \/w\/a\.png/);
  });
});
