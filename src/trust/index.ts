/** What other folders use of src/trust/ (docs/architecture.md, "Public entries"). */
export {
  type AdmissionDecision,
  type CatalogView,
  checkAdmission,
  requiredPredicateTypes,
} from './admission.js';
export {
  collectBuildStatements,
  fileManifestPredicateType,
  gateVerdictStatement,
} from './build-statements.js';
export { keyFingerprint, loadPublicKey } from './cosign-key.js';
export {
  type DsseEnvelope,
  dsseEnvelopeMediaType,
  envelopeSignedBy,
  parseEnvelope,
  signEnvelope,
} from './dsse.js';
export { TrustError } from './errors.js';
export { attestImage, signImage, takeRegistryLayers, verifyImage } from './image-signatures.js';
export { inTotoStatement } from './in-toto-statement.js';
export {
  type AnchorOutcome,
  anchorJournal,
  catalogInconsistency,
  checkAgainstCheckpoint,
  checkAnchor,
  formatAnchorCheck,
  journalCheckpointPath,
  unlockCheckpointSigner,
} from './journal-anchor.js';
export { journalCheckpointPayloadType } from './journal-checkpoint.js';
export { localKeyPasswordFile, readCosignPrivateKey, writeCosignKeyPair } from './key-files.js';
export { keyPairFiles } from './key-pair-files.js';
export { localRepository, parseIdentity } from './signed-identity.js';
export { LocalKeySigner, type Signer } from './signer.js';
export { loadTrustedKeys } from './trusted-keys.js';
