import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { herdHome } from '../herd-home.js';
import { herdEntries, isHerdEntry, isHomeLoose, privateModeFor, tightenHome } from './private-modes.js';

const modeOf = async (path: string) => (await lstat(path)).mode & 0o7777;

/** A home as an older herd left it: everything readable by everyone. */
async function looseHome() {
  const root = await mkdtemp(join(tmpdir(), 'herd-modes-'));
  const home = herdHome({ HERD_HOME: root });
  await mkdir(join(home.store, 'blobs', 'sha256'), { recursive: true, mode: 0o755 });
  await mkdir(join(home.logs, 'web'), { recursive: true, mode: 0o755 });
  await mkdir(join(root, 'engine', 'storage', 'overlay'), { recursive: true, mode: 0o755 });
  const files = {
    db: home.stateDb,
    wal: `${home.stateDb}-wal`,
    blob: join(home.store, 'blobs', 'sha256', 'ab'),
    segment: join(home.logs, 'web', '1.ndjson'),
    controlPlane: join(root, 'control-plane.json'),
    engineConf: join(root, 'engine', 'containers.conf'),
    engineStorage: join(root, 'engine', 'storage', 'overlay', 'layer'),
    usersOwn: join(root, 'notes.txt'),
  };
  for (const path of Object.values(files)) await writeFile(path, 'x', { mode: 0o644 });
  for (const path of Object.values(files)) await chmod(path, 0o644);
  await chmod(root, 0o755);
  return { home, root, files };
}

describe('private modes under HERD_HOME', () => {
  it('takes the group and other bits off, and nothing else', () => {
    assert.equal(privateModeFor(0o100644), 0o600);
    assert.equal(privateModeFor(0o40755), 0o700);
    assert.equal(privateModeFor(0o100640), 0o600);
    assert.equal(privateModeFor(0o100600), undefined);
    assert.equal(privateModeFor(0o40700), undefined);
  });

  it('knows every entry herd writes at the top of HERD_HOME, and what sits beside them', () => {
    const entries = herdEntries(herdHome({ HERD_HOME: '/srv/herd' }));

    for (const name of [
      'store',
      'cache',
      'herd.db',
      'keys',
      'logs',
      'engine',
      'vulndb',
      'fim',
      'journal.checkpoint',
    ]) {
      assert.ok(entries.has(name), name);
    }
    assert.ok(isHerdEntry('herd.db-wal', entries));
    assert.ok(isHerdEntry('control-plane.json.tmp-12-ab', entries));
    assert.ok(isHerdEntry('control-plane.lock.takeover-00', entries));
    assert.ok(!isHerdEntry('notes.txt', entries));
    assert.ok(!isHerdEntry('storefront', entries));
  });

  it("fixes an existing home, leaving the user's own files and podman's storage alone", async () => {
    const { home, root, files } = await looseHome();

    assert.equal(await isHomeLoose(root), true);
    const report = await tightenHome(home);

    assert.deepEqual(report.failed, []);
    assert.deepEqual(report.leftAlone, ['notes.txt']);
    // root, store, blobs, sha256, logs, logs/web, engine and six files
    assert.equal(report.tightened, 13);
    assert.equal(await modeOf(root), 0o700);
    for (const path of [
      files.db,
      files.wal,
      files.blob,
      files.segment,
      files.controlPlane,
      files.engineConf,
    ]) {
      assert.equal(await modeOf(path), 0o600, path);
    }
    assert.equal(await modeOf(join(home.store, 'blobs')), 0o700);
    assert.equal(await modeOf(files.usersOwn), 0o644);
    assert.equal(await modeOf(files.engineStorage), 0o644);
    assert.equal(await isHomeLoose(root), false);
    assert.equal((await tightenHome(home)).tightened, 0);
  });

  it('never follows a symbolic link to change what it points at', async () => {
    const { home, root } = await looseHome();
    const outside = join(await mkdtemp(join(tmpdir(), 'herd-outside-')), 'passwd');
    await writeFile(outside, 'x', { mode: 0o644 });
    await chmod(outside, 0o644);
    await symlink(outside, join(home.logs, 'web', 'evil.ndjson'));
    await symlink(outside, join(root, 'vulndb'));

    await tightenHome(home);

    assert.equal(await modeOf(outside), 0o644);
  });

  it('leaves a shared sticky directory such as /tmp open, and says why', async () => {
    const root = await mkdtemp(join(tmpdir(), 'herd-shared-'));
    await chmod(root, 0o1777);

    const report = await tightenHome(herdHome({ HERD_HOME: root }));

    assert.equal(await modeOf(root), 0o1777);
    assert.match(report.failed[0]?.reason ?? '', /a shared directory \(mode 1777\)/);
  });
});
