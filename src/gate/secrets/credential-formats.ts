/**
 * Files whose format says where the credential is: `.npmrc`, `.pypirc`, `.netrc`, docker's and
 * containers' auth files, and URLs with a password in them (`.git-credentials`, connection strings,
 * configs). In these a value is a secret because of where it is, not because it looks random, so
 * there is no entropy threshold; a value that only stands in for one (`${NPM_TOKEN}`, `<token>`,
 * `changeme`) passes. The file detectors run on package files too: those names and fields are
 * never test data. URLs are everywhere in packages' tests and docs, so only app files get that one.
 */
import { baseName, type ContentDetector, regexDetector, type SecretMatch } from './detector.js';
import { shannonEntropy } from './entropy.js';
import { isPlaceholder } from './placeholders.js';

/** `"…"`, `'…'` or a bare value up to whitespace. */
const value = String.raw`("[^"\r\n]*"|'[^'\r\n]*'|[^\s"']\S*)`;
const unquote = (secret: string) => secret.replace(/^(["'])(.*)\1$/, '$2');

/** A base64 `user:password` or password, as .npmrc's `_auth` and docker's `auth` hold: a placeholder when its password is. */
function decodedIsPlaceholder(encoded: string): boolean {
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  if (!/^[\x20-\x7e]+$/.test(decoded)) return false;
  const colon = decoded.indexOf(':');
  return isPlaceholder(colon < 0 ? decoded : decoded.slice(colon + 1));
}

const named = (names: string[]) => (path: string) => names.includes(baseName(path));

/**
 * npm's `_authToken`, `_auth` (base64 `user:password`) and `_password` (base64), alone or scoped to
 * a registry (`//npm.example.internal/:_authToken=…`). npm's own syntax for reading the
 * environment, `${NPM_TOKEN}`, is what an .npmrc should hold.
 */
const npmrcAuth = regexDetector('HERD-S008', {
  keywords: ['_auth', '_password'],
  appliesTo: named(['.npmrc', 'npmrc']),
  pattern: new RegExp(String.raw`(?:^|:)[ \t]*_(authToken|auth|password)[ \t]*=[ \t]*${value}`, 'gm'),
  group: 2,
  accept: (secret, { text, index }) => {
    const field = /_(\w+)[ \t]*=[ \t]*$/.exec(text.slice(Math.max(0, index - 40), index))?.[1];
    const inner = unquote(secret);
    if (isPlaceholder(inner)) return false;
    return field === 'authToken' || !decodedIsPlaceholder(inner);
  },
});

/** `password = …` in a [section] of ~/.pypirc (configparser syntax, `=` or `:`). */
const pypircPassword = regexDetector('HERD-S019', {
  keywords: ['password'],
  appliesTo: named(['.pypirc', 'pypirc']),
  pattern: /^[ \t]*password[ \t]*[=:][ \t]*(\S(?:[^\r\n]*\S)?)[ \t]*$/gm,
  group: 1,
  accept: (secret) => !isPlaceholder(unquote(secret)),
});

/** `password <value>` among netrc's whitespace-separated tokens (`machine h login u password p`). */
const netrcPassword = regexDetector('HERD-S020', {
  keywords: ['password'],
  appliesTo: named(['.netrc', '_netrc', 'netrc']),
  pattern: new RegExp(String.raw`(?:^|\s)password\s+${value}`, 'g'),
  group: 1,
  accept: (secret) => !isPlaceholder(unquote(secret)),
});

/**
 * Docker's and containers' auth files: `"auths": { "<registry>": { "auth": "<base64 user:password>" } }`,
 * or an `identitytoken`. A config with only `credsStore` or `credHelpers` keeps its secrets elsewhere.
 * containers-auth.json(5); docker's config.json.
 */
const registryAuthEntries = regexDetector('HERD-S009', {
  keywords: ['"auth', '"identitytoken', '"registrytoken'],
  appliesTo: named(['config.json', 'auth.json', '.dockercfg', '.dockerconfigjson']),
  pattern: /"(auth|identitytoken|registrytoken)"\s*:\s*"([A-Za-z0-9+/=._-]{8,})"/g,
  group: 2,
  accept: (secret, { text, index }) => {
    const field = /"(\w+)"\s*:\s*"$/.exec(text.slice(Math.max(0, index - 40), index))?.[1];
    return field !== 'auth' || !decodedIsPlaceholder(secret);
  },
});
const registryAuth: ContentDetector = {
  ...registryAuthEntries,
  // The legacy .dockercfg has the registries at the top level; the others nest them under "auths".
  find: (text, path) =>
    /"auths"\s*:/.test(text) || baseName(path) === '.dockercfg' ? registryAuthEntries.find(text, path) : [],
};

/**
 * `scheme://user:password@host`: a database URL, a `.git-credentials` line, a proxy. gitleaks has no
 * rule for it; its `curl-auth-user` allowlist is the model for what is not a password
 * (`changeme`, `pass…`, `test…`, `***`, `xxx`). A password equal to its user name
 * (`guest:guest`, `postgres:postgres`) is a well-known default, not a secret.
 */
export const urlPasswordDetector: ContentDetector = {
  rule: 'HERD-S015',
  keywords: ['://'],
  caseSensitive: true,
  // From each `://` (found with indexOf, not a regex tried at every word): the scheme behind it,
  // then a sticky match of `user:password@` ahead. Each part is bounded, so the work is linear.
  find(text) {
    const matches: SecretMatch[] = [];
    // The user may be empty, as in `redis://:password@host`.
    const userinfo = /([^\s:@/?#'"<>\\]{0,256}):([^\s@/?#'"<>\\]{1,256})@(?=[\w[])/y;
    for (let at = text.indexOf('://'); at >= 0; at = text.indexOf('://', at + 3)) {
      let start = at;
      while (start > 0 && at - start < 31 && /[A-Za-z0-9+.-]/.test(text[start - 1] ?? '')) start--;
      if (at - start < 2 || !/[A-Za-z]/.test(text[start] ?? '')) continue;
      userinfo.lastIndex = at + 3;
      const found = userinfo.exec(text);
      if (!found) continue;
      const [, user = '', password = ''] = found;
      if (!isUrlPassword(password, user)) continue;
      matches.push({ index: found.index + user.length + 1, length: password.length });
    }
    return matches;
  },
};

function isUrlPassword(raw: string, rawUser: string): boolean {
  const password = percentDecoded(raw);
  if (password.length < 4 || password === percentDecoded(rawUser)) return false;
  if (/^(?:change(?:it|me)|pass(?:word)?|pwd|test|token)/i.test(password) || /^(?:\*+|x+)$/i.test(password)) {
    return false;
  }
  return !isPlaceholder(raw) && !isPlaceholder(password) && shannonEntropy(password) > 1.5;
}

function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The detectors bound to a file name. */
export const credentialFileDetectors: readonly ContentDetector[] = [
  npmrcAuth,
  registryAuth,
  pypircPassword,
  netrcPassword,
];
