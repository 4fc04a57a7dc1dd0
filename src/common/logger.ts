/**
 * Structured logging, pino-compatible so a pino logger is passed as is: messages are static text,
 * details go in `meta`. A module that logs at fewer levels asks for `Pick<Logger, 'info' | 'warn'>`.
 */
export interface Logger {
  debug(meta: Record<string, unknown>, message: string): void;
  info(meta: Record<string, unknown>, message: string): void;
  warn(meta: Record<string, unknown>, message: string): void;
  error(meta: Record<string, unknown>, message: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
