/**
 * Every detector of secrets by content, in rule order: private keys (private-key.ts), token
 * formats (token-formats.ts), credential files and URLs (credential-formats.ts), Kubernetes Secret
 * manifests (kubernetes-secrets.ts), and high-entropy assignments (high-entropy-assignments.ts). scan-secrets.ts decides which of them a file gets.
 */
import { credentialFileDetectors, urlPasswordDetector } from './credential-formats.js';
import type { ContentDetector } from './detector.js';
import { findHighEntropyAssignments, isConfigFile } from './high-entropy-assignments.js';
import { kubernetesSecretDetector } from './kubernetes-secrets.js';
import { privateKeyDetector } from './private-key.js';
import { tokenDetectors } from './token-formats.js';

export type { ContentDetector, SecretMatch } from './detector.js';
export { privateKeyDetector } from './private-key.js';

/**
 * HERD-S011, gitleaks' generic rule. Its keywords (the credential words a key must contain) are
 * nearly every file's, so they are not a prefilter here: the search starts at them instead.
 */
export const assignmentDetector: ContentDetector = {
  rule: 'HERD-S011',
  keywords: [],
  find: (text, path, lower) =>
    findHighEntropyAssignments(text, {
      config: isConfigFile(path),
      properties: path.toLowerCase().endsWith('.properties'),
      ...(lower === undefined ? {} : { lower }),
    }),
};

/** Private keys, token formats, credential files and URLs: every detector but the generic one. */
export const contentDetectors: readonly ContentDetector[] = [
  privateKeyDetector,
  ...tokenDetectors,
  ...credentialFileDetectors,
  urlPasswordDetector,
  kubernetesSecretDetector,
];

/** What an app file gets: everything. */
export const appFileDetectors: readonly ContentDetector[] = [...contentDetectors, assignmentDetector];

/**
 * What a package's file gets: private keys, and the files whose names say they hold credentials
 * (`.npmrc`, `.netrc`, `.pypirc`, docker's config.json, `.env`). Token and entropy checks over
 * /usr would flag test vectors, sample configs and minified JavaScript by the hundred.
 */
export const packageFileDetectors: readonly ContentDetector[] = [
  privateKeyDetector,
  ...credentialFileDetectors,
  { ...assignmentDetector, appliesTo: (path) => /(?:^|\/)\.env(?:\.[\w-]+)?$/.test(path) },
];
