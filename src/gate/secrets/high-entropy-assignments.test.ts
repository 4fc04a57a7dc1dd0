import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { shannonEntropy } from './entropy.js';
import { findHighEntropyAssignments, isConfigFile, isCredentialName } from './high-entropy-assignments.js';

function randomAlnum(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return [...randomBytes(length)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

describe('Shannon entropy', () => {
  it('is 0 for one repeated character and log2(n) for n distinct ones', () => {
    assert.equal(shannonEntropy('aaaaaaaa'), 0);
    assert.equal(shannonEntropy('abcdefgh'), 3);
    assert.equal(shannonEntropy(''), 0);
  });
});

describe('high-entropy assignments', () => {
  it('finds a random value under a credential-like key in env, ini, yaml and json syntax', () => {
    const secret = randomAlnum(24);
    for (const line of [
      `DB_PASSWORD=${secret}`,
      `export API_KEY="${secret}"`,
      `client_secret = ${secret}`,
      `  authToken: '${secret}'`,
      `    "password": "${secret}",`,
    ]) {
      const text = `first=1\n${line}\n`;

      const [match, ...more] = findHighEntropyAssignments(text);

      assert.equal(more.length, 0, line);
      assert.equal(text.slice(match?.index, (match?.index ?? 0) + (match?.length ?? 0)), secret, line);
    }
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
    ].join('\n');

    assert.deepEqual(findHighEntropyAssignments(text), []);
  });

  it('splits key names into words, so author and passenger are not credentials', () => {
    assert.ok(isCredentialName('dbPassword'));
    assert.ok(isCredentialName('SIGNING_KEY'));
    assert.ok(isCredentialName('aws.secret.access.key'));
    assert.ok(!isCredentialName('author'));
    assert.ok(!isCredentialName('passenger_count'));
    assert.ok(!isCredentialName('primary_key_column'));
  });

  it('treats .env, .ini, .conf, .yaml, .json and .properties files as config files', () => {
    for (const path of [
      '/app/.env',
      '/app/.env.local',
      '/etc/app.ini',
      '/etc/app.conf',
      '/app/c.yaml',
      '/app/c.json',
      '/app/a.properties',
    ]) {
      assert.ok(isConfigFile(path), path);
    }
    assert.ok(!isConfigFile('/app/server.js'));
  });
});
