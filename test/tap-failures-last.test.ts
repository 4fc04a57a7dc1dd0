/**
 * test/support/tap-failures-last.mjs, the reporter `npm test` runs with: a real `node --test` run of two
 * files, one with failures in and out of suites, read as CI reads it, from the end.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { projectRoot } from './support/cli.js';

const failing = `import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
describe('outer', () => {
  it('passes', () => {});
  describe('inner', () => { it('adds', () => { assert.equal(1 + 1, 3, 'the sum is wrong'); }); });
});
it('throws', () => { throw new Error('first line\\nsecond line'); });
`;
const passing = `import { it } from 'node:test';\nit('passes', () => {});\n`;

async function runWithReporter(files: string[]): Promise<string> {
  const reporter = join(projectRoot, 'test/support/tap-failures-last.mjs');
  const args = ['--test', `--test-reporter=${reporter}`, '--test-reporter-destination=stdout', ...files];
  // Without NODE_TEST_CONTEXT, which this runner sets: with it, the inner run would report to this one.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  try {
    return (await promisify(execFile)(process.execPath, args, { cwd: projectRoot, env })).stdout;
  } catch (error) {
    return (error as { stdout: string }).stdout;
  }
}

describe('the test reporter that names failures again before the summary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'herd-reporter-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'failing.test.mjs'), failing);
  writeFileSync(join(dir, 'passing.test.mjs'), passing);

  it('lists each failed test with its suites, file and message, between the plan and "# tests"', async () => {
    const lines = (
      await runWithReporter([join(dir, 'failing.test.mjs'), join(dir, 'passing.test.mjs')])
    ).split('\n');
    const summary = lines.indexOf('# tests 4');
    assert.ok(summary > 0, `no "# tests 4" in:\n${lines.slice(-20).join('\n')}`);
    const plan = lines.findLastIndex((line) => /^1\.\.\d+$/.test(line));
    const before = lines.slice(plan, summary);
    assert.deepEqual(
      before.filter((line) => line.startsWith('# failed') || line.startsWith('# 2 failed')),
      [
        '# 2 failed, named again here:',
        `# failed: ${join(dir, 'failing.test.mjs')}: outer › inner › adds`,
        `# failed: ${join(dir, 'failing.test.mjs')}: throws`,
      ],
    );
    assert.ok(before.includes('#   the sum is wrong'), before.join('\n'));
    assert.ok(before.includes('#   second line'), before.join('\n'));
    assert.ok(lines.includes('# fail 2'));
  });

  it('adds nothing when every test passes', async () => {
    const out = await runWithReporter([join(dir, 'passing.test.mjs')]);
    assert.ok(out.includes('# pass 1'), out);
    assert.ok(!out.includes('failed'), out);
  });
});
