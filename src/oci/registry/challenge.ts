/**
 * `WWW-Authenticate` challenges, as registries send them on 401:
 * `Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a:pull"`
 * or `Basic realm="test"`. Grammar: RFC 9110 §11.6.1 (challenge, auth-param, quoted-string).
 * Token flow: https://distribution.github.io/distribution/spec/auth/token/
 */

export interface AuthChallenge {
  /** Lowercased: `basic`, `bearer`. */
  scheme: string;
  /** Parameter names lowercased, values unquoted. */
  params: Record<string, string>;
}

const tokenChar = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/** Parses one header value into its challenges. Malformed tails are dropped, never thrown. */
export function parseChallenges(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let pos = 0;
  const skip = (chars: RegExp) => {
    while (pos < header.length && chars.test(header.charAt(pos))) pos++;
  };
  const token = (): string => {
    const start = pos;
    while (pos < header.length && tokenChar.test(header.charAt(pos))) pos++;
    return header.slice(start, pos);
  };
  const quoted = (): string => {
    let value = '';
    pos++; // opening quote
    while (pos < header.length && header.charAt(pos) !== '"') {
      if (header.charAt(pos) === '\\') pos++;
      value += header.charAt(pos);
      pos++;
    }
    pos++; // closing quote
    return value;
  };
  /** Whether an auth-param (`name=`) starts at the current position, not a new challenge. */
  const paramAhead = (): boolean => /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+[ \t]*=/.test(header.slice(pos));

  while (pos < header.length) {
    skip(/[ \t,]/);
    const scheme = token();
    if (!scheme) break;
    const params: Record<string, string> = {};
    skip(/[ \t]/);
    while (paramAhead()) {
      const name = token().toLowerCase();
      skip(/[ \t]/);
      pos++; // '='
      skip(/[ \t]/);
      params[name] = header.charAt(pos) === '"' ? quoted() : token();
      skip(/[ \t]/);
      if (header.charAt(pos) !== ',') break;
      pos++;
      skip(/[ \t]/);
    }
    challenges.push({ scheme: scheme.toLowerCase(), params });
  }
  return challenges;
}

/**
 * The scopes a request needs, in the token spec's form `repository:<name>:<actions>`. Reads need
 * `pull`; writes need `pull,push`; a cross-repository mount also needs `pull` on the source.
 * https://distribution.github.io/distribution/spec/auth/scope/
 */
export function repositoryScope(repository: string, actions: 'pull' | 'pull,push'): string {
  return `repository:${repository}:${actions}`;
}
