/**
 * dpkg's version order, ported from dpkg's lib/dpkg/version.c so that herd agrees with
 * `dpkg --compare-versions` on every input (version.test.ts checks this against dpkg itself).
 * Debian Policy §5.6.12: https://www.debian.org/doc/debian-policy/ch-controlfields.html#version
 */
import { DebianError } from './errors.js';

/** `[epoch:]upstream[-revision]`, split the way dpkg splits it. */
export interface DebianVersion {
  epoch: number;
  upstream: string;
  /** Empty when the version has no hyphen; dpkg then compares it as if it were `0`. */
  revision: string;
}

/** Relation operators of Policy §7.1. `<` and `>` are the obsolete spellings of `<=` and `>=`. */
export type VersionOperator = '<<' | '<=' | '=' | '>=' | '>>';
export type ObsoleteVersionOperator = '<' | '>';

/** dpkg rejects epochs that do not fit a C int. */
const maxEpoch = 2 ** 31 - 1;

/**
 * Splits a version. Throws VERSION_INVALID only where dpkg refuses to compare (empty parts, a bad
 * epoch, embedded spaces); characters that dpkg merely warns about are accepted, as dpkg accepts them.
 */
export function parseDebianVersion(version: string): DebianVersion {
  const text = version.trim();
  const fail = (why: string): never => {
    throw new DebianError('VERSION_INVALID', `invalid debian version "${version}": ${why}`);
  };
  if (text === '') fail('it is empty');
  if (/\s/.test(text)) fail('it contains spaces');
  let epoch = 0;
  let rest = text;
  const colon = text.indexOf(':');
  if (colon >= 0) {
    const epochText = text.slice(0, colon);
    if (epochText === '') fail('the epoch before ":" is empty');
    // dpkg parses the epoch with strtol, so a leading sign is accepted: `+1:1.0` equals `1:1.0`.
    if (!/^[+-]?\d+$/.test(epochText)) fail(`the epoch "${epochText}" is not a number`);
    epoch = Number(epochText);
    if (epoch < 0) fail(`the epoch ${epochText} is negative`);
    if (epoch > maxEpoch) fail(`the epoch ${epochText} is larger than ${maxEpoch}`);
    rest = text.slice(colon + 1);
  }
  const hyphen = rest.lastIndexOf('-');
  const upstream = hyphen >= 0 ? rest.slice(0, hyphen) : rest;
  const revision = hyphen >= 0 ? rest.slice(hyphen + 1) : '';
  if (upstream === '') fail('the upstream version is empty');
  if (hyphen >= 0 && revision === '') fail('the revision after "-" is empty');
  return { epoch, upstream, revision };
}

/** Negative when a sorts before b, zero when dpkg considers them equal, positive otherwise. */
export function compareDebianVersions(a: string, b: string): number {
  const left = parseDebianVersion(a);
  const right = parseDebianVersion(b);
  if (left.epoch !== right.epoch) return left.epoch < right.epoch ? -1 : 1;
  return (
    compareVersionPart(left.upstream, right.upstream) || compareVersionPart(left.revision, right.revision)
  );
}

/** Whether `version` satisfies `op target`, as in `Depends: foo (>= 1.2)`. */
export function satisfiesRelation(
  version: string,
  op: VersionOperator | ObsoleteVersionOperator,
  target: string,
): boolean {
  const order = compareDebianVersions(version, target);
  switch (op) {
    case '<<':
      return order < 0;
    case '<=':
    case '<':
      return order <= 0;
    case '=':
      return order === 0;
    case '>=':
    case '>':
      return order >= 0;
    case '>>':
      return order > 0;
  }
}

/**
 * dpkg's verrevcmp: alternate non-digit runs (compared character by character with `order`) and
 * digit runs (compared as numbers of any size: leading zeros dropped, then length, then digits).
 */
function compareVersionPart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a, i)) || (j < b.length && !isDigit(b, j))) {
      const left = characterOrder(a, i);
      const right = characterOrder(b, j);
      if (left !== right) return left < right ? -1 : 1;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    let firstDifference = 0;
    while (isDigit(a, i) && isDigit(b, j)) {
      if (firstDifference === 0) firstDifference = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a, i)) return 1;
    if (isDigit(b, j)) return -1;
    if (firstDifference !== 0) return firstDifference < 0 ? -1 : 1;
  }
  return 0;
}

/** `~` sorts before the end of a part, which sorts with digits, before letters, before the rest. */
function characterOrder(text: string, index: number): number {
  if (index >= text.length || isDigit(text, index)) return 0;
  const code = text.charCodeAt(index);
  if (isLetter(code)) return code;
  if (code === 0x7e) return -1;
  return code + 256;
}

function isDigit(text: string, index: number): boolean {
  const code = text.charCodeAt(index);
  return code >= 0x30 && code <= 0x39;
}

function isLetter(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}
