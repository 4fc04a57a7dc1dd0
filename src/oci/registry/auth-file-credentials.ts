/**
 * Credentials where podman, skopeo and docker users keep them: the auth files of auth-files.ts,
 * searched in containers/image's order, and the credential helpers they name. Each registry is
 * looked up once per instance (one herd command), so a helper runs once, not once per request.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import {
  type AuthFileLocation,
  authFileLocations,
  type CredentialSource,
  credentialSourceFor,
  parseAuthFile,
} from './auth-files.js';
import { type CredentialHelperRunner, runCredentialHelper } from './credential-helper.js';
import type { BasicCredential, Credentials } from './credentials.js';
import { RegistryError } from './errors.js';

export class AuthFileCredentials implements Credentials {
  readonly files: readonly AuthFileLocation[];
  readonly #runHelper: CredentialHelperRunner;
  readonly #found = new Map<string, Promise<BasicCredential | undefined>>();

  constructor(
    options: { files?: AuthFileLocation[]; env?: NodeJS.ProcessEnv; runHelper?: CredentialHelperRunner } = {},
  ) {
    const env = options.env ?? process.env;
    this.files =
      options.files ?? authFileLocations(env, { home: env.HOME || homedir(), uid: process.getuid?.() ?? 0 });
    this.#runHelper =
      options.runHelper ?? ((helper, registry) => runCredentialHelper(helper, registry, { env }));
  }

  lookup(registry: string): Promise<BasicCredential | undefined> {
    let found = this.#found.get(registry);
    if (!found) {
      found = this.#search(registry);
      this.#found.set(registry, found);
    }
    return found;
  }

  async #search(registry: string): Promise<BasicCredential | undefined> {
    for (const location of this.files) {
      const text = await readIfPresent(location.path);
      if (text === undefined) continue;
      const source = credentialSourceFor(parseAuthFile(text, location.path), { registry, location });
      const credential = source && (await this.#resolve(source, registry));
      if (credential) return credential;
    }
    return undefined;
  }

  async #resolve(source: CredentialSource, registry: string): Promise<BasicCredential | undefined> {
    switch (source.kind) {
      case 'basic':
        return source.credential;
      case 'helper':
        return (await this.#runHelper(source.helper, registry)) ?? source.fallback;
      default: {
        const exhaustive: never = source;
        return exhaustive;
      }
    }
  }
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A missing file, or a missing directory on the way (no XDG_RUNTIME_DIR, no ~/.docker), is no answer.
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new RegistryError('AUTH_FAILED', `cannot read auth file ${path}: ${code ?? 'error'}`);
  }
}
