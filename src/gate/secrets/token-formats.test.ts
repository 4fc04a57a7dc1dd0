import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { tokenDetectors } from './token-formats.js';

/** Random characters from `alphabet`, made at run time so no token-shaped string is ever committed. */
function random(
  length: number,
  alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
): string {
  return [...randomBytes(length)].map((byte) => alphabet[byte % alphabet.length]).join('');
}
const hex = (length: number) => random(length, '0123456789abcdef');
const digits = (length: number) => random(length, '0123456789');
const urlsafe = (length: number) =>
  random(length, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-');

/** The rules that fire on `text`, one per match. */
function rulesFound(text: string): string[] {
  return tokenDetectors.flatMap((detector) => detector.find(text, '/app/file.txt').map(() => detector.rule));
}

describe('the token formats (gitleaks rules)', () => {
  it('find AWS access key ids and secret keys, but not the documentation example', () => {
    const id = `AKIA${random(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`;
    const secret = randomBytes(30).toString('base64');

    assert.deepEqual(rulesFound(`aws_access_key_id = ${id}\naws_secret_access_key = ${secret}\n`), [
      'HERD-S002',
      'HERD-S003',
    ]);
    assert.deepEqual(rulesFound(`{"SecretAccessKey": "${secret}"}`), ['HERD-S003']);
    assert.deepEqual(rulesFound(`key: ${'AKIAIOSFODNN7'}EXAMPLE\n`), []);
  });

  it('find GitHub classic, OAuth, app, refresh and fine-grained tokens', () => {
    const text = ['ghp', 'gho', 'ghu', 'ghs', 'ghr']
      .map((prefix) => `${prefix}_${random(36)}`)
      .concat(`github_pat_${random(22)}_${random(59)}`)
      .join('\n');

    assert.deepEqual(rulesFound(text), Array(6).fill('HERD-S005'));
  });

  it('find GitLab tokens of every kind', () => {
    const text = [
      `glpat-${urlsafe(20)}`,
      `gldt-${urlsafe(20)}`,
      `glrt-${urlsafe(20)}`,
      `glptt-${hex(40)}`,
      `GR1348941${urlsafe(20)}`,
      `glsoat-${urlsafe(20)}`,
    ].join('\n');

    assert.equal(rulesFound(text).filter((rule) => rule === 'HERD-S006').length, 6);
  });

  it('find Slack bot, user and app tokens and webhooks', () => {
    const text = [
      `xoxb-${digits(12)}-${digits(13)}-${random(24)}`,
      `xoxp-${digits(12)}-${digits(12)}-${digits(13)}-${hex(32)}`,
      `xapp-1-A${random(10).toUpperCase()}-${digits(13)}-${hex(64)}`,
      `https://hooks.slack.com/services/T${random(8).toUpperCase()}/B${random(10).toUpperCase()}/${random(24)}`,
    ].join('\n');

    assert.deepEqual([...new Set(rulesFound(text))], ['HERD-S007']);
    assert.ok(rulesFound(text).length >= 4);
  });

  it('find Stripe, Google, Twilio, SendGrid, npm and PyPI keys', () => {
    const cases: [string, string][] = [
      [`stripe.api_key = "sk_live_${random(24)}"`, 'HERD-S012'],
      [`key=AIza${urlsafe(35)}&callback=init`, 'HERD-S013'],
      [`TWILIO_API_KEY=SK${hex(32)}`, 'HERD-S017'],
      [`SENDGRID_API_KEY=SG.${urlsafe(22)}.${urlsafe(43)}`, 'HERD-S018'],
      [`token npm_${random(36)}`, 'HERD-S008'],
      [`password = pypi-AgEIcHlwaS5vcmc${urlsafe(70)}`, 'HERD-S019'],
    ];

    for (const [text, rule] of cases) assert.deepEqual(rulesFound(text), [rule], text);
  });

  it('find JWTs, plain and base64-encoded again, but not jwt.io’s sample', () => {
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const jwt = `${part({ alg: 'HS256' })}.${part({ sub: random(10), iat: 1700000000 })}.${randomBytes(32).toString('base64url')}`;
    const sample = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub: '1234567890', name: 'John Doe', iat: 1516239022 })}.${randomBytes(32).toString('base64url')}`;

    assert.deepEqual(rulesFound(`Authorization: Bearer ${jwt}\n`), ['HERD-S014']);
    assert.deepEqual(rulesFound(`token: ${Buffer.from(jwt).toString('base64')}\n`), ['HERD-S014']);
    assert.deepEqual(rulesFound(`Authorization: Bearer ${sample}\n`), []);
  });

  it('find Azure account keys and SAS signatures, but not the storage emulator’s', () => {
    const key = randomBytes(64).toString('base64');
    const sig = encodeURIComponent(randomBytes(32).toString('base64'));

    assert.deepEqual(rulesFound(`DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=${key};`), [
      'HERD-S016',
    ]);
    assert.deepEqual(rulesFound(`https://acme.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig=${sig}\n`), [
      'HERD-S016',
    ]);
    assert.deepEqual(rulesFound(`AccountName=devstoreaccount1;AccountKey=${key};`), []);
    assert.deepEqual(
      rulesFound(`https://x.example.internal/?sig=${sig}\n`),
      [],
      'a sig= without sv= is not a SAS',
    );
  });

  it('ignore filler, placeholders and near misses', () => {
    const text = [
      `ghp_${'x'.repeat(36)}`,
      'ghp_1234567890abcdefghijklmnopqrstuvwxyz',
      'glpat-xxxxxxxxxxxxxxxxxxxx',
      'sk_live_...',
      'sk_test_YOUR_SECRET_KEY_HERE',
      'pk_live_not_a_secret_key_at_all',
      `AIzaSy${'X'.repeat(33)}`,
      `SK${'x'.repeat(32)}`,
      'SG.xxxxxxxxxxxxxxxxxxxxxx.yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy',
      'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX',
      'xoxb-your-token-here',
      `AC${hex(32)}`,
    ].join('\n');

    assert.deepEqual(rulesFound(text), []);
  });

  it('run in linear time on hostile repetitions of every keyword', () => {
    for (const detector of tokenDetectors) {
      for (const keyword of detector.keywords) {
        const unit = `${detector.caseSensitive ? keyword : keyword.toUpperCase()}${keyword}A1b2-C3d4.e5F6_`;
        const hostile = unit.repeat(Math.ceil(400_000 / unit.length));
        const started = performance.now();

        detector.find(hostile, '/app/x');

        const ms = performance.now() - started;
        assert.ok(ms < 3000, `${detector.rule} on repeated ${keyword}: ${ms.toFixed(0)} ms`);
      }
    }
  });
});
