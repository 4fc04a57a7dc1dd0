/** The CLI's structured logger: pino to stderr, quiet unless HERD_LOG_LEVEL says otherwise. */
import pino from 'pino';

export const logger = pino(
  { level: process.env.HERD_LOG_LEVEL ?? 'warn', base: undefined },
  pino.destination({ fd: 2, sync: true }),
);
