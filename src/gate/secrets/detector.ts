/**
 * What a secret detector is: a prefilter (gitleaks' keywords), the files it applies to, and a
 * search that returns where each secret is, never what it is. The scan turns a match into a line
 * number and a fingerprint.
 */
import { shannonEntropy } from './entropy.js';
import { isPlaceholder } from './placeholders.js';

/** Where a secret is in the text: the span that is hashed into the fingerprint. */
export interface SecretMatch {
  index: number;
  length: number;
}

export interface ContentDetector {
  rule: string;
  /**
   * Lowercase text of which every match contains at least one, as gitleaks' `keywords`: a file
   * whose lowercased text has none is skipped before any pattern runs. With `caseSensitive`, they
   * are looked for as written in the raw bytes, so the file need not even be decoded. Empty for a
   * detector whose search is itself a search for keywords (the generic assignments).
   */
  keywords: readonly string[];
  caseSensitive?: boolean;
  /** Only files this accepts are searched; every file when absent. */
  appliesTo?: (path: string) => boolean;
  /**
   * `path` is the file's path in the image, for detectors whose meaning depends on the file;
   * `lower` the text lowercased, when the caller has it at hand.
   */
  find(text: string, path: string, lower?: string): SecretMatch[];
}

export interface RegexDetectorOptions {
  keywords: readonly string[];
  caseSensitive?: boolean;
  /** Global. Every pattern is linear: a hostile file cannot make it backtrack. */
  pattern: RegExp;
  /** The capture group that is the secret; the whole match when absent. */
  group?: number;
  /** gitleaks' `entropy`: the secret must have more bits per character than this. */
  entropy?: number;
  /** The variable part of a secret, for the placeholder check (the token without its prefix). */
  body?: (secret: string) => string;
  /** A further check, e.g. a structure the regex cannot express; the placeholder check runs first. */
  accept?: (secret: string, file: { text: string; path: string; index: number }) => boolean;
  appliesTo?: (path: string) => boolean;
}

export function regexDetector(rule: string, options: RegexDetectorOptions): ContentDetector {
  return {
    rule,
    keywords: options.keywords,
    ...(options.caseSensitive ? { caseSensitive: true } : {}),
    ...(options.appliesTo ? { appliesTo: options.appliesTo } : {}),
    find(text, path) {
      const matches: SecretMatch[] = [];
      for (const match of text.matchAll(options.pattern)) {
        const secret = options.group === undefined ? match[0] : match[options.group];
        if (secret === undefined || secret === '') continue;
        if (options.entropy !== undefined && shannonEntropy(secret) <= options.entropy) continue;
        if (isPlaceholder(secret, options.body ? options.body(secret) : secret)) continue;
        const offset = options.group === undefined ? 0 : match[0].indexOf(secret);
        const index = match.index + offset;
        if (options.accept && !options.accept(secret, { text, path, index })) continue;
        matches.push({ index, length: secret.length });
      }
      return matches;
    },
  };
}

/**
 * gitleaks' secret suffix, `(?:[\x60'"\s;]|\\[nr]|$)`, as a lookahead so it is not part of the
 * match: the token ends at a quote, whitespace, `;`, an escaped newline or the end of the text.
 * Added here: the delimiters of URLs, markup and code (`&`, `#`, `,`, `)`, `]`, `}`, `<`, `>`,
 * `|`), so a key in a query string (`?key=…&callback=…`) or an argument list is found too.
 */
export const tokenEnd = String.raw`(?=[\x60'"\s;&#,)\]}<>|]|\\[nr]|$)`;

/** The file's name, without its folders. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
