/**
 * gitleaks' keyword prefilter: a detector runs on a file only if the file contains one of its
 * keywords. gitleaks finds all keywords in one pass with Aho-Corasick; here one regular expression
 * of every keyword (longest first) runs once over the lowercased text, restarting one character
 * after each hit so no occurrence is hidden by an overlapping one. That is a few times cheaper
 * than one `includes` per keyword, and a byte loop in JavaScript costs more than either.
 * Case-sensitive keywords (`-----BEGIN`, `SK`) are looked for in the raw bytes instead, so most
 * package files are never decoded.
 */
import type { ContentDetector } from './detector.js';

export class KeywordIndex {
  private readonly pattern: RegExp | undefined;
  /** For each keyword, the keywords that are its prefixes (itself included): present whenever it is. */
  private readonly implied = new Map<string, string[]>();

  constructor(detectors: readonly ContentDetector[]) {
    // Detectors bound to file names (`.npmrc`, `.netrc`) run on few files: their keywords are
    // looked for one by one there, not in every file.
    const keywords = [
      ...new Set(
        detectors
          .filter((d) => !d.caseSensitive && !d.appliesTo)
          .flatMap((d) => d.keywords.map((k) => k.toLowerCase())),
      ),
    ].sort((a, b) => b.length - a.length);
    for (const keyword of keywords) {
      this.implied.set(
        keyword,
        keywords.filter((other) => keyword.startsWith(other)),
      );
    }
    this.pattern =
      keywords.length === 0
        ? undefined
        : new RegExp(keywords.map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  }

  /** Whether `keywordsIn` looks for this keyword. */
  covers(keyword: string): boolean {
    return this.implied.has(keyword);
  }

  /** Every keyword in `lower` (a lowercased text). */
  keywordsIn(lower: string): Set<string> {
    const present = new Set<string>();
    if (!this.pattern) return present;
    const pattern = new RegExp(this.pattern.source, 'g');
    for (let hit = pattern.exec(lower); hit; hit = pattern.exec(lower)) {
      for (const keyword of this.implied.get(hit[0]) ?? []) present.add(keyword);
      // An occurrence that starts inside this one (`_auth` in `npm_auth`) is found on the next turn.
      pattern.lastIndex = hit.index + 1;
    }
    return present;
  }
}

/** A file's text, decoded once and lowercased once, on demand, and the keywords it holds. */
export class FileText {
  private decoded?: string;
  private lowered?: string;
  private keywords?: Set<string>;
  private readonly bytes = new Map<string, boolean>();

  constructor(
    private readonly data: Buffer,
    private readonly index: KeywordIndex,
  ) {}

  get text(): string {
    this.decoded ??= this.data.toString('utf8');
    return this.decoded;
  }

  /** The lowercased text if the prefilter needed it already, so no caller lowercases it twice. */
  get lowerIfRead(): string | undefined {
    return this.lowered;
  }

  /** Lowercased; the same length as `text` for all but a few characters (`İ`), which callers check. */
  get lower(): string {
    this.lowered ??= this.text.toLowerCase();
    return this.lowered;
  }

  mayContain(detector: ContentDetector): boolean {
    if (detector.keywords.length === 0) return true;
    if (detector.caseSensitive) {
      return detector.keywords.some((keyword) => {
        let found = this.bytes.get(keyword);
        if (found === undefined) {
          found = this.data.includes(keyword);
          this.bytes.set(keyword, found);
        }
        return found;
      });
    }
    return detector.keywords.some((keyword) => {
      const lower = keyword.toLowerCase();
      if (!this.index.covers(lower)) return this.lower.includes(lower);
      this.keywords ??= this.index.keywordsIn(this.lower);
      return this.keywords.has(lower);
    });
  }
}
