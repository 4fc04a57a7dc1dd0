/**
 * The credential the control plane's own engine pulls from /v2/ with, when pulls need a token
 * (`herd serve --v2-auth token`): a token like any other, but kept only in this process's memory
 * (never in herd.db), accepted only at /v2/, and gone when the process ends. The engine gets it
 * with each pull as X-Registry-Auth (DockerEngine's `registryAuth`), so no credentials file is
 * written for podman either.
 */

import type { TokenVerifier } from '../auth/index.js';
import { newToken, tokenMatches } from '../auth/index.js';

export interface EnginePullCredential {
  /** For DockerEngine's `registryAuth`, with the registry's host added. */
  credential: { username: string; password: string };
  /** What /v2/ accepts: the engine's credential, and every token `tokens` accepts. */
  verifier: TokenVerifier;
}

export function enginePullCredential(tokens: TokenVerifier): EnginePullCredential {
  const engine = newToken();
  return {
    credential: { username: 'herd', password: engine.token },
    verifier: {
      verify: (presented) =>
        tokenMatches(presented, engine.hash)
          ? { kind: 'token', id: engine.id, name: 'control-plane-engine', role: 'viewer' }
          : tokens.verify(presented),
    },
  };
}
