/**
 * A random-looking value assigned to a key named like a credential, in any syntax: `KEY=value`
 * (.env, .properties, shell), `key: value` (YAML, also as a list item `- key: value` or
 * `- KEY=value`), `key = "value"` (TOML, INI), `"key":"value"` (JSON, minified or not, or escaped
 * inside another string), `<key>value</key>` (XML), `name: KEY` followed by `value: …` (Kubernetes
 * and ECS environment lists), and string literals in source code. After gitleaks' `generic-api-key`
 * rule: both conditions, since entropy alone flags every checksum in a lock file
 * (`"integrity": "sha512-…"`) and a name alone flags `password_file: /run/secrets/db`. It differs
 * where gitleaks' own allowlists are regexes over a match: keys are split into words, so
 * `author`, `passenger` and `monkey` never match, and values are judged as a whole (placeholders,
 * references, paths, URLs, hostnames, hashes, patterns and prose pass).
 *
 * Config files (by name, `isConfigFile`) may hold unquoted values; elsewhere only a quoted
 * string, or a shell `export KEY=value`, is a value: in code an unquoted right-hand side is an
 * expression.
 */
import type { SecretMatch } from './detector.js';
import { shannonEntropy } from './entropy.js';
import { genericStopWords } from './generic-stopwords.js';
import { isPlaceholder, wordsOf } from './placeholders.js';

/** A random 12-character token scores about 3.4 to 3.6; `hunter2hunter2` 2.8, `changeme-please` 3.2. */
export const assignmentThresholds = { minLength: 12, minEntropy: 3.3 } as const;

const configExtensions = [
  '.env',
  '.ini',
  '.conf',
  '.cfg',
  '.cnf',
  '.yaml',
  '.yml',
  '.json',
  '.properties',
  '.toml',
  '.xml',
  '.config',
  '.tfvars',
  '.hcl',
];

/** Files whose lines are assignments: by extension, plus `.env`, `.env.production` and the like. */
export function isConfigFile(path: string): boolean {
  const name = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  return name === '.env' || name.startsWith('.env.') || configExtensions.some((ext) => name.endsWith(ext));
}

const credentialWords = new Set([
  'password',
  'passwords',
  'passwd',
  'pwd',
  'pw',
  'pass',
  'passphrase',
  'secret',
  'secrets',
  'token',
  'tokens',
  'apikey',
  'credential',
  'credentials',
  'creds',
  'auth',
  'authtoken',
  'privatekey',
  'bearer',
]);

/** Two words that make a credential together: `api_key`, `clientSecret`, `SIGNING_KEY`. */
const credentialPairs = new Set([
  'api key',
  'access key',
  'private key',
  'secret key',
  'signing key',
  'encryption key',
  'session key',
  'master key',
  'client secret',
]);

/** One-word keys that end in a credential: `dbpassword`, `accesstoken`, `clientsecret`. */
const credentialEndings = ['password', 'passwd', 'secret', 'token', 'apikey', 'passphrase', 'credentials'];

function keyWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/**
 * `DB_PASSWORD`, `clientSecret`, `api-key`, `aws.secret.key`: split into words, then matched. This
 * is the broad question "is it named like a credential", which the env defaults rule (HERD-H008)
 * asks too; `holdsSecret` is the narrower one the scan asks.
 */
export function isCredentialName(key: string): boolean {
  const words = keyWords(key);
  return words.some(
    (word, index) =>
      credentialWords.has(word) ||
      credentialPairs.has(`${word} ${words[index + 1] ?? ''}`) ||
      credentialEndings.some((ending) => word.length > ending.length && word.endsWith(ending)),
  );
}

/**
 * A last word that says the value is about a credential, not the credential: `API_KEY_ID`,
 * `password_file`, `token_url`, `authDomain`, `SECRET_NAME`, `password_hash`, `TOKEN_TTL`.
 * gitleaks' generic allowlist names the same ones (`key[_.-]?id`, `secret[_.-]?name`, `token[_.-]?url`, …).
 */
const describingWords = new Set(
  (
    'id ids uid uuid guid name names user username login email file files path dir directory folder ' +
    'url uri urls endpoint endpoints host hostname domain server port length len size bits type types kind ' +
    'field fields header headers param parameter prefix suffix format version ttl expiry expires expiration ' +
    'expire timeout lifetime age duration interval policy algorithm algo alg mode method methods count max ' +
    'min enabled enable disabled required require hint label env var variable ref location provider encoder ' +
    'pattern regex regexp strategy class hash hashed digest checksum fingerprint salt scheme realm issuer ' +
    'audience scope scopes mechanism backend plugin module handler service rotation reset arn message text ' +
    'title prompt description placeholder error errors validation validator chars characters charset ' +
    'sha sha1 sha256 sha512 md5 bcrypt crypt hashes'
  ).split(' '),
);

/** `<qualifier>_key` that names a lookup or public key, not a secret: `PRIMARY_KEY`, `cacheKey`, `SITE_KEY`. */
const nonSecretKeyQualifiers = new Set(
  (
    'public publishable pub primary foreign sort partition range hash cache routing idempotency dedup ' +
    'dedupe lookup index unique composite natural surrogate bucket schema sequence site hot short shortcut ' +
    'map object s3 translation i18n locale message label field column table row group shard host'
  ).split(' '),
);

/** Whether a value assigned to `key` would be a secret: named like a credential, and not a description of one. */
export function holdsSecret(key: string): boolean {
  const words = keyWords(key);
  const last = words.at(-1);
  if (last === undefined || describingWords.has(last)) return false;
  if (isCredentialName(key)) return true;
  // `STRIPE_KEY`, `appKey`: a key named for what it opens, unless the name says it is public or a lookup key.
  const qualifier = words.at(-2);
  return last === 'key' && qualifier !== undefined && !nonSecretKeyQualifiers.has(qualifier);
}

/**
 * crypt(3), LDAP, Django and PostgreSQL (`md5…`, `SCRAM-SHA-256$…`) password hashes, and
 * algorithm-prefixed digests: stored hashes, not secrets.
 */
const hashFormat =
  /^\$(?:2[abxy]?|1|5|6|7|y|gy|argon2\w*|scrypt|pbkdf2[\w-]*|sha\d*)\$|^\{[A-Z0-9-]+\}|^(?:sha(?:1|224|256|384|512)|sha3-\d+|md5|blake2\w*)[-:=]|^(?:pbkdf2_sha\d+|argon2|bcrypt(?:_sha256)?|scrypt|unsalted_\w+)\$|^SCRAM-SHA-\d+\$|^md5[0-9a-f]{32}$/i;

/** Regular expressions and format strings: `^[A-Za-z0-9]{36}$`, `\d+`, `(?=.*[A-Z])`. */
const patternSyntax = /\[[^\]]*\]|\\[dwsbDWSB]|\(\?|\.\*|\.\+|\{\d+(?:,\d*)?\}/;

/**
 * `env:NAME`, `vault:secret/data/db#password`, `arn:aws:secretsmanager:…`, `op://vault/item`: where
 * the secret is kept; and sops' `ENC[AES256_GCM,…]`, the secret encrypted.
 */
const secretReference =
  /^(?:env|file|vault|secret|secrets|ssm|awssm|gcpsm|azkv|sops|k8s|kubernetes|arn|op|ref\+\w+):|^ENC\[/i;

/** A path, a URL without credentials, a host name or an e-mail address names a place, not a secret. */
function namesAPlace(value: string): boolean {
  // One random base64 value in 64 starts with `/`: a path is not that random.
  const base64Like = /^[A-Za-z0-9+/]{20,}={0,2}$/.test(value) && shannonEntropy(value) >= 4.5;
  if (/^(?:\/|\.\.?\/|~\/|[A-Za-z]:\\|\$\{?\w+\}?\/)/.test(value) && !base64Like) return true;
  if (/^[\w.@-]+(?:\/[\w.@-]+)+$/.test(value) && /\.[A-Za-z]{1,5}$/.test(value)) return true;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return true;
  if (/^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$/.test(value)) return true;
  return /^(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}$/.test(value);
}

/**
 * Letters only is a word or an identifier (`CorrectHorseBatteryStaple`, `BCryptPasswordEncoder`)
 * when most of its letters are in word-like pieces: a capital or none, then at least two lower
 * case letters, with a vowel. Random letters break into short pieces and capital runs.
 */
function looksLikeWords(value: string): boolean {
  const pieces = value
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z]+/);
  const letters = pieces.join('').length;
  const inWords = pieces
    .filter((piece) => /^[A-Z]?[a-z]{2,}$/.test(piece) && /[aeiouy]/i.test(piece))
    .join('').length;
  return letters > 0 && inWords / letters >= 0.7;
}

/**
 * Three or more words joined by `-`, `_` or `.` (`generate-with-openssl-rand-hex-32`,
 * `my-super-secret-password-2024`): an instruction or a phrase, as gitleaks' allowlist of values
 * made of letters and separators reads them. Random tokens with separators (UUIDs, base64url)
 * have digits and mixed case in their pieces.
 */
function isPhrase(value: string): boolean {
  const pieces = value.split(/[-_.]+/).filter(Boolean);
  const words = pieces.filter((piece) => /^[A-Z]?[a-z]{1,}$/.test(piece) && /[aeiouy]/i.test(piece));
  const total = pieces.join('').length;
  return words.length >= 3 && words.join('').length / total >= 0.7;
}

/**
 * gitleaks drops a value that holds one of its stop words (`application-config-2024`); here such
 * a value is judged by what is left without its words (the stop words, and any lower case piece
 * with a vowel), so a random tail after a wordy prefix (`django-insecure-…`) is still a secret,
 * and words and a year are not. A value without stop words is judged whole.
 */
function withoutWords(value: string): string {
  const words = wordsOf(value);
  const stop = (word: string) => word.length >= 4 && genericStopWords.has(word);
  if (!words.some(stop)) return value;
  return words.filter((word) => !stop(word) && !(/^[a-z]{3,}$/.test(word) && /[aeiouy]/.test(word))).join('');
}

/**
 * Base64 of something that is not a secret: readable text with spaces (`SGVsbG8gd29ybGQ=`), or a
 * `user:password` whose password is a placeholder (`dXNlcjpwYXNzd29yZA==`, docker's `auth`).
 */
function isBase64OfNonSecret(value: string): boolean {
  if (value.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  const decoded = Buffer.from(value, 'base64').toString('latin1');
  if (!/^[\x20-\x7e\t\r\n]+$/.test(decoded)) return false;
  if (/[A-Za-z]{2,}[ \t\r\n]+[A-Za-z]{2,}/.test(decoded)) return true;
  const colon = decoded.indexOf(':');
  return colon > 0 && isPlaceholder(decoded.slice(colon + 1));
}

/** Random-looking, and not a reference to where the secret really lives. */
export function isSecretLikeValue(raw: string): boolean {
  // Laravel's `APP_KEY=base64:…` and the like: the encoding's name is not part of the secret.
  const value = raw.replace(/^(?:base64|b64|hex):/i, '');
  if (value.length < assignmentThresholds.minLength) return false;
  if (/\s/.test(value)) return false;
  if (isPlaceholder(value)) return false;
  if (hashFormat.test(value) || patternSyntax.test(value) || secretReference.test(value)) return false;
  if (namesAPlace(value)) return false;
  if (/^[A-Za-z_.-]+$/.test(value) && looksLikeWords(value)) return false;
  if (isPhrase(value)) return false;
  const rest = withoutWords(value);
  if (
    rest !== value &&
    (rest.length < assignmentThresholds.minLength || shannonEntropy(rest) < assignmentThresholds.minEntropy)
  ) {
    return false;
  }
  if (isBase64OfNonSecret(value)) return false;
  return shannonEntropy(value) >= assignmentThresholds.minEntropy;
}

/** `[A-Za-z0-9_.-]`, by character code: this runs for every keyword in the file. */
function isKeyChar(code: number): boolean {
  return (
    (code >= 97 && code <= 122) ||
    (code >= 65 && code <= 90) ||
    (code >= 48 && code <= 57) ||
    code === 95 ||
    code === 46 ||
    code === 45
  );
}

/**
 * A credential word, the rest of its key, the key's closing quote and an assignment operator: the
 * regex does the first cut, so only keys that are assigned to reach the checks in JavaScript.
 */
// `(?=(…))\1` takes the rest of the key without ever giving it back (an atomic group): key
// characters and what may follow a key are disjoint, so backtracking into it could never match.
const keyPattern =
  /(?:pass|pwd|pw|secret|token|key|auth|cred|bearer)(?=([\w.-]{0,100}))\1[\\"'`\]]{0,3}[ \t]*[=:>,]/g;
/** For .properties, where `key value` is an assignment too: every credential word. */
const keywordPattern = /pass|pwd|pw|secret|token|key|auth|cred|bearer/g;
/** The longest key and value read; longer ones are not what people assign secrets to. */
const maxKey = 120;
const maxValue = 500;

interface FoundValue {
  index: number;
  text: string;
  quoted: boolean;
}

/**
 * Every value the text assigns to a key that holds a secret and that looks random. `config` says
 * whether unquoted values count (config files), `properties` whether `key value` (Java
 * .properties) is an assignment, and `lower` is the text lowercased, when the caller has it.
 */
export function findHighEntropyAssignments(
  text: string,
  options: { config?: boolean; properties?: boolean; lower?: string } = {},
): SecretMatch[] {
  const config = options.config ?? true;
  const properties = options.properties ?? false;
  const matches: SecretMatch[] = [];
  // Keywords are found in the lowercased text when it lines up with the text (it does unless a
  // character such as `İ` lowercases to two), which is cheaper than a case-insensitive search.
  const lower = options.lower?.length === text.length ? options.lower : text.toLowerCase();
  const aligned = lower.length === text.length;
  const pattern = properties ? keywordPattern : keyPattern;
  const keys = new RegExp(pattern.source, aligned ? 'g' : 'gi');
  const haystack = aligned ? lower : text;
  for (let hit = keys.exec(haystack); hit; hit = keys.exec(haystack)) {
    let start = hit.index;
    while (start > 0 && hit.index - start < maxKey && isKeyChar(text.charCodeAt(start - 1))) start--;
    let end = hit.index;
    while (end < text.length && end - start < maxKey && isKeyChar(text.charCodeAt(end))) end++;
    keys.lastIndex = Math.max(end, hit.index + 1);
    const value = assignedValue(text, { start, end, properties });
    if (!value) continue;
    // An unquoted value is one token: keywords inside it (`arn:…:secret:prod/db`) are not keys. A
    // quoted one may hold assignments of its own (`"Server=db;Password=…"`), so it is read on.
    if (!value.quoted) keys.lastIndex = Math.max(keys.lastIndex, value.index + value.text.length);
    if (!value.quoted && !config && !isShellExport(text, start)) continue;
    if (holdsSecret(text.slice(start, end)) && isSecretLikeValue(value.text)) {
      matches.push({ index: value.index, length: value.text.length });
    }
  }
  for (const pair of lower.includes('value') ? nameValuePairs(text) : []) {
    if (!holdsSecret(pair.name)) continue;
    const value = readValue(text, pair.valueAt);
    if (!value || (!value.quoted && !config)) continue;
    if (isSecretLikeValue(value.text)) matches.push({ index: value.index, length: value.text.length });
  }
  return matches;
}

/** `export KEY=value`, `ENV KEY=value`, `ARG KEY=value` at the start of a line: shell and Dockerfile syntax. */
function isShellExport(text: string, keyStart: number): boolean {
  return /(?:^|\n)[ \t]*(?:export|ENV|ARG)[ \t]+$/.test(lineBefore(text, keyStart));
}

/**
 * At most 40 characters of the line before `index`: enough to see what starts a line, and bounded,
 * so a file of one long line costs no more per key than any other.
 */
function lineBefore(text: string, index: number): string {
  return text.slice(Math.max(0, index - 40), index);
}

/** The value after the key at [start, end): past its closing quote and the assignment operator. */
function assignedValue(
  text: string,
  at: { start: number; end: number; properties: boolean },
): FoundValue | undefined {
  let i = at.end;
  // The key's closing quote (escaped inside a JSON string: `\"`), or `]` of `env["KEY"]`.
  let quotedKey = false;
  for (let n = 0; n < 3 && /[\\"'`\]]/.test(text[i] ?? ''); n++, i++) quotedKey ||= text[i] !== '\\';
  while (text[i] === ' ' || text[i] === '\t') i++;
  const rest = text.slice(i, i + 3);
  let operator = /^(?:::=|:=|=>|\?=|\|\|=|=|:(?!:))/.exec(rest)?.[0];
  // `a:secret:b` is a colon-separated name (an ARN, a URN, host:port), not a key and its value.
  if (operator === ':' && text[at.start - 1] === ':') return undefined;
  // `<password>value</password>`: the key is an element's name.
  if (!operator && rest.startsWith('>') && text[at.start - 1] === '<') operator = '>';
  // `setProperty("API_TOKEN", "value")`: a call's first argument, a quoted key, then a quoted value.
  if (
    !operator &&
    rest.startsWith(',') &&
    quotedKey &&
    /\(\s*["'`]$/.test(text.slice(at.start - 8, at.start))
  ) {
    operator = ',';
  }
  if (operator === undefined) {
    // Java .properties: `db.password secret`, a key at the start of its line, then blanks.
    if (!at.properties || i === at.end || !/(?:^|\n)[ \t]*$/.test(lineBefore(text, at.start)))
      return undefined;
    return readValue(text, i, { bareOnly: true });
  }
  // `==`, `=~`: comparisons and matches, not assignments.
  if (operator === '=' && /^[=~]/.test(text[i + 1] ?? '')) return undefined;
  i += operator.length;
  while (text[i] === ' ' || text[i] === '\t') i++;
  const value = readValue(text, i);
  if (value && operator === ',' && !value.quoted) return undefined;
  return value;
}

/** A quoted string (`"…"`, `'…'`, `` `…` ``, or `\"…\"` inside JSON) on one line, or a bare value up to a delimiter. */
function readValue(text: string, from: number, options: { bareOnly?: boolean } = {}): FoundValue | undefined {
  let i = from;
  const escaped = text[i] === '\\' && /["']/.test(text[i + 1] ?? '');
  if (escaped) i++;
  const quote = text[i];
  if (!options.bareOnly && (quote === '"' || quote === "'" || quote === '`')) {
    const close = escaped ? `\\${quote}` : quote;
    let j = i + 1;
    while (j < text.length && j - i <= maxValue && text[j] !== '\n') {
      if (text.startsWith(close, j)) break;
      j += !escaped && text[j] === '\\' && quote !== "'" ? 2 : 1;
    }
    if (!text.startsWith(close, j)) return undefined;
    return { index: i + 1, text: text.slice(i + 1, j), quoted: true };
  }
  if (escaped) return undefined;
  let j = i;
  while (j < text.length && j - i <= maxValue && !/[\s"'`,;}\])<&]/.test(text[j] ?? '')) {
    // An escaped line break ends the value: `"KEY=value\nNEXT=1"` inside a JSON string.
    if (text[j] === '\\' && /[nrt]/.test(text[j + 1] ?? '')) break;
    j++;
  }
  // YAML: `key: |`, `key: >-` (a block follows), `key: !vault |`, `key: &anchor`, `key: *alias`.
  if (j === i || /^[|>!&*]/.test(text[i] ?? '')) return undefined;
  return { index: i, text: text.slice(i, j), quoted: false };
}

/**
 * `name: DB_PASSWORD` then `value: …` (a Kubernetes env list item, or the same in JSON), and
 * `key="Password" value="…"` (.NET and NuGet config): the credential's name is itself a value.
 */
function* nameValuePairs(text: string): Generator<{ name: string; valueAt: number }> {
  const pattern =
    /\b(?:name|key)["']?[ \t]*[:=][ \t]*["']?([A-Za-z_][\w.-]{0,120})["']?[ \t]*,?[ \t]*(?:\r?\n[ \t]*(?:-[ \t]*)?)?["']?value["']?[ \t]*[:=][ \t]*/gi;
  for (const match of text.matchAll(pattern)) {
    yield { name: match[1] ?? '', valueAt: match.index + match[0].length };
  }
}
