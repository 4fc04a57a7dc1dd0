import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { credentialFileDetectors, urlPasswordDetector } from './credential-formats.js';

function randomAlnum(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return [...randomBytes(length)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

/** The rules that fire on `text` at `path`, one per match, as the scan would run them. */
function rulesFound(text: string, path: string): string[] {
  return [...credentialFileDetectors, urlPasswordDetector].flatMap((detector) =>
    detector.appliesTo && !detector.appliesTo(path) ? [] : detector.find(text, path).map(() => detector.rule),
  );
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('credential files read by their fields', () => {
  it('finds .npmrc tokens and base64 credentials unless they read the environment or are placeholders', () => {
    const token = randomBytes(16).toString('hex');

    assert.deepEqual(rulesFound(`//npm.example.internal/:_authToken=${token}\n`, '/app/.npmrc'), [
      'HERD-S008',
    ]);
    assert.deepEqual(rulesFound(`_auth=${b64(`ci:${randomAlnum(16)}`)}\n`, '/root/.npmrc'), ['HERD-S008']);
    for (const text of [
      // biome-ignore lint/suspicious/noTemplateCurlyInString: npm's own syntax for reading the environment
      '//npm.example.internal/:_authToken=${NPM_TOKEN}\n',
      '//npm.example.internal/:_authToken=<your token>\n',
      `_auth=${b64('user:password')}\n`,
    ]) {
      assert.deepEqual(rulesFound(text, '/app/.npmrc'), [], text);
    }
    assert.deepEqual(rulesFound(`_authToken=${token}\n`, '/app/notes.txt'), [], 'only in an .npmrc');
  });

  it('finds .pypirc and .netrc passwords, whatever they look like, but not placeholders', () => {
    assert.deepEqual(
      rulesFound(`[pypi]\nusername = deploy\npassword = ${randomAlnum(12)}\n`, '/root/.pypirc'),
      ['HERD-S019'],
    );
    assert.deepEqual(
      rulesFound(`machine h.example.internal login me password ${randomAlnum(10)}\n`, '/root/.netrc'),
      ['HERD-S020'],
    );
    assert.deepEqual(rulesFound('[pypi]\npassword = <your PyPI token>\n', '/root/.pypirc'), []);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a reference to the environment, not a value
    assert.deepEqual(rulesFound('machine h login me password ${NETRC_PASSWORD}\n', '/root/.netrc'), []);
  });

  it('finds registry auths in docker and containers auth files, but not credential helpers or placeholders', () => {
    const config = `{"auths": {"registry.example.internal": {"auth": "${b64(`ci:${randomAlnum(16)}`)}"}}}`;

    assert.deepEqual(rulesFound(config, '/root/.docker/config.json'), ['HERD-S009']);
    assert.deepEqual(rulesFound(config, '/run/containers/0/auth.json'), ['HERD-S009']);
    assert.deepEqual(
      rulesFound('{"credsStore": "pass", "auths": {"r.example.internal": {}}}', '/root/.docker/config.json'),
      [],
    );
    assert.deepEqual(
      rulesFound(`{"auths": {"r": {"auth": "${b64('user:password')}"}}}`, '/root/.docker/config.json'),
      [],
    );
    assert.deepEqual(rulesFound('{"auth": "not-a-registry-file"}', '/app/config.json'), []);
  });
});

describe('passwords in URLs', () => {
  it('finds the password of scheme://user:password@host, and of an empty user', () => {
    const password = randomAlnum(20);

    for (const url of [
      `postgres://app:${password}@db.example.internal:5432/app`,
      `rediss://:${password}@cache.example.internal:6380`,
      `https://ci:${password}@git.example.internal`,
    ]) {
      const [match, ...more] = urlPasswordDetector.find(`url = "${url}"\n`, '/app/x');

      assert.equal(more.length, 0, url);
      assert.equal(
        `url = "${url}"\n`.slice(match?.index, (match?.index ?? 0) + (match?.length ?? 0)),
        password,
      );
    }
  });

  it('ignores placeholders, references, defaults equal to the user and URLs without a password', () => {
    const text = [
      'postgres://user:password@localhost:5432/app',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a reference to the environment, not a value
      'mysql://root:${MYSQL_ROOT_PASSWORD}@db/app',
      'redis://:<password>@cache:6379',
      'amqp://guest:guest@mq:5672/',
      'https://user:pass@proxy.example.internal',
      'https://{user}:{password}@host',
      'ssh://git@git.example.internal:2222/acme/app.git',
      'http://[::1]:8080/health',
      'https://api.example.internal:8443/v1',
    ].join('\n');

    assert.deepEqual(urlPasswordDetector.find(text, '/app/x'), []);
  });

  it('stays linear on hostile input', () => {
    for (const unit of ['a://', 'http://user:', 'x://a:b', 'ab://:@']) {
      const hostile = unit.repeat(Math.ceil(500_000 / unit.length));
      const started = performance.now();

      urlPasswordDetector.find(hostile, '/app/x');

      assert.ok(performance.now() - started < 3000, unit);
    }
  });
});
