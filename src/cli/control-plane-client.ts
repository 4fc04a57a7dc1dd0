/**
 * How one-shot commands reach a running control plane, through the typed client
 * (../server/api-client.ts): by default over HERD_HOME/control-plane.sock, as the local user who
 * started it, with no token; with HERD_URL, over TCP with the token in HERD_TOKEN. Errors name
 * where the call went and what the control plane answered.
 */
import { existsSync } from 'node:fs';
import { herdHome } from '../herd-home.js';
import {
  ApiRefusal,
  type ApiTarget,
  apiClient,
  controlPlaneSocket,
  describeTarget,
  ServerError,
  unwrap,
} from '../server/index.js';
import { CliError } from './errors.js';

export interface ControlPlaneConnection {
  api: ReturnType<typeof apiClient>;
  target: ApiTarget;
  /** Awaits a typed call: its success body, or a CliError with what the control plane said. */
  call: <R extends Parameters<typeof unwrap>[0]>(request: R) => ReturnType<typeof unwrap<Awaited<R>>>;
}

/** HERD_URL (+ HERD_TOKEN) when set, else HERD_HOME's socket. */
export function controlPlaneTarget(env: NodeJS.ProcessEnv = process.env): ApiTarget {
  if (env.HERD_URL) {
    return { kind: 'url', url: env.HERD_URL, ...(env.HERD_TOKEN ? { token: env.HERD_TOKEN } : {}) };
  }
  const socketPath = controlPlaneSocket(herdHome(env));
  if (!existsSync(socketPath)) {
    throw new CliError(
      'CONTROL_PLANE_UNREACHABLE',
      `no control plane is running for this HERD_HOME (no ${socketPath}): start herd serve or herd up, or set HERD_URL and HERD_TOKEN`,
    );
  }
  return { kind: 'socket', socketPath };
}

export function controlPlaneConnection(env: NodeJS.ProcessEnv = process.env): ControlPlaneConnection {
  const target = controlPlaneTarget(env);
  const where = describeTarget(target);
  return {
    api: apiClient(target),
    target,
    call: async (request) => {
      try {
        return await unwrap(request, where);
      } catch (error) {
        throw cliErrorOf(error, where);
      }
    },
  };
}

/** The control plane's refusal as the CLI says it: where it came from, and its message. */
export function cliErrorOf(error: unknown, where: string): unknown {
  if (error instanceof ApiRefusal) {
    return new CliError('CONTROL_PLANE_REFUSED', `${where} refused: ${error.message}`, { cause: error });
  }
  if (error instanceof ServerError && error.code === 'API_UNREACHABLE') {
    return new CliError('CONTROL_PLANE_UNREACHABLE', error.message, { cause: error });
  }
  return error;
}
