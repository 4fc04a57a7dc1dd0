import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import type { Database } from 'better-sqlite3';
import { FakeClock } from '../common/clock.test-support.js';
import type { Digest } from '../oci/index.js';
import { openStateDb } from '../state/index.js';
import { executeRun, type RunSteps, resumeStage, StageFailed } from './remediation-run.js';
import { RemediationStore } from './remediation-store.js';
import type { UpdateFinding } from './remediation-types.js';

const from = `sha256:${'a'.repeat(64)}` as Digest;
const built = `sha256:${'b'.repeat(64)}` as Digest;

function finding(visibleAt: string): UpdateFinding {
  return {
    service: 'web',
    digest: from,
    kind: 'package-update',
    summary: 'tiny-bin 1.0 → 1.1',
    packages: [{ name: 'tiny-bin', from: '1.0', to: '1.1', cvesFixed: [], visibleAt }],
    cvesFixed: [],
    security: false,
    visibleAt,
    detectedAt: visibleAt,
    actionable: true,
  };
}

/** Steps that record their calls, each taking a second of the fake clock; `fail` names one that fails. */
function recordingSteps(clock: FakeClock, fail?: keyof RunSteps) {
  const calls: string[] = [];
  const step = (name: keyof RunSteps, output: string) => async () => {
    calls.push(name);
    clock.advance(1000);
    if (name === fail) throw new StageFailed(`${name} said no`, `${name} output`);
    return { output };
  };
  const steps: RunSteps = {
    lock: step('lock', 'locked'),
    build: async () => {
      calls.push('build');
      clock.advance(1000);
      if (fail === 'build') throw new Error('the archive did not answer');
      return { output: 'built', digest: built };
    },
    gate: step('gate', 'gate passed'),
    sign: step('sign', 'signed'),
    accept: step('accept', 'accepted'),
    release: async (digest, stage) => {
      calls.push(`release ${stage} ${digest === built ? 'built' : digest}`);
      return { output: `released at ${stage}` };
    },
    rollout: step('rollout', '3/3 instances'),
  };
  return { steps, calls };
}

describe('a remediation run', () => {
  let root: string;
  let db: Database;
  let store: RemediationStore;
  let clock: FakeClock;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'herd-run-'));
    db = openStateDb(join(root, 'herd.db'));
    store = new RemediationStore(db);
    clock = new FakeClock(Date.parse('2026-01-01T00:10:00Z'));
  });
  after(async () => {
    db?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const begin = () =>
    store.begin({
      service: 'web',
      trigger: 'schedule',
      findings: [finding('2026-01-01T00:00:00Z'), finding('2026-01-01T00:05:00Z')],
      target: 'sha256:target',
      specDigest: 'sha256:spec',
      fromDigest: from,
      at: new Date(clock.now()).toISOString(),
    });

  it('goes through every stage in order, releases only after acceptance, and counts time-to-remediate from the earliest finding', async () => {
    const { steps, calls } = recordingSteps(clock);
    const ended: string[] = [];
    const run = await executeRun(begin(), 'lock', {
      store,
      clock,
      steps,
      promote: 'auto',
      settled: (one) => ended.push(one.status),
    });

    assert.deepEqual(calls, [
      'lock',
      'build',
      'gate',
      'sign',
      'accept',
      'release accepted built',
      'release production built',
      'rollout',
    ]);
    assert.equal(run.status, 'succeeded');
    assert.equal(run.digest, built);
    assert.deepEqual(
      run.stages.map((stage) => `${stage.stage}:${stage.status}`),
      [
        'lock:passed',
        'build:passed',
        'gate:passed',
        'sign:passed',
        'accept:passed',
        'release:passed',
        'approve:skipped',
        'promote:passed',
        'rollout:passed',
      ],
    );
    assert.equal(run.stages[0]?.durationMs, 1000);
    // 10 minutes after the first finding was visible, plus the six seconds the stages took.
    assert.equal(run.timeToRemediateMs, 10 * 60_000 + 6_000);
    assert.deepEqual(ended, ['succeeded']);
  });

  it('records no time-to-remediate when no finding says when it became visible, never a 0 among the percentiles', async () => {
    const { steps } = recordingSteps(clock);
    const id = store.begin({
      service: 'web',
      trigger: 'check',
      findings: [finding('not a date')],
      target: 'sha256:target',
      specDigest: 'sha256:spec',
      fromDigest: from,
      at: new Date(clock.now()).toISOString(),
    });

    const run = await executeRun(id, 'lock', { store, clock, steps, promote: 'auto' });

    assert.equal(run.status, 'succeeded');
    assert.equal(run.timeToRemediateMs, undefined);
    assert.deepEqual(store.remediationTimes('web'), []);
  });

  it('stops at a failed acceptance with the reason and its output: nothing released, no rollout', async () => {
    const { steps, calls } = recordingSteps(clock, 'accept');
    const run = await executeRun(begin(), 'lock', { store, clock, steps, promote: 'auto' });

    assert.equal(run.status, 'failed');
    assert.equal(run.stage, 'accept');
    assert.equal(run.error, 'accept: accept said no');
    assert.equal(run.stages.at(-1)?.output, 'accept output');
    assert.ok(!calls.some((call) => call.startsWith('release') || call === 'rollout'), calls.join(', '));
    assert.equal(run.timeToRemediateMs, undefined);
  });

  it('records an unexpected error of a stage as that stage failing', async () => {
    const { steps, calls } = recordingSteps(clock, 'build');
    const run = await executeRun(begin(), 'lock', { store, clock, steps, promote: 'auto' });

    assert.equal(run.status, 'failed');
    assert.equal(run.error, 'build: the archive did not answer');
    assert.deepEqual(calls, ['lock', 'build']);
  });

  it('holds a manual run at approve after releasing to accepted, and goes on to production once approved', async () => {
    const { steps, calls } = recordingSteps(clock);
    const id = begin();
    const held = await executeRun(id, 'lock', { store, clock, steps, promote: 'manual' });

    assert.equal(held.status, 'awaiting-approval');
    assert.equal(held.stage, 'approve');
    assert.ok(calls.includes('release accepted built'));
    assert.ok(!calls.includes('release production built'));
    assert.deepEqual(resumeStage(held), undefined, 'a held run is not resumed on its own');

    const done = await executeRun(id, 'approve', {
      store,
      clock,
      steps,
      promote: 'manual',
      approvedBy: 'local:alice',
    });
    assert.equal(done.status, 'succeeded');
    assert.equal(done.stages.find((stage) => stage.stage === 'approve')?.output, 'approved by local:alice');
    assert.deepEqual(calls.slice(-2), ['release production built', 'rollout']);
  });

  it('after a stop, ends a run interrupted before release and resumes one at release or later', () => {
    const id = begin();
    store.stageStarted(id, 'build', '2026-01-01T00:10:00Z');
    assert.equal(resumeStage(store.get(id)!), undefined);
    store.stageStarted(id, 'accept', '2026-01-01T00:11:00Z');
    assert.equal(resumeStage(store.get(id)!), undefined);
    store.stageStarted(id, 'promote', '2026-01-01T00:12:00Z');
    assert.equal(resumeStage(store.get(id)!), 'promote');
    store.stageStarted(id, 'rollout', '2026-01-01T00:13:00Z');
    assert.equal(resumeStage(store.get(id)!), 'rollout');
  });

  it('resumed at rollout, works on the digest the run built before the stop', async () => {
    const id = begin();
    store.setDigest(id, built);
    store.stageStarted(id, 'rollout', '2026-01-01T00:13:00Z');
    const { steps, calls } = recordingSteps(clock);
    const run = await executeRun(id, 'rollout', { store, clock, steps, promote: 'auto' });
    assert.equal(run.status, 'succeeded');
    assert.deepEqual(calls, ['rollout']);
  });

  it('keeps no more than a capped output per stage', () => {
    const id = begin();
    store.stageStarted(id, 'lock', '2026-01-01T00:10:00Z');
    store.stageEnded(id, 'lock', {
      status: 'passed',
      at: '2026-01-01T00:10:01Z',
      durationMs: 1,
      output: 'x'.repeat(100_000),
    });
    const output = store.get(id)?.stages[0]?.output ?? '';
    assert.ok(output.length < 17_000, `kept ${output.length} characters`);
    assert.match(output, /more characters not kept/);
  });
});
