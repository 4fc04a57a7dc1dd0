import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { releaseMemory } from './release-memory.js';

describe('releaseMemory', () => {
  it('collects garbage that nothing refers to any more, each time it is called', () => {
    for (let round = 0; round < 2; round++) {
      let garbage: string[] | undefined = Array.from({ length: 200_000 }, (_, i) => `record ${i} ${round}`);
      const holding = process.memoryUsage().heapUsed;
      assert.equal(garbage.length, 200_000);
      garbage = undefined;

      releaseMemory();

      const freed = holding - process.memoryUsage().heapUsed;
      assert.ok(
        freed > 5e6,
        `round ${round}: ${freed} bytes freed, expected the 200,000 strings' (over 5 MB)`,
      );
    }
  });
});
