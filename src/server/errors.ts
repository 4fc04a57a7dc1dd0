import { HerdError } from '../herd-error.js';

/** Every failure src/server raises on purpose. Tests assert these codes, not the messages. */
export type ServerErrorCode =
  /** A request's params, query or body is not what the route expects. */
  | 'REQUEST_INVALID'
  /** A request body over the API's limit. */
  | 'BODY_TOO_LARGE'
  | 'NOT_FOUND'
  | 'INTERNAL'
  /** The control plane's TCP port is taken (by another program: one herd per home is the lock's job). */
  | 'PORT_IN_USE'
  /** A connection to the control plane's own address reaches something else (a NAT rule takes it). */
  | 'PORT_HIJACKED'
  /** The control plane's socket is taken by a running one, or its path is not a socket. */
  | 'SOCKET_IN_USE'
  /** HERD_HOME is too deep for a Unix socket path (108 bytes on Linux, with its NUL). */
  | 'SOCKET_PATH_TOO_LONG'
  /** The control plane answered a typed client's call with an error (see `status` and `apiCode`). */
  | 'API_REFUSED'
  /** Nothing answered a typed client's call. */
  | 'API_UNREACHABLE'
  /** The control plane has no remediation loop running (`herd check`, `herd pipeline`, `herd approve`). */
  | 'REMEDIATION_NOT_RUNNING';

export class ServerError extends HerdError<ServerErrorCode> {}
