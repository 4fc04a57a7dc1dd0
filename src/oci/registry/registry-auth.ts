/**
 * Answers a registry's challenges. After the first 401 the client knows the registry's scheme and
 * sends credentials up front: Basic with the provider's username and password, or Bearer with a
 * token fetched from the challenge's realm, cached per set of scopes until it expires.
 * Token flow: https://distribution.github.io/distribution/spec/auth/token/
 */
import { type AuthChallenge, parseChallenges } from './challenge.js';
import type { Credentials } from './credentials.js';
import { RegistryError } from './errors.js';
import { type HttpTransport, redactUrl } from './http-transport.js';
import { TokenResponse } from './schema.js';

/** The token spec's default lifetime, used when the token service names none. */
const defaultTokenSeconds = 60;
/** Renew a little early: a token that expires in flight costs a failed request. */
const renewMarginSeconds = 10;

export class RegistryAuth {
  readonly #registry: string;
  readonly #credentials: Credentials;
  readonly #transport: HttpTransport;
  readonly #now: () => number;
  #challenge: AuthChallenge | undefined;
  readonly #tokens = new Map<string, { token: string; expiresAt: number }>();

  constructor(options: {
    registry: string;
    credentials: Credentials;
    transport: HttpTransport;
    now?: () => number;
  }) {
    this.#registry = options.registry;
    this.#credentials = options.credentials;
    this.#transport = options.transport;
    this.#now = options.now ?? Date.now;
  }

  /** The Authorization header for a request with these scopes, or undefined while unchallenged. */
  async authorizationFor(scopes: string[]): Promise<string | undefined> {
    const challenge = this.#challenge;
    if (!challenge) return undefined;
    switch (challenge.scheme) {
      case 'basic': {
        const credential = await this.#credentials.lookup(this.#registry);
        if (!credential) {
          throw new RegistryError(
            'AUTH_FAILED',
            `registry ${this.#registry} asks for a username and password and none is configured: set HERD_REGISTRY_USERNAME and HERD_REGISTRY_PASSWORD or log in with docker or podman`,
          );
        }
        return `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
      }
      case 'bearer':
        return `Bearer ${await this.#token(challenge, scopes)}`;
      default:
        throw new RegistryError(
          'AUTH_FAILED',
          `registry ${this.#registry} asks for ${challenge.scheme} authentication, expected basic or bearer`,
        );
    }
  }

  /** Records a 401's challenge; tokens for these scopes are dropped so the retry gets a fresh one. */
  challenged(header: string | null, scopes: string[]): void {
    const challenges = parseChallenges(header ?? '');
    const usable =
      challenges.find((c) => c.scheme === 'bearer' && c.params.realm) ??
      challenges.find((c) => c.scheme === 'basic');
    if (!usable) {
      throw new RegistryError(
        'AUTH_FAILED',
        `registry ${this.#registry} answered 401 with ${header ? `challenge scheme(s) ${challenges.map((c) => c.scheme).join(', ') || 'none'}` : 'no WWW-Authenticate header'}, expected basic or bearer`,
      );
    }
    this.#challenge = usable;
    this.#tokens.delete(scopeKey(scopes));
  }

  async #token(challenge: AuthChallenge, scopes: string[]): Promise<string> {
    const key = scopeKey(scopes);
    const cached = this.#tokens.get(key);
    if (cached && cached.expiresAt > this.#now()) return cached.token;

    const realm = challenge.params.realm ?? '';
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError(
        'AUTH_FAILED',
        `registry ${this.#registry} names token realm ${JSON.stringify(redactUrl(realm))}, expected an http(s) URL`,
      );
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new RegistryError(
        'AUTH_FAILED',
        `registry ${this.#registry} names token realm ${redactUrl(realm)}, expected an http(s) URL`,
      );
    }
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    for (const scope of scopes) url.searchParams.append('scope', scope);

    const credential = await this.#credentials.lookup(this.#registry);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (credential) {
      headers.authorization = `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
    }
    const response = await this.#transport.send({ method: 'GET', url: url.href, headers });
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw new RegistryError(
        'AUTH_FAILED',
        `token service ${redactUrl(url.href)} refused ${credential ? 'the configured credentials' : 'anonymous access'} for registry ${this.#registry} (HTTP ${response.status})`,
      );
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new RegistryError(
        'AUTH_FAILED',
        `token service ${redactUrl(url.href)} answered HTTP ${response.status}, expected 200 with a token`,
      );
    }
    const parsed = TokenResponse.safeParse(await response.json().catch(() => undefined));
    const token = parsed.success ? (parsed.data.token ?? parsed.data.access_token) : undefined;
    if (!parsed.success || !token) {
      throw new RegistryError(
        'AUTH_FAILED',
        `token service ${redactUrl(url.href)} answered without a token, expected JSON with "token" or "access_token"`,
      );
    }
    const seconds = Math.max((parsed.data.expires_in ?? defaultTokenSeconds) - renewMarginSeconds, 1);
    this.#tokens.set(key, { token, expiresAt: this.#now() + seconds * 1000 });
    return token;
  }
}

function scopeKey(scopes: string[]): string {
  return [...scopes].sort().join(' ');
}
