/**
 * Version pairs for the version-order check: real archive versions paired with their near
 * neighbours, with each other and with edited copies of themselves, plus generated edge cases
 * (epochs, `~`, `+`, revisions, letters against digits, leading zeros, huge numbers, and versions
 * dpkg only warns about or refuses). Deterministic: the same seed gives the same pairs.
 */
import type { ArchiveVersions } from './archive-versions.js';

export type PairKind =
  | 'archive-neighbours'
  | 'archive-same-package'
  | 'archive-random'
  | 'archive-edited'
  | 'generated';

export interface VersionPair {
  a: string;
  b: string;
  kind: PairKind;
}

/** Hand-picked pairs that have tripped implementations of the order before. */
const knownTricky: [string, string][] = [
  ['1.0~rc1', '1.0'],
  ['1.0~~', '1.0~'],
  ['1.0~', '1.0'],
  ['1.0', '1.0+'],
  ['1.0', '1.0a'],
  ['1.0a', '1.0+'],
  ['1.0A', '1.0a'],
  ['1.0.', '1.0+'],
  ['1.0-1', '1.0.1-1'],
  ['1.0-1', '1.0-1.1'],
  ['1:1.0', '2.0'],
  ['0:1.0', '1.0'],
  ['00:1.0', '1.0'],
  ['1.0-0', '1.0'],
  ['1.01', '1.1'],
  ['1.0-1+deb12u1', '1.0-1'],
  ['1.0-1~deb12u1', '1.0-1'],
  ['1.0-1~bpo12+1', '1.0-1~deb12u1'],
  ['2:1.2.3-1:2', '2:1.2.3-1:2'],
  ['1.2-3-4', '1.2-3.4'],
  ['99999999999999999999', '100000000000000000000'],
  ['2147483647:1', '2147483648:1'],
  ['a', '1'],
  ['1.0#', '1.0'],
  ['1:', '1'],
  ['1.0-', '1.0'],
  [':1.0', '1.0'],
  ['a:1.0', '1.0'],
  // dpkg reads the epoch with strtol(), which takes a sign.
  ['+1:1.0', '1:1.0'],
  ['+0:1.0', '1.0'],
  [' 1.0', '1.0 '],
  ['1 0', '1.0'],
  ['1.0~~a', '1.0~'],
  ['1.2.3+really1.2.2-1', '1.2.3-1'],
  ['7.88.1-10+deb12u5', '7.88.1-10+deb12u12'],
];

export function versionPairs(archive: ArchiveVersions, options: { seed: number }): VersionPair[] {
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const pairs: VersionPair[] = [];
  const versions = archive.versions;

  // Neighbours in plain string order share long prefixes: the comparisons that decide near-misses.
  for (let i = 1; i < versions.length; i++) {
    pairs.push({ a: versions[i - 1]!, b: versions[i]!, kind: 'archive-neighbours' });
  }
  // The same package across suites: the updates and security fixes that matching compares.
  for (const set of archive.byPackage.values()) {
    const list = [...set];
    for (let i = 1; i < list.length; i++)
      pairs.push({ a: list[0]!, b: list[i]!, kind: 'archive-same-package' });
  }
  for (let i = 0; i < 20_000; i++)
    pairs.push({ a: pick(versions), b: pick(versions), kind: 'archive-random' });
  for (let i = 0; i < 30_000; i++) {
    const original = pick(versions);
    const edited = editVersion(original, random);
    pairs.push(
      random() < 0.5
        ? { a: original, b: edited, kind: 'archive-edited' }
        : { a: edited, b: original, kind: 'archive-edited' },
    );
  }
  for (const [a, b] of knownTricky) {
    pairs.push({ a, b, kind: 'generated' }, { a: b, b: a, kind: 'generated' });
  }
  for (let i = 0; i < 30_000; i++) {
    const a = generateShape(random);
    const b = random() < 0.3 ? generateShape(random) : mutateShape(a, random);
    pairs.push({ a: renderShape(a), b: renderShape(b), kind: 'generated' });
  }
  // `dpkg --compare-versions` takes an argument starting with '-' for an option, so such a version
  // cannot be compared by dpkg at all; no archive version starts with one.
  return pairs.filter((pair) => !pair.a.startsWith('-') && !pair.b.startsWith('-'));
}

/** One small edit of a real version: the kind of difference a fix, a backport or a rebuild makes. */
function editVersion(version: string, random: () => number): string {
  const hyphen = version.lastIndexOf('-');
  const colon = version.indexOf(':');
  switch (Math.floor(random() * 14)) {
    case 0:
      return `${version}~rc1`;
    case 1:
      return `${version}~`;
    case 2:
      return `${version}+b1`;
    case 3:
      return hyphen > colon ? `${version}+deb12u${1 + Math.floor(random() * 12)}` : `${version}-1`;
    case 4:
      return hyphen > colon
        ? `${version.slice(0, hyphen)}-${version.slice(hyphen + 1)}~deb12u1`
        : `${version}-0.1`;
    case 5:
      return colon >= 0 ? `${Number(version.slice(0, colon)) + 1}${version.slice(colon)}` : `1:${version}`;
    case 6:
      return colon >= 0 ? version.slice(colon + 1) : `0:${version}`;
    case 7:
      return hyphen > colon ? version.slice(0, hyphen) : `${version}-0`;
    case 8:
      // Bump one digit run, or pad it with a leading zero (equal in dpkg's eyes).
      return version.replace(/\d+/, (run) => (random() < 0.5 ? String(BigInt(run) + 1n) : `0${run}`));
    case 9:
      return version.replace(/\d+(?!.*\d)/, (run) => String(BigInt(run) + 1n));
    case 10:
      return `${version}.0`;
    case 11:
      return `${version}a`;
    case 12:
      return version.replace(/[a-z]/, (letter) => letter.toUpperCase());
    default:
      return version.replace(/\./, random() < 0.5 ? '+' : '~');
  }
}

/** A version as tokens, so pairs can be near-misses of each other rather than two random strings. */
interface VersionShape {
  epoch?: string;
  upstream: string[];
  revision?: string[];
}

const digitRuns = [
  '0',
  '00',
  '1',
  '01',
  '2',
  '9',
  '10',
  '11',
  '99',
  '100',
  '007',
  '4294967296',
  '18446744073709551616',
];
const letterRuns = ['a', 'b', 'z', 'A', 'Z', 'rc', 'beta', 'dfsg', 'ds', 'git', 'really', 'b1', 'deb12u'];
const separators = ['.', '+', '~', '~~', '-', ':', '.', '.'];
const epochs = ['0', '1', '2', '10', '01', '00', '2147483647', '2147483648', 'a', ''];

function generateShape(random: () => number): VersionShape {
  const upstream = [random() < 0.97 ? pickOf(random, digitRuns) : pickOf(random, letterRuns)];
  const extra = Math.floor(random() * 6);
  for (let i = 0; i < extra; i++) upstream.push(anyToken(random));
  const shape: VersionShape = { upstream };
  if (random() < 0.3)
    shape.epoch = random() < 0.97 ? pickOf(random, epochs.slice(0, 6)) : pickOf(random, epochs);
  if (random() < 0.6) shape.revision = revisionTokens(random);
  return shape;
}

function mutateShape(shape: VersionShape, random: () => number): VersionShape {
  const next: VersionShape = { ...shape, upstream: [...shape.upstream] };
  if (shape.revision) next.revision = [...shape.revision];
  const mutations = 1 + Math.floor(random() * 2);
  for (let m = 0; m < mutations; m++) {
    const target = next.revision && random() < 0.35 ? next.revision : next.upstream;
    const index = Math.floor(random() * target.length);
    switch (Math.floor(random() * 9)) {
      case 0:
        target[index] = anyToken(random);
        break;
      case 1:
        target.push(anyToken(random));
        break;
      case 2:
        if (target.length > 1) target.pop();
        break;
      case 3:
        if (/^\d/.test(target[index] ?? '')) target[index] = `0${target[index]}`;
        break;
      case 4:
        target.push(random() < 0.5 ? '~' : '+');
        break;
      case 5:
        next.epoch = next.epoch === undefined ? '1' : undefined;
        break;
      case 6:
        if (next.revision) delete next.revision;
        else next.revision = revisionTokens(random);
        break;
      case 7:
        target[index] = (target[index] ?? '').toUpperCase();
        break;
      default:
        target.splice(index, 0, pickOf(random, separators));
    }
  }
  return next;
}

function anyToken(random: () => number): string {
  const roll = random();
  if (roll < 0.4) return pickOf(random, separators);
  if (roll < 0.7) return pickOf(random, digitRuns);
  if (roll < 0.98) return pickOf(random, letterRuns);
  // Characters dpkg warns about but still compares, and a space it refuses.
  return pickOf(random, ['_', '#', ' ']);
}

function revisionTokens(random: () => number): string[] {
  const tokens = [random() < 0.9 ? pickOf(random, digitRuns) : pickOf(random, letterRuns)];
  const extra = Math.floor(random() * 3);
  for (let i = 0; i < extra; i++)
    tokens.push(pickOf(random, ['.', '+', '~', 'deb12u', 'b', 'bpo', 'ubuntu', ...digitRuns]));
  return tokens;
}

function renderShape(shape: VersionShape): string {
  const epoch = shape.epoch === undefined ? '' : `${shape.epoch}:`;
  const revision = shape.revision ? `-${shape.revision.join('')}` : '';
  return `${epoch}${shape.upstream.join('')}${revision}`;
}

function pickOf<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** mulberry32: small, fast and the same on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
