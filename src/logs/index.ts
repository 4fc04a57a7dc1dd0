/** What other folders use of src/logs/ (docs/architecture.md, "Public entries"). */
export { LogError } from './errors.js';
export { openExternalizedLogs } from './externalized-logs.js';
export { compileGrep, parseSince } from './log-query.js';
export { type LogSettings, logSettingsFromEnv } from './log-settings.js';
export type { LogQuery, LogStore, LogStoreStats, StoredLogEntry } from './types.js';
