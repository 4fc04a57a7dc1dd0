/**
 * deb822 control data (deb822(5)): Packages indexes, Release files, .sources files, the control
 * file of a .deb, and the `/var/lib/dpkg/status.d/<pkg>` entries herd writes back out.
 */
import { architectureProblem, packageNameProblem, poolPathProblem, versionProblem } from './archive-names.js';
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

/** Where a Packages index was read from, for records and error messages. */
export interface IndexOrigin {
  suite: string;
  repository: string;
}

/** Maps every stanza of a Packages index to a PackageRecord, failing closed on a stanza herd cannot trust. */
export function parsePackagesIndex(text: string, origin: IndexOrigin): PackageRecord[] {
  const where = `Packages index of ${origin.repository} ${origin.suite}`;
  return locateParagraphs(text, { origin: where, code: 'INDEX_MALFORMED' }).map((located) =>
    recordFromStanza(located, { origin, where }),
  );
}

const requiredPackageFields = ['Package', 'Version', 'Architecture', 'Filename', 'Size', 'SHA256'] as const;

function recordFromStanza(
  { paragraph, line }: LocatedParagraph,
  context: { origin: IndexOrigin; where: string },
): PackageRecord {
  // One pass to a lowercase map: a Packages index has tens of thousands of stanzas.
  const values = new Map<string, string>();
  for (const [key, value] of paragraph) values.set(key.toLowerCase(), value);
  const get = (name: string) => values.get(name.toLowerCase())?.trim() ?? '';
  const invalid = (why: string) => {
    const stanza = get('Package') ? `stanza "${get('Package')}"` : 'stanza';
    return new DebianError('INDEX_MALFORMED', `${context.where}:${line}: ${stanza} ${why}`);
  };
  for (const name of requiredPackageFields) {
    if (get(name) === '') throw invalid(`lacks the ${name} field`);
  }
  const name = get('Package');
  const version = get('Version');
  const size = get('Size');
  const sha256 = get('SHA256');
  const filename = get('Filename');
  if (!/^\d+$/.test(size)) throw invalid(`has Size "${size}", expected a byte count`);
  if (!/^[0-9a-f]{64}$/.test(sha256))
    throw invalid(`has SHA256 "${sha256}", expected 64 lowercase hex digits`);
  const source = parseSourceField(get('Source'), { name, version });
  if (!source) throw invalid(`has Source "${get('Source')}", expected "name" or "name (version)"`);
  // Names become file names, URLs and cache keys: even a signed index must not name a path.
  const checks: [string, string, string | undefined][] = [
    ['Package', name, packageNameProblem(name)],
    ['Version', version, versionProblem(version)],
    ['Architecture', get('Architecture'), architectureProblem(get('Architecture'))],
    ['Source', source.name, packageNameProblem(source.name)],
    ['Source version', source.version, versionProblem(source.version)],
    ['Filename', filename, poolPathProblem(filename)],
  ];
  for (const [field, value, problem] of checks) {
    if (problem) throw invalid(`has ${field} "${value}": ${problem}`);
  }
  return {
    name,
    version,
    architecture: get('Architecture'),
    source: source.name,
    sourceVersion: source.version,
    ...packageRelationsOf(get),
    filename,
    size: Number(size),
    sha256,
    suite: context.origin.suite,
    repository: context.origin.repository,
    fields: paragraph,
  };
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
