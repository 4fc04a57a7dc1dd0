/**
 * xattrs through the real binding, on the file pool's worker threads, on a real filesystem, set by
 * Debian's `setfattr` (package attr, installed by scripts/setup.sh): what herd reads is checked
 * against another tool's writes.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FimError } from './errors.js';
import { entryOf, WorkerFilePool } from './file-pool.js';
import { readXattrs, type XattrBinding, xattrSourceForHost } from './xattrs.js';

const scratch = mkdtempSync(join(tmpdir(), 'herd-xattrs-'));
const hasSetfattr = spawnSync('setfattr', ['--version'], { stdio: 'ignore' }).status === 0;
const missingSetfattr = 'setfattr is not installed: run scripts/setup.sh or apt-get install attr';
/** cap_net_raw in the permitted and effective sets, as `setcap cap_net_raw+ep` writes it (VFS_CAP_REVISION_2). */
const netRawCapability = '0100000200200000000000000000000000000000';

function setfattr(...args: string[]): void {
  execFileSync('setfattr', args);
}

/** The xattrs the pool reads for one path, as a check or an init would. */
async function xattrsOf(pool: WorkerFilePool, path: string): Promise<Record<string, string> | undefined> {
  const { entries } = await pool.describe([{ path: '/x', fsPath: path }], { hash: false });
  return entries[0] && entryOf(entries[0]).xattrs;
}

describe('xattrs read by the file pool through @napi-rs/xattr', () => {
  let pool: WorkerFilePool;
  before(() => {
    pool = new WorkerFilePool({ workers: 1, xattrs: xattrSourceForHost() });
  });
  after(async () => {
    await pool.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('finds the binding on this host', () => {
    const source = xattrSourceForHost();

    assert.equal(source.support, 'llistxattr', 'reason' in source ? source.reason : '');
  });

  it('reads each user.* attribute setfattr wrote, as hex, an empty value as ""', async () => {
    assert.ok(hasSetfattr, missingSetfattr);
    const file = join(scratch, 'config');
    writeFileSync(file, 'x\n');
    setfattr('-n', 'user.herd.note', '-v', 'hi', file);
    setfattr('-n', 'user.herd.bytes', '-v', '0x00ff10', file);
    setfattr('-n', 'user.herd.empty', file);

    const found = await xattrsOf(pool, file);

    assert.deepEqual(found, { 'user.herd.note': '6869', 'user.herd.bytes': '00ff10', 'user.herd.empty': '' });
  });

  it('reads nothing from an entry without attributes', async () => {
    const file = join(scratch, 'plain');
    writeFileSync(file, 'x\n');

    assert.equal(await xattrsOf(pool, file), undefined);
  });

  it('reads a file capability (security.capability), which only root can set', async () => {
    assert.ok(hasSetfattr, missingSetfattr);
    assert.equal(process.getuid?.(), 0, 'setting security.capability needs root: run the tests as root');
    const file = join(scratch, 'ping');
    writeFileSync(file, 'x\n', { mode: 0o755 });
    setfattr('-n', 'security.capability', '-v', `0x${netRawCapability}`, file);

    const found = await xattrsOf(pool, file);

    assert.deepEqual(found, { 'security.capability': netRawCapability });
  });

  it('reads a symlink’s own attributes, never its target’s', async () => {
    assert.ok(hasSetfattr, missingSetfattr);
    assert.equal(process.getuid?.(), 0, 'setting trusted.* on a symlink needs root: run the tests as root');
    const target = join(scratch, 'target');
    const link = join(scratch, 'link');
    writeFileSync(target, 'x\n');
    symlinkSync('target', link);
    setfattr('-n', 'user.on-target', '-v', '1', target);
    setfattr('-h', '-n', 'trusted.on-link', '-v', '0x02', link);

    const found = await xattrsOf(pool, link);

    assert.deepEqual(found, { 'trusted.on-link': '02' });
  });

  it('fails with XATTRS_UNAVAILABLE naming the path when a read is refused, never reading "none"', async () => {
    // A stand-in for the binding, loaded by the workers as the real one is, that refuses one path.
    const module = join(scratch, 'refusing-binding.cjs');
    writeFileSync(
      module,
      `module.exports = {
        listAttributesSync(path) {
          if (path.endsWith('/secret')) throw new Error('Permission denied (os error 13)');
          return [];
        },
        getAttributeSync() { return null; },
      };`,
    );
    const secret = join(scratch, 'secret');
    writeFileSync(secret, 'x\n');
    const refusing = new WorkerFilePool({ workers: 1, xattrs: { support: 'llistxattr', module } });

    try {
      await assert.rejects(
        refusing.describe([{ path: '/secret', fsPath: secret }], { hash: false }),
        (error: unknown) =>
          error instanceof FimError &&
          error.code === 'XATTRS_UNAVAILABLE' &&
          error.message.includes('/secret') &&
          error.message.includes('Permission denied'),
      );
    } finally {
      await refusing.close();
    }
  });
});

describe('readXattrs', () => {
  const binding = (
    list: () => string[],
    get: XattrBinding['getAttributeSync'] = () => null,
  ): XattrBinding => ({
    listAttributesSync: list,
    getAttributeSync: get,
  });

  it('leaves out an attribute removed between the list and the read', () => {
    const racing = binding(
      () => ['user.kept', 'user.gone'],
      (_path, name) => (name === 'user.kept' ? Buffer.from([1]) : null),
    );

    assert.deepEqual(readXattrs(racing, '/srv/app/file'), { 'user.kept': '01' });
  });

  it('reads an entry that vanished, or a filesystem without xattrs, as having none', () => {
    for (const message of [
      'No such file or directory (os error 2)',
      'Operation not supported (os error 95)',
    ]) {
      const failing = binding(() => {
        throw new Error(message);
      });

      assert.equal(readXattrs(failing, '/srv/app/file'), undefined, message);
    }
  });

  it('says why for any other failure, so that it is never taken as "none"', () => {
    const refusing = binding(() => {
      throw new Error('Input/output error (os error 5)');
    });

    assert.equal(readXattrs(refusing, '/srv/app/file'), 'Input/output error (os error 5)');
  });
});
