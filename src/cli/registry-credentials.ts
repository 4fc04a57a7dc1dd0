import { AuthFileCredentials } from '../oci/registry/auth-file-credentials.js';
import { type Credentials, chainCredentials } from '../oci/registry/credentials.js';
import { EnvCredentials } from '../oci/registry/env-credentials.js';

/** HERD_REGISTRY_USERNAME/PASSWORD, then podman's, skopeo's and docker's auth files and helpers. */
export function registryCredentials(): Credentials {
  return chainCredentials([new EnvCredentials(), new AuthFileCredentials()]);
}
