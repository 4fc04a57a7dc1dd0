/**
 * `herd token create|ls|revoke`: tokens for the fleet API over TCP. Locally they are written to
 * HERD_HOME's herd.db directly (whoever can write it is the local admin anyway, and no control
 * plane needs to run); with HERD_URL they go through the remote control plane's API, which needs
 * an admin token in HERD_TOKEN. A new token is printed once, alone on standard output.
 */
import { SqliteTokenStore, type TokenInfo } from '../../auth/index.js';
import { TokenCreateBody, TokenParams } from '../../server/index.js';
import { checkedArguments } from '../api-arguments.js';
import { controlPlaneConnection } from '../control-plane-client.js';
import { formatTable } from '../format.js';
import { openState } from '../state-context.js';

export async function tokenCreateCommand(options: {
  role?: string;
  name?: string;
  json?: boolean;
}): Promise<number> {
  const request = checkedArguments('token create', TokenCreateBody, {
    role: options.role,
    ...(options.name !== undefined ? { name: options.name } : {}),
  });
  const created = process.env.HERD_URL
    ? await remote((api, call) => call(api.tokens.$post({ json: request })))
    : local((tokens, actor) => tokens.create({ ...request, actor }));
  if (options.json) {
    console.log(JSON.stringify({ token: created.token, ...created.info }, null, 2));
    return 0;
  }
  const { info } = created;
  console.error(
    `herd token: created ${info.role} token ${info.name} (id ${info.id}); it is shown this once:`,
  );
  console.log(created.token);
  return 0;
}

export async function tokenListCommand(options: { json?: boolean }): Promise<number> {
  const tokens = process.env.HERD_URL
    ? await remote((api, call) => call(api.tokens.$get()))
    : local((store) => store.list());
  if (options.json) {
    console.log(JSON.stringify(tokens, null, 2));
    return 0;
  }
  console.log(
    formatTable([
      ['NAME', 'ID', 'ROLE', 'CREATED', 'CREATED BY', 'LAST USED'],
      ...tokens.map((t: TokenInfo) => [
        t.name,
        t.id,
        t.role,
        t.createdAt,
        t.createdBy,
        t.lastUsedAt ?? 'never',
      ]),
    ]),
  );
  return 0;
}

export async function tokenRevokeCommand(ref: string): Promise<number> {
  const param = checkedArguments('token revoke', TokenParams, { ref });
  const revoked = process.env.HERD_URL
    ? await remote((api, call) => call(api.tokens[':ref'].$delete({ param })))
    : local((tokens, actor) => tokens.revoke(param.ref, { actor }));
  console.log(`revoked ${revoked.role} token ${revoked.name} (id ${revoked.id})`);
  return 0;
}

function local<T>(work: (tokens: SqliteTokenStore, actor: string) => T): T {
  const state = openState();
  try {
    return work(new SqliteTokenStore(state.journal), state.actor);
  } finally {
    state.close();
  }
}

function remote<T>(
  work: (
    api: ReturnType<typeof controlPlaneConnection>['api'],
    call: ReturnType<typeof controlPlaneConnection>['call'],
  ) => Promise<T>,
): Promise<T> {
  const { api, call } = controlPlaneConnection();
  return work(api, call);
}
