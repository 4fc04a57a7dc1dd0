/** What other folders use of src/catalog/ (docs/architecture.md, "Public entries"). */
export { Catalog } from './catalog.js';
export { formatAgreement } from './journal-agreement.js';
export { parseStage, type Stage } from './stages.js';
export type { ReleaseOutcome, RevokeOutcome, SignatureCheck } from './types.js';
