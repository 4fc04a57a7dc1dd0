import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { V1EphemeralContainer, V1Pod } from '@kubernetes/client-node';
import { evaluate } from '@marcbachmann/cel-js';
import type { FileManifestEntry } from '../../oci/index.js';
import { EngineError, type InstanceSpec } from '../engine.js';
import { admissionValidations } from './admission-objects.js';
import { FakeKubernetesApi } from './fake-api-server.test-support.js';
import { KubernetesEngine } from './kubernetes-engine.js';

// The engine's side of the drift probe against the fake API server: what it sends, how it reads the
// answer. The probe program itself runs for real in test/drift-probe.test.ts.

const digest = `sha256:${'d'.repeat(64)}` as const;
const probeDigest = `sha256:${'a'.repeat(64)}` as const;
const hash = (letter: string) => letter.repeat(64);

const imageFiles: FileManifestEntry[] = [
  { path: '/', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 },
  { path: '/app', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 },
  { path: '/app/server.js', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 10, sha256: hash('1') },
  { path: '/app/config.json', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 5, sha256: hash('2') },
  { path: '/etc', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 },
  { path: '/etc/hosts', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 3, sha256: hash('3') },
  { path: '/tmp', type: 'dir', mode: 0o1777, uid: 0, gid: 0, size: 0 },
  { path: '/tmp/from-image', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 1, sha256: hash('4') },
  { path: '/usr/bin/node', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, target: 'nodejs' },
];

/** The root the probe sees, as it prints it: the image's entries, minus the root's own metadata. */
function seenRoot(): Record<string, unknown>[] {
  return imageFiles.map(({ path, type, mode, uid, gid, size, sha256, target }) => ({
    path,
    type,
    mode,
    uid,
    gid,
    ...(type === 'file' ? { size, sha256 } : {}),
    ...(target ? { target } : {}),
  }));
}

function spec(): InstanceSpec {
  return {
    service: 'hello',
    revision: 'dddddddd',
    digest,
    templateDigest: `sha256:${'f'.repeat(64)}`,
    imageRef: `127.0.0.1:5001/hello@${digest}`,
    user: { uid: 65532, gid: 65533 },
    env: {},
    writable: ['/tmp'],
    port: 8080,
    resources: { memoryBytes: 64 * 1024 * 1024, nanoCpus: 250_000_000, pids: 64 },
    stopGraceSeconds: 3,
    labels: {},
  };
}

describe('KubernetesEngine.changes through the drift probe, against a fake API server', () => {
  let api: FakeKubernetesApi;
  let server: string;
  const asked: string[] = [];
  let imageOverride: FileManifestEntry[] | undefined;

  async function engineWith(options: { intervalMs?: number; maxPerPod?: number; timeoutMs?: number } = {}) {
    return KubernetesEngine.connect({
      namespace: 'herd',
      cluster: { server, skipTLSVerify: true },
      pullFrom: 'registry.example:5000/team',
      pollMs: 10,
      startTimeoutMs: 2000,
      driftProbe: {
        image: { digest: probeDigest, imageRef: `127.0.0.1:5001/herd-drift-probe@${probeDigest}` },
        imageFiles: async (of) => {
          asked.push(of);
          return imageOverride ?? imageFiles;
        },
        intervalMs: options.intervalMs ?? 0,
        ...(options.maxPerPod !== undefined ? { maxPerPod: options.maxPerPod } : {}),
        timeoutMs: options.timeoutMs ?? 2000,
      },
    });
  }

  async function running(engine: KubernetesEngine): Promise<string> {
    await engine.ensureImage(spec());
    return (await engine.create(spec())).id;
  }

  const probesSent = () =>
    api.requests
      .filter((request) => request.method === 'PATCH' && request.path.endsWith('/ephemeralcontainers'))
      .map((request) => {
        const ops = request.body as { op: string; path: string; value: unknown }[];
        const add = ops.find((op) => op.op === 'add');
        return (Array.isArray(add?.value) ? add.value[0] : add?.value) as V1EphemeralContainer;
      });

  before(async () => {
    api = new FakeKubernetesApi('herd');
    server = await api.start();
  });

  after(async () => {
    await api.close();
  });

  beforeEach(() => {
    api.requests.length = 0;
    api.pods.clear();
    api.probeRoots.clear();
    api.defaultProbeRoot = seenRoot();
    api.probeOutcome = 'list';
    api.ephemeralConflictsToAnswer = 0;
    api.admit();
    asked.length = 0;
    imageOverride = undefined;
  });

  it('adds a probe as restricted as the workload, pinned by digest, targeting it, and admits its digest first', async () => {
    const engine = await engineWith();
    const id = await running(engine);

    await engine.changes(id);

    const [probe] = probesSent();
    assert.equal(probe?.name, 'herd-drift-1');
    assert.equal(probe?.image, `registry.example:5000/team/herd-drift-probe@${probeDigest}`);
    assert.equal(probe?.targetContainerName, 'instance');
    assert.deepEqual(probe?.securityContext, {
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65533,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const args = probe?.args ?? [];
    for (const skipped of ['/tmp', '/dev/shm', '/proc', '/sys', '/dev', '/etc/hosts', '/etc/resolv.conf'])
      assert.ok(args.join(' ').includes(`--skip ${skipped}`), `${skipped} is skipped: ${args.join(' ')}`);
    assert.ok(args.join(' ').includes('--has /app/config.json'), 'a file of the image finds the workload');
    assert.equal(
      api.configMap?.data?.[`drift-probe-sha256-${'a'.repeat(64)}`],
      probeDigest,
      'the probe digest is admitted as the probe, not as a workload',
    );
    assert.equal(api.configMap?.data?.[`sha256-${'a'.repeat(64)}`], undefined);
    assert.deepEqual(asked, [digest], "the file list asked is that of the workload container's digest");
    const patch = api.requests.find((request) => request.method === 'PATCH');
    assert.equal(patch?.path, `/api/v1/namespaces/herd/pods/${id}/ephemeralcontainers`);
    const log = api.requests.find((request) => request.query.container === 'herd-drift-1');
    assert.equal(log?.path, `/api/v1/namespaces/herd/pods/${id}/log`);
  });

  it("passes the admission policy's checks (CEL) as the pod stands with the probe added", async () => {
    const engine = await engineWith();
    const id = await running(engine);

    await engine.changes(id);

    const pod = api.pods.get(id);
    const object = { metadata: pod?.metadata, spec: pod?.spec };
    assert.equal(pod?.spec.ephemeralContainers.length, 1);
    for (const validation of admissionValidations)
      assert.equal(
        evaluate(validation.expression, { object, params: api.configMap }),
        true,
        validation.expression,
      );
  });

  it('finds nothing in a pod whose root is the image, the mounts aside', async () => {
    const engine = await engineWith();
    const id = await running(engine);
    // What the kubelet mounts shows to the probe only where it was not told to skip.
    api.probeRoots.set(id, [
      ...seenRoot().filter((entry) => entry.path !== '/tmp/from-image'),
      { path: '/tmp/scratch', type: 'file', mode: 0o644, uid: 65532, gid: 65533, size: 1, sha256: hash('9') },
      { path: '/proc', type: 'dir', mode: 0o555, uid: 0, gid: 0 },
      { path: '/proc/1', type: 'dir', mode: 0o555, uid: 0, gid: 0 },
    ]);

    assert.deepEqual(await engine.changes(id), []);
  });

  it('reports files added, modified (content, mode, link target) and deleted against the image', async () => {
    const engine = await engineWith();
    const id = await running(engine);
    const root = seenRoot()
      .filter((entry) => entry.path !== '/app/config.json')
      .map((entry) =>
        entry.path === '/app/server.js'
          ? { ...entry, sha256: hash('7') }
          : entry.path === '/usr/bin/node'
            ? { ...entry, target: '/tmp/evil' }
            : entry.path === '/app'
              ? { ...entry, mode: 0o777 }
              : entry,
      );
    root.push({
      path: '/app/backdoor',
      type: 'file',
      mode: 0o755,
      uid: 65532,
      gid: 65533,
      size: 4,
      sha256: hash('8'),
    });
    api.probeRoots.set(id, root);

    const changes = await engine.changes(id);

    assert.deepEqual(changes, [
      { path: '/app', kind: 'modified' },
      { path: '/app/backdoor', kind: 'added' },
      { path: '/app/config.json', kind: 'deleted' },
      { path: '/app/server.js', kind: 'modified' },
      { path: '/usr/bin/node', kind: 'modified' },
    ]);
  });

  it('fails naming the pod when the probe log is cut short, and when a line is garbled', async () => {
    const engine = await engineWith();
    const id = await running(engine);
    const [first = '', second = ''] = seenRoot().map((entry) => JSON.stringify(entry));

    api.probeOutcome = { log: `${first}\n${second}\n`, exitCode: 0 };
    await assert.rejects(engine.changes(id), (error: unknown) => {
      assert.ok(error instanceof EngineError && error.code === 'OTHER', String(error));
      assert.match(
        error.message,
        new RegExp(`herd-drift-1 of pod ${id} printed 2 entries and no summary line`),
      );
      return true;
    });
    api.probeOutcome = {
      log: `${first}\n{"path":"/x","typ\n${JSON.stringify({ summary: { entries: 2, unreadable: 0, pid: 7, skipped: [] } })}\n`,
      exitCode: 0,
    };
    await assert.rejects(engine.changes(id), (error: unknown) => {
      assert.ok(error instanceof EngineError && error.code === 'OTHER', String(error));
      assert.match(
        error.message,
        new RegExp(`herd-drift-2 of pod ${id} printed line 2 that is not a listing entry`),
      );
      return true;
    });
    api.probeOutcome = {
      log: `${first}\n${JSON.stringify({ summary: { entries: 9, unreadable: 0, pid: 7, skipped: [] } })}\n`,
      exitCode: 0,
    };
    await assert.rejects(engine.changes(id), /listed 1 entries but its summary counts 9/);
  });

  it("fails with the probe's own reason when it exits non-zero", async () => {
    const engine = await engineWith();
    const id = await running(engine);
    api.probeOutcome = {
      log: '{"error":"no readable process has /app/config.json in its root"}\n',
      exitCode: 2,
    };

    await assert.rejects(engine.changes(id), /herd-drift-1 of pod .* failed: no readable process/);
  });

  it('times out a probe that never ends, naming the pod and the probe', async () => {
    const engine = await engineWith({ timeoutMs: 200 });
    const id = await running(engine);
    api.probeOutcome = 'hang';

    await assert.rejects(engine.changes(id), (error: unknown) => {
      assert.ok(error instanceof EngineError && error.code === 'OTHER', String(error));
      assert.match(
        error.message,
        new RegExp(`drift probe herd-drift-1 of pod ${id} did not end within 200 ms \\(running\\)`),
      );
      return true;
    });
  });

  it('answers the last listing while a due probe runs, so a probe an intruder stopped stalls nobody; its timeout is the answer from then on', async () => {
    const engine = await engineWith({ intervalMs: 300, timeoutMs: 1500 });
    const id = await running(engine);
    assert.deepEqual(await engine.changes(id), []);
    api.probeOutcome = 'hang';
    await new Promise((resolve) => setTimeout(resolve, 350));

    const began = Date.now();
    const meanwhile = await engine.changes(id);
    const waited = Date.now() - began;

    assert.deepEqual(meanwhile, []);
    assert.ok(waited < 1000, `changes waited ${waited} ms for a probe that does not end`);
    await new Promise((resolve) => setTimeout(resolve, 1800));
    await assert.rejects(engine.changes(id), /drift probe herd-drift-2 of pod .* did not end within 1500 ms/);
  });

  it('names each probe anew, and adds no second one within the interval: it answers the last listing', async () => {
    const eager = await engineWith();
    const id = await running(eager);
    await eager.changes(id);
    await eager.changes(id);
    const patient = await engineWith({ intervalMs: 60_000 });

    await patient.changes(id);
    const again = await patient.changes(id);

    assert.deepEqual(
      probesSent().map((probe) => probe.name),
      ['herd-drift-1', 'herd-drift-2', 'herd-drift-3'],
    );
    assert.deepEqual(again, []);
    const pod = api.pods.get(id) as V1Pod;
    assert.equal(pod.spec?.ephemeralContainers?.length, 3);
  });

  it('reads the pod again when it changed since it was read, and gives up after three refusals', async () => {
    const engine = await engineWith();
    const id = await running(engine);
    api.ephemeralConflictsToAnswer = 1;

    assert.deepEqual(await engine.changes(id), []);
    api.ephemeralConflictsToAnswer = 3;
    await assert.rejects(
      engine.changes(id),
      /adding drift probe herd-drift-2 to pod .* was refused 3 times, last with 409/,
    );

    const patches = api.requests.filter((request) => request.method === 'PATCH');
    assert.equal(patches.length, 5);
    assert.equal((api.pods.get(id) as V1Pod).spec?.ephemeralContainers?.length, 1);
  });

  it('adds no probe past the most one pod may hold, and says the pod needs replacing', async () => {
    const engine = await engineWith({ maxPerPod: 2 });
    const id = await running(engine);
    await engine.changes(id);
    await engine.changes(id);

    await assert.rejects(engine.changes(id), /already holds 2 drift probes.*expected the pod replaced/);

    assert.equal(probesSent().length, 2);
  });

  it('adds no probe to a pod whose image the probe could not list within its bounds: UNSUPPORTED, not a failure the monitor counts as blinding', async () => {
    const engine = await engineWith();
    const id = await running(engine);
    imageOverride = Array.from({ length: 160_000 }, (_, index) => ({
      ...(imageFiles[2] as FileManifestEntry),
      path: `/data/${index}`,
    }));

    await assert.rejects(engine.changes(id), (error: unknown) => {
      assert.ok(error instanceof EngineError && error.code === 'UNSUPPORTED', String(error));
      assert.match(String(error), /160000 files, near the probe's bound/);
      return true;
    });
    assert.equal(probesSent().length, 0);
  });

  it('throws UNSUPPORTED without a probe image, and NOT_FOUND for a pod that is gone', async () => {
    const bare = await KubernetesEngine.connect({
      namespace: 'herd',
      cluster: { server, skipTLSVerify: true },
    });
    const engine = await engineWith();

    await assert.rejects(bare.changes('hello-dddddddd-abcde'), (error: unknown) => {
      assert.ok(error instanceof EngineError && error.code === 'UNSUPPORTED');
      return true;
    });
    await assert.rejects(engine.changes('hello-dddddddd-gone0'), (error: unknown) => {
      assert.ok(error instanceof EngineError && error.code === 'NOT_FOUND', String(error));
      return true;
    });
    assert.equal(probesSent().length, 0);
  });
});
