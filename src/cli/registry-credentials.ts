import { AuthFileCredentials, type Credentials, chainCredentials, EnvCredentials } from '../oci/index.js';

/** HERD_REGISTRY_USERNAME/PASSWORD, then podman's, skopeo's and docker's auth files and helpers. */
export function registryCredentials(): Credentials {
  return chainCredentials([new EnvCredentials(), new AuthFileCredentials()]);
}
