import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LogError } from './errors.js';
import { compileGrep } from './log-query.js';

const projectRoot = join(import.meta.dirname, '..', '..');

describe('compileGrep', () => {
  it('matches as a regular expression', () => {
    const grep = compileGrep('^GET /health [0-9]+$');
    assert.equal(grep.test('GET /health 200'), true);
    assert.equal(grep.test('POST /health 200'), false);
  });

  it('answers a catastrophic backtracking pattern in linear time, so a viewer cannot stall the control plane', () => {
    // In a child with a deadline: a backtracking engine would never return from this test.
    const started = Date.now();
    const child = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import('./src/logs/log-query.ts').then(({ compileGrep }) => {
          const lines = ['x'.repeat(4000), 'a'.repeat(4000) + 'b'];
          const patterns = ['(.*.*)*y', '^(a+)+$', '^(a|a)*$', '(x+x+)+y'];
          console.log(patterns.flatMap((p) => lines.map((l) => compileGrep(p).test(l))).join(','));
        })`,
      ],
      { cwd: projectRoot, encoding: 'utf8', timeout: 30_000 },
    );

    assert.equal(child.signal, null, `the patterns ran for ${Date.now() - started} ms and were killed`);
    assert.equal(child.stdout.trim(), Array(8).fill('false').join(','), child.stderr);
  });

  it('refuses a pattern the linear engine cannot run, and one that is not a pattern, with GREP_INVALID', () => {
    for (const pattern of ['(a)\\1', '(?=a)b', '(?<!x)y', '[', 'a'.repeat(300)]) {
      assert.throws(
        () => compileGrep(pattern),
        (error: unknown) => error instanceof LogError && error.code === 'GREP_INVALID',
        pattern,
      );
    }
  });
});
