import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { humanLine } from './logger.js';

describe('humanLine', () => {
  it('turns a pino JSON line into one a person reads, details last', () => {
    const line = humanLine('{"level":40,"time":1,"msg":"no vulnerability data","path":"/x","n":2}');

    assert.equal(line, 'herd: warning: no vulnerability data (path=/x n=2)\n');
  });

  it('passes through what is not JSON', () => {
    assert.equal(humanLine('plain\n'), 'plain\n');
  });
});
