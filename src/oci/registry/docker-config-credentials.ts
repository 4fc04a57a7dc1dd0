/**
 * Basic credentials from docker's config file (`$DOCKER_CONFIG/config.json`, else
 * `~/.docker/config.json`), as `docker login` and `podman login --authfile` write them:
 * `{"auths": {"host:port": {"auth": base64("user:password")}}}`. Credential helpers (`credsStore`,
 * `credHelpers`) and identity tokens are not read: they need external programs.
 * Format: https://github.com/docker/cli/blob/v24.0.0/cli/config/configfile/file.go
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { BasicCredential, Credentials } from './credentials.js';
import { RegistryError } from './errors.js';

const DockerConfig = z.object({
  auths: z
    .record(
      z.string(),
      z.object({
        auth: z.string().optional(),
        username: z.string().optional(),
        password: z.string().optional(),
      }),
    )
    .optional(),
});

export class DockerConfigCredentials implements Credentials {
  readonly path: string;

  constructor(options: { path?: string; env?: NodeJS.ProcessEnv } = {}) {
    const env = options.env ?? process.env;
    this.path =
      options.path ?? join(env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker'), 'config.json');
  }

  async lookup(registry: string): Promise<BasicCredential | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new RegistryError('AUTH_FAILED', `cannot read docker config ${this.path}`);
    }
    let config: z.infer<typeof DockerConfig>;
    try {
      config = DockerConfig.parse(JSON.parse(text));
    } catch {
      // The file holds secrets: say where it is broken, never quote it.
      throw new RegistryError(
        'AUTH_FAILED',
        `docker config ${this.path} is not valid: expected JSON with "auths": {"<host>": {"auth": "<base64 user:password>"}}`,
      );
    }
    for (const [key, entry] of Object.entries(config.auths ?? {})) {
      if (hostOf(key) !== registry) continue;
      if (entry.auth) return decodeAuth(entry.auth, this.path);
      if (entry.username && entry.password) return { username: entry.username, password: entry.password };
    }
    return undefined;
  }
}

/** `https://registry.example/v1/` → `registry.example`; `host:5000` stays as is. */
function hostOf(key: string): string {
  return key.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
}

function decodeAuth(auth: string, path: string): BasicCredential {
  const decoded = Buffer.from(auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) {
    throw new RegistryError(
      'AUTH_FAILED',
      `docker config ${path} has an "auth" entry that is not base64 of user:password`,
    );
  }
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
