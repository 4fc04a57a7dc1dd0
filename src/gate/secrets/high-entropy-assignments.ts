/**
 * `KEY=value` (or `key: value`, `"key": "value"`) lines in config files whose key is named like a
 * credential and whose value looks random. Both conditions, as gitleaks' generic rule does: entropy
 * alone flags every checksum in a lock file (`"integrity": "sha512-…"`), and a name alone flags
 * `password_file: /run/secrets/db`. Placeholders and references to the environment pass.
 */
import type { SecretMatch } from './content-detectors.js';
import { shannonEntropy } from './entropy.js';

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
];

/** Files whose lines are assignments: by extension, plus `.env`, `.env.production` and the like. */
export function isConfigFile(path: string): boolean {
  const name = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  return name === '.env' || name.startsWith('.env.') || configExtensions.some((ext) => name.endsWith(ext));
}

const credentialWords = new Set([
  'password',
  'passwd',
  'pwd',
  'pass',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'credential',
  'credentials',
  'auth',
  'authtoken',
  'privatekey',
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

/** `DB_PASSWORD`, `clientSecret`, `api-key`, `aws.secret.key`: split into words, then matched. */
export function isCredentialName(key: string): boolean {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  return words.some(
    (word, index) => credentialWords.has(word) || credentialPairs.has(`${word} ${words[index + 1] ?? ''}`),
  );
}

const placeholders =
  /^(?:changeme|change_me|example|placeholder|redacted|secret|password|none|null|nil|true|false|x+|\*+)$/i;

/** Random-looking, and not a reference to where the secret really lives. */
export function isSecretLikeValue(value: string): boolean {
  if (value.length < assignmentThresholds.minLength) return false;
  if (placeholders.test(value)) return false;
  // ${VAR}, $VAR, %(var)s, {{ var }}, <your-token>: a reference or a template, not a value.
  if (/^\$|\$\{|%\(|\{\{|^<.*>$/.test(value)) return false;
  // A path or a URL names where a secret is read from.
  if (/^(?:\/|\.\/|~\/|file:)/.test(value) || /^[a-z][a-z0-9+.-]*:\/\/[^@]*$/i.test(value)) return false;
  if (/\s/.test(value)) return false;
  return shannonEntropy(value) >= assignmentThresholds.minEntropy;
}

const assignmentLine = /^(\s*(?:export\s+)?["']?)([A-Za-z_][A-Za-z0-9_.-]*)(["']?\s*[:=]\s*)(.*)$/;

export function findHighEntropyAssignments(text: string): SecretMatch[] {
  const matches: SecretMatch[] = [];
  let lineStart = 0;
  for (const line of text.split('\n')) {
    const match = assignmentLine.exec(line);
    if (match && isCredentialName(match[2] ?? '')) {
      const value = assignedValue(match[4] ?? '');
      if (value && isSecretLikeValue(value.text)) {
        const offset = (match[1] ?? '').length + (match[2] ?? '').length + (match[3] ?? '').length;
        matches.push({ index: lineStart + offset + value.offset, length: value.text.length });
      }
    }
    lineStart += line.length + 1;
  }
  return matches;
}

/** The value after `=` or `:`: inside its quotes, or up to whitespace, a comment or a trailing comma. */
function assignedValue(raw: string): { text: string; offset: number } | undefined {
  const quote = raw[0];
  if (quote === '"' || quote === "'") {
    const end = raw.indexOf(quote, 1);
    return end > 1 ? { text: raw.slice(1, end), offset: 1 } : undefined;
  }
  const text = /^[^\s#;,]+/.exec(raw.replace(/\r$/, ''))?.[0];
  return text ? { text, offset: 0 } : undefined;
}
