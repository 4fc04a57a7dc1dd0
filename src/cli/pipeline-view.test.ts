import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PipelineRun } from '../pipeline/index.js';
import { opensslFinding, sampleOutcomes, sampleRuns } from '../server/remediation.test-support.js';
import {
  formatDuration,
  renderCheck,
  renderRun,
  renderRunsTable,
  renderStageOutputs,
  renderTimes,
  visible,
} from './pipeline-view.js';

const now = Date.parse('2026-12-03T11:05:00Z');
const runNumbered = (id: number): PipelineRun => {
  const run = sampleRuns().find((candidate) => candidate.id === id);
  assert.ok(run, `sample run ${id}`);
  return run;
};

describe('formatDuration', () => {
  it('says a span at the precision people read, from milliseconds to days', () => {
    const said = [850, 4_200, 42_000, 92_000, 600_000, 7_500_000, 273_600_000].map(formatDuration);

    assert.deepEqual(said, ['850ms', '4.2s', '42s', '1m32s', '10m0s', '2h5m', '3d4h']);
  });
});

describe('renderTimes', () => {
  it("gives herd status's time-to-remediate line", () => {
    const line = renderTimes({ service: 'web', count: 3, lastMs: 92_000, p50Ms: 95_000, p90Ms: 130_000 });

    assert.equal(line, 'time-to-remediate: last 1m32s, p50 1m35s, p90 2m10s, over 3 runs');
  });

  it('says one run in the singular, and nothing before the first remediated run', () => {
    assert.equal(
      renderTimes({ service: 'web', count: 1, lastMs: 61_000, p50Ms: 61_000, p90Ms: 61_000 }),
      'time-to-remediate: last 1m1s, p50 1m1s, p90 1m1s, over 1 run',
    );
    assert.equal(renderTimes({ service: 'web', count: 0 }), undefined);
  });
});

describe('renderRunsTable', () => {
  it('shows each run with its stage, short digest, start, duration so far and time-to-remediate', () => {
    const table = renderRunsTable(sampleRuns(), now);

    assert.equal(
      table,
      [
        'ID  SERVICE  STATUS             STAGE    DIGEST        STARTED               DURATION  TTR',
        '1   web      succeeded          rollout  bbbbbbbbbbbb  2026-12-03T10:01:00Z  32s       1m32s',
        '2   web      awaiting-approval  approve  cccccccccccc  2026-12-03T11:00:00Z  5m0s      -',
        '3   api      failed             accept   -             2026-12-03T12:00:00Z  40s       -',
      ].join('\n'),
    );
  });

  it('says so when there is no run', () => {
    assert.equal(renderRunsTable([], now), 'no pipeline runs yet');
  });
});

describe('renderRun', () => {
  it('shows every stage with its status and duration, and the time-to-remediate of a run that succeeded', () => {
    const text = renderRun(runNumbered(1), now);

    assert.match(text, /^run 1 {2}web {2}succeeded at rollout {2}\(started by the monitor\)$/m);
    assert.match(text, /^ {2}time-to-remediate 1m32s /m);
    assert.match(text, /^ {2}lock {3}passed {2}1\.0s {6}2026-12-03T10:01:00Z$/m);
    assert.match(text, /^ {2}build {2}passed {2}1\.0s {6}2026-12-03T10:01:02Z$/m);
    assert.match(text, /^update findings \(1\):$/m);
    assert.match(text, /^ {4}openssl {2}3\.0\.11-1~deb12u1 {2}3\.0\.11-1~deb12u2 {2}CVE-2023-5678 {2}high /m);
  });

  it('shows how long a running stage has taken so far, and how to approve a held run', () => {
    const text = renderRun(runNumbered(2), now);

    assert.match(text, /^ {2}approve {2}running {2}4m48s so far {2}2026-12-03T11:00:12Z$/m);
    assert.match(text, /^ {2}held for approval: herd approve 2$/m);
    assert.match(text, /running for 5m0s/);
    assert.doesNotMatch(text, /time-to-remediate/);
  });

  it('shows why a run failed and that it built nothing', () => {
    const text = renderRun(runNumbered(3), now);

    assert.match(text, /^ {2}error {5}accept: GET \/healthz answered 500, expected 200$/m);
    assert.match(text, /^ {2}to {8}\(not built yet\)$/m);
    assert.match(text, /^ {2}accept {2}failed {2}20s/m);
  });
});

describe('renderCheck', () => {
  it('names per fleet the findings, packages old → new, CVEs, urgency, when visible, and the run or why none', () => {
    const text = renderCheck(sampleOutcomes());

    assert.equal(
      text
        .split('\n')
        .filter((line) => !line.startsWith(' '))
        .join('\n'),
      [
        'web: 1 update finding; run 1 started (herd pipeline show 1)',
        'api: 1 update finding; no run: outside its maintenance window',
        'db: nothing found',
      ].join('\n'),
    );
    assert.match(text, /^ {2}openssl 3\.0\.11-1~deb12u1 → 3\.0\.11-1~deb12u2 \(CVE-2023-5678, high\)$/m);
    assert.match(text, /^ {4}package-update, security, urgency high, visible since 2026-12-03T10:00:00Z$/m);
    assert.match(
      text,
      /^ {4}openssl {2}3\.0\.11-1~deb12u1 {2}3\.0\.11-1~deb12u2 {2}CVE-2023-5678 {2}high {5}2026-12-03T10:00:00Z$/m,
    );
  });

  it('marks a vulnerability without a fix, a package the fresh lock adds, and failing rules', () => {
    const text = renderCheck([
      {
        service: 'web',
        findings: [
          {
            ...opensslFinding,
            kind: 'policy',
            actionable: false,
            rules: ['run-as-root', 'setuid-files'],
            packages: [{ name: 'libfoo1', to: '1.2-1', cvesFixed: [], visibleAt: opensslFinding.visibleAt }],
          },
        ],
      },
    ]);

    assert.match(text, /^web: 1 update finding; no run: none started$/m);
    assert.match(text, /policy, security, urgency high, no fix yet, visible since/);
    assert.match(text, /rules failing: run-as-root, setuid-files/);
    assert.match(text, /^ {4}libfoo1 {2}\(new\) {2}1\.2-1 {2}- +- +2026-12-03T10:00:00Z$/m);
  });

  it('says when no fleet has a spec to check', () => {
    assert.equal(renderCheck([]), 'no fleet to check: none has a registered spec');
  });
});

describe('renderStageOutputs', () => {
  it("prints each stage's output under its name, status and duration", () => {
    const text = renderStageOutputs([
      { stage: 'lock', status: 'passed', durationMs: 1_500, output: 'openssl 1 → 2\n' },
      { stage: 'build', status: 'running', output: '' },
    ]);

    assert.equal(text, '== lock (passed, 1.5s) ==\nopenssl 1 → 2\n\n== build (running) ==\n(no output)');
  });
});

describe('hostile text from a run', () => {
  it('never reaches the terminal as an escape sequence: in a stage output, a summary, an error, a package or a CVE id', () => {
    const clear = '\x1b[2J\x1b]0;owned\x07';
    const run: PipelineRun = {
      ...runNumbered(3),
      error: `accept: ${clear}`,
      findings: [
        {
          ...opensslFinding,
          summary: `openssl ${clear}`,
          packages: [{ ...opensslFinding.packages[0], name: `evil${clear}`, cvesFixed: [], visibleAt: '' }],
        },
        {
          ...opensslFinding,
          // CVE ids come from the vulnerability data as it was fetched (HERD_VULNDB_URL).
          packages: [
            {
              ...opensslFinding.packages[0],
              name: 'openssl',
              cvesFixed: [`CVE-2026-1${clear}`],
              visibleAt: '',
            },
          ],
        },
      ],
    };

    const shown = [
      renderRun(run, now),
      renderCheck([{ service: 'web', findings: run.findings }]),
      renderCheck([
        {
          service: 'web',
          findings: run.findings,
          skipped: `run 2 already failed for these versions (${clear})`,
        },
        { service: 'api', findings: [], skipped: `the spec at /specs/api does not load: ${clear}` },
      ]),
      renderStageOutputs([{ stage: 'accept', status: 'failed', output: `line 1\n${clear}\rline 2` }]),
    ].join('\n');

    const controls = [...shown].filter((char) => {
      const code = char.codePointAt(0) ?? 0;
      return char !== '\n' && (code < 0x20 || (code >= 0x7f && code <= 0x9f));
    });
    assert.deepEqual(controls, []);
    assert.match(shown, /\\x1b\[2J\\x1b\]0;owned\\x07/);
    assert.match(shown, /line 1\n\\x1b/);
  });

  it('keeps line breaks and tabs only where lines belong', () => {
    assert.equal(visible('a\nb\tc'), 'a\\x0ab\\x09c');
    assert.equal(visible('a\nb\tc\r', { multiline: true }), 'a\nb\tc\\x0d');
  });
});
