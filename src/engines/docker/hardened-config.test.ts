import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type InstanceSpec, instanceLabels, legacyRevisionLabel } from '../engine.js';
import { hardenedCreateOptions } from './hardened-config.js';

const digest = `sha256:${'b'.repeat(64)}` as const;

function spec(overrides: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    service: 'web',
    revision: 'r7',
    digest,
    imageRef: `127.0.0.1:5001/web@${digest}`,
    user: { uid: 65532, gid: 65532 },
    env: { PORT: '8080' },
    writable: ['/tmp', '/var/cache/web'],
    port: 8080,
    resources: { memoryBytes: 256 * 1024 * 1024, nanoCpus: 1_000_000_000, pids: 128 },
    stopGraceSeconds: 7,
    ...overrides,
  };
}

describe('hardenedCreateOptions', () => {
  it('always asks for a read-only root, no capabilities, no new privileges, an init and no restarts', () => {
    const host = hardenedCreateOptions(spec()).HostConfig;

    assert.equal(host?.ReadonlyRootfs, true);
    assert.deepEqual(host?.CapDrop, ['ALL']);
    assert.deepEqual(host?.CapAdd, []);
    assert.equal(host?.Privileged, false);
    assert.deepEqual(host?.SecurityOpt, ['no-new-privileges']);
    assert.equal(host?.Init, true);
    assert.deepEqual(host?.RestartPolicy, { Name: 'no' });
  });

  it('loosens only the root filesystem for a spec that opts in to a writable root', () => {
    const hardened = hardenedCreateOptions(spec());
    const loosened = hardenedCreateOptions(spec({ writableRoot: true }));

    assert.equal(loosened.HostConfig?.ReadonlyRootfs, false);
    assert.deepEqual(
      { ...loosened, HostConfig: { ...loosened.HostConfig, ReadonlyRootfs: true } },
      hardened,
      'capabilities, no-new-privileges, user, init, tmpfs and limits are the same as with a read-only root',
    );
    assert.equal(hardenedCreateOptions(spec({ writableRoot: false })).HostConfig?.ReadonlyRootfs, true);
  });

  it('still refuses uid 0 on a writable root', () => {
    assert.throws(() => hardenedCreateOptions(spec({ writableRoot: true, user: { uid: 0, gid: 0 } })), {
      code: 'CREATE',
    });
  });

  it('runs as the given uid:gid and refuses uid 0', () => {
    assert.equal(hardenedCreateOptions(spec()).User, '65532:65532');
    assert.throws(() => hardenedCreateOptions(spec({ user: { uid: 0, gid: 1000 } })), { code: 'CREATE' });
  });

  it('mounts a noexec tmpfs at each writable path and a read-only one at the paths podman would open', () => {
    const tmpfs = hardenedCreateOptions(spec({ writable: ['/var/cache/web'] })).HostConfig?.Tmpfs;

    assert.deepEqual(tmpfs, {
      '/run': 'ro,noexec,nosuid,nodev,size=1m',
      '/tmp': 'ro,noexec,nosuid,nodev,size=1m',
      '/var/tmp': 'ro,noexec,nosuid,nodev,size=1m',
      // U: podman chowns the tmpfs to the instance's user; runc alone leaves it root's.
      '/var/cache/web': 'rw,noexec,nosuid,nodev,size=64m,U',
    });
  });

  it('refuses writable paths that are relative, climb out or smuggle mount options', () => {
    for (const path of ['tmp', '/var/../etc', '/tmp,exec', '/', '/a b']) {
      assert.throws(() => hardenedCreateOptions(spec({ writable: [path] })), { code: 'CREATE' }, path);
    }
  });

  it('publishes the port on 127.0.0.1 only, on a port the engine picks', () => {
    const options = hardenedCreateOptions(spec());

    assert.deepEqual(options.ExposedPorts, { '8080/tcp': {} });
    assert.deepEqual(options.HostConfig?.PortBindings, {
      '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }],
    });
  });

  it('sets the limits, no swap beyond memory, the ulimits and the stop grace period', () => {
    const options = hardenedCreateOptions(spec());

    assert.equal(options.HostConfig?.Memory, 256 * 1024 * 1024);
    assert.equal(options.HostConfig?.MemorySwap, 256 * 1024 * 1024);
    assert.equal(options.HostConfig?.NanoCpus, 1_000_000_000);
    assert.equal(options.HostConfig?.PidsLimit, 128);
    assert.deepEqual(options.HostConfig?.Ulimits, [
      { Name: 'nofile', Soft: 20000, Hard: 20000 },
      { Name: 'nproc', Soft: 1024, Hard: 1024 },
    ]);
    assert.equal(options.StopTimeout, 7);
  });

  it('gives /dev/shm 1 MiB unless the spec asks for more, and refuses a size beyond the memory limit', () => {
    const resources = spec().resources;

    const small = hardenedCreateOptions(spec()).HostConfig?.ShmSize;
    const asked = hardenedCreateOptions(spec({ resources: { ...resources, shmBytes: 64 * 1024 * 1024 } }))
      .HostConfig?.ShmSize;

    assert.equal(small, 1024 * 1024);
    assert.equal(asked, 64 * 1024 * 1024);
    for (const shmBytes of [512 * 1024 * 1024, 1024, 1024 * 1024 + 0.5]) {
      assert.throws(
        () => hardenedCreateOptions(spec({ resources: { ...resources, shmBytes } })),
        (error: unknown) => {
          assert.equal((error as { code?: string }).code, 'CREATE');
          assert.match(String(error), new RegExp(`shm size ${shmBytes} bytes: expected from 64 KiB`));
          return true;
        },
      );
    }
  });

  it("labels the instance as herd's, and extra labels cannot pose as another service, digest or revision", () => {
    const labels = hardenedCreateOptions(
      spec({
        labels: {
          [instanceLabels.service]: 'other',
          [instanceLabels.managedBy]: 'me',
          [legacyRevisionLabel]: 'r0',
          team: 'core',
        },
      }),
    ).Labels;

    assert.deepEqual(labels, {
      [instanceLabels.service]: 'web',
      [instanceLabels.managedBy]: 'herd',
      [instanceLabels.revision]: 'r7',
      [instanceLabels.digest]: digest,
      team: 'core',
    });
  });

  it('labels the instance with its run template digest, which an extra label cannot forge', () => {
    const templateDigest = `sha256:${'c'.repeat(64)}` as const;
    const forged = { [instanceLabels.template]: `sha256:${'0'.repeat(64)}` };

    const labelled = hardenedCreateOptions(spec({ templateDigest, labels: forged })).Labels;
    const unlabelled = hardenedCreateOptions(spec({ labels: forged })).Labels;

    assert.equal(labelled?.[instanceLabels.template], templateDigest);
    assert.equal(unlabelled?.[instanceLabels.template], undefined);
  });

  it('refuses an image reference that does not name the digest', () => {
    assert.throws(() => hardenedCreateOptions(spec({ imageRef: '127.0.0.1:5001/web:latest' })), {
      code: 'CREATE',
    });
  });

  it('passes the environment as NAME=value and refuses names with "="', () => {
    assert.deepEqual(hardenedCreateOptions(spec({ env: { A: '1', B: 'x=y' } })).Env, ['A=1', 'B=x=y']);
    assert.throws(() => hardenedCreateOptions(spec({ env: { 'A=B': '1' } })), { code: 'CREATE' });
  });
});
