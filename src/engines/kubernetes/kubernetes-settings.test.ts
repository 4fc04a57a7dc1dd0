import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EngineError } from '../engine.js';
import { checkKubeconfig, kubernetesSettingsFrom } from './kubernetes-settings.js';

function settingsError(message: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof EngineError, String(error));
    assert.equal(error.code, 'SETTINGS');
    assert.match(error.message, message);
    return true;
  };
}

describe('kubernetesSettingsFrom', () => {
  it('is no cluster when HERD_KUBECONFIG is unset', () => {
    assert.equal(kubernetesSettingsFrom({ HERD_SWARM_MANAGER: '/run/docker.sock' }), undefined);
  });

  it('reads the kubeconfig, the namespace (herd by default) and where the nodes pull from', () => {
    assert.deepEqual(kubernetesSettingsFrom({ HERD_KUBECONFIG: '/etc/herd/kubeconfig' }), {
      kubeconfig: '/etc/herd/kubeconfig',
      namespace: 'herd',
    });
    assert.deepEqual(
      kubernetesSettingsFrom({
        HERD_KUBECONFIG: ' /etc/herd/kubeconfig ',
        HERD_KUBERNETES_NAMESPACE: 'team-a',
        HERD_KUBERNETES_PULL_FROM: 'registry.example:5000/herd',
      }),
      { kubeconfig: '/etc/herd/kubeconfig', namespace: 'team-a', pullFrom: 'registry.example:5000/herd' },
    );
  });

  it("reads the drift probe's digest, and refuses one that is not a sha256 digest", () => {
    const digest = `sha256:${'a'.repeat(64)}`;

    assert.deepEqual(kubernetesSettingsFrom({ HERD_KUBECONFIG: '/k', HERD_KUBERNETES_DRIFT_PROBE: digest }), {
      kubeconfig: '/k',
      namespace: 'herd',
      driftProbeDigest: digest,
    });
    assert.throws(
      () =>
        kubernetesSettingsFrom({
          HERD_KUBECONFIG: '/k',
          HERD_KUBERNETES_DRIFT_PROBE: 'herd-drift-probe:latest',
        }),
      settingsError(
        /^HERD_KUBERNETES_DRIFT_PROBE "herd-drift-probe:latest": expected the sha256:<64 hex> digest/,
      ),
    );
    assert.throws(
      () => kubernetesSettingsFrom({ HERD_KUBERNETES_DRIFT_PROBE: digest }),
      settingsError(/HERD_KUBERNETES_DRIFT_PROBE is set without HERD_KUBECONFIG/),
    );
  });

  it('refuses both HERD_SWARM_MANAGER and HERD_KUBECONFIG, naming both', () => {
    assert.throws(
      () => kubernetesSettingsFrom({ HERD_KUBECONFIG: '/k', HERD_SWARM_MANAGER: '/run/docker.sock' }),
      settingsError(/^both HERD_SWARM_MANAGER and HERD_KUBECONFIG are set: expected one engine/),
    );
  });

  it('refuses a relative kubeconfig, a bad namespace, a pull location with a scheme, and settings without a kubeconfig', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ HERD_KUBECONFIG: 'kubeconfig' }, /^HERD_KUBECONFIG "kubeconfig": expected an absolute path/],
      [
        { HERD_KUBECONFIG: '/k', HERD_KUBERNETES_NAMESPACE: 'Team_A' },
        /^HERD_KUBERNETES_NAMESPACE "Team_A": expected a namespace name/,
      ],
      [
        { HERD_KUBECONFIG: '/k', HERD_KUBERNETES_PULL_FROM: 'https://registry.example:5000' },
        /^HERD_KUBERNETES_PULL_FROM "https:\/\/registry.example:5000": expected host:port/,
      ],
      [
        { HERD_KUBECONFIG: '/k', HERD_KUBERNETES_PULL_FROM: 'registry.example/herd@sha256:00' },
        /^HERD_KUBERNETES_PULL_FROM .*expected host:port/,
      ],
      [{ HERD_KUBERNETES_NAMESPACE: 'herd' }, /^HERD_KUBERNETES_NAMESPACE is set without HERD_KUBECONFIG/],
      [
        { HERD_KUBERNETES_NAMESPACE: 'herd', HERD_KUBERNETES_PULL_FROM: 'registry.example:5000' },
        /^HERD_KUBERNETES_NAMESPACE and HERD_KUBERNETES_PULL_FROM are set without HERD_KUBECONFIG/,
      ],
    ];
    for (const [env, message] of cases) {
      assert.throws(() => kubernetesSettingsFrom(env), settingsError(message), JSON.stringify(env));
    }
  });
});

describe('checkKubeconfig', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herd-kubeconfig-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts a kubeconfig whose current context names a cluster', async () => {
    const path = join(dir, 'kubeconfig');
    await writeFile(path, kubeconfigText('https://cluster.example:6443'));

    await checkKubeconfig(path);
  });

  it('refuses a missing file, naming its path', async () => {
    const path = join(dir, 'absent');

    await assert.rejects(
      checkKubeconfig(path),
      settingsError(new RegExp(`^HERD_KUBECONFIG ${path} cannot be read \\(no such file\\)`)),
    );
  });

  it('refuses what cannot be read as a file (a directory, a path through a file), naming the path', async () => {
    const file = join(dir, 'plain');
    await writeFile(file, 'x');

    await assert.rejects(
      checkKubeconfig(dir),
      settingsError(new RegExp(`^HERD_KUBECONFIG ${dir} cannot be read \\(a directory\\)`)),
    );
    await assert.rejects(
      checkKubeconfig(join(file, 'kubeconfig')),
      settingsError(new RegExp(`^HERD_KUBECONFIG ${file}/kubeconfig cannot be read \\(ENOTDIR\\)`)),
    );
  });

  it('refuses an empty file, one that is no kubeconfig and one whose context names no cluster, naming the path', async () => {
    const empty = join(dir, 'empty');
    const garbage = join(dir, 'garbage');
    const dangling = join(dir, 'dangling');
    await writeFile(empty, '\n');
    await writeFile(garbage, 'clusters: [unclosed\n');
    await writeFile(
      dangling,
      kubeconfigText('https://cluster.example:6443').replace(
        'current-context: herd',
        'current-context: elsewhere',
      ),
    );

    await assert.rejects(
      checkKubeconfig(empty),
      settingsError(new RegExp(`^HERD_KUBECONFIG ${empty} is empty`)),
    );
    await assert.rejects(
      checkKubeconfig(garbage),
      settingsError(new RegExp(`^HERD_KUBECONFIG ${garbage} is not a kubeconfig`)),
    );
    await assert.rejects(
      checkKubeconfig(dangling),
      settingsError(
        new RegExp(`^HERD_KUBECONFIG ${dangling} names no cluster in its current context "elsewhere"`),
      ),
    );
  });
});

function kubeconfigText(server: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: herd`,
    `  cluster: {server: "${server}"}`,
    'users:',
    '- name: herd',
    '  user: {token: test-token}',
    'contexts:',
    '- name: herd',
    '  context: {cluster: herd, user: herd}',
    'current-context: herd',
    '',
  ].join('\n');
}
