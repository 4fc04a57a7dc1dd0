import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Journal } from '../journal/journal.js';
import { openStateDb } from '../state/open-state-db.js';
import { hashToken, tokenPattern } from './api-token.js';
import type { AuthError } from './errors.js';
import { SqliteTokenStore } from './token-store.js';

function storeAt(time = '2025-01-01T00:00:00Z') {
  const clock = { at: Date.parse(time), now: () => clock.at };
  const journal = new Journal(openStateDb(':memory:'), { clock });
  return { tokens: new SqliteTokenStore(journal, { clock }), journal, clock };
}

const code = (expected: string) => (error: unknown) => (error as AuthError).code === expected;

describe('SqliteTokenStore', () => {
  it('creates a herd_ token, keeps only its sha256, and verifies it as its name, id and role', () => {
    const { tokens, journal } = storeAt();

    const { token, info } = tokens.create({ role: 'operator', name: 'ci', actor: 'alice' });

    assert.match(token, tokenPattern);
    assert.equal(token.length, 'herd_'.length + 12 + 1 + 43);
    const stored = journal.db.prepare('SELECT * FROM auth_tokens').all() as Record<string, unknown>[];
    assert.equal(stored.length, 1);
    assert.deepEqual(stored[0]?.hash, hashToken(token));
    assert.ok(!JSON.stringify(stored).includes(token.slice(18)), 'the secret is not stored');
    assert.deepEqual(tokens.verify(token), { kind: 'token', id: info.id, name: 'ci', role: 'operator' });
  });

  it('journals the creation with the id, name and role, never the token', () => {
    const { tokens, journal } = storeAt();

    const { token, info } = tokens.create({ role: 'viewer', actor: 'local:alice' });

    const [entry] = journal.list();
    assert.equal(entry?.action, 'token-create');
    assert.equal(entry?.actor, 'local:alice');
    assert.deepEqual(entry?.details, { id: info.id, name: `viewer-${info.id}`, role: 'viewer' });
    assert.ok(!JSON.stringify(journal.list()).includes(token));
  });

  it('refuses a forged, altered or truncated token', () => {
    const { tokens } = storeAt();
    const { token } = tokens.create({ role: 'admin', name: 'root', actor: 'alice' });
    const last = token.at(-1) === 'A' ? 'B' : 'A';

    assert.equal(tokens.verify(`${token.slice(0, -1)}${last}`), undefined);
    assert.equal(tokens.verify(token.slice(0, -1)), undefined);
    assert.equal(tokens.verify(`${token}A`), undefined);
    assert.equal(tokens.verify(`herd_000000000000_${token.slice(18)}`), undefined);
    assert.equal(tokens.verify(''), undefined);
  });

  it('lists tokens without the token or its hash, with when each was last used', () => {
    const { tokens, clock } = storeAt();
    const { token } = tokens.create({ role: 'viewer', name: 'dash', actor: 'alice' });
    tokens.create({ role: 'admin', name: 'ops', actor: 'alice' });

    clock.at = Date.parse('2025-01-01T00:05:00Z');
    tokens.verify(token);
    const listed = tokens.list();

    assert.deepEqual(
      listed.map((t) => [t.name, t.role, t.createdBy, t.lastUsedAt]),
      [
        ['dash', 'viewer', 'alice', '2025-01-01T00:05:00.000Z'],
        ['ops', 'admin', 'alice', null],
      ],
    );
    assert.ok(!JSON.stringify(listed).includes(token.slice(18)));
    assert.ok(listed.every((t) => !('hash' in t)));
  });

  it('writes "last used" at most once a minute', () => {
    const { tokens, clock } = storeAt();
    const { token } = tokens.create({ role: 'viewer', name: 'dash', actor: 'alice' });

    tokens.verify(token);
    clock.at = Date.parse('2025-01-01T00:00:30Z');
    tokens.verify(token);
    const afterHalfAMinute = tokens.list()[0]?.lastUsedAt;
    clock.at = Date.parse('2025-01-01T00:01:00Z');
    tokens.verify(token);

    assert.equal(afterHalfAMinute, '2025-01-01T00:00:00.000Z');
    assert.equal(tokens.list()[0]?.lastUsedAt, '2025-01-01T00:01:00.000Z');
  });

  it('revokes by id or by name, at once, and journals it', () => {
    const { tokens, journal } = storeAt();
    const first = tokens.create({ role: 'viewer', name: 'one', actor: 'alice' });
    const second = tokens.create({ role: 'viewer', name: 'two', actor: 'alice' });

    tokens.revoke(first.info.id, { actor: 'bob' });
    tokens.revoke('two', { actor: 'bob' });

    assert.equal(tokens.verify(first.token), undefined);
    assert.equal(tokens.verify(second.token), undefined);
    assert.deepEqual(tokens.list(), []);
    assert.deepEqual(
      journal.list().map((e) => [e.action, e.actor, e.details.name]),
      [
        ['token-create', 'alice', 'one'],
        ['token-create', 'alice', 'two'],
        ['token-revoke', 'bob', 'one'],
        ['token-revoke', 'bob', 'two'],
      ],
    );
  });

  it('refuses to revoke a token that does not exist, with TOKEN_NOT_FOUND', () => {
    const { tokens } = storeAt();

    assert.throws(() => tokens.revoke('nobody', { actor: 'alice' }), code('TOKEN_NOT_FOUND'));
  });

  it('refuses a taken name, a name that reads as an id, and a name that is not a name', () => {
    const { tokens } = storeAt();
    tokens.create({ role: 'viewer', name: 'dash', actor: 'alice' });

    assert.throws(
      () => tokens.create({ role: 'admin', name: 'dash', actor: 'alice' }),
      code('TOKEN_NAME_TAKEN'),
    );
    assert.throws(
      () => tokens.create({ role: 'admin', name: '0123456789ab', actor: 'alice' }),
      code('TOKEN_NAME_INVALID'),
    );
    assert.throws(
      () => tokens.create({ role: 'admin', name: 'Has Space', actor: 'alice' }),
      code('TOKEN_NAME_INVALID'),
    );
    assert.equal(tokens.list().length, 1);
  });
});
