import { HerdError } from '../herd-error.js';

/** Every failure src/catalog raises on purpose. Tests assert these codes, not the messages. */
export type CatalogErrorCode = 'UNSIGNED' | 'REVOKED' | 'STAGE_INVALID' | 'NOT_FOUND';

export class CatalogError extends HerdError<CatalogErrorCode> {}
