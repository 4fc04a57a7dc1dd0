/**
 * API tokens in herd.db (table auth_tokens). Creating and revoking a token append their journal
 * entries in the same transaction, as the catalog does. The token itself is returned once by
 * `create` and never stored; `verify` is what the server asks on every request over TCP.
 */
import type { Database, Statement } from 'better-sqlite3';
import { type Clock, systemClock } from '../common/index.js';
import type { Journal } from '../journal/index.js';
import { newToken, tokenIdOf, tokenMatches } from './api-token.js';
import type { Caller } from './caller.js';
import { AuthError } from './errors.js';
import type { Role } from './roles.js';

export type TokenCaller = Extract<Caller, { kind: 'token' }>;

/** The server's view of tokens: who a presented token stands for, if anyone. */
export interface TokenVerifier {
  verify(presented: string): TokenCaller | undefined;
}

/** What `herd token ls` shows: never the token, never its hash. */
export interface TokenInfo {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
  createdBy: string;
  lastUsedAt: string | null;
}

/** Lowercase letters, digits, `.`, `_` and `-`; not 12 hex digits, which would read as an id. */
export const tokenNamePattern = /^[a-z0-9][a-z0-9._-]{0,62}$/;

interface TokenRow extends TokenInfo {
  hash: Buffer;
}

const infoColumns =
  'id, name, role, created_at AS createdAt, created_by AS createdBy, last_used_at AS lastUsedAt';

/** How stale `last used` may get: one write a minute per token, not one per request. */
const lastUsedResolutionMs = 60_000;

export class SqliteTokenStore implements TokenVerifier {
  readonly #db: Database;
  readonly #journal: Journal;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #byId: Statement<[string], TokenRow>;
  readonly #touch: Statement<{ id: string; at: string }>;

  constructor(journal: Journal, options: { clock?: Pick<Clock, 'now'> } = {}) {
    this.#db = journal.db;
    this.#journal = journal;
    this.#clock = options.clock ?? systemClock;
    this.#byId = this.#db.prepare(`SELECT ${infoColumns}, hash FROM auth_tokens WHERE id = ?`);
    this.#touch = this.#db.prepare('UPDATE auth_tokens SET last_used_at = @at WHERE id = @id');
  }

  /** Returns the token, which exists nowhere else afterwards. */
  create(options: { role: Role; name?: string; actor: string }): { token: string; info: TokenInfo } {
    const { id, token, hash } = newToken();
    const name = options.name ?? `${options.role}-${id}`;
    checkName(name);
    return this.#db
      .transaction(() => {
        const taken = this.#db
          .prepare<[string], { id: string }>('SELECT id FROM auth_tokens WHERE name = ?')
          .get(name);
        if (taken) {
          throw new AuthError(
            'TOKEN_NAME_TAKEN',
            `a token named ${name} exists (id ${taken.id}): expected a new name, or revoke that one first`,
          );
        }
        const entry = this.#journal.append({
          actor: options.actor,
          action: 'token-create',
          details: { id, name, role: options.role },
        });
        const info: TokenInfo = {
          id,
          name,
          role: options.role,
          createdAt: entry.at,
          createdBy: options.actor,
          lastUsedAt: null,
        };
        this.#db
          .prepare(
            `INSERT INTO auth_tokens (id, name, role, hash, created_at, created_by)
             VALUES (@id, @name, @role, @hash, @createdAt, @createdBy)`,
          )
          .run({ ...info, hash });
        return { token, info };
      })
      .immediate();
  }

  list(): TokenInfo[] {
    return this.#db
      .prepare<[], TokenInfo>(`SELECT ${infoColumns} FROM auth_tokens ORDER BY created_at, rowid`)
      .all();
  }

  /** By id or by name; the token stops working at once. */
  revoke(ref: string, options: { actor: string }): TokenInfo {
    return this.#db
      .transaction(() => {
        const info = this.#db
          .prepare<{ ref: string }, TokenInfo>(
            `SELECT ${infoColumns} FROM auth_tokens WHERE id = @ref OR name = @ref`,
          )
          .get({ ref });
        if (!info) {
          throw new AuthError(
            'TOKEN_NOT_FOUND',
            `no token has the id or name ${ref}: herd token ls lists them`,
          );
        }
        this.#db.prepare('DELETE FROM auth_tokens WHERE id = ?').run(info.id);
        this.#journal.append({
          actor: options.actor,
          action: 'token-revoke',
          details: { id: info.id, name: info.name, role: info.role },
        });
        return info;
      })
      .immediate();
  }

  verify(presented: string): TokenCaller | undefined {
    const id = tokenIdOf(presented);
    const row = id === undefined ? undefined : this.#byId.get(id);
    if (!row || !tokenMatches(presented, row.hash)) return undefined;
    const now = this.#clock.now();
    if (row.lastUsedAt === null || now - Date.parse(row.lastUsedAt) >= lastUsedResolutionMs) {
      this.#touch.run({ id: row.id, at: new Date(now).toISOString() });
    }
    return { kind: 'token', id: row.id, name: row.name, role: row.role };
  }
}

function checkName(name: string): void {
  if (!tokenNamePattern.test(name) || /^[0-9a-f]{12}$/.test(name)) {
    throw new AuthError(
      'TOKEN_NAME_INVALID',
      `token name ${JSON.stringify(name)} is not a name: expected lowercase letters, digits, ".", "_" and "-", at most 63 long, and not 12 hex digits (that reads as a token id)`,
    );
  }
}
