/**
 * xattrs through the real binding on a real filesystem, set by Debian's `setfattr` (package attr,
 * installed by scripts/setup.sh) so that what herd reads is checked against another tool's writes.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FimError } from './errors.js';
import { errnoOf, SyscallXattrReader, xattrReaderForHost } from './xattrs.js';

const scratch = mkdtempSync(join(tmpdir(), 'herd-xattrs-'));
const hasSetfattr = spawnSync('setfattr', ['--version'], { stdio: 'ignore' }).status === 0;
const missingSetfattr = 'setfattr is not installed: run scripts/setup.sh or apt-get install attr';
/** cap_net_raw in the permitted and effective sets, as `setcap cap_net_raw+ep` writes it (VFS_CAP_REVISION_2). */
const netRawCapability = '0100000200200000000000000000000000000000';

function setfattr(...args: string[]): void {
  execFileSync('setfattr', args);
}

describe('xattrReaderForHost', () => {
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('reads by system call through the binding on this host', () => {
    const reader = xattrReaderForHost();

    assert.equal(reader.support, 'llistxattr', reader.reason);
  });

  it('reads each user.* attribute setfattr wrote, as hex, an empty value as ""', () => {
    assert.ok(hasSetfattr, missingSetfattr);
    const file = join(scratch, 'config');
    writeFileSync(file, 'x\n');
    setfattr('-n', 'user.herd.note', '-v', 'hi', file);
    setfattr('-n', 'user.herd.bytes', '-v', '0x00ff10', file);
    setfattr('-n', 'user.herd.empty', file);

    const found = xattrReaderForHost().read(file);

    assert.deepEqual(found, { 'user.herd.note': '6869', 'user.herd.bytes': '00ff10', 'user.herd.empty': '' });
  });

  it('reads nothing from an entry without attributes', () => {
    const file = join(scratch, 'plain');
    writeFileSync(file, 'x\n');

    assert.equal(xattrReaderForHost().read(file), undefined);
  });

  it('reads a file capability (security.capability), which only root can set', () => {
    assert.ok(hasSetfattr, missingSetfattr);
    assert.equal(process.getuid?.(), 0, 'setting security.capability needs root: run the tests as root');
    const file = join(scratch, 'ping');
    writeFileSync(file, 'x\n', { mode: 0o755 });
    setfattr('-n', 'security.capability', '-v', `0x${netRawCapability}`, file);

    const found = xattrReaderForHost().read(file);

    assert.deepEqual(found, { 'security.capability': netRawCapability });
  });

  it('reads a symlink’s own attributes, never its target’s', () => {
    assert.ok(hasSetfattr, missingSetfattr);
    assert.equal(process.getuid?.(), 0, 'setting trusted.* on a symlink needs root: run the tests as root');
    const target = join(scratch, 'target');
    const link = join(scratch, 'link');
    writeFileSync(target, 'x\n');
    symlinkSync('target', link);
    setfattr('-n', 'user.on-target', '-v', '1', target);
    setfattr('-h', '-n', 'trusted.on-link', '-v', '0x02', link);

    const found = xattrReaderForHost().read(link);

    assert.deepEqual(found, { 'trusted.on-link': '02' });
  });

  it('reads a path that vanished since the walk saw it as having none', () => {
    assert.equal(xattrReaderForHost().read(join(scratch, 'gone')), undefined);
  });
});

describe('SyscallXattrReader', () => {
  it('fails with XATTRS_UNAVAILABLE naming the path when a read is refused, rather than reading "none"', () => {
    const refusing = new SyscallXattrReader({
      listAttributesSync: () => {
        throw new Error('Permission denied (os error 13)');
      },
      getAttributeSync: () => null,
    });

    assert.throws(
      () => refusing.read('/srv/app/secret'),
      (error: unknown) =>
        error instanceof FimError &&
        error.code === 'XATTRS_UNAVAILABLE' &&
        /\/srv\/app\/secret/.test(error.message),
    );
  });

  it('leaves out an attribute removed between the list and the read', () => {
    const racing = new SyscallXattrReader({
      listAttributesSync: () => ['user.kept', 'user.gone'],
      getAttributeSync: (_path, name) => (name === 'user.kept' ? Buffer.from([1]) : null),
    });

    assert.deepEqual(racing.read('/srv/app/file'), { 'user.kept': '01' });
  });
});

describe('errnoOf', () => {
  it('reads the errno at the end of the binding’s message, and nothing from any other error', () => {
    assert.equal(errnoOf(new Error('No such file or directory (os error 2)')), 2);
    assert.equal(errnoOf(new Error('something else')), undefined);
    assert.equal(errnoOf(undefined), undefined);
  });
});
