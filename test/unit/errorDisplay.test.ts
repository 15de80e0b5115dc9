// Where a panel's errors go (src/host/panel/errorDisplay.ts): the page always, a notification only
// when the user asked for the run, the output channel after a live refresh; a success clears it and
// a rebuilt page sees it again.
import * as assert from 'assert';
import { ErrorDisplay } from '../../src/host/panel/errorDisplay';
import { LensError } from '../../src/shared/errors';
import type { ErrorNotification } from '../../src/shared/panel';

function display() {
  const posted: ErrorNotification[] = [];
  const logged: string[] = [];
  const reported: Array<{ context: string; error: unknown }> = [];
  const errors = new ErrorDisplay({
    notify: (message) => posted.push(message),
    log: (line) => logged.push(line),
    report: (context, error) => reported.push({ context, error }),
  });
  return { errors, posted, logged, reported };
}

describe('error display: a panel shows its errors where they help', () => {
  it('a run the user asked for: the panel and a notification, with the code', () => {
    const { errors, posted, logged, reported } = display();
    const error = new LensError('model.json: not JSON; fix the file', 'bad-input');
    errors.fail('Grad-CAM of /w/cat.png', error);
    assert.deepStrictEqual(posted, [{ type: 'error', message: 'model.json: not JSON; fix the file', code: 'bad-input' }]);
    assert.deepStrictEqual(reported, [{ context: 'Grad-CAM of /w/cat.png', error }]);
    assert.deepStrictEqual(logged, []);
    assert.deepStrictEqual(errors.current, { message: 'model.json: not JSON; fix the file', code: 'bad-input' });
  });

  it('a live refresh: the panel and the output channel, never a notification', () => {
    const { errors, posted, logged, reported } = display();
    errors.fail('Grad-CAM of /w/cat.png', new Error('conv9 is not a layer'), 'refresh');
    assert.deepStrictEqual(posted, [{ type: 'error', message: 'conv9 is not a layer' }]);
    assert.deepStrictEqual(logged, ['[refresh] Grad-CAM of /w/cat.png failed: conv9 is not a layer']);
    assert.deepStrictEqual(reported, []);
  });

  it('a success clears it, and a rebuilt page sees only an error still standing', () => {
    const { errors, posted } = display();
    errors.replay();
    assert.deepStrictEqual(posted, [], 'nothing to replay');
    errors.fail('x', 'a thrown string', 'refresh');
    errors.replay();
    assert.deepStrictEqual(posted.slice(-1), [{ type: 'error', message: 'a thrown string' }]);
    errors.clear();
    assert.deepStrictEqual(posted.slice(-1), [{ type: 'error', message: '' }], 'an empty message clears the page');
    assert.strictEqual(errors.current, undefined);
    const before = posted.length;
    errors.replay();
    assert.strictEqual(posted.length, before);
  });
});
