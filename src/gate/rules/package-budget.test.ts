import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultGateSection } from '../../specfile/gate-section.js';
import { memoryImageView } from '../memory-image.js';
import { packageBudget } from './package-budget.js';

const view = memoryImageView({
  packages: [
    { name: 'pkg-a' },
    { name: 'pkg-b' },
    { name: 'pkg-c', files: [{ path: '/usr/lib/big', content: Buffer.alloc(1_500_000) }] },
  ],
});

describe('HERD-H011 package budget', () => {
  it('checks nothing without a budget', () => {
    assert.deepEqual(packageBudget.check({ view, gate: defaultGateSection }), []);
  });

  it('passes an image within its budget', () => {
    const gate = { ...defaultGateSection, budget: { packages: 3, sizeMB: 2 } };

    assert.deepEqual(packageBudget.check({ view, gate }), []);
  });

  it('reports the package count and the size over budget, in decimal megabytes', () => {
    const gate = { ...defaultGateSection, budget: { packages: 2, sizeMB: 1 } };

    const results = packageBudget.check({ view, gate });

    assert.deepEqual(
      results.map((r) => r.message),
      [
        'the image has 3 packages, the budget allows 2',
        "the image's files take 1.5 MB, the budget allows 1 MB",
      ],
    );
  });
});
