/**
 * `/api/v1/tokens`: what `herd token create|ls|revoke` call when HERD_URL names a remote control
 * plane (locally they write herd.db themselves). Admins only (`tokens:manage`). A new token is in
 * the answer to its creation and nowhere else; listing shows ids, names, roles and times.
 */
import { Hono } from 'hono';
import type { SqliteTokenStore } from '../../auth/index.js';
import { actorOf } from '../../auth/index.js';
import type { Logger } from '../../common/index.js';
import { answer } from '../api-answer.js';
import { TokenCreateBody, TokenParams } from '../api-schemas.js';
import { type ApiEnv, requires } from '../authenticate.js';
import { validate } from '../validate.js';

export function tokenApiRoutes(options: { tokens: SqliteTokenStore; log: Logger }) {
  const { tokens, log } = options;
  return new Hono<ApiEnv>()
    .get('/tokens', requires('tokens:manage'), (c) => answer(c, log, async () => tokens.list()))
    .post('/tokens', requires('tokens:manage'), validate('json', TokenCreateBody), (c) =>
      answer(c, log, async () => {
        const { role, name } = c.req.valid('json');
        const actor = actorOf(c.get('caller'));
        return tokens.create({ role, actor, ...(name ? { name } : {}) });
      }),
    )
    .delete('/tokens/:ref', requires('tokens:manage'), validate('param', TokenParams), (c) =>
      answer(c, log, async () =>
        tokens.revoke(c.req.valid('param').ref, { actor: actorOf(c.get('caller')) }),
      ),
    );
}
