/**
 * A check compares most baseline lines with the live entry as text, never parsed (fim.ts's
 * recordsUnchanged). These tests hold the key that signs the baseline, as an attacker with the key
 * would, and write lines herd would not: every one must be parsed, and refused or compared field by
 * field, never taken as unchanged because part of it matched.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalKeySigner } from '../../trust/index.js';
import { type BaselineHeader, type BaselineLine, BaselineWriter } from './baseline-file.js';
import type { FimChange } from './diff.js';
import { FimError } from './errors.js';
import type { DescribedEntry } from './file-pool.js';
import { checkBaseline, initBaseline, recordsUnchanged } from './fim.js';
import { entryHead, entryLine, entryTail, type FimEntry } from './fim-entry.js';
import { sampleFileEntry } from './fim-entry.test-support.js';

const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const signer = new LocalKeySigner(keys.privateKey);
const scratch = mkdtempSync(join(tmpdir(), 'herd-fim-lines-'));
const tree = join(scratch, 'tree');
const original = join(scratch, 'original.baseline');
const edited = join(scratch, 'edited.baseline');
const noXattrs = { support: 'unsupported', reason: 'not under test here' } as const;

/** The baseline `original`, its entry lines passed through `edit`, signed again with the same key. */
async function resigned(edit: (line: string) => string): Promise<void> {
  const lines = readFileSync(original, 'utf8').trimEnd().split('\n');
  const header = JSON.parse(lines[0]!) as BaselineHeader;
  const writer = await BaselineWriter.create(edited, header);
  for (const line of lines.slice(1, -1)) await writer.writeLine(`${edit(line)}\n`);
  await writer.finish(signer, header);
}

async function check(full = false): Promise<{ changes: FimChange[]; reused: number }> {
  const changes: FimChange[] = [];
  const { reused } = await checkBaseline(tree, {
    baseline: edited,
    keys: [keys.publicKey],
    xattrs: noXattrs,
    workers: 1,
    full,
    onChange: (change) => changes.push(change),
  });
  return { changes, reused };
}

const changedPaths = (changes: FimChange[]) =>
  changes.map((c) => `${c.kind} ${c.kind === 'changed' ? c.after.path : c.entry.path}`);

describe('baseline lines compared as text', () => {
  before(async () => {
    mkdirSync(join(tree, 'dir'), { recursive: true });
    writeFileSync(join(tree, 'file'), 'content\n');
    writeFileSync(join(tree, 'dir', 'quote"name'), 'q\n');
    writeFileSync(join(tree, 'dir', 'back\\slash'), 'b\n');
    writeFileSync(join(tree, 'dir', 'control\u0001name'), 'c\n');
    symlinkSync('file', join(tree, 'link'));
    await initBaseline(tree, { output: original, signer, xattrs: noXattrs, workers: 1 });
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('checks clean a baseline as herd wrote it, every file hash reused in the fast mode', async () => {
    await resigned((line) => line);

    const fast = await check();
    const full = await check(true);

    assert.deepEqual(changedPaths(fast.changes), []);
    assert.equal(fast.reused, 4, 'the four regular files keep their recorded hash');
    assert.deepEqual(changedPaths(full.changes), []);
    assert.equal(full.reused, 0);
  });

  it('parses lines spelled otherwise (keys in another order) and checks them clean on their content', async () => {
    await resigned((line) => JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(line)).reverse())));

    const { changes, reused } = await check();

    assert.deepEqual(changedPaths(changes), []);
    assert.equal(reused, 4);
  });

  it('refuses a recorded hash that is not lowercase hex, or not closed, though size, times and inode all match', async () => {
    const hash = /"sha256":"([0-9a-f]{64})"/;
    for (const forge of [
      (line: string) => line.replace(hash, `"sha256":"${'z'.repeat(64)}"`),
      (line: string) => line.replace(hash, `"sha256":"${'A'.repeat(64)}"`),
      // The same length, its closing quote replaced: no longer JSON.
      (line: string) => line.replace(hash, '"sha256":"$1 '),
    ]) {
      await resigned((line) => (line.startsWith('{"path":"/file"') ? forge(line) : line));

      await assert.rejects(check(), (error: unknown) => {
        assert.ok(error instanceof FimError);
        assert.equal(error.code, 'BASELINE_MALFORMED');
        assert.match(error.message, /line 7 is not a well-formed entry/);
        return true;
      });
    }
  });

  it('reads a key added after the hash instead of skipping it: a file recorded unreadable never checks clean', async () => {
    await resigned((line) =>
      line.startsWith('{"path":"/file"')
        ? line.replace(/("sha256":"[0-9a-f]{64}")/, '$1,"unreadable":"EIO"')
        : line,
    );

    const { changes } = await check();

    assert.deepEqual(changedPaths(changes), ['changed /file']);
  });

  it('reports a changed recorded hash in --full, and reuses none', async () => {
    await resigned((line) =>
      line.startsWith('{"path":"/file"')
        ? line.replace(/"sha256":"[0-9a-f]{64}"/, `"sha256":"${'0'.repeat(64)}"`)
        : line,
    );

    const fast = await check();
    const full = await check(true);

    // The fast mode trusts the recorded hash of a file whose size, times and inode are unchanged
    // (README.md says what that does not cover); --full reads the file.
    assert.deepEqual(changedPaths(fast.changes), []);
    assert.deepEqual(changedPaths(full.changes), ['changed /file']);
  });

  it('checks clean the paths JSON escapes, and refuses a control character written raw in a path', async () => {
    await resigned((line) => line);
    assert.deepEqual(changedPaths((await check()).changes), []);

    await resigned((line) => line.replace('control\\u0001name', 'control\u0001name'));

    await assert.rejects(check(), /line 5 is not a well-formed entry/);
  });
});

describe('recordsUnchanged', () => {
  const file: FimEntry = { ...sampleFileEntry };
  const recorded = (entry: FimEntry): BaselineLine => {
    const text = entryLine(entry).trimEnd();
    return { text, path: entry.path, number: 2, headAt: `{"path":"${entry.path}"`.length };
  };
  const live = (entry: FimEntry, hashed: boolean): DescribedEntry => ({
    path: entry.path,
    fsPath: entry.path,
    type: entry.type,
    head: entryHead(entry),
    tail: entryTail(entry),
    ...(hashed && entry.sha256 ? { sha256: entry.sha256 } : {}),
  });

  it('takes a line equal to the live one as unchanged, and a file line with a hash as its hash reused', () => {
    assert.equal(recordsUnchanged(recorded(file), live(file, true), { full: true }), 'same');
    assert.equal(recordsUnchanged(recorded(file), live(file, false), { full: false }), 'same, hash reused');
    const dir: FimEntry = { ...file, type: 'dir', size: 4096 };
    delete dir.sha256;
    assert.equal(recordsUnchanged(recorded(dir), live(dir, false), { full: false }), 'same');
  });

  it('takes any difference in a compared or validating field, or in the hash read again, as different', () => {
    for (const other of [
      { mode: 0o4755 },
      { size: 11 },
      { mtime: '1700000000123456780' },
      { ctime: '1700000000123456780' },
      { ino: '43' },
      { xattrs: { 'security.capability': '00', 'user.b': '01' } },
      { xattrs: undefined },
    ]) {
      const now = { ...file, ...other } as FimEntry;
      if (now.xattrs === undefined) delete now.xattrs;
      assert.equal(
        recordsUnchanged(recorded(file), live(now, false), { full: false }),
        'different',
        JSON.stringify(other),
      );
      assert.equal(
        recordsUnchanged(recorded(file), live(now, true), { full: true }),
        'different',
        JSON.stringify(other),
      );
    }
    const rehashed = { ...file, sha256: 'b'.repeat(64) };
    assert.equal(recordsUnchanged(recorded(file), live(rehashed, true), { full: true }), 'different');
  });

  it('never compares a line whose path it did not read plainly, nor a live file that could not be read', () => {
    const escapedPath = { ...recorded(file) };
    delete escapedPath.headAt;
    assert.equal(recordsUnchanged(escapedPath, live(file, false), { full: false }), 'different');
    const unreadable = { ...live(file, false), unreadable: 'EACCES' };
    assert.equal(recordsUnchanged(recorded(file), unreadable, { full: false }), 'different');
  });
});
