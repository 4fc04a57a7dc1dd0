/**
 * Where podman, skopeo and docker keep registry credentials, and what one of those files says
 * about a registry: pure decisions, read and run by auth-file-credentials.ts.
 *
 * The files, in the order containers/image searches them (pkg/docker/config `getAuthFilePaths`):
 * 1. `$REGISTRY_AUTH_FILE`, and then no other file: podman's and skopeo's `--authfile` default,
 *    an explicit choice;
 * 2. `$XDG_RUNTIME_DIR/containers/auth.json` (without XDG_RUNTIME_DIR, `/run/containers/<uid>/auth.json`);
 * 3. `$XDG_CONFIG_HOME/containers/auth.json` (default `~/.config/containers/auth.json`);
 * 4. `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
 * In each file `credHelpers[<host>]` names a credential helper for that host; in docker's file,
 * `credsStore` names one for every host, as docker reads it; then `auths[<host>]` holds
 * base64 `user:password`. The first file with an answer wins.
 * Formats: https://github.com/containers/image/blob/main/docs/containers-auth.json.5.md,
 * https://github.com/docker/cli/blob/v24.0.0/cli/config/configfile/file.go
 */
import { join } from 'node:path';
import { z } from 'zod';
import type { BasicCredential } from './credentials.js';
import { RegistryError } from './errors.js';

export interface AuthFileLocation {
  path: string;
  /** `docker` files also honour `credsStore`; containers/image ignores it in its own files. */
  format: 'containers' | 'docker';
}

/** The auth files to search, in order, for this environment. */
export function authFileLocations(
  env: NodeJS.ProcessEnv,
  options: { home: string; uid: number },
): AuthFileLocation[] {
  if (env.REGISTRY_AUTH_FILE) return [{ path: env.REGISTRY_AUTH_FILE, format: 'containers' }];
  const runtime = env.XDG_RUNTIME_DIR
    ? join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json')
    : `/run/containers/${options.uid}/auth.json`;
  const configHome = env.XDG_CONFIG_HOME || join(options.home, '.config');
  const docker = env.DOCKER_CONFIG
    ? join(env.DOCKER_CONFIG, 'config.json')
    : join(options.home, '.docker', 'config.json');
  return [
    { path: runtime, format: 'containers' },
    { path: join(configHome, 'containers', 'auth.json'), format: 'containers' },
    { path: docker, format: 'docker' },
  ];
}

const AuthEntry = z.object({
  auth: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  identitytoken: z.string().optional(),
});

/** Only the fields herd reads; docker and podman write more (proxies, plugins, aliases). */
const AuthFile = z.object({
  auths: z.record(z.string(), AuthEntry).optional(),
  credHelpers: z.record(z.string(), z.string()).optional(),
  credsStore: z.string().optional(),
});
export type AuthFile = z.infer<typeof AuthFile>;

/** Parses an auth file's text. The file holds secrets: errors say where it is, never what it holds. */
export function parseAuthFile(text: string, path: string): AuthFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RegistryError('AUTH_FAILED', `auth file ${path} is not JSON`);
  }
  const parsed = AuthFile.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues[0]?.path.slice(0, 1).join('.') || '(root)';
    throw new RegistryError(
      'AUTH_FAILED',
      `auth file ${path} is not valid at ${where}: expected {"auths": {"<host>": {"auth": "<base64 user:password>"}}, "credHelpers": {"<host>": "<helper>"}}`,
    );
  }
  return parsed.data;
}

export type CredentialSource =
  | { kind: 'basic'; credential: BasicCredential }
  /** Run `docker-credential-<helper> get`; `fallback` is what the file itself says if it has nothing. */
  | { kind: 'helper'; helper: string; from: 'credHelpers' | 'credsStore'; fallback?: BasicCredential };

/** What one file says about `registry` (`host[:port]`): a credential, a helper to ask, or nothing. */
export function credentialSourceFor(
  file: AuthFile,
  options: { registry: string; location: AuthFileLocation },
): CredentialSource | undefined {
  const { registry, location } = options;
  const helper = file.credHelpers?.[registry];
  if (helper !== undefined)
    return { kind: 'helper', helper: checkedHelper(helper, location.path), from: 'credHelpers' };
  const fromAuths = entryFor(file, registry, location.path);
  if (location.format === 'docker' && file.credsStore) {
    return {
      kind: 'helper',
      helper: checkedHelper(file.credsStore, location.path),
      from: 'credsStore',
      ...(fromAuths ? { fallback: fromAuths } : {}),
    };
  }
  return fromAuths ? { kind: 'basic', credential: fromAuths } : undefined;
}

/** The `auths` entry for the host: its exact key first, then a key written as a URL (`https://host/v1/`). */
function entryFor(file: AuthFile, registry: string, path: string): BasicCredential | undefined {
  const entries = Object.entries(file.auths ?? {});
  const found =
    entries.find(([key]) => key === registry) ?? entries.find(([key]) => hostOf(key) === registry);
  if (!found) return undefined;
  const [key, entry] = found;
  if (entry.auth) return decodeAuth(entry.auth, { path, key });
  if (entry.username && entry.password) return { username: entry.username, password: entry.password };
  if (entry.identitytoken) {
    throw new RegistryError(
      'AUTH_FAILED',
      `auth file ${path} holds an identity token for ${key}, which herd cannot use: log in with a username and password`,
    );
  }
  return undefined;
}

/** `https://registry.example/v1/` → `registry.example`; `host:5000` stays as is. */
function hostOf(key: string): string {
  return key.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
}

function decodeAuth(auth: string, where: { path: string; key: string }): BasicCredential {
  const decoded = Buffer.from(auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) {
    throw new RegistryError(
      'AUTH_FAILED',
      `auth file ${where.path} has an "auth" entry for ${where.key} that is not base64 of user:password`,
    );
  }
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** A helper name becomes part of a program name: it may not reach outside `docker-credential-*`. */
function checkedHelper(name: string, path: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new RegistryError(
      'CREDENTIAL_HELPER_FAILED',
      `auth file ${path} names credential helper ${JSON.stringify(name)}: expected letters, digits, ".", "_" or "-"`,
    );
  }
  return name;
}
