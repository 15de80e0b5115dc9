// Pure pieces of issue 4's CLI and compare view: method option flags, method lists, ranking.
import { strict as assert } from 'assert';
import { parseMethodList } from '../../src/cli/compare';
import { UsageError } from '../../src/cli/format';
import { methodOptionsFrom } from '../../src/cli/methodFlags';
import { METHOD_NAMES, rankByMetric, type FaithfulnessMetrics } from '../../src/shared/types';

function metrics(deletion: number, insertion: number): FaithfulnessMetrics {
  const curve = (auc: number) => ({ fractions: [0, 1], scores: [auc, auc], auc });
  return {
    probability: 0.9,
    deletion: curve(deletion),
    insertion: curve(insertion),
    roadMostRelevantFirst: curve(0),
    roadLeastRelevantFirst: curve(0),
    roadCombined: insertion - deletion,
    confidenceChange: -deletion,
    passes: 1,
    inputsScored: 1,
    timeMs: 1,
  };
}

describe('method flags, method lists and ranking', () => {
  it('parses method option flags into typed options and refuses malformed ones', () => {
    assert.deepEqual(methodOptionsFrom({ samples: '10', noise: '0.2', steps: '64', baseline: 'blurred', patch: '8', stride: '4', fill: '0.5', 'batch-size': '32', seed: '7' }), {
      samples: 10,
      noise: 0.2,
      steps: 64,
      baseline: 'blurred',
      patch: 8,
      stride: 4,
      fill: 0.5,
      batchSize: 32,
      seed: 7,
    });
    assert.deepEqual(methodOptionsFrom({}), {});
    assert.throws(() => methodOptionsFrom({ steps: '2.5' }), UsageError);
    assert.throws(() => methodOptionsFrom({ noise: 'lots' }), UsageError);
    assert.throws(() => methodOptionsFrom({ baseline: 'white' }), /black, blurred/);
  });

  it('reads --methods lists (all by default, duplicates once, unknown names refused)', () => {
    assert.deepEqual(parseMethodList(undefined), [...METHOD_NAMES]);
    assert.deepEqual(parseMethodList('gradcam, scorecam,gradcam'), ['gradcam', 'scorecam']);
    assert.throws(() => parseMethodList('gradcam,gradcamm'), /unknown method "gradcamm"/);
    assert.throws(() => parseMethodList(' , '), UsageError);
  });

  it("ranks best first in each metric's direction, items without metrics last, ties in order", () => {
    const items = [
      { name: 'a', metrics: metrics(0.3, 0.5) },
      { name: 'b', metrics: metrics(0.1, 0.4) },
      { name: 'c' },
      { name: 'd', metrics: metrics(0.1, 0.9) },
    ];
    assert.deepEqual(rankByMetric(items, 'deletion').map((i) => i.name), ['b', 'd', 'a', 'c']);
    assert.deepEqual(rankByMetric(items, 'insertion').map((i) => i.name), ['d', 'a', 'b', 'c']);
    assert.deepEqual(rankByMetric(items, 'confidence').map((i) => i.name), ['b', 'd', 'a', 'c']);
  });
});
