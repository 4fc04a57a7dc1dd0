/**
 * The baseline is written through a temp file beside it, in a folder the user chose (which others
 * may be able to write): a fresh name created exclusively, and what a killed `herd fim init` left
 * of this baseline, and only of it, removed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LocalKeySigner } from '../../trust/index.js';
import { initBaseline } from './fim.js';

const signer = new LocalKeySigner(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
const noXattrs = { support: 'unsupported', reason: 'not under test here' } as const;
const scratch = mkdtempSync(join(tmpdir(), 'herd-fim-temp-'));

/** The pid of a process that has exited: a writer killed before it could clean up. */
const deadPid = spawnSync('true').pid;

describe('the baseline temp file', () => {
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it("removes a killed init's temp files of this baseline, and leaves links and others' files", async () => {
    const tree = join(scratch, 'tree');
    const shared = join(scratch, 'shared');
    mkdirSync(tree);
    mkdirSync(shared);
    writeFileSync(join(tree, 'file'), 'content\n');
    const victim = join(scratch, 'victim');
    writeFileSync(victim, 'must stay\n');
    const baseline = join(shared, 'app.baseline');
    writeFileSync(`${baseline}.tmp-${deadPid}`, 'half a baseline, an older herd');
    writeFileSync(`${baseline}.tmp-${deadPid}-0a0b0c0d`, 'half a baseline');
    writeFileSync(join(shared, `other.tmp-${deadPid}-0a0b0c0d`), 'another program’s');
    symlinkSync(victim, `${baseline}.tmp-${deadPid}-0e0f0a0b`);

    await initBaseline(tree, { output: baseline, signer, xattrs: noXattrs, workers: 1 });

    assert.deepEqual(readdirSync(shared).sort(), [
      'app.baseline',
      `app.baseline.tmp-${deadPid}-0e0f0a0b`,
      `other.tmp-${deadPid}-0a0b0c0d`,
    ]);
    assert.equal(readFileSync(victim, 'utf8'), 'must stay\n');
    // Header, the tree's entries and the signature: the baseline itself was written.
    assert.ok(readFileSync(baseline, 'utf8').trimEnd().split('\n').length >= 3);
  });
});
