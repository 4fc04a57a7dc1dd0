/**
 * dockerode's failures as EngineErrors. A socket that does not answer is UNREACHABLE, and the
 * message says which socket and how to get an engine there; HTTP answers are mapped by status and
 * by the few messages Docker and Podman agree on.
 */
import { EngineError, type EngineErrorCode } from '../engine.js';
import { installHint } from './podman-service.js';

interface DockerodeFailure {
  code?: string;
  statusCode?: number;
  json?: { message?: string } | string | null;
  message?: string;
}

const unreachableCodes = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EACCES', 'ENOTSOCK']);

export function isUnreachable(error: unknown): boolean {
  const code = (error as DockerodeFailure | undefined)?.code;
  return code !== undefined && unreachableCodes.has(code);
}

export function unreachable(socketPath: string, cause?: unknown): EngineError {
  const code = (cause as DockerodeFailure | undefined)?.code;
  return new EngineError(
    'UNREACHABLE',
    `no engine answers at ${socketPath}${code ? ` (${code})` : ''}: start one with ` +
      `"podman system service --time=0 unix://${socketPath}", or unset DOCKER_HOST and let herd start ` +
      `its own podman (${installHint})`,
    { cause },
  );
}

/** The engine's own words, without dockerode's "(HTTP code 500) server error -" prefix. */
export function engineMessage(error: unknown): string {
  const failure = error as DockerodeFailure | undefined;
  const json = failure?.json;
  if (json && typeof json === 'object' && json.message) return json.message;
  if (typeof json === 'string' && json.trim() !== '') return json.trim();
  return failure?.message ?? String(error);
}

export function statusOf(error: unknown): number | undefined {
  return (error as DockerodeFailure | undefined)?.statusCode;
}

/** Maps a dockerode failure while doing `what`; `fallback` is the code for any other answer. */
export function toEngineError(
  error: unknown,
  options: { socketPath: string; what: string; fallback: EngineErrorCode },
): EngineError {
  if (error instanceof EngineError) return error;
  if (isUnreachable(error)) return unreachable(options.socketPath, error);
  const message = engineMessage(error);
  let code = options.fallback;
  if (/address already in use|port is already allocated/i.test(message)) code = 'PORT_TAKEN';
  else if (statusOf(error) === 404) code = /image/i.test(message) ? 'IMAGE' : 'NOT_FOUND';
  return new EngineError(code, `${options.what} failed on the engine at ${options.socketPath}: ${message}`, {
    cause: error,
  });
}
