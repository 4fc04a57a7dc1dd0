import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { isPlaceholder, wordsOf } from './placeholders.js';

describe('placeholders', () => {
  it('recognises references to the environment and template slots', () => {
    for (const value of [
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell and compose references
      '${API_TOKEN}',
      '$API_TOKEN',
      '%(password)s',
      '{{ .Values.token }}',
      '<your api key>',
      '[PASSWORD]',
      '%DB_PASSWORD%',
      '@TOKEN@',
      'Bearer <token>',
    ]) {
      assert.ok(isPlaceholder(value), value);
    }
  });

  it('recognises words people type where a secret goes', () => {
    for (const value of [
      'YOUR_API_KEY',
      'your-api-key-here',
      'changeme',
      'replace-me-with-a-long-random-string',
      'REDACTED',
      'example-token-123456',
      'insert_token',
      'none',
    ]) {
      assert.ok(isPlaceholder(value), value);
    }
  });

  it('recognises filler and counting runs, also in a token body after its prefix', () => {
    for (const value of [
      'xxxxxxxx',
      '************',
      '0000000000000000',
      'abcdefghijklmnop',
      '1234567890ab',
    ]) {
      assert.ok(isPlaceholder(value), value);
    }
    assert.ok(isPlaceholder(`ghp_${'x'.repeat(36)}`, 'x'.repeat(36)));
    assert.ok(isPlaceholder('hexsecret:000102030405060708090a0b0c0d0e0f'));
    assert.ok(isPlaceholder('0b0b0b0b0b0b0b0b0b0b'));
  });

  it('recognises values vendors publish: AWS examples and the storage emulator key', () => {
    assert.ok(isPlaceholder(`${'AKIAIOSFODNN7'}EXAMPLE`));
    assert.ok(
      isPlaceholder(
        'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50u' + 'SRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
      ),
    );
  });

  it('leaves random tokens alone', () => {
    for (let i = 0; i < 200; i++) {
      const token = randomBytes(24).toString('base64url');

      assert.equal(isPlaceholder(token), false, token);
    }
  });

  it('splits values into words at punctuation, case changes and digits', () => {
    assert.deepEqual(wordsOf('yourApiKey_here42'), ['your', 'api', 'key', 'here', '42']);
    assert.deepEqual(wordsOf('HTTPClient'), ['http', 'client']);
  });
});
