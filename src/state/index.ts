/** What other folders use of src/state/ (docs/architecture.md, "Public entries"). */
export { stateMigrations } from './migrations.js';
export { openStateDb } from './open-state-db.js';
export { explainStateFailure } from './state-failure.js';
