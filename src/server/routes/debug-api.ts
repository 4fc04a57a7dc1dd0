/**
 * `POST /api/v1/instances/:id/debug`: break-glass (`herd debug`), the one route into an instance.
 * It needs the `instances:debug` permission (admins; the local user over the socket), a reason
 * and a time to live, and an HTTP upgrade (../upgrade.ts): once the session is open, the
 * connection carries it both ways (../debug-bridge.ts). Everything else about it (the journal, the
 * quarantine, the recording, the instance destroyed after) is src/debug's.
 */
import { Hono } from 'hono';
import { actorOf } from '../../auth/index.js';
import type { Logger } from '../../common/index.js';
import type { DebugSession } from '../../debug/index.js';
import { answer } from '../api-answer.js';
import { apiError } from '../api-error.js';
import { DebugQuery, InstanceParams } from '../api-schemas.js';
import { type ApiEnv, requires } from '../authenticate.js';
import type { ControlPlane } from '../control-plane.js';
import { bridgeDebugSession } from '../debug-bridge.js';
import { debugUpgradeProtocol, switchingProtocols } from '../upgrade.js';
import { validate } from '../validate.js';

export interface DebugApiOptions {
  plane: ControlPlane;
  log: Logger;
}

export function debugApiRoutes(options: DebugApiOptions) {
  const { plane, log } = options;
  return new Hono<ApiEnv>().post(
    '/instances/:id/debug',
    requires('instances:debug'),
    validate('param', InstanceParams),
    validate('query', DebugQuery),
    async (c) => {
      const upgrade = c.env?.upgrade;
      if (!upgrade || (c.req.header('upgrade') ?? '').toLowerCase() !== debugUpgradeProtocol) {
        return c.json(
          apiError(
            'UPGRADE_REQUIRED',
            `a debug session runs both ways on one connection: expected Connection: Upgrade and Upgrade: ${debugUpgradeProtocol}, as herd debug sends`,
          ),
          426,
        );
      }
      const { id } = c.req.valid('param');
      const query = c.req.valid('query');
      const caller = c.get('caller');
      let opened: DebugSession | undefined;
      const refusal = await answer(c, log, async () => {
        opened = await (await plane.debug()).open({
          instance: id,
          reason: query.reason,
          ttlSeconds: query.ttl,
          command: query.command ?? ['/bin/sh'],
          tty: query.tty === '1',
          ...(query.columns && query.rows ? { size: { columns: query.columns, rows: query.rows } } : {}),
          actor: actorOf(caller),
        });
        return {};
      });
      if (!opened) return refusal;
      const session = opened;
      const { socket, head } = upgrade.take();
      switchingProtocols(socket, {
        'X-Herd-Debug-Session': session.id,
        'X-Herd-Debug-Instance': session.instance.id,
        'X-Herd-Debug-Expires': new Date(session.expiresAt).toISOString(),
      });
      void bridgeDebugSession(session, socket, head).catch((error: unknown) => {
        log.error({ session: session.id, error: String(error) }, 'debug session bridge failed');
        session.disconnect();
        socket.destroy();
      });
      // The socket is the session's now; the adapter writes nothing of this.
      return c.body(null, 200);
    },
  );
}
