import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpecError } from './errors.js';
import { parseSpecText } from './load.js';
import { defaultPolicySection, PolicySection, urgencies, weekdays } from './policy-section.js';

function problems(input: unknown): string[] {
  const result = PolicySection.safeParse(input, { reportInput: true });
  return result.success
    ? []
    : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

const header = ['apiVersion: herd/v1', 'service: hello', 'image: { packages: [nodejs] }'];

function specWith(...lines: string[]) {
  return parseSpecText([...header, ...lines, ''].join('\n'), 'herd.yaml');
}

describe('the policy section of herd.yaml', () => {
  it('runs on any finding, at any time, promotes on its own and one run at a time by default', () => {
    assert.deepEqual(defaultPolicySection, {
      trigger: 'any',
      minUrgency: 'unimportant',
      promote: 'auto',
      concurrency: 1,
    });
    assert.deepEqual(PolicySection.parse({}), defaultPolicySection);
    assert.deepEqual(specWith().policy, defaultPolicySection);
    assert.deepEqual(specWith('policy:').policy, defaultPolicySection);
  });

  it('reads every field as written, with the window in UTC', () => {
    const spec = specWith(
      'policy:',
      '  trigger: security',
      '  urgency: high',
      '  window: { days: [sat, sun], from: "02:00", to: "06:00" }',
      '  promote: manual',
      '  concurrency: 2',
    );

    assert.deepEqual(spec.policy, {
      trigger: 'security',
      minUrgency: 'high',
      window: { days: ['sat', 'sun'], from: '02:00', to: '06:00' },
      promote: 'manual',
      concurrency: 2,
    });
  });

  it('keeps unquoted times as text, and a window without days opens every day', () => {
    const spec = specWith('policy: { window: { from: 22:00, to: 02:30 } }');

    assert.deepEqual(spec.policy.window, { days: [...weekdays], from: '22:00', to: '02:30' });
  });

  it('takes security with no urgency as every urgency', () => {
    assert.deepEqual(PolicySection.parse({ trigger: 'security' }), {
      ...defaultPolicySection,
      trigger: 'security',
    });
  });

  it('refuses an urgency with trigger any, since every finding would start a run anyway', () => {
    const message =
      'urgency: urgency applies only with trigger: security, got trigger: any (the default); set trigger: security or remove urgency';

    assert.deepEqual(problems({ urgency: 'high' }), [message]);
    assert.deepEqual(problems({ trigger: 'any', urgency: 'high' }), [
      'urgency: urgency applies only with trigger: security, got trigger: any; set trigger: security or remove urgency',
    ]);
  });

  it('refuses a trigger, urgency, promotion or concurrency it does not know, saying what it got', () => {
    assert.deepEqual(problems({ trigger: 'cve' }), ['trigger: expected any or security, got "cve"']);
    assert.deepEqual(problems({ trigger: 'security', urgency: 'severe' }), [
      `urgency: expected an urgency: ${urgencies.join(', ')}, got "severe"`,
    ]);
    assert.deepEqual(problems({ promote: true }), ['promote: expected auto or manual, got true']);
    for (const concurrency of [0, 9, 1.5, '2']) {
      assert.deepEqual(problems({ concurrency }), [
        `concurrency: expected a number of runs from 1 to 8, got ${typeof concurrency === 'string' ? '"2"' : concurrency}`,
      ]);
    }
  });

  it('refuses a time that is not HH:MM from 00:00 to 23:59', () => {
    for (const from of ['24:00', '2:00', '02:60', '0200', 120, '02:00:00']) {
      const found = problems({ window: { from, to: '06:00' } });

      assert.equal(found.length, 1, String(from));
      assert.match(found[0] ?? '', /^window\.from: expected a UTC time of day HH:MM from 00:00 to 23:59/);
    }
  });

  it('refuses a window that closes when it opens, and one without from or to', () => {
    assert.deepEqual(problems({ window: { from: '02:00', to: '02:00' } }), [
      'window.to: expected a time other than from (02:00), got "02:00"; leave the window out to allow any time',
    ]);
    assert.deepEqual(problems({ window: { days: ['sat'] } }), [
      'window.from: expected a UTC time of day HH:MM from 00:00 to 23:59 such as "02:00" (quote it), got nothing',
      'window.to: expected a UTC time of day HH:MM from 00:00 to 23:59 such as "02:00" (quote it), got nothing',
    ]);
  });

  it('refuses an empty list of days, a day it does not know and a day given twice', () => {
    assert.deepEqual(problems({ window: { days: [], from: '02:00', to: '06:00' } }), [
      'window.days: expected a non-empty list of days such as [sat, sun], got an empty list',
    ]);
    assert.deepEqual(problems({ window: { days: ['saturday'], from: '02:00', to: '06:00' } }), [
      'window.days.0: expected a day: mon, tue, wed, thu, fri, sat, sun, got "saturday"',
    ]);
    assert.deepEqual(problems({ window: { days: ['sat', 'sun', 'sat'], from: '02:00', to: '06:00' } }), [
      'window.days.2: day "sat" is listed twice (also at [0])',
    ]);
  });

  it('names unknown fields with the nearest known one', () => {
    assert.deepEqual(problems({ promte: 'manual' }), [
      'promte: unknown field "promte" (did you mean "promote"?)',
    ]);
    assert.deepEqual(problems({ window: { from: '02:00', to: '06:00', timezone: 'Europe/Paris' } }), [
      'window.timezone: unknown field "timezone" (known fields: days, from, to)',
    ]);
  });

  it('reports a problem at its line and column in herd.yaml', () => {
    let error: unknown;
    try {
      specWith('policy:', '  urgency: critical', '  window:', '    from: "02:00"', '    to: "25:00"');
    } catch (caught) {
      error = caught;
    }

    assert.ok(error instanceof SpecError);
    assert.equal(error.code, 'SPEC_INVALID');
    assert.deepEqual(
      error.problems.map((problem) => `${problem.line}:${problem.col} ${problem.message}`),
      [
        '8:9 policy.window.to: expected a UTC time of day HH:MM from 00:00 to 23:59 such as "02:00" (quote it), got "25:00"',
      ],
    );
  });

  it('reports a misplaced urgency at its value once the rest is valid', () => {
    let error: unknown;
    try {
      specWith('policy:', '  trigger: any', '  urgency: critical');
    } catch (caught) {
      error = caught;
    }

    assert.ok(error instanceof SpecError);
    assert.deepEqual(
      error.problems.map((problem) => `${problem.line}:${problem.col} ${problem.message}`),
      [
        '6:12 policy.urgency: urgency applies only with trigger: security, got trigger: any; set trigger: security or remove urgency',
      ],
    );
  });
});
