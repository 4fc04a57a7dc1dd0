/** What other folders use of src/home/ (docs/architecture.md, "Public entries"). */
export { type HomeLock, lockHome } from './home-lock.js';
export { checkHomeOwner } from './home-owner.js';
export { isHomeLoose, type TightenReport, tightenHome } from './private-modes.js';
