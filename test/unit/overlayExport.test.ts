// "Export Overlay as PNG…" (src/host/panel/overlayExport.ts) with fake dialogs: nothing shown yet,
// the dialog closed, a saved file (with Open), and a failure reported with the target's name.
import * as assert from 'assert';
import { exportOverlay, suggestedTarget, type OverlayExportDeps, type ShownOverlay } from '../../src/host/panel/overlayExport';
import { LensError } from '../../src/shared/errors';

const shown: ShownOverlay = {
  imagePath: '/w/images/cat.png',
  imageKey: 'cat-key',
  method: 'scorecam',
  cam: { width: 2, height: 2, data: new Float32Array([0, 0.5, 1, 0.25]) },
  colormap: 'viridis',
  opacity: 0.7,
};

function fakes(overrides: Partial<OverlayExportDeps> = {}) {
  const calls: string[] = [];
  const deps: OverlayExportDeps = {
    shown: () => shown,
    exportOverlay: async (request) => {
      calls.push(`export ${request.imagePath} ${request.imageKey} ${request.colormap} ${request.opacity} ${request.cam.width}x${request.cam.height}`);
      return { png: new Uint8Array([137, 80, 78, 71]), width: 640, height: 480 };
    },
    askTarget: async (suggested) => (calls.push(`ask ${suggested}`), '/w/out/cat.png'),
    write: async (target, bytes) => void calls.push(`write ${target} ${bytes.byteLength}`),
    inform: async (message, ...actions) => (calls.push(`inform ${message} [${actions.join()}]`), actions[0]),
    relative: (target) => target.replace('/w/', ''),
    open: async (target) => void calls.push(`open ${target}`),
    log: (line) => calls.push(`log ${line}`),
    report: async (context, error) => void calls.push(`report ${context}: ${(error as Error).message}`),
    ...overrides,
  };
  return { deps, calls };
}

describe('overlay export', () => {
  it('suggests a name beside the image, after the image and the method', () => {
    assert.strictEqual(suggestedTarget('/w/images/cat.png', 'gradcam'), '/w/images/cat.gradcam.png');
    assert.strictEqual(suggestedTarget('C:\\w\\dog.photo.jpeg', 'integrated-gradients'), 'C:\\w\\dog.photo.integrated-gradients.png');
  });

  it('exports what the panel shows, as painted now, writes it and offers to open it', async () => {
    const { deps, calls } = fakes();
    await exportOverlay(deps);
    assert.deepStrictEqual(calls, [
      'ask /w/images/cat.scorecam.png',
      'export /w/images/cat.png cat-key viridis 0.7 2x2',
      'write /w/out/cat.png 4',
      'log [export] /w/out/cat.png (640x480, 4 bytes)',
      'inform CNN Lens: saved the overlay to out/cat.png. [Open]',
      'open /w/out/cat.png',
    ]);
  });

  it('before the first result: says so and asks nothing', async () => {
    const { deps, calls } = fakes({ shown: () => undefined });
    await exportOverlay(deps);
    assert.deepStrictEqual(calls, ['inform CNN Lens: nothing to export yet; wait for the Grad-CAM to finish. []']);
  });

  it('the dialog closed: nothing is computed or written', async () => {
    const { deps, calls } = fakes({ askTarget: async () => undefined });
    await exportOverlay(deps);
    assert.deepStrictEqual(calls, []);
  });

  it("a failure is reported with the target's name, and nothing is written", async () => {
    const { deps, calls } = fakes({
      exportOverlay: async () => {
        throw new LensError('/w/images/cat.png changed since it was explained; explain it again before exporting.', 'bad-request');
      },
    });
    await exportOverlay(deps);
    assert.deepStrictEqual(calls, [
      'ask /w/images/cat.scorecam.png',
      'report exporting /w/out/cat.png: /w/images/cat.png changed since it was explained; explain it again before exporting.',
    ]);
  });
});
