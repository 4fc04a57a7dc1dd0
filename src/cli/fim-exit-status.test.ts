import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exitBitmask } from './fim-exit-status.js';

describe('exitBitmask', () => {
  it('adds 1 for added, 2 for removed and 4 for changed, as AIDE does', () => {
    assert.equal(exitBitmask({ added: 0, removed: 0, changed: 0 }), 0);
    assert.equal(exitBitmask({ added: 3, removed: 0, changed: 0 }), 1);
    assert.equal(exitBitmask({ added: 0, removed: 1, changed: 0 }), 2);
    assert.equal(exitBitmask({ added: 0, removed: 0, changed: 9 }), 4);
    assert.equal(exitBitmask({ added: 1, removed: 1, changed: 1 }), 7);
  });
});
