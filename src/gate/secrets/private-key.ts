/**
 * PEM and OpenPGP private key blocks, after gitleaks `private-key`: a BEGIN line naming a private
 * key, at least 64 characters of body, and the END line. The body must be base64 (after RFC 1421
 * headers such as `Proc-Type:`), so a BEGIN line in code that parses keys, or a key cut short with
 * `...` in documentation, is not a key; and it must look random, so a body of `XXXX…` is not one
 * either. Keys pasted into JSON, YAML or source code (`\n` escapes, quoted and concatenated lines)
 * are read through their quoting. Labels are matched as written: PEM labels are upper case
 * (RFC 7468 §3), where gitleaks ignores case.
 * RFC 7468 (textual encodings), RFC 4880 §6.2 (OpenPGP armor).
 */
import type { ContentDetector, SecretMatch } from './detector.js';
import { shannonEntropy } from './entropy.js';

const beginLine = /-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----/g;
const endLine = /^-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----/;

/** Random base64 scores 5 to 6 bits per character; a DER key's body well over 4.5. */
const minBodyEntropy = 4.5;
const minBodyLength = 64;

export const privateKeyDetector: ContentDetector = {
  rule: 'HERD-S001',
  keywords: ['-----BEGIN'],
  caseSensitive: true,
  // Linear in the text, whatever a hostile file repeats: each END is searched for once, and of
  // several BEGIN lines before one END only the last can open a block (the others' bodies would
  // hold a BEGIN line), so each body is read once.
  find(text) {
    const matches: SecretMatch[] = [];
    const begin = new RegExp(beginLine.source, 'g');
    let start = begin.exec(text);
    while (start) {
      const end = text.indexOf('-----END', start.index + start[0].length);
      // No END after this BEGIN means none after a later one either.
      if (end < 0) break;
      let last = start;
      for (let next = begin.exec(text); next && next.index < end; next = begin.exec(text)) last = next;
      const match = pemBlock(text, { start: last, end });
      if (match) matches.push(match);
      begin.lastIndex = end + 1;
      start = begin.exec(text);
    }
    return matches;
  },
};

function pemBlock(text: string, at: { start: RegExpExecArray; end: number }): SecretMatch | undefined {
  const endMatch = endLine.exec(text.slice(at.end, at.end + 140));
  if (!endMatch) return undefined;
  const base64 = keyBody(text.slice(at.start.index + at.start[0].length, at.end));
  if (base64 === undefined || base64.length < minBodyLength) return undefined;
  if (shannonEntropy(base64) < minBodyEntropy) return undefined;
  return { index: at.start.index, length: at.end + endMatch[0].length - at.start.index };
}

/** The base64 characters of a key body, or undefined when it holds anything else. */
function keyBody(raw: string): string | undefined {
  const lines = raw
    // `\n` escapes in JSON and source strings, and the quotes and commas around pasted lines.
    .replace(/\\[nrt]/g, '\n')
    .replace(/["'`,;]/g, '')
    .split(/\r?\n/)
    // RFC 1421 and OpenPGP armor headers: `Proc-Type: 4,ENCRYPTED`, `Version: …`.
    .filter((line) => !/^\s*[A-Za-z-]+: /.test(line))
    // A line continued with `+` in source code ends in `+` after its quote was removed.
    .map((line) => line.replace(/\s\+\s*$/, ''));
  const body = lines.join('');
  if (!/^[A-Za-z0-9+/=\s]*$/.test(body)) return undefined;
  return body.replace(/[\s=]/g, '');
}
