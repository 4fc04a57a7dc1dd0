import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Database } from 'better-sqlite3';
import { FakeClock } from '../common/clock.test-support.js';
import type { FleetStatus } from '../fleet/index.js';
import { Journal } from '../journal/index.js';
import { type Digest, shortDigest } from '../oci/index.js';
import { defaultPolicySection, type PolicySection } from '../specfile/index.js';
import { openStateDb } from '../state/index.js';
import { PipelineError } from './errors.js';
import type { SpecInputs } from './lock.js';
import { type FleetCheck, RemediationLoop } from './remediation-loop.js';
import { decideRun, percentiles } from './remediation-policy.js';
import { type RunSteps, StageFailed } from './remediation-run.js';
import { RemediationStore } from './remediation-store.js';
import type { UpdateFinding } from './remediation-types.js';

const deployed = `sha256:${'a'.repeat(64)}` as Digest;
const built = `sha256:${'b'.repeat(64)}` as Digest;

function update(name: string, to: string, visibleAt = '2025-01-01T00:00:00.000Z'): UpdateFinding {
  return {
    service: 'web',
    digest: deployed,
    kind: 'package-update',
    summary: `${name} 1.0 → ${to}`,
    packages: [{ name, from: '1.0', to, cvesFixed: ['CVE-2026-0001'], urgency: 'high', visibleAt }],
    cvesFixed: ['CVE-2026-0001'],
    security: true,
    urgency: 'high',
    visibleAt,
    detectedAt: visibleAt,
    actionable: true,
  };
}

/** A fleet of three on `digest`; a rollout moves it at once. */
class FakeFleet {
  digest = deployed;
  rollouts: Digest[] = [];

  status(): FleetStatus {
    const revision = shortDigest(this.digest);
    return {
      service: 'web',
      revision,
      digest: this.digest,
      size: 3,
      status: 'complete',
      degraded: false,
      ready: 3,
      available: 3,
      instances: [1, 2, 3].map((n) => ({
        id: `i${n}`,
        revision,
        state: 'running',
        ready: true,
        available: true,
        unhealthy: false,
      })),
    };
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 50; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

describe('the remediation loop', () => {
  let root: string;
  let db: Database;
  let clock: FakeClock;
  let journal: Journal;
  let runs: RemediationStore;
  let fleet: FakeFleet;
  let found: FleetCheck;
  let policy: PolicySection;
  let failAt: keyof RunSteps | undefined;
  let checks: number;
  let stagesRun: string[];
  let specDigest = 'sha256:spec';
  let loop: RemediationLoop | undefined;
  let acceptGate: { promise: Promise<void>; resolve: () => void } | undefined;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'herd-loop-'));
    db = openStateDb(join(root, 'herd.db'));
    clock = new FakeClock(Date.parse('2025-01-01T00:10:00Z'));
    journal = new Journal(db, { clock });
    runs = new RemediationStore(db);
    runs.setSource('web', '/specs/web/herd.yaml', '2025-01-01T00:00:00Z');
    fleet = new FakeFleet();
    found = { findings: [update('tiny-bin', '1.1')], target: 'sha256:target-1' };
    policy = { ...defaultPolicySection };
    failAt = undefined;
    checks = 0;
    stagesRun = [];
    acceptGate = undefined;
    specDigest = 'sha256:spec';
  });
  afterEach(async () => {
    await loop?.stop();
    await loop?.settled();
    loop = undefined;
    db.close();
    await rm(root, { recursive: true, force: true });
  });

  function start(): RemediationLoop {
    const spec = {
      loaded: {
        spec: { service: 'web', policy, watch: { updates: { intervalSeconds: 60 } } },
        get digest() {
          return specDigest;
        },
        path: '/specs/web/herd.yaml',
        dir: '/specs/web',
      },
      lockPath: '/specs/web/herd.lock',
      sources: [],
      fetcher: undefined,
    } as unknown as SpecInputs;
    loop = new RemediationLoop({
      runs,
      journal,
      actor: 'herd-control-plane',
      clock,
      log: { info() {}, warn() {} },
      steps: {} as never,
      openSpec: async () => spec,
      fleetStatus: async () => fleet.status(),
      rollout: async (_service, digest) => {
        fleet.rollouts.push(digest);
        fleet.digest = digest;
      },
      check: async () => {
        checks += 1;
        return found;
      },
      decide: decideRun,
      percentiles,
      stepsFor: (_id, _spec, parts) => {
        const step = (name: keyof RunSteps) => async () => {
          stagesRun.push(name);
          if (name === failAt) throw new StageFailed(`${name} said no`);
          return { output: name };
        };
        return {
          lock: step('lock'),
          build: async () => {
            stagesRun.push('build');
            return { output: 'built', digest: built };
          },
          gate: step('gate'),
          sign: step('sign'),
          accept: async () => {
            stagesRun.push('accept');
            await acceptGate?.promise;
            if (failAt === 'accept') throw new StageFailed('accept said no');
            return { output: 'accept' };
          },
          release: async (_digest, stage) => {
            stagesRun.push(`release ${stage}`);
            return { output: stage };
          },
          rollout: async (digest) => ({
            output: await parts.rollout({ service: 'web', digest, template: {} as never }),
          }),
        };
      },
    });
    return loop;
  }

  it('checks each fleet on its interval and, with a fix found, runs to a rollout without being asked', async () => {
    await start().start();
    clock.advance(1000);
    await flush();
    assert.equal(checks, 0, 'the first check waits one interval after the loop sees the spec');
    clock.advance(60_000);
    await flush();
    await loop?.settled();

    const [run] = runs.list();
    assert.equal(run?.status, 'succeeded', run?.error);
    assert.equal(run?.trigger, 'schedule');
    assert.deepEqual(fleet.rollouts, [built]);
    assert.deepEqual(stagesRun, [
      'lock',
      'build',
      'gate',
      'sign',
      'accept',
      'release accepted',
      'release production',
    ]);
    assert.equal(run?.timeToRemediateMs, 11 * 60_000 + 1000);
    const actions = journal.list().map((entry) => entry.action);
    assert.deepEqual(
      actions.filter((one) => one.startsWith('pipeline')),
      ['pipeline', 'pipeline-end'],
    );
    assert.equal(loop?.times('web').count, 1);

    // The next check comes a whole interval later, not at the next tick.
    clock.advance(30_000);
    await flush();
    assert.equal(checks, 1);
    clock.advance(31_000);
    await flush();
    assert.equal(checks, 2);
  });

  it('does not start a second run for versions that already failed, and does for newer ones', async () => {
    failAt = 'accept';
    start();
    const [first] = await loop!.check();
    await loop!.settled();
    assert.equal(runs.get(first!.run!.id)?.error, 'accept: accept said no');
    assert.deepEqual(fleet.rollouts, [], 'a failed acceptance leaves the fleet on its release');

    const [again] = await loop!.check();
    assert.equal(again?.run, undefined);
    assert.match(again?.skipped ?? '', /already failed for these versions/);

    failAt = undefined;
    found = { findings: [update('tiny-bin', '1.2')], target: 'sha256:target-2' };
    const [newer] = await loop!.check();
    await loop!.settled();
    assert.equal(runs.get(newer!.run!.id)?.status, 'succeeded');
  });

  it('starts nothing when the archive went back in time, or when nothing can be fixed', async () => {
    start();
    found = { findings: [], target: 'sha256:t', rolledBack: 'the archive went back in time' };
    const [rolledBack] = await loop!.check();
    assert.equal(rolledBack?.skipped, 'the archive went back in time');

    found = {
      findings: [{ ...update('tiny-bin', '1.0'), kind: 'vulnerability', actionable: false }],
      target: 'sha256:t',
    };
    const [open] = await loop!.check();
    assert.equal(open?.run, undefined);
    assert.match(open?.skipped ?? '', /no finding a rebuild can fix/);
    assert.deepEqual(runs.list(), []);
  });

  it('does not roll out a held run approved after its herd.yaml changed: what was accepted is what rolls out', async () => {
    policy = { ...defaultPolicySection, promote: 'manual' };
    start();
    const [outcome] = await loop!.check();
    await loop!.settled();
    const id = outcome!.run!.id;
    assert.equal(runs.get(id)?.status, 'awaiting-approval');

    specDigest = `sha256:${'e'.repeat(64)}`;
    await loop!.approve(id, { actor: 'local:alice' });
    await loop!.settled();
    const run = runs.get(id);
    assert.equal(run?.status, 'failed');
    assert.match(run?.error ?? '', /changed since the run started/);
    assert.deepEqual(fleet.rollouts, []);
  });

  it('holds a run under promote: manual, refuses to approve anything else, and goes on once approved', async () => {
    policy = { ...defaultPolicySection, promote: 'manual' };
    start();
    const [outcome] = await loop!.check({ actor: 'local:alice' });
    await loop!.settled();
    const id = outcome!.run!.id;
    assert.equal(runs.get(id)?.status, 'awaiting-approval');
    assert.deepEqual(fleet.rollouts, []);

    const [busy] = await loop!.check();
    assert.match(busy?.skipped ?? '', new RegExp(`run ${id} is awaiting-approval`));
    await assert.rejects(
      loop!.approve(id + 1, { actor: 'local:alice' }),
      (error: unknown) => error instanceof PipelineError && error.code === 'RUN_NOT_FOUND',
    );

    await loop!.approve(id, { actor: 'local:alice' });
    await loop!.settled();
    assert.equal(runs.get(id)?.status, 'succeeded');
    assert.deepEqual(fleet.rollouts, [built]);
    const approval = journal.list().find((entry) => entry.action === 'approve');
    assert.equal(approval?.actor, 'local:alice');
    await assert.rejects(
      loop!.approve(id, { actor: 'local:alice' }),
      (error: unknown) => error instanceof PipelineError && error.code === 'RUN_NOT_AWAITING_APPROVAL',
    );
  });

  it('journals a run that herd check started as started by whoever asked', async () => {
    start();

    await loop!.check({ actor: 'token:ci' });
    await loop!.settled();

    const started = journal.list().find((entry) => entry.action === 'pipeline');
    assert.equal(started?.actor, 'token:ci');
  });

  it('fails a held run at promote when the fleet moved to another release while it waited: an approval never rolls a newer fleet back', async () => {
    policy = { ...defaultPolicySection, promote: 'manual' };
    start();
    const [outcome] = await loop!.check();
    await loop!.settled();
    const id = outcome!.run!.id;
    const newer = `sha256:${'c'.repeat(64)}` as Digest;
    fleet.digest = newer;
    stagesRun = [];

    await loop!.approve(id, { actor: 'local:alice' });
    await loop!.settled();

    const run = runs.get(id);
    assert.equal(run?.status, 'failed');
    assert.equal(run?.stage, 'promote');
    assert.match(run?.error ?? '', new RegExp(`web runs ${newer}, not ${deployed} the run started from`));
    assert.deepEqual(stagesRun, [], 'nothing promoted to production');
    assert.deepEqual(fleet.rollouts, []);
    assert.equal(fleet.digest, newer);
    const [again] = await loop!.check();
    assert.ok(
      again?.run,
      `from the release it runs now, the same versions are tried again: ${again?.skipped}`,
    );
    assert.equal(again.run.fromDigest, newer);
  });

  it('leaves no unhandled rejection when the end of a run cannot be recorded (the journal refuses)', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    const append = journal.append.bind(journal);
    journal.append = (entry) => {
      if (entry.action === 'pipeline-end') throw new Error('herd.db is read-only');
      return append(entry);
    };
    try {
      start();

      await loop!.check();
      await loop!.settled();
      await flush();

      assert.deepEqual(unhandled, []);
      assert.equal(runs.list()[0]?.status, 'succeeded', 'the run keeps how it ended');
    } finally {
      process.off('unhandledRejection', record);
    }
  });

  it('at start, ends a run a stop cut short before release as interrupted (tried again), and resumes one at rollout', async () => {
    const early = runs.begin({
      service: 'web',
      trigger: 'schedule',
      findings: [update('tiny-bin', '1.1')],
      target: 'sha256:target-1',
      specDigest: 'sha256:spec',
      fromDigest: deployed,
      at: '2025-01-01T00:05:00Z',
    });
    runs.stageStarted(early, 'build', '2025-01-01T00:05:01Z');
    await start().start();
    const interrupted = runs.get(early);
    assert.equal(interrupted?.status, 'failed');
    assert.match(interrupted?.error ?? '', /^build: interrupted/);
    // Interrupted is not failed on its own: the same target runs again.
    const [again] = await loop!.check();
    await loop!.settled();
    assert.equal(runs.get(again!.run!.id)?.status, 'succeeded');
    await loop!.stop();

    fleet = new FakeFleet();
    const late = runs.begin({
      service: 'web',
      trigger: 'schedule',
      findings: [update('tiny-bin', '1.1')],
      target: 'sha256:target-3',
      specDigest: 'sha256:spec',
      fromDigest: deployed,
      at: '2025-01-01T00:06:00Z',
    });
    runs.setDigest(late, built);
    runs.stageStarted(late, 'rollout', '2025-01-01T00:06:30Z');
    stagesRun = [];
    await start().start();
    await loop!.settled();
    assert.equal(runs.get(late)?.status, 'succeeded');
    assert.deepEqual(stagesRun, [], 'only the rollout ran again');
    assert.deepEqual(fleet.rollouts, [built]);
  });

  it('leaves a run at its stage when the control plane stops under it, for the next start, instead of failing it', async () => {
    let open = () => {};
    acceptGate = { promise: new Promise<void>((resolve) => (open = resolve)), resolve: () => open() };
    failAt = 'accept';
    start();
    const [outcome] = await loop!.check();
    await flush();
    assert.deepEqual(stagesRun.at(-1), 'accept');
    await loop!.stop();
    // The stage fails because the engine went away with the control plane.
    acceptGate.resolve();
    await loop!.settled();
    const run = runs.get(outcome!.run!.id);
    assert.equal(run?.status, 'running');
    assert.equal(run?.stage, 'accept');
    assert.equal(runs.failedFor('web', 'sha256:target-1'), undefined, 'the target is not marked as failed');
  });

  it('goes on once for an approval given twice at once', async () => {
    policy = { ...defaultPolicySection, promote: 'manual' };
    start();
    const [outcome] = await loop!.check();
    await loop!.settled();
    const id = outcome!.run!.id;
    stagesRun = [];

    const first = loop!.approve(id, { actor: 'local:alice' });
    const second = loop!.approve(id, { actor: 'local:bob' });
    await first;
    await assert.rejects(
      second,
      (error: unknown) => error instanceof PipelineError && error.code === 'RUN_NOT_AWAITING_APPROVAL',
    );
    await loop!.settled();

    assert.equal(runs.get(id)?.status, 'succeeded');
    assert.deepEqual(stagesRun, ['release production']);
    assert.deepEqual(fleet.rollouts, [built]);
    assert.equal(journal.list().filter((entry) => entry.action === 'approve').length, 1);
  });

  it("does not count a run held for approval against another fleet's concurrency: it builds nothing", async () => {
    policy = { ...defaultPolicySection, promote: 'manual', concurrency: 1 };
    runs.setSource('api', '/specs/api/herd.yaml', '2025-01-01T00:00:00Z');
    start();

    const [api] = await loop!.check({ service: 'api' });
    await loop!.settled();
    const [web] = await loop!.check({ service: 'web' });
    await loop!.settled();

    assert.equal(runs.get(api!.run!.id)?.status, 'awaiting-approval');
    assert.equal(runs.get(web!.run!.id)?.status, 'awaiting-approval', web?.skipped);
  });
});
