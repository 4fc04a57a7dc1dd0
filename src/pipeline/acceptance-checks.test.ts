import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AcceptCheck,
  checkName,
  judgeHttpAnswer,
  maxExcerptChars,
  quoted,
} from './acceptance-checks.js';

type HttpCheck = Extract<AcceptCheck, { kind: 'http' }>;

const check = (overrides: Partial<HttpCheck> = {}): HttpCheck => ({
  kind: 'http',
  port: 8080,
  path: '/',
  status: 200,
  headers: {},
  timeoutSeconds: 5,
  ...overrides,
});

const answer = { status: 200, headers: { 'content-type': 'text/plain' }, body: 'hello from probe' };

describe('judgeHttpAnswer', () => {
  it('passes an answer with the expected status, headers and body, and says what matched', () => {
    const judged = judgeHttpAnswer(
      check({ headers: { 'content-type': '^text/plain$' }, body: 'hello' }),
      answer,
    );

    assert.deepEqual(judged, { passed: true, detail: 'status 200, header content-type, body as expected' });
  });

  it('fails on another status, naming both', () => {
    const judged = judgeHttpAnswer(check(), { ...answer, status: 503 });

    assert.deepEqual(judged, { passed: false, detail: 'expected status 200, got 503' });
  });

  it('wants the exact status: a 204 does not pass a check for 200', () => {
    assert.equal(judgeHttpAnswer(check(), { ...answer, status: 204 }).passed, false);
  });

  it('fails on a missing header, naming the pattern it expected', () => {
    const judged = judgeHttpAnswer(check({ headers: { 'x-version': '^2\\.' } }), answer);

    assert.deepEqual(judged, {
      passed: false,
      detail: 'header x-version missing, expected one matching /^2\\./',
    });
  });

  it('fails on a header that does not match, quoting what came', () => {
    const judged = judgeHttpAnswer(check({ headers: { 'content-type': 'json' } }), answer);

    assert.deepEqual(judged, {
      passed: false,
      detail: 'header content-type did not match /json/: got "text/plain"',
    });
  });

  it('matches a header given several times against its values joined', () => {
    const judged = judgeHttpAnswer(check({ headers: { 'set-cookie': 'b=2' } }), {
      ...answer,
      headers: { 'set-cookie': ['a=1', 'b=2'] },
    });

    assert.equal(judged.passed, true);
  });

  it('fails on a body that does not match, quoting the body', () => {
    const judged = judgeHttpAnswer(check({ body: '^hello world$' }), answer);

    assert.deepEqual(judged, {
      passed: false,
      detail: 'body did not match /^hello world$/: got "hello from probe"',
    });
  });

  it('judges the status before the headers and the headers before the body', () => {
    const judged = judgeHttpAnswer(check({ headers: { 'content-type': 'json' }, body: 'nope' }), {
      ...answer,
      status: 500,
    });

    assert.equal(judged.detail, 'expected status 200, got 500');
  });

  it('cuts a long body to the excerpt length and says how long it was', () => {
    const body = 'x'.repeat(5000);

    const judged = judgeHttpAnswer(check({ body: 'y' }), { ...answer, body });

    assert.equal(judged.passed, false);
    assert.ok(judged.detail.endsWith('… (5000 characters)'), judged.detail);
    assert.ok(judged.detail.length < maxExcerptChars + 80, `${judged.detail.length} characters`);
  });

  it('never shows a value of the environment in a detail, even cut in the middle', () => {
    const secret = 's3cr3t-token-value';
    const body = `${'a'.repeat(maxExcerptChars - 5)}${secret} and again ${secret}`;

    const judged = judgeHttpAnswer(
      check({ body: 'nope' }),
      { ...answer, body },
      { secrets: ['hunter2x', secret] },
    );
    const header = judgeHttpAnswer(
      check({ headers: { 'x-token': '^ok$' } }),
      { ...answer, headers: { 'x-token': secret } },
      { secrets: [secret] },
    );

    assert.ok(!judged.detail.includes('s3cr3t'), judged.detail);
    assert.ok(!header.detail.includes('s3cr3t'), header.detail);
    assert.ok(header.detail.includes('[redacted]'), header.detail);
  });

  it('fails a check whose pattern does not compile instead of throwing', () => {
    const judged = judgeHttpAnswer(check({ body: '(' }), answer);

    assert.deepEqual(judged, { passed: false, detail: 'body: pattern /(/ does not compile' });
  });
});

describe('quoted', () => {
  it('keeps control characters on one line', () => {
    assert.equal(quoted('a\nb"c', []), '"a\\nb\\"c"');
  });

  it('leaves values too short to be secrets alone, so a `1` does not blank every digit', () => {
    assert.equal(quoted('status 1 of 10', ['1']), '"status 1 of 10"');
  });
});

describe('checkName', () => {
  it('names each kind of check as the run output shows it', () => {
    assert.equal(checkName(check({ path: '/healthz' })), 'GET :8080/healthz');
    assert.equal(checkName({ kind: 'tcp', port: 5432, timeoutSeconds: 1 }), 'tcp :5432');
    assert.equal(checkName({ kind: 'healthy', withinSeconds: 30 }), 'healthy within 30 s');
  });
});
