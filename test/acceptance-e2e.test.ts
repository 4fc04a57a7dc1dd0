/**
 * Acceptance of a candidate on the real engine: `herd build` and `herd sign` make the probe image
 * from a signed fixture repository (as test/fleet-e2e.test.ts does) in a temporary HERD_HOME; the
 * store is served at /v2/ on loopback as the control plane serves it, and the engine is the podman
 * service ensureEngine starts under HERD_HOME/engine, as the control plane's. Then acceptCandidate:
 * - passes a candidate whose checks hold, its files verified against the signed file manifest,
 *   made hardened and labelled apart from any fleet;
 * - fails one whose body does not match, saying so without showing the environment's value;
 * - fails the integrity check when the engine's copy of the image was changed on the host;
 * and removes the candidate every time (`podman ps -a` shows none).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DockerEngine } from '../src/engines/docker/docker-engine.js';
import { type EngineService, ensureEngine } from '../src/engines/docker/podman-service.js';
import { HttpTcpProber } from '../src/fleet/health-probe.js';
import { fleetTemplateFor } from '../src/fleet/instance-spec.js';
import type { FleetTemplate } from '../src/fleet/types.js';
import { LayoutStore } from '../src/oci/layout-store.js';
import type { Digest } from '../src/oci/types.js';
import {
  type AcceptanceParts,
  type AcceptanceRequest,
  acceptanceLabel,
  acceptCandidate,
} from '../src/pipeline/acceptance.js';
import { createApp } from '../src/server/app.js';
import { type RunningServer, startServer } from '../src/server/node-server.js';
import { loadSpec } from '../src/specfile/load.js';
import type { FixtureRepo } from './fixtures/apt-repo.js';
import { freshHome, writeSpecDir } from './support/build-harness.js';
import { runHerd } from './support/cli.js';
import { type Podman, podmanOf, probeRepo, probeSpecText, stopHerdPodman } from './support/herd-process.js';

const keyPassword = 'acceptance-e2e-key-password';

describe('acceptance of a candidate on podman', () => {
  let repo: FixtureRepo;
  let home: string;
  let store: LayoutStore;
  let server: RunningServer | undefined;
  let service: EngineService | undefined;
  let engine: DockerEngine;
  let podman: Podman;
  let digest: Digest;
  let template: FleetTemplate;
  let imageRef: string;

  const parts = (overrides: Partial<AcceptanceParts> = {}): AcceptanceParts => ({
    engine,
    store,
    home: { root: home },
    ...overrides,
  });
  const request = (overrides: Partial<AcceptanceRequest> = {}): AcceptanceRequest => ({
    service: 'probe',
    digest,
    template,
    imageRef,
    environment: {},
    checks: [],
    ...overrides,
  });
  /** Every candidate on the engine, running or not. */
  const candidates = () =>
    podman(['ps', '-aq', '--filter', `label=${acceptanceLabel}`])
      .trim()
      .split('\n')
      .filter(Boolean);

  before(async () => {
    repo = await probeRepo();
    home = await freshHome();
    const herd = (args: string[]) => {
      const result = runHerd(args, { home, env: { HERD_KEY_PASSWORD: keyPassword } });
      assert.equal(result.status, 0, `herd ${args.join(' ')}: ${result.err}`);
      return result.out;
    };
    const dir = await writeSpecDir({
      'herd.yaml': probeSpecText(repo, { size: 2, env: { GREETING: 'hello from the candidate' } }),
    });
    herd(['keys', 'generate']);
    digest = JSON.parse(herd(['build', dir, '--json'])).digest as Digest;
    herd(['sign', digest]);

    store = new LayoutStore(join(home, 'store'));
    const { spec } = await loadSpec(dir);
    template = fleetTemplateFor(spec, spec.fleet);
    server = await startServer({ app: createApp({ store }), port: 0 });
    imageRef = `${new URL(server.url).host}/probe@${digest}`;
    // env {}: herd's own podman under HERD_HOME/engine, as the control plane starts it.
    service = await ensureEngine({ stateDir: join(home, 'engine'), env: {} });
    engine = new DockerEngine({ socketPath: service.socketPath });
    podman = await podmanOf(home);
  });

  after(async () => {
    await server?.close();
    await service?.stop();
    if (home) await stopHerdPodman(home);
    await repo?.close();
  });

  it('passes a hardened candidate whose checks hold and whose files are the signed ones, then removes it', async () => {
    let inspected:
      | { labels: Record<string, string>; readOnly: boolean; user: string; caps: string[] }
      | undefined;
    const real = new HttpTcpProber();
    // Looks at the candidate from outside while it runs, then probes it as the controller would.
    const prober: AcceptanceParts['prober'] = {
      check: async (address, health) => {
        if (!inspected) {
          const [id] = candidates();
          const [container] = JSON.parse(podman(['inspect', id!])) as {
            Config: { Labels: Record<string, string>; User: string };
            HostConfig: { ReadonlyRootfs: boolean };
            EffectiveCaps: string[] | null;
          }[];
          inspected = {
            labels: container!.Config.Labels,
            readOnly: container!.HostConfig.ReadonlyRootfs,
            user: container!.Config.User,
            caps: container!.EffectiveCaps ?? [],
          };
        }
        return real.check(address, health);
      },
    };

    const result = await acceptCandidate(
      parts({ prober }),
      request({
        checks: [
          { kind: 'healthy', withinSeconds: 60 },
          {
            kind: 'http',
            port: 8080,
            path: '/',
            status: 200,
            headers: { 'content-type': '^text/plain$' },
            body: '^hello from the candidate$',
            timeoutSeconds: 5,
          },
          { kind: 'tcp', port: 8080, timeoutSeconds: 5 },
        ],
      }),
    );

    assert.equal(result.passed, true, JSON.stringify(result, null, 2));
    assert.deepEqual(
      result.checks.map((check) => check.name),
      ['start candidate', 'healthy within 60 s', 'GET :8080/', 'tcp :8080'],
    );
    assert.equal(result.integrity?.passed, true);
    assert.match(result.integrity?.detail ?? '', /^\d+ entries match the signed file manifest/);
    assert.ok(inspected, 'the candidate was seen running');
    assert.equal(inspected.labels[acceptanceLabel], 'probe');
    assert.equal(inspected.labels['dev.herd.service'], 'probe.acceptance');
    assert.equal(inspected.readOnly, true);
    assert.equal(inspected.user, '65532:65532');
    assert.deepEqual(inspected.caps, []);
    assert.deepEqual(candidates(), []);
  });

  it('fails a candidate whose body does not match, without showing the value it was given', async () => {
    const result = await acceptCandidate(
      parts(),
      request({
        environment: { GREETING: 'greeting-from-the-environment' },
        checks: [
          {
            kind: 'http',
            port: 8080,
            path: '/',
            status: 200,
            headers: {},
            body: '^goodbye',
            timeoutSeconds: 5,
          },
        ],
      }),
    );

    assert.equal(result.passed, false);
    assert.deepEqual(
      result.checks.map((check) => [check.name, check.passed]),
      [
        ['start candidate', true],
        ['healthy within 60 s', true],
        ['GET :8080/', false],
      ],
    );
    assert.equal(result.checks.at(-1)?.detail, 'body did not match /^goodbye/: got "[redacted]"');
    assert.equal(result.integrity?.passed, true);
    assert.deepEqual(candidates(), []);
  });

  it('fails the integrity check of a candidate made from a copy of the image changed on the host', async () => {
    const layer = layerHolding(podman, imageRef, 'usr/lib/os-release');
    const file = join(layer, 'usr/lib/os-release');
    const pristine = await readFile(file, 'utf8');
    // The same size, so only the hash can tell.
    spawnSync('sh', ['-c', `printf 'ID=hacked\\n' > ${file}`]);
    assert.equal((await readFile(file, 'utf8')).length, pristine.length);

    try {
      const result = await acceptCandidate(parts(), request());

      assert.equal(result.passed, false);
      assert.equal(result.checks.at(-1)?.passed, true, 'it got healthy all the same');
      assert.deepEqual(result.integrity, {
        passed: false,
        detail:
          '1 path differs from the signed file manifest: /usr/lib/os-release modified: sha256 differs from the manifest',
      });
      assert.deepEqual(candidates(), []);
    } finally {
      await engine.removeImage({ imageRef, digest });
    }
  });
});

/** The layer directory (`…/overlay/<id>/diff`) of the engine's copy of `image` that holds `path`. */
function layerHolding(podman: Podman, image: string, path: string): string {
  const dirs = podman([
    'image',
    'inspect',
    '--format',
    '{{.GraphDriver.Data.UpperDir}}:{{.GraphDriver.Data.LowerDir}}',
    image,
  ])
    .trim()
    .split(':')
    .filter(Boolean);
  const found = dirs.find((dir) => spawnSync('test', ['-f', join(dir, path)]).status === 0);
  assert.ok(found, `no layer of ${image} holds ${path}: ${dirs.join(', ')}`);
  return found;
}
