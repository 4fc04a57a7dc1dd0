import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Digest } from '../oci/index.js';
import type { MaintenanceWindow, PolicySection } from '../specfile/index.js';
import {
  decideRun,
  inWindow,
  meetsUrgency,
  nextWindowOpening,
  percentiles,
  runTarget,
} from './remediation-policy.js';
import type { UpdateFinding } from './remediation-types.js';

const digest = `sha256:${'d'.repeat(64)}` as Digest;
const specDigest = `sha256:${'5'.repeat(64)}`;

function finding(overrides: Partial<UpdateFinding> = {}): UpdateFinding {
  return {
    service: 'probe',
    digest,
    kind: 'package-update',
    summary: 'probe-server 1.0 → 1.1',
    packages: [],
    cvesFixed: [],
    security: false,
    visibleAt: '2026-03-01T00:00:00.000Z',
    detectedAt: '2026-03-01T00:05:00.000Z',
    actionable: true,
    ...overrides,
  };
}

const anyPolicy: PolicySection = {
  trigger: 'any',
  minUrgency: 'unimportant',
  promote: 'auto',
  concurrency: 1,
};
const securityHigh: PolicySection = { ...anyPolicy, trigger: 'security', minUrgency: 'high' };
/** Wednesday, 4 March 2026, noon UTC. */
const wednesdayNoon = new Date('2026-03-04T12:00:00Z');

describe('decideRun', () => {
  it('runs on any actionable update with trigger any, carrying every actionable finding', () => {
    const update = finding();
    const open = finding({ kind: 'vulnerability', actionable: false });

    const decision = decideRun(anyPolicy, [update, open], wednesdayNoon);

    assert.deepEqual(decision, { run: true, findings: [update] });
  });

  it('starts nothing for findings no rebuild can fix', () => {
    const decision = decideRun(
      anyPolicy,
      [finding({ kind: 'vulnerability', actionable: false })],
      wednesdayNoon,
    );

    assert.deepEqual(decision, { run: false, why: 'no finding a rebuild can fix (no fix is available yet)' });
    assert.deepEqual(decideRun(anyPolicy, [], wednesdayNoon), { run: false, why: 'nothing found' });
  });

  it('with trigger security, needs a security update at the minimum urgency or above', () => {
    const medium = finding({ security: true, urgency: 'medium', summary: 'a 1 → 2 (CVE-1, medium)' });
    const high = finding({ security: true, urgency: 'high' });
    const critical = finding({ security: true, urgency: 'critical' });

    const below = decideRun(securityHigh, [medium, finding()], wednesdayNoon);

    assert.deepEqual(below, {
      run: false,
      why:
        'the policy runs on security updates at urgency high or above; found a 1 → 2 (CVE-1, medium): ' +
        'a security update (urgency medium); probe-server 1.0 → 1.1: no security fix',
    });
    assert.equal(decideRun(securityHigh, [high], wednesdayNoon).run, true);
    assert.equal(decideRun(securityHigh, [critical], wednesdayNoon).run, true);
  });

  it('counts a security update of unknown urgency only at the lowest threshold', () => {
    const unknown = finding({ security: true });

    const lowest = decideRun({ ...securityHigh, minUrgency: 'unimportant' }, [unknown], wednesdayNoon);
    const low = decideRun({ ...securityHigh, minUrgency: 'low' }, [unknown], wednesdayNoon);

    assert.equal(lowest.run, true);
    assert.equal(low.run, false);
    assert.equal(meetsUrgency(undefined, 'unimportant'), true);
    assert.equal(meetsUrgency('low', 'medium'), false);
  });

  it('always runs for an image past its age and for rules that fail under a changed policy', () => {
    for (const kind of ['image-age', 'policy'] as const) {
      const decision = decideRun(securityHigh, [finding({ kind })], wednesdayNoon);

      assert.equal(decision.run, true, kind);
    }
  });

  it('waits outside the maintenance window and says when it next opens', () => {
    const policy: PolicySection = {
      ...anyPolicy,
      window: { days: ['sat', 'sun'], from: '02:00', to: '06:00' },
    };

    const decision = decideRun(policy, [finding()], wednesdayNoon);

    assert.deepEqual(decision, {
      run: false,
      why: 'outside the maintenance window (sat,sun 02:00–06:00 UTC); next opens at 2026-03-07T02:00:00.000Z',
    });
    assert.equal(decideRun(policy, [finding()], new Date('2026-03-07T03:00:00Z')).run, true);
  });
});

describe('the maintenance window', () => {
  const weekend: MaintenanceWindow = { days: ['sat', 'sun'], from: '02:00', to: '06:00' };
  /** Opens Friday 22:00 and closes Saturday 02:00: the day named is the day it opens. */
  const fridayNight: MaintenanceWindow = { days: ['fri'], from: '22:00', to: '02:00' };

  it('is open from its opening minute up to, not including, its closing minute', () => {
    assert.equal(inWindow(weekend, new Date('2026-03-07T01:59:59Z')), false);
    assert.equal(inWindow(weekend, new Date('2026-03-07T02:00:00Z')), true);
    assert.equal(inWindow(weekend, new Date('2026-03-07T05:59:59Z')), true);
    assert.equal(inWindow(weekend, new Date('2026-03-07T06:00:00Z')), false);
    assert.equal(inWindow(weekend, new Date('2026-03-08T03:00:00Z')), true);
    assert.equal(inWindow(weekend, new Date('2026-03-09T03:00:00Z')), false);
  });

  it('runs past midnight into the next day when it closes earlier than it opens', () => {
    assert.equal(inWindow(fridayNight, new Date('2026-03-06T21:59:00Z')), false);
    assert.equal(inWindow(fridayNight, new Date('2026-03-06T22:00:00Z')), true);
    assert.equal(inWindow(fridayNight, new Date('2026-03-06T23:59:59Z')), true);
    assert.equal(inWindow(fridayNight, new Date('2026-03-07T00:00:00Z')), true);
    assert.equal(inWindow(fridayNight, new Date('2026-03-07T01:59:59Z')), true);
    assert.equal(inWindow(fridayNight, new Date('2026-03-07T02:00:00Z')), false);
    // Saturday 23:00 is not in it: only Friday opens it.
    assert.equal(inWindow(fridayNight, new Date('2026-03-07T23:00:00Z')), false);
    // Friday 01:00 belongs to Thursday's window, which does not open.
    assert.equal(inWindow(fridayNight, new Date('2026-03-06T01:00:00Z')), false);
  });

  it('next opens later today, on a later day, a week on, or now when it opens this minute', () => {
    assert.equal(
      nextWindowOpening(fridayNight, new Date('2026-03-06T12:00:00Z'))?.toISOString(),
      '2026-03-06T22:00:00.000Z',
    );
    assert.equal(nextWindowOpening(weekend, wednesdayNoon)?.toISOString(), '2026-03-07T02:00:00.000Z');
    assert.equal(
      nextWindowOpening(weekend, new Date('2026-03-07T02:00:00Z'))?.toISOString(),
      '2026-03-07T02:00:00.000Z',
    );
    assert.equal(
      nextWindowOpening(weekend, new Date('2026-03-08T02:00:01Z'))?.toISOString(),
      '2026-03-14T02:00:00.000Z',
    );
    assert.equal(
      nextWindowOpening(fridayNight, new Date('2026-03-06T22:00:01Z'))?.toISOString(),
      '2026-03-13T22:00:00.000Z',
    );
    assert.equal(nextWindowOpening({ days: [], from: '02:00', to: '03:00' }, wednesdayNoon), undefined);
  });
});

describe('percentiles', () => {
  it('takes the nearest rank, so each is a measured time', () => {
    assert.deepEqual(percentiles([5, 1, 4, 2, 3, 10, 9, 8, 7, 6]), { p50: 5, p90: 9, max: 10 });
    assert.deepEqual(percentiles([42]), { p50: 42, p90: 42, max: 42 });
    assert.deepEqual(percentiles([3, 1]), { p50: 1, p90: 3, max: 3 });
    assert.equal(percentiles([]), undefined);
  });
});

describe('runTarget', () => {
  const fresh = {
    files: [],
    packages: [
      { name: 'a', version: '1', sha256: 'a'.repeat(64) },
      { name: 'b', version: '2', sha256: 'b'.repeat(64) },
    ],
  };

  it('is the same for the same lock, spec and kinds in any order', () => {
    const one = runTarget(fresh, { specDigest, findingKinds: ['package-update', 'image-age'] });
    const two = runTarget(
      { ...fresh, packages: [...fresh.packages].reverse() },
      { specDigest, findingKinds: ['image-age', 'package-update', 'image-age'] },
    );

    assert.match(one, /^sha256:[0-9a-f]{64}$/);
    assert.equal(one, two);
  });

  it('changes with any package byte, the spec or the kinds of finding', () => {
    const target = runTarget(fresh, { specDigest, findingKinds: ['package-update'] });
    const otherBytes = {
      ...fresh,
      packages: [
        { name: 'a', version: '1', sha256: 'c'.repeat(64) },
        fresh.packages[1] as (typeof fresh.packages)[0],
      ],
    };

    assert.notEqual(runTarget(otherBytes, { specDigest, findingKinds: ['package-update'] }), target);
    assert.notEqual(
      runTarget(fresh, { specDigest: `sha256:${'6'.repeat(64)}`, findingKinds: ['package-update'] }),
      target,
    );
    assert.notEqual(runTarget(fresh, { specDigest, findingKinds: ['image-age'] }), target);
    assert.notEqual(runTarget(undefined, { specDigest, findingKinds: ['package-update'] }), target);
  });
});
