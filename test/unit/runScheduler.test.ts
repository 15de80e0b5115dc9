// The panel's run/stale/cancel logic (src/host/panel/runScheduler.ts), which the e2e tests cover only
// through a real VS Code: a new run cancels and supersedes the one in flight, a superseded run's
// result and error are dropped, Cancel and closing the panel abort, and only the latest run's end
// clears the progress.
import * as assert from 'assert';
import { cancelledError, LensError } from '../../src/shared/errors';
import { RunScheduler, type RunTicket } from '../../src/host/panel/runScheduler';

/** A run whose work the test finishes by hand. */
function deferred() {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('run scheduler: one run at a time per panel', () => {
  it('a new run aborts the one in flight and makes it stale', async () => {
    const scheduler = new RunScheduler();
    const first = deferred();
    let a!: RunTicket;
    scheduler.start((ticket) => ((a = ticket), first.promise));
    assert.ok(!a.signal.aborted && !a.stale() && scheduler.busy);
    const b = scheduler.start(() => new Promise(() => undefined));
    assert.ok(a.signal.aborted, 'the older run is cancelled');
    assert.ok(a.stale(), 'and its result would be dropped');
    assert.ok(!b.stale() && !b.signal.aborted);
    first.resolve();
    await tick();
    assert.ok(scheduler.busy, 'the newer run still runs');
  });

  it("only the latest run's end clears the progress", async () => {
    const scheduler = new RunScheduler();
    const ends: string[] = [];
    const first = deferred();
    const second = deferred();
    scheduler.start(() => first.promise, () => ends.push('first'));
    scheduler.start(() => second.promise, () => ends.push('second'));
    first.resolve(); // the superseded run settles first (its cancel arrives)
    await tick();
    assert.deepStrictEqual(ends, [], 'a superseded run must not clear the newer run\'s progress bar');
    assert.ok(scheduler.busy);
    second.resolve();
    await tick();
    assert.deepStrictEqual(ends, ['second']);
    assert.ok(!scheduler.busy);
  });

  it('a run that fails still ends, and its error never goes unhandled', async () => {
    const scheduler = new RunScheduler();
    const ends: number[] = [];
    const run = deferred();
    scheduler.start(() => run.promise, () => ends.push(1));
    run.reject(new Error('boom'));
    await tick();
    assert.deepStrictEqual(ends, [1]);
    assert.ok(!scheduler.busy);
  });

  it('Cancel aborts the run in flight without superseding it; the next run starts afresh', async () => {
    const scheduler = new RunScheduler();
    const run = deferred();
    let ticket!: RunTicket;
    scheduler.start((t) => ((ticket = t), run.promise));
    scheduler.cancel();
    assert.ok(ticket.signal.aborted);
    assert.ok(!ticket.stale(), 'a cancelled run is still the latest: it says "Cancelled"');
    assert.strictEqual(RunScheduler.failureOf(cancelledError(), ticket), 'cancelled');
    run.resolve();
    await tick();
    const next = scheduler.start(() => new Promise(() => undefined));
    assert.ok(!next.signal.aborted);
  });

  it('a run can cancel itself (the Compare view\'s own Cancel)', () => {
    const scheduler = new RunScheduler();
    const ticket = scheduler.start(() => new Promise(() => undefined));
    ticket.abort();
    assert.ok(ticket.signal.aborted && !ticket.stale());
  });

  it('closing the panel aborts the run in flight and makes every run stale', () => {
    const scheduler = new RunScheduler();
    const ticket = scheduler.start(() => new Promise(() => undefined));
    scheduler.dispose();
    assert.ok(ticket.signal.aborted && ticket.stale());
    assert.strictEqual(RunScheduler.failureOf(new Error('late'), ticket), 'superseded', 'an error after closing is dropped');
  });

  it('tells a superseded run, a cancellation and a failure apart', () => {
    const scheduler = new RunScheduler();
    const old = scheduler.start(() => new Promise(() => undefined));
    const current = scheduler.start(() => new Promise(() => undefined));
    const failure = new LensError('model.json: not JSON', 'bad-input');
    assert.strictEqual(RunScheduler.failureOf(failure, old), 'superseded', 'the older run\'s failure is dropped');
    assert.strictEqual(RunScheduler.failureOf(cancelledError(), old), 'superseded');
    assert.strictEqual(RunScheduler.failureOf(failure, current), 'failed');
    // A cancellation that crossed the worker boundary is a plain object with its code.
    assert.strictEqual(RunScheduler.failureOf(Object.assign(new Error('Cancelled'), { code: 'cancelled' }), current), 'cancelled');
    assert.strictEqual(RunScheduler.failureOf(new LensError('timed out', 'timeout'), current), 'failed');
  });

  it('runs many changes in a row: only the last one is current', async () => {
    const scheduler = new RunScheduler();
    const tickets: RunTicket[] = [];
    for (let i = 0; i < 20; i++) {
      tickets.push(scheduler.start(() => new Promise(() => undefined)));
    }
    assert.strictEqual(tickets.filter((t) => !t.stale()).length, 1);
    assert.ok(!tickets[19].stale());
    assert.strictEqual(tickets.filter((t) => t.signal.aborted).length, 19);
  });
});
