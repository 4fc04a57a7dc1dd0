import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { shannonEntropy } from './entropy.js';
import {
  findHighEntropyAssignments,
  holdsSecret,
  isConfigFile,
  isCredentialName,
  isSecretLikeValue,
} from './high-entropy-assignments.js';

function randomAlnum(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return [...randomBytes(length)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

/** The secrets found, as text. */
function found(text: string, options: { config?: boolean; properties?: boolean } = {}): string[] {
  return findHighEntropyAssignments(text, options).map((m) => text.slice(m.index, m.index + m.length));
}

describe('Shannon entropy', () => {
  it('is 0 for one repeated character and log2(n) for n distinct ones', () => {
    assert.equal(shannonEntropy('aaaaaaaa'), 0);
    assert.equal(shannonEntropy('abcdefgh'), 3);
    assert.equal(shannonEntropy(''), 0);
  });
});

describe('high-entropy assignments', () => {
  it('finds a random value under a credential-like key in env, ini, yaml, toml and json syntax', () => {
    const secret = randomAlnum(24);
    for (const line of [
      `DB_PASSWORD=${secret}`,
      `export API_KEY="${secret}"`,
      `client_secret = ${secret}`,
      `  authToken: '${secret}'`,
      `    "password": "${secret}",`,
      `db = { host = "h", password = "${secret}" }`,
      `<password>${secret}</password>`,
    ]) {
      assert.deepEqual(found(`first=1\n${line}\n`), [secret], line);
    }
  });

  it('finds assignments anywhere on a line: minified JSON, YAML list items, escaped JSON strings', () => {
    const a = randomAlnum(20);
    const b = randomAlnum(28);

    assert.deepEqual(found(`{"db":{"user":"app","password":"${a}"},"api_key":"${b}"}`), [a, b]);
    assert.deepEqual(found(`environment:\n  - PORT=8080\n  - API_TOKEN=${a}\n  - "DB_PASSWORD=${b}"\n`), [
      a,
      b,
    ]);
    assert.deepEqual(found(`vars:\n  - db_password: '${a}'\n`), [a]);
    assert.deepEqual(found(`{"config.ini":"[auth]\\nAUTH_TOKEN=${a}\\nDEBUG=false"}`), [a]);
    assert.deepEqual(found(`{"payload":"{\\"password\\":\\"${b}\\"}"}`), [b]);
  });

  it('finds a credential named in a name/value pair: Kubernetes and ECS env lists, .NET config', () => {
    const secret = randomAlnum(24);

    assert.deepEqual(found(`env:\n  - name: DB_PASSWORD\n    value: "${secret}"\n`), [secret]);
    assert.deepEqual(found(`[{"name":"PORT","value":"8080"},{"name":"API_TOKEN","value":"${secret}"}]`), [
      secret,
    ]);
    assert.deepEqual(found(`<add key="Password" value="${secret}" />`), [secret]);
  });

  it('reads `key value` as an assignment in .properties files only', () => {
    const secret = randomAlnum(20);

    assert.deepEqual(found(`oauth.client.secret ${secret}\n`, { properties: true }), [secret]);
    assert.deepEqual(found(`oauth.client.secret ${secret}\n`), []);
  });

  it('takes only quoted values (and shell exports) outside config files, where the right-hand side is code', () => {
    const secret = randomAlnum(24);

    assert.deepEqual(found(`const apiKey = "${secret}";\n`, { config: false }), [secret]);
    assert.deepEqual(found(`export API_TOKEN=${secret}\n`, { config: false }), [secret]);
    assert.deepEqual(found(`System.setProperty("API_TOKEN", "${secret}");\n`, { config: false }), [secret]);
    assert.deepEqual(
      found("token = crypto.randomBytes(32).toString('hex')\nif (password == other) x()\n", {
        config: false,
      }),
      [],
    );
    assert.deepEqual(found(`['AES_KEY', '${secret}']\n`, { config: false }), [], 'a list of strings');
  });

  it('ignores placeholders, references to the environment, paths, URLs and words', () => {
    const text = [
      'PASSWORD=changeme',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell-style reference to the environment
      'TOKEN=${API_TOKEN}',
      'password_file: /run/secrets/db',
      'auth_url: https://auth.example.com/oauth/token',
      'secret: hunter2hunter2',
      `integrity: sha512-${randomBytes(64).toString('base64')}`,
      'private_key = $dir/private/cakey.pem',
      'password: !vault |',
      `db_password: ENC[AES256_GCM,data:${randomBytes(12).toString('base64')},type:str]`,
      'secret_arn: arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf',
      'password_encoder: BCryptPasswordEncoder',
      'authDomain: acme-12345.firebaseapp.example',
      'passwordRegex: "^(?=.*[A-Z])(?=.*\\\\d).{12,}$"',
      `password_hash: $2b$12$${randomAlnum(53)}`,
      `token_sha256: ${randomBytes(32).toString('hex')}`,
      `api_key_id: ${randomBytes(16).toString('hex')}`,
      `auth_banner: ${Buffer.from('Welcome to the acme service').toString('base64')}`,
      `auth: ${Buffer.from('user:password').toString('base64')}`,
    ].join('\n');

    assert.deepEqual(found(text), []);
  });

  it('splits key names into words, so author and passenger are not credentials', () => {
    assert.ok(isCredentialName('dbPassword'));
    assert.ok(isCredentialName('SIGNING_KEY'));
    assert.ok(isCredentialName('aws.secret.access.key'));
    assert.ok(isCredentialName('clientsecret'));
    assert.ok(!isCredentialName('author'));
    assert.ok(!isCredentialName('passenger_count'));
    assert.ok(!isCredentialName('primary_key_column'));
  });

  it('holds a secret under a credential name unless the last word describes it (id, file, url, ttl, hash)', () => {
    for (const key of [
      'DB_PASSWORD',
      'STRIPE_KEY',
      'appKey',
      'SECRET_KEY_BASE',
      'x-api-key',
      'accessToken',
    ]) {
      assert.ok(holdsSecret(key), key);
    }
    for (const key of [
      'API_KEY_ID',
      'DB_PASSWORD_FILE',
      'TOKEN_URL',
      'TOKEN_TTL',
      'password_hash',
      'PUBLIC_KEY',
      'cacheKey',
      'key',
    ]) {
      assert.ok(!holdsSecret(key), key);
    }
  });

  it('judges values by randomness: not words, phrases or stop words and a year', () => {
    assert.ok(isSecretLikeValue('a1Xk9mP2vL5nQ8wR3t'));
    assert.ok(isSecretLikeValue('django-insecure-9x#k2!m@p$w7z&q4r8t'));
    assert.ok(isSecretLikeValue('kBvhhUDVASBuXAndvPMAKM'));
    assert.ok(isSecretLikeValue('base64:UMtP3TeWdNEa5kcsFFQj76lUs51rfg90MYejLKC/7Og='));
    assert.ok(!isSecretLikeValue('CorrectHorseBatteryStaple'));
    assert.ok(!isSecretLikeValue('application-config-2024'));
    assert.ok(!isSecretLikeValue('generate-with-openssl-rand-hex-32'));
  });

  it('treats .env, .ini, .conf, .yaml, .json, .toml, .xml and .properties files as config files', () => {
    for (const path of [
      '/app/.env',
      '/app/.env.local',
      '/etc/app.ini',
      '/etc/app.conf',
      '/app/c.yaml',
      '/app/c.json',
      '/app/c.toml',
      '/app/settings.xml',
      '/app/a.properties',
    ]) {
      assert.ok(isConfigFile(path), path);
    }
    assert.ok(!isConfigFile('/app/server.js'));
  });

  it('stays linear on a hostile file of keys on one line', () => {
    for (const unit of [
      'password=',
      '"password":',
      'password ',
      'name: password\nvalue: ',
      'pass-pass.pass_',
    ]) {
      const hostile = unit.repeat(Math.ceil(1_000_000 / unit.length));
      const started = performance.now();

      findHighEntropyAssignments(hostile, { config: false, properties: true });

      assert.ok(performance.now() - started < 4000, unit);
    }
  });
});
