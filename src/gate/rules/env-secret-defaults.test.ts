import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { defaultGateSection } from '../../specfile/gate-section.js';
import { memoryImageView } from '../memory-image.js';
import { envSecretDefaults } from './env-secret-defaults.js';

/** Random letters and digits, made at run time so no token-shaped string is ever committed. */
function randomAlnum(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return [...randomBytes(length)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

function check(env: string[]) {
  const view = memoryImageView({ config: { Env: env } });
  return envSecretDefaults.check({ view, gate: defaultGateSection });
}

describe('HERD-H008 env defaults that look like secrets', () => {
  it('passes ordinary defaults and PATH', () => {
    assert.deepEqual(
      check(['PATH=/usr/bin:/bin', 'GREETING=hello from herd', 'PORT=8080', 'LOG_LEVEL=info']),
      [],
    );
  });

  it('fails a value in a token format, whatever the variable is called', () => {
    const token = `ghp_${randomAlnum(36)}`;

    const results = check([`CONFIG=${token}`]);

    assert.equal(results.length, 1);
    assert.equal(results[0]?.level, undefined);
    assert.equal(results[0]?.location?.setting, 'config.Env.CONFIG');
  });

  it('fails a random-looking value under a credential name', () => {
    assert.equal(check([`DB_PASSWORD=${randomAlnum(20)}`])[0]?.level, undefined);
  });

  it('warns about a credential name with a tame value', () => {
    assert.equal(check(['DB_PASSWORD_FILE=/run/secrets/db'])[0]?.level, 'warning');
  });

  it('never puts the value in the message', () => {
    const token = `glpat-${randomAlnum(20)}`;

    const [result] = check([`TOKEN=${token}`]);

    assert.ok(result && !result.message.includes(token.slice(6)));
  });
});
