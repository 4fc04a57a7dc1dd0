/**
 * Values that stand where a secret would go but are not one: references to where the secret really
 * lives (`${TOKEN}`, `%(password)s`, `{{ .Values.token }}`), template slots (`<token>`,
 * `YOUR_API_KEY`, `changeme`), filler (`xxxx`, `****`, `abcdefgh…`, `12345678…`) and the values
 * vendors print in their documentation. Every detector asks this before it reports, as gitleaks'
 * global allowlist does for every rule.
 */
import { createHash } from 'node:crypto';

/** A reference to the environment or a template variable: the value is read elsewhere at run time. */
const reference =
  /^\$[A-Za-z_][\w.]*$|^\$\{[^}]*\}?$|\$\{[^}]*\}|\$\([^)]*\)|^%[\w.]+%$|%\([\w.]+\)[sd]|%[sd]$|\{\{[^}]*\}\}|\{%[^%]*%\}|^#\{[^}]*\}$|^@[\w.]+@$|^\{[\w.]*\}$|^:[a-z_]+$/;

/** `<your token>`, `[PASSWORD]`, `(secret)`: a slot to fill in. */
const slot = /^<[^<>]*>$|^\[[^[\]]*\]$|^\([^()]*\)$|<[A-Za-z_ -]+>/;

/** Words that mark a value as a stand-in wherever they appear in it as a word. */
const placeholderWords = new Set([
  'your',
  'yours',
  'example',
  'examples',
  'sample',
  'dummy',
  'fake',
  'placeholder',
  'changeme',
  'changeit',
  'change',
  'replace',
  'replaceme',
  'redacted',
  'todo',
  'fixme',
  'insert',
  'here',
  'enter',
  'none',
  'null',
  'undefined',
  'empty',
  'notset',
  'unset',
  'secret',
  'password',
  'passwd',
  'token',
]);

/** The whole value is one of these. */
const placeholderValues =
  /^(?:true|false|yes|no|on|off|null|none|nil|undefined|n\/a|na|tbd|todo|secret|password|passwd|pass|pwd|token|apikey|api_key|changeme|change_me|changeit|example|placeholder|redacted|test|testing|dummy|fake|foo|bar|baz|foobar|default)$/i;

/**
 * The words of a value, lowercased: split at anything not a letter or digit, at case changes
 * (`yourApiKey`) and between letters and digits (`token123`).
 */
export function wordsOf(value: string): string[] {
  return value
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/([A-Za-z])(\d)|(\d)([A-Za-z])/g, '$1$3 $2$4')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/**
 * Characters that count up or down: eight in a row (`abcdefgh`, `12345678`, `hgfedcba`), six
 * letters or seven digits among others (`a1b2c3d4e5f6g7`, `abc123def456ghi`), or six hex bytes
 * (`000102030405`, `f0f1f2f3f4f5`). The filler of examples and test vectors.
 */
function hasCountingRun(value: string): boolean {
  if (countsFor(value, 8)) return true;
  // Among hex digits, where `a` to `f` are the only letters, six letters counting is chance.
  const letters = value.replace(/[^A-Za-z]/g, '').toLowerCase();
  if ((/[g-z]/.test(letters) && countsFor(letters, 6)) || countsFor(value.replace(/\D/g, ''), 7)) return true;
  for (const run of value.match(/(?:[0-9a-fA-F]{2}){6,}/g) ?? []) {
    for (let offset = 0; offset < 2; offset++) {
      let count = 1;
      for (let i = offset + 2; i + 2 <= run.length; i += 2) {
        const step = Number.parseInt(run.slice(i, i + 2), 16) - Number.parseInt(run.slice(i - 2, i), 16);
        count = step === 1 ? count + 1 : 1;
        if (count >= 6) return true;
      }
    }
  }
  return false;
}

/** `min` characters in a row, each one more (or one less) than the one before. */
function countsFor(text: string, min: number): boolean {
  let up = 1;
  let down = 1;
  for (let i = 1; i < text.length; i++) {
    const step = text.charCodeAt(i) - text.charCodeAt(i - 1);
    up = step === 1 ? up + 1 : 1;
    down = step === -1 ? down + 1 : 1;
    if (up >= min || down >= min) return true;
  }
  return false;
}

/** Filler: one character over and over, runs of x, *, . or #, or a short unit repeated (`0b0b0b0b…`, `deadbeefdeadbeef`). */
const filler = /^(.)\1*$|x{6,}|X{6,}|\*{3,}|\.{3,}|#{4,}|…|(.)\2{7,}|(.{2,8})\3{3,}/;

/**
 * sha256 prefixes (16 hex digits, as in findings) of values vendors publish in their documentation
 * or ship as public defaults; kept as digests so no token-shaped literal is in the source: the
 * Azure storage emulator's account key (Azurite, `devstoreaccount1`), and gitleaks' allowlist for
 * Google API keys (public keys in open-source apps and docs).
 */
const publishedValues = new Set([
  '0011cc25eb432071',
  'f56e323494a6ffc2',
  '2037abcaffb2b777',
  '3f370c9dd8225c63',
  'e4a5542bb7fd7b67',
  'a19f89ab3555eac1',
  '0b476bdf9acf2123',
  'eb540d2b6ee2a0a4',
  '37f8f09bdf12c2f2',
  '8731261cb72d8626',
  '49f777db995e8260',
  '27a9a42931dff7eb',
  'dc0fcf046c61640c',
  '4c98242dcadc8b29',
  'ea9bb1082cf95663',
  '3a8b61d0f636b007',
  'a6c814bc555ae62c',
]);

export function fingerprintOf(secret: string): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 16);
}

/**
 * True for a value that stands in for a secret rather than being one. `secret` is the whole value
 * found (a token with its prefix, a password); detectors that know a token's fixed prefix pass the
 * variable part as `body` too, so `ghp_xxxxxxxx…` is filler even though `ghp_` is not.
 */
export function isPlaceholder(secret: string, body = secret): boolean {
  const trimmed = secret.trim();
  if (trimmed === '') return true;
  if (placeholderValues.test(trimmed)) return true;
  if (reference.test(trimmed) || slot.test(trimmed)) return true;
  if (filler.test(body) || hasCountingRun(body)) return true;
  if (/EXAMPLE/i.test(trimmed)) return true;
  if (wordsOf(trimmed).some((word) => placeholderWords.has(word))) return true;
  return publishedValues.has(fingerprintOf(trimmed));
}
