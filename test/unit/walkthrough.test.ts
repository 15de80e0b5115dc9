// The Get Started walkthrough (package.json contributes.walkthroughs): every step has a picture that
// exists and ships in the VSIX, a button that runs a command the extension contributes (or a
// workbench command), completion events that can fire, and its texts in both package.nls files.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');

interface Step {
  id: string;
  title: string;
  description: string;
  media: { image: string; altText: string };
  completionEvents: string[];
}

const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  contributes: { commands: Array<{ command: string }>; walkthroughs: Array<{ id: string; title: string; steps: Step[] }> };
};
const nls = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.nls.json'), 'utf8')) as Record<string, string>;
const nlsKo = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.nls.ko.json'), 'utf8')) as Record<string, string>;
const contributed = new Set(manifest.contributes.commands.map((c) => c.command));
/** Context keys the extension sets (src/host/extension.ts, src/host/panel/lensPanel.ts markWalkthroughStep). */
const CONTEXT_KEYS = ['cnnLens.pythonModel', 'cnnLens.walkthrough.changedClassOrLayer', 'cnnLens.walkthrough.compared'];

function text(value: string, table: Record<string, string>): string {
  const key = /^%(.+)%$/.exec(value)?.[1];
  return key ? table[key] : value;
}

describe('Get Started walkthrough', () => {
  const walkthrough = manifest.contributes.walkthroughs.find((w) => w.id === 'getStarted');

  it('has the seven steps of the issue, in order', () => {
    assert.ok(walkthrough, 'no walkthrough "getStarted"');
    assert.deepStrictEqual(
      walkthrough.steps.map((s) => s.id),
      ['openSample', 'showGradCam', 'classAndLayer', 'visualizeLayer', 'compare', 'ownModel', 'whileCoding'],
    );
  });

  for (const step of walkthrough?.steps ?? []) {
    describe(step.id, () => {
      it('has a picture that exists and that the VSIX ships', () => {
        assert.ok(fs.existsSync(path.join(ROOT, step.media.image)), step.media.image);
        const ignore = fs.readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8').split('\n');
        const shipped = ignore.some((line) => line === `!${step.media.image}` || (line.endsWith('/**') && step.media.image.startsWith(line.slice(1, -2))));
        assert.ok(shipped, `${step.media.image} is not un-ignored in .vscodeignore`);
      });

      it('says its title, description and alt text in English and Korean', () => {
        for (const table of [nls, nlsKo]) {
          for (const value of [step.title, step.description, step.media.altText]) {
            assert.ok(text(value, table)?.trim(), `${value} missing`);
          }
        }
      });

      it('has a button (in both languages) that runs a command the extension contributes or the workbench has', () => {
        for (const table of [nls, nlsKo]) {
          const buttons = [...text(step.description, table).matchAll(/^\[[^\]]+\]\(command:([\w.]+)(\?[^)]*)?\)$/gm)].map((m) => m[1]);
          assert.ok(buttons.length > 0, `no button line in ${step.description}`);
          for (const command of buttons) {
            assert.ok(contributed.has(command) || command.startsWith('workbench.action.'), command);
          }
        }
      });

      it('uses no code spans (a walkthrough step shows backticks as typed)', () => {
        for (const table of [nls, nlsKo]) {
          assert.ok(!text(step.description, table).includes('`'), text(step.description, table));
        }
      });

      it('ticks off on an event the extension can cause', () => {
        assert.ok(step.completionEvents.length > 0);
        for (const event of step.completionEvents) {
          const [kind, name] = event.split(/:(.*)/s);
          if (kind === 'onCommand') {
            assert.ok(contributed.has(name), `${name} is not contributed`);
          } else {
            assert.strictEqual(kind, 'onContext', event);
            assert.ok(CONTEXT_KEYS.includes(name), `nothing sets ${name}`);
          }
        }
      });
    });
  }

  it('the context keys it waits for are set by the code', () => {
    const sources = ['src/host/extension.ts', 'src/host/panel/lensPanel.ts'].map((file) => fs.readFileSync(path.join(ROOT, file), 'utf8')).join('\n');
    assert.match(sources, /'setContext', 'cnnLens\.pythonModel'/);
    assert.match(sources, /markWalkthroughStep\('changedClassOrLayer'\)/);
    assert.match(sources, /markWalkthroughStep\('compared'\)/);
    assert.match(sources, /`cnnLens\.walkthrough\.\$\{step\}`/);
  });
});
