/** What other folders use of src/auth/ (docs/architecture.md, "Public entries"). */
export { newToken, tokenMatches } from './api-token.js';
export { actorOf, type Caller, callerCan } from './caller.js';
export { clientKeyOf } from './client-key.js';
export { AuthError, type AuthErrorCode } from './errors.js';
export { FailureLimiter } from './failure-limiter.js';
export { type Permission, roleGrants, roles } from './roles.js';
export { SqliteTokenStore, type TokenInfo, type TokenVerifier, tokenNamePattern } from './token-store.js';
