/**
 * `GET /api/v1/journal`: the journal's entries, newest `limit` (default 100) oldest first, for
 * `herd journal` against a remote control plane. Reading only; the chain is verified locally
 * with `herd journal --verify`, by whoever holds herd.db.
 */
import { Hono } from 'hono';
import type { Logger } from '../../common/index.js';
import type { Journal } from '../../journal/index.js';
import { answer } from '../api-answer.js';
import { JournalQuery } from '../api-schemas.js';
import { type ApiEnv, requires } from '../authenticate.js';
import { validate } from '../validate.js';

export function journalApiRoutes(options: { journal: Journal; log: Logger }) {
  const { journal, log } = options;
  return new Hono<ApiEnv>().get('/journal', requires('journal:read'), validate('query', JournalQuery), (c) =>
    answer(c, log, async () => {
      const { service, since, limit } = c.req.valid('query');
      return journal.list({
        limit: Number(limit ?? 100),
        ...(service ? { service } : {}),
        ...(since ? { since: new Date(since) } : {}),
      });
    }),
  );
}
