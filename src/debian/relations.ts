/**
 * Relationship fields (Depends, Pre-Depends, Recommends, Provides, Conflicts, Breaks), Debian
 * Policy §7.1: https://www.debian.org/doc/debian-policy/ch-relationships.html
 * `a (>= 1) | b:any [amd64 !i386] <!nocheck>, c` is two groups: all groups must hold, and one
 * alternative of each group.
 */
import { DebianError } from './errors.js';
import type { VersionOperator } from './version.js';

export interface Relation {
  name: string;
  /** `any`, `native` or an architecture name, from `name:qualifier`. */
  archQualifier?: string;
  /** The obsolete `<` and `>` are read as `<=` and `>=`, as Policy §7.1 says. */
  op?: VersionOperator;
  version?: string;
  /** `[amd64 !i386]`: the relation holds only on the listed architectures (or all but the `!` ones). */
  arches?: string[];
  /** `<!nocheck> <cross>`: build profile formulas; binary packages never carry them. */
  profiles?: string[][];
}

/** Alternatives: one of them must hold. */
export type RelationGroup = Relation[];

const operators: Record<string, VersionOperator> = {
  '<<': '<<',
  '<=': '<=',
  '=': '=',
  '>=': '>=',
  '>>': '>>',
  '<': '<=',
  '>': '>=',
};

const relationPattern =
  /^([A-Za-z0-9][A-Za-z0-9+.\-_]*)(?::([A-Za-z0-9-]+))?\s*(?:\(\s*(<<|<=|>=|>>|=|<|>)\s*([A-Za-z0-9.+~:-]+)\s*\))?\s*(?:\[([^\]]*)\])?\s*((?:<[^>]*>\s*)*)$/;

/**
 * Parses a relationship field. `context` names the field in errors, e.g. `Depends of curl 7.88.1-10`.
 * An empty field gives no groups; empty groups from stray commas are skipped, as dpkg does.
 */
export function parseRelations(text: string, options: { context?: string } = {}): RelationGroup[] {
  const groups: RelationGroup[] = [];
  for (const groupText of text.split(',')) {
    if (groupText.trim() === '') continue;
    groups.push(groupText.split('|').map((alternative) => parseRelation(alternative, options)));
  }
  return groups;
}

function parseRelation(text: string, options: { context?: string }): Relation {
  const trimmed = text.replace(/\s+/g, ' ').trim();
  const match = relationPattern.exec(trimmed);
  if (!match) {
    const where = options.context ? ` in ${options.context}` : '';
    throw new DebianError(
      'RELATION_INVALID',
      `invalid relation "${trimmed}"${where}: expected "name[:arch] [(op version)] [[arches]] [<profiles>]"`,
    );
  }
  const [, name = '', archQualifier, op, version, arches, profiles] = match;
  const relation: Relation = { name };
  if (archQualifier) relation.archQualifier = archQualifier;
  if (op && version) {
    relation.op = operators[op] as VersionOperator;
    relation.version = version;
  }
  if (arches !== undefined) relation.arches = arches.split(/\s+/).filter(Boolean);
  if (profiles) {
    relation.profiles = [...profiles.matchAll(/<([^>]*)>/g)].map((m) =>
      (m[1] ?? '').split(/\s+/).filter(Boolean),
    );
  }
  return relation;
}

/** Writes a relation the way it appears in a control file, for messages and reasons. */
export function formatRelation(relation: Relation): string {
  let text = relation.archQualifier ? `${relation.name}:${relation.archQualifier}` : relation.name;
  if (relation.op && relation.version) text += ` (${relation.op} ${relation.version})`;
  if (relation.arches) text += ` [${relation.arches.join(' ')}]`;
  for (const profile of relation.profiles ?? []) text += ` <${profile.join(' ')}>`;
  return text;
}

export function formatRelationGroup(group: RelationGroup): string {
  return group.map(formatRelation).join(' | ');
}

/**
 * Keeps only the relations that apply on `architecture`. A group whose every alternative is
 * restricted away is dropped: Policy §7.1 says it is then ignored, not unsatisfiable.
 */
export function relationsForArchitecture(groups: RelationGroup[], architecture: string): RelationGroup[] {
  const kept: RelationGroup[] = [];
  for (const group of groups) {
    const applicable = group.filter((relation) => appliesToArchitecture(relation, architecture));
    if (applicable.length > 0) kept.push(applicable);
  }
  return kept;
}

/** `[amd64 arm64]` holds on those; `[!i386]` holds everywhere but i386; no list holds everywhere. */
export function appliesToArchitecture(relation: Relation, architecture: string): boolean {
  const arches = relation.arches;
  if (!arches || arches.length === 0) return true;
  const negated = arches.filter((arch) => arch.startsWith('!')).map((arch) => arch.slice(1));
  if (negated.length > 0) return !negated.some((pattern) => architectureMatches(pattern, architecture));
  return arches.some((pattern) => architectureMatches(pattern, architecture));
}

/**
 * dpkg-architecture wildcards: `any`, `linux-any` (an OS), `any-amd64` (a CPU). A plain Debian
 * architecture name like `amd64` means `linux-amd64`; others carry their OS, like `hurd-i386`.
 */
export function architectureMatches(pattern: string, architecture: string): boolean {
  if (pattern === 'any' || pattern === architecture) return true;
  const [os, cpu] = splitArchitecture(architecture);
  const dash = pattern.indexOf('-');
  if (dash < 0) return false;
  const patternOs = pattern.slice(0, dash);
  const patternCpu = pattern.slice(dash + 1);
  return (patternOs === 'any' || patternOs === os) && (patternCpu === 'any' || patternCpu === cpu);
}

const knownOperatingSystems = ['kfreebsd', 'knetbsd', 'hurd', 'darwin', 'freebsd', 'netbsd', 'openbsd'];

function splitArchitecture(architecture: string): [string, string] {
  const dash = architecture.indexOf('-');
  if (dash > 0 && knownOperatingSystems.includes(architecture.slice(0, dash))) {
    return [architecture.slice(0, dash), architecture.slice(dash + 1)];
  }
  return ['linux', architecture];
}
