/**
 * deb822 control data (deb822(5)): Packages indexes, Release files, .sources files, the control
 * file of a .deb, and the `/var/lib/dpkg/status.d/<pkg>` entries herd writes back out.
 */
import { DebianError, type DebianErrorCode } from './errors.js';
import type { PackageRecord } from './types.js';

/**
 * One paragraph (stanza), fields in file order. A multi-line value keeps its continuation lines
 * raw, leading space and ` .` lines included: `"first\n second\n .\n third"`. A value whose first
 * line is empty (like Release's `SHA256:`) starts with `\n`.
 */
export type Paragraph = [string, string][];

export interface ControlParseOptions {
  /** `#` lines are comments in .sources files, but not in Packages or Release files. */
  comments?: boolean;
  /** Names the text in errors, e.g. the file path or URL. */
  origin?: string;
}

/** A paragraph and the 1-based line it starts on, for error messages. */
interface LocatedParagraph {
  paragraph: Paragraph;
  line: number;
}

export function parseControlParagraphs(text: string, options: ControlParseOptions = {}): Paragraph[] {
  return locateParagraphs(text, { ...options, code: 'CONTROL_MALFORMED' }).map(
    (located) => located.paragraph,
  );
}

/** The value of a field, by case-insensitive name, as deb822 field names are. */
export function field(paragraph: Paragraph, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of paragraph) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

/**
 * Writes a paragraph back as deb822 text ending in one newline. Continuation lines are written as
 * they were parsed; lines built by code without a leading space get one, and empty lines become
 * ` .`, so the output always parses back to the same paragraph.
 */
export function formatControlParagraph(paragraph: Paragraph): string {
  let out = '';
  for (const [name, value] of paragraph) {
    const [first = '', ...rest] = value.split('\n');
    out += first === '' ? `${name}:` : `${name}: ${first}`;
    for (const line of rest) {
      const trimmed = line.trimEnd();
      if (trimmed.trim() === '') out += '\n .';
      else out += /^[ \t]/.test(trimmed) ? `\n${trimmed}` : `\n ${trimmed}`;
    }
    out += '\n';
  }
  return out;
}

/** The fields of a PackageRecord that a stanza gives as they are, whatever it came from. */
export type PackageRelations = Pick<
  PackageRecord,
  | 'depends'
  | 'preDepends'
  | 'recommends'
  | 'provides'
  | 'conflicts'
  | 'breaks'
  | 'multiArch'
  | 'essential'
  | 'priority'
>;

/** `get` gives a field's trimmed value, '' when absent. */
export function packageRelationsOf(get: (name: string) => string): PackageRelations {
  const multiArch = get('Multi-Arch');
  const priority = get('Priority');
  // Relation fields may be folded over several lines; the relation parser reads one line.
  const relation = (field: string) => get(field).replace(/\s*\n\s*/g, ' ');
  return {
    depends: relation('Depends'),
    preDepends: relation('Pre-Depends'),
    recommends: relation('Recommends'),
    provides: relation('Provides'),
    conflicts: relation('Conflicts'),
    breaks: relation('Breaks'),
    ...(multiArch ? { multiArch } : {}),
    essential: get('Essential').toLowerCase() === 'yes',
    ...(priority ? { priority } : {}),
  };
}

/** `openssl` or `openssl (3.0.11-1)`; undefined when the field is there but unreadable. */
export function parseSourceField(
  value: string,
  binary: { name: string; version: string },
): { name: string; version: string } | undefined {
  const text = value.trim();
  if (text === '') return binary;
  const match = /^(\S+)(?:\s+\((\S+)\))?$/.exec(text);
  if (!match) return undefined;
  return { name: match[1] ?? binary.name, version: match[2] ?? binary.version };
}

function locateParagraphs(
  text: string,
  options: ControlParseOptions & { code: DebianErrorCode },
): LocatedParagraph[] {
  const paragraphs: LocatedParagraph[] = [];
  let current: LocatedParagraph | undefined;
  // Lowercased names of the current paragraph; an array beats a Set at twenty-odd fields.
  let seen: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = (lines[index] as string).trimEnd();
    if (line === '') {
      if (current) paragraphs.push(current);
      current = undefined;
      seen = [];
      continue;
    }
    const first = line.charCodeAt(0);
    if (first === 0x23 && options.comments) continue;
    if (first === 0x20 || first === 0x09) {
      const last = current?.paragraph.at(-1);
      if (!last)
        throw syntaxError(options, {
          line: index + 1,
          why: `continuation line "${line}" has no field to continue`,
        });
      last[1] = `${last[1]}\n${line}`;
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!isFieldName(name)) {
      throw syntaxError(options, { line: index + 1, why: `expected "Field: value", got "${line}"` });
    }
    const key = name.toLowerCase();
    if (seen.includes(key)) {
      throw syntaxError(options, { line: index + 1, why: `field ${name} appears twice in one paragraph` });
    }
    seen.push(key);
    current ??= { paragraph: [], line: index + 1 };
    current.paragraph.push([name, line.slice(colon + 1).trimStart()]);
  }
  if (current) paragraphs.push(current);
  return paragraphs;
}

/** deb822(5): printable US-ASCII except colon, not starting with `#` or `-`. */
function isFieldName(name: string): boolean {
  if (name === '' || name.startsWith('#') || name.startsWith('-')) return false;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code < 0x21 || code > 0x7e || code === 0x3a) return false;
  }
  return true;
}

function syntaxError(
  options: ControlParseOptions & { code: DebianErrorCode },
  at: { line: number; why: string },
): DebianError {
  return new DebianError(options.code, `${options.origin ?? 'control data'}:${at.line}: ${at.why}`);
}
