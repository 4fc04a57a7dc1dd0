import { HerdError } from '../herd-error.js';

/**
 * GREP_INVALID / SINCE_INVALID / QUERY_INVALID: a query's parameters do not parse.
 * TARGET_INVALID: a forwarding target (HERD_LOG_SYSLOG, HERD_LOG_OTLP) is not a URL herd can send to.
 * SETTING_INVALID: a retention setting (HERD_LOG_MAX_BYTES, HERD_LOG_MAX_AGE) does not parse.
 * SERVICE_INVALID: a service name that cannot name a directory of the store.
 */
export type LogErrorCode =
  | 'GREP_INVALID'
  | 'SINCE_INVALID'
  | 'QUERY_INVALID'
  | 'TARGET_INVALID'
  | 'SETTING_INVALID'
  | 'SERVICE_INVALID';

export class LogError extends HerdError<LogErrorCode> {}
