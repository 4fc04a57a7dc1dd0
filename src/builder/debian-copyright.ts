/**
 * Licenses from a package's machine-readable copyright file (Debian's copyright-format 1.0, "DEP-5",
 * at /usr/share/doc/<package>/copyright, which herd keeps in the image) as one SPDX license
 * expression. Only what is clear is said: a file in another format, a Files paragraph without a
 * License, or a name the table does not know makes the whole package undefined (NOASSERTION in the
 * SBOMs), never a partial or guessed answer.
 */

import { spdxOfDebianException, spdxOfDebianLicense } from './debian-license-names.js';
import { fileBytes } from './file-content.js';
import type { ImageTree } from './image-tree.js';

/** The paragraphs of a deb822 text: fields by lowercase name, continuation lines joined by `\n`. */
export function deb822Paragraphs(text: string): Map<string, string>[] {
  const paragraphs: Map<string, string>[] = [];
  let current = new Map<string, string>();
  let field: string | undefined;
  for (const line of text.replace(/\r\n/g, '\n').split('\n')) {
    if (line.trim() === '') {
      if (current.size > 0) paragraphs.push(current);
      current = new Map();
      field = undefined;
      continue;
    }
    if (line.startsWith('#')) continue;
    if (/^[ \t]/.test(line)) {
      if (field !== undefined) current.set(field, `${current.get(field) ?? ''}\n${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      field = undefined;
      continue;
    }
    field = line.slice(0, colon).trim().toLowerCase();
    current.set(field, line.slice(colon + 1).trim());
  }
  if (current.size > 0) paragraphs.push(current);
  return paragraphs;
}

/** Whether the header's Format names copyright-format 1.0 (or its draft, "dep5"). */
function isMachineReadable(header: Map<string, string> | undefined): boolean {
  const format = header?.get('format') ?? header?.get('format-specification');
  return format !== undefined && /copyright-format\/1\.0|\/dep-?5/i.test(format);
}

/**
 * The SPDX expression for a copyright file: the licenses of all its Files paragraphs, each once,
 * sorted and combined with AND. Undefined when the file is not DEP-5 or any name is not clear.
 */
export function spdxLicenseOfCopyright(text: string): string | undefined {
  const [header, ...rest] = deb822Paragraphs(text);
  if (!isMachineReadable(header)) return undefined;
  const files = rest.filter((p) => p.has('files'));
  if (files.length === 0) return undefined;
  const expressions = new Set<string>();
  for (const paragraph of files) {
    const name = paragraph.get('license')?.split('\n')[0]?.trim();
    if (!name) return undefined;
    const expression = spdxOfDebianExpression(name);
    if (expression === undefined) return undefined;
    expressions.add(expression);
  }
  const sorted = [...expressions].sort();
  if (sorted.length === 1) return sorted[0];
  return sorted.map(grouped).join(' AND ');
}

/**
 * One License field's first line, in Debian's syntax, as SPDX: `or` and `and` (and binds tighter),
 * a comma to group (`GPL-2+ or Artistic, and BSD-3-clause`), `<name> with <x> exception`.
 */
export function spdxOfDebianExpression(text: string): string | undefined {
  const [first, ...later] = text.split(',');
  let expression = first === undefined ? undefined : spdxOfGroup(first);
  for (const part of later) {
    const match = /^\s*(and|or)\s+(.+)$/i.exec(part);
    const next = match?.[2] ? spdxOfGroup(match[2]) : undefined;
    if (expression === undefined || next === undefined || !match?.[1]) return undefined;
    expression = `${grouped(expression)} ${match[1].toUpperCase()} ${grouped(next)}`;
  }
  return expression;
}

function spdxOfGroup(text: string): string | undefined {
  const alternatives: string[] = [];
  for (const alternative of text.trim().split(/\s+or\s+/i)) {
    const terms: string[] = [];
    for (const term of alternative.split(/\s+and\s+/i)) {
      const spdx = spdxOfTerm(term.trim());
      if (spdx === undefined) return undefined;
      terms.push(spdx);
    }
    alternatives.push(terms.length === 1 ? (terms[0] as string) : terms.map(grouped).join(' AND '));
  }
  return alternatives.length === 1 ? alternatives[0] : alternatives.map(grouped).join(' OR ');
}

function spdxOfTerm(term: string): string | undefined {
  const match = /^(\S+)(?:\s+with\s+(\S+)\s+exception)?$/i.exec(term);
  if (!match?.[1]) return undefined;
  const license = spdxOfDebianLicense[debianLicenseKey(match[1])];
  if (license === undefined) return undefined;
  if (match[2] === undefined) return license;
  const exception = spdxOfDebianException[match[2].toLowerCase()];
  // SPDX puts WITH on a single license id, never on a group like Perl's.
  if (exception === undefined || license.includes(' ')) return undefined;
  return `${license} WITH ${exception}`;
}

/**
 * The table's key for a name as packages spell it: lowercase, `GPLv3+` as `gpl-3+`, and a `.0`
 * before `+` or at the end of a GNU license dropped (`GPL-2.0+` is `gpl-2+`).
 */
export function debianLicenseKey(name: string): string {
  const lower = name.toLowerCase().replace(/^(a?gpl|lgpl|gfdl)v(\d)/, '$1-$2');
  return /^(a?gpl|lgpl)-/.test(lower) ? lower.replace(/^((?:a?gpl|lgpl)-\d)\.0(\+?)$/, '$1$2') : lower;
}

/** Parenthesizes a compound expression so it can be an operand. */
function grouped(expression: string): string {
  return expression.includes(' ') && !isOneGroup(expression) ? `(${expression})` : expression;
}

/** `(A OR B)` is one group; `(A) AND (B)` starts and ends with parentheses but is not. */
function isOneGroup(expression: string): boolean {
  if (!expression.startsWith('(')) return false;
  let depth = 0;
  for (let i = 0; i < expression.length; i++) {
    if (expression[i] === '(') depth++;
    else if (expression[i] === ')') depth--;
    if (depth === 0 && i < expression.length - 1) return false;
  }
  return depth === 0;
}

/**
 * The package's copyright file in the image tree. Some packages ship their doc folder as a
 * symlink to a sibling package's (libgcc-s1 → gcc-12-base); one such link is followed.
 */
export function copyrightTextOf(tree: ImageTree, packageName: string): string | undefined {
  const direct = tree.get(`usr/share/doc/${packageName}/copyright`);
  if (direct?.type === 'file') return fileBytes(direct).toString('utf8');
  const folder = tree.get(`usr/share/doc/${packageName}`);
  const target = folder?.type === 'symlink' ? folder.target : undefined;
  if (!target || target.includes('/') || target === '..' || target === '.') return undefined;
  const linked = tree.get(`usr/share/doc/${target}/copyright`);
  return linked?.type === 'file' ? fileBytes(linked).toString('utf8') : undefined;
}

/** Package name → SPDX expression, for the packages whose license is clear. */
export function spdxLicensesOf(tree: ImageTree, packageNames: readonly string[]): Map<string, string> {
  const licenses = new Map<string, string>();
  for (const name of packageNames) {
    const text = copyrightTextOf(tree, name);
    const license = text === undefined ? undefined : spdxLicenseOfCopyright(text);
    if (license !== undefined) licenses.set(name, license);
  }
  return licenses;
}
