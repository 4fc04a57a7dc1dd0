import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { privateKeyDetector } from './private-key.js';

const pem = (type: 'rsa' | 'ec', format: 'pkcs1' | 'pkcs8' | 'sec1') =>
  (type === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey
    : generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  ).export({ type: format, format: 'pem' }) as string;

const spans = (text: string) =>
  privateKeyDetector.find(text, '/app/x').map((m) => text.slice(m.index, m.index + m.length));

describe('the private key detector', () => {
  it('finds PKCS#8, RSA (PKCS#1) and EC (SEC1) PEM keys, spanning BEGIN to END', () => {
    for (const key of [pem('ec', 'pkcs8'), pem('rsa', 'pkcs1'), pem('ec', 'sec1')]) {
      const text = `# config\n${key}trailer\n`;

      assert.deepEqual(spans(text), [key.trimEnd()]);
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

  it('reads keys pasted into JSON strings, YAML blocks and concatenated source strings', () => {
    const key = pem('ec', 'pkcs8').trimEnd();
    const json = `{"key":"${key.replaceAll('\n', '\\n')}\\n"}`;
    const yaml = `tls:\n  key: |\n${key
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n')}\n`;
    const javascript = `const key =\n${key
      .split('\n')
      .map((l) => `  '${l}\\n' +`)
      .join('\n')}\n  '';\n`;

    for (const text of [json, yaml, javascript])
      assert.equal(privateKeyDetector.find(text, '/app/x').length, 1);
  });

  it('ignores a BEGIN line without a key body, as in code that parses keys', () => {
    const code =
      "if (line === '-----BEGIN RSA PRIVATE KEY-----') parse(rest, '-----END RSA PRIVATE KEY-----');\n";

    assert.deepEqual(privateKeyDetector.find(code, '/app/pem.js'), []);
  });

  it('ignores documentation keys cut short with dots and bodies of filler', () => {
    const cut =
      '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC...\n-----END PRIVATE KEY-----\n';
    const filler = `-----BEGIN RSA PRIVATE KEY-----\n${'X'.repeat(64)}\n${'A'.repeat(64)}\n-----END RSA PRIVATE KEY-----\n`;

    assert.deepEqual(spans(cut), []);
    assert.deepEqual(spans(filler), []);
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
