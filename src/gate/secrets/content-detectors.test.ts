import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { contentDetectors, privateKeyDetector } from './content-detectors.js';

/** Random letters and digits, made at run time so no token-shaped string is ever committed. */
function randomAlnum(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return [...randomBytes(length)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

/** The rules that fire on `text` at `path`, one per match. */
function rulesFound(text: string, path = '/app/file.txt'): string[] {
  return contentDetectors.flatMap((detector) =>
    detector.appliesTo && !detector.appliesTo(path) ? [] : detector.find(text, path).map(() => detector.rule),
  );
}

const pem = (type: 'rsa' | 'ec', format: 'pkcs1' | 'pkcs8' | 'sec1') =>
  (type === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey
    : generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  ).export({ type: format, format: 'pem' }) as string;

describe('the private key detector', () => {
  it('finds PKCS#8, RSA (PKCS#1) and EC (SEC1) PEM keys, spanning BEGIN to END', () => {
    for (const key of [pem('ec', 'pkcs8'), pem('rsa', 'pkcs1'), pem('ec', 'sec1')]) {
      const text = `# config\n${key}trailer\n`;

      const [match, ...more] = privateKeyDetector.find(text, '/app/key.pem');

      assert.equal(more.length, 0);
      assert.equal(text.slice(match?.index, (match?.index ?? 0) + (match?.length ?? 0)), key.trimEnd());
    }
  });

  it('finds encrypted, OpenSSH and PGP private key blocks', () => {
    const body = Array.from({ length: 4 }, () => randomBytes(48).toString('base64')).join('\n');
    for (const label of ['ENCRYPTED PRIVATE KEY', 'OPENSSH PRIVATE KEY', 'PGP PRIVATE KEY BLOCK']) {
      const headers = label.startsWith('PGP') ? 'Version: test\n\n' : '';
      const text = `-----BEGIN ${label}-----\n${headers}${body}\n-----END ${label}-----\n`;

      assert.equal(privateKeyDetector.find(text, '/k').length, 1, label);
    }
  });

  it('ignores a BEGIN line without a key body, as in code that parses keys', () => {
    const code =
      "if (line === '-----BEGIN RSA PRIVATE KEY-----') parse(rest, '-----END RSA PRIVATE KEY-----');\n";

    assert.deepEqual(privateKeyDetector.find(code, '/app/pem.js'), []);
  });

  it('finds each of two keys in one file', () => {
    const text = `${pem('ec', 'pkcs8')}\n${pem('ec', 'sec1')}`;

    assert.equal(privateKeyDetector.find(text, '/app/keys.pem').length, 2);
  });

  it('reads a hostile file of BEGIN lines once, not once per line', () => {
    const hostile = `${'-----BEGIN RSA PRIVATE KEY-----\n'.repeat(100_000)}-----END RSA PRIVATE KEY-----\n`;
    const started = performance.now();

    assert.deepEqual(privateKeyDetector.find(hostile, '/app/x'), []);
    assert.ok(performance.now() - started < 2000, 'linear, so well under the seconds a quadratic scan takes');
  });

  it('ignores public keys and certificates', () => {
    const pub = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });

    assert.deepEqual(privateKeyDetector.find(String(pub), '/app/key.pub'), []);
  });
});

describe('the token detectors', () => {
  it('find AWS access key ids and secret keys, but not the documentation example', () => {
    const id = `AKIA${randomAlnum(16).toUpperCase()}`;
    const secret = randomBytes(30).toString('base64');

    assert.deepEqual(rulesFound(`aws_access_key_id = ${id}\naws_secret_access_key = ${secret}\n`), [
      'HERD-S002',
      'HERD-S003',
    ]);
    assert.deepEqual(rulesFound(`key: ${'AKIAIOSFODNN7'}EXAMPLE\n`), []);
  });

  it('finds a GCP service account key by its type and private_key together', () => {
    const key = pem('rsa', 'pkcs8').replaceAll('\n', '\\n');
    const account = `{\n  "type": "service_account",\n  "project_id": "p",\n  "private_key": "${key}"\n}\n`;

    assert.ok(rulesFound(account, '/app/sa.json').includes('HERD-S004'));
    assert.ok(
      !rulesFound(account.replace('service_account', 'authorized_user'), '/app/sa.json').includes(
        'HERD-S004',
      ),
    );
  });

  it('finds GitHub classic and fine-grained tokens, GitLab and Slack tokens', () => {
    const text = [
      `a=ghp_${randomAlnum(36)}`,
      `b=gho_${randomAlnum(36)}`,
      `c=ghs_${randomAlnum(36)}`,
      `d=ghu_${randomAlnum(36)}`,
      `e=github_pat_${randomAlnum(22)}_${randomAlnum(59)}`,
      `f=glpat-${randomAlnum(20)}`,
      `g=xoxb-${randomAlnum(11)}-${randomAlnum(12)}-${randomAlnum(24)}`,
    ].join('\n');

    assert.deepEqual(rulesFound(text), [
      'HERD-S005',
      'HERD-S005',
      'HERD-S005',
      'HERD-S005',
      'HERD-S005',
      'HERD-S006',
      'HERD-S007',
    ]);
  });

  it('finds npm tokens anywhere, and _authToken values in an .npmrc unless they read the environment', () => {
    const legacy = randomBytes(16).toString('hex');

    assert.deepEqual(rulesFound(`token npm_${randomAlnum(36)}\n`), ['HERD-S008']);
    assert.deepEqual(rulesFound(`//registry.example.com/:_authToken=${legacy}\n`, '/app/.npmrc'), [
      'HERD-S008',
    ]);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: npm's own syntax for reading the environment
    assert.deepEqual(rulesFound('//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n', '/app/.npmrc'), []);
    assert.deepEqual(rulesFound(`_authToken=${legacy}\n`, '/app/notes.txt'), []);
  });

  it('finds registry auths in docker and containers auth files', () => {
    const auth = Buffer.from(`user:${randomAlnum(16)}`).toString('base64');
    const config = `{"auths": {"registry.example.com": {"auth": "${auth}"}}}`;

    assert.deepEqual(rulesFound(config, '/root/.docker/config.json'), ['HERD-S009']);
    assert.deepEqual(rulesFound(config, '/run/containers/0/auth.json'), ['HERD-S009']);
    assert.deepEqual(rulesFound('{"auth": "not-a-registry-file"}', '/app/config.json'), []);
  });
});
