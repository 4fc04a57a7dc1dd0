/** Structured logging for the server, pino-compatible: static messages, details in `meta`. */
export interface ServerLogger {
  info(meta: Record<string, unknown>, message: string): void;
  warn(meta: Record<string, unknown>, message: string): void;
  error(meta: Record<string, unknown>, message: string): void;
}

export const silentLogger: ServerLogger = { info() {}, warn() {}, error() {} };
