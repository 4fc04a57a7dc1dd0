import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { compareDebianVersions, parseDebianVersion, satisfiesRelation } from './version.js';

const orderedPairs: [string, string][] = [
  ['1.0', '1.1'],
  ['1.0~rc1', '1.0'],
  ['1.0~~', '1.0~'],
  ['1.0~~', '1.0~~a'],
  ['1.0~~a', '1.0~'],
  ['1.0', '1.0a'],
  ['1.0a', '1.0+'],
  ['1.0a', '1.0aa'],
  ['1.0Z', '1.0a'],
  ['1.0+', '1.0.'],
  ['1.0', '1.0.0'],
  ['1.9', '1.10'],
  ['1.0-1', '1.0-2'],
  ['1.0-9', '1.0-10'],
  ['1.0-1', '1.0.1-1'],
  ['1.0-1', '1.0-1+deb12u1'],
  ['1.0-1~bpo12+1', '1.0-1'],
  ['2.0', '1:0.1'],
  ['1:9.9', '2:0.1'],
  ['3.0.11-1~deb12u2', '3.0.11-1'],
  ['99999999999999999999', '100000000000000000000'],
  ['1.18446744073709551615', '1.18446744073709551616'],
  ['7.88.1-10', '7.88.1-10+deb12u5'],
];

const equalPairs: [string, string][] = [
  ['1.0', '1.0'],
  ['0:1.0', '1.0'],
  ['1.0', '1.0-0'],
  ['1.01', '1.1'],
  ['1.000', '1.0'],
  ['00:1.0', '1.0'],
  ['1.0-00', '1.0'],
  ['1.0000000000000000000000001', '1.1'],
];

describe('compareDebianVersions', () => {
  for (const [lower, higher] of orderedPairs) {
    it(`sorts ${lower} before ${higher}`, () => {
      assert.ok(compareDebianVersions(lower, higher) < 0);
      assert.ok(compareDebianVersions(higher, lower) > 0);
    });
  }

  for (const [a, b] of equalPairs) {
    it(`treats ${a} and ${b} as the same version`, () => {
      assert.equal(compareDebianVersions(a, b), 0);
      assert.equal(compareDebianVersions(b, a), 0);
    });
  }

  it('sorts a shuffled list into dpkg order', () => {
    const expected = ['1.0~~', '1.0~~a', '1.0~', '1.0', '1.0-0.1', '1.0a', '1.0+b1', '1.0.1', '1:0.1'];
    const shuffled = [...expected].reverse();

    const sorted = shuffled.sort(compareDebianVersions);

    assert.deepEqual(sorted, expected);
  });

  it('refuses versions that dpkg refuses, with VERSION_INVALID', () => {
    for (const bad of ['', ' ', ':1.0', 'a:1.0', '1.0-', '1:', '1 0', '99999999999:1.0']) {
      assert.throws(() => compareDebianVersions(bad, '1.0'), { code: 'VERSION_INVALID' }, bad);
    }
  });
});

describe('parseDebianVersion', () => {
  it('splits the epoch at the first colon and the revision at the last hyphen', () => {
    const parsed = parseDebianVersion('2:1.2-3:4-5');

    assert.deepEqual(parsed, { epoch: 2, upstream: '1.2-3:4', revision: '5' });
  });

  it('defaults to epoch 0 and an empty revision', () => {
    assert.deepEqual(parseDebianVersion('1.2.3'), { epoch: 0, upstream: '1.2.3', revision: '' });
  });
});

describe('satisfiesRelation', () => {
  const cases: [string, Parameters<typeof satisfiesRelation>[1], string, boolean][] = [
    ['1.0', '<<', '1.1', true],
    ['1.1', '<<', '1.1', false],
    ['1.1', '<=', '1.1', true],
    ['1.2', '<=', '1.1', false],
    ['1.1', '=', '1.1-0', true],
    ['1.1', '=', '1.1-1', false],
    ['1.1', '>=', '1.1', true],
    ['1.0', '>=', '1.1', false],
    ['1.2', '>>', '1.1', true],
    ['1.1', '>>', '1.1', false],
    ['1.1', '<', '1.1', true],
    ['1.2', '<', '1.1', false],
    ['1.1', '>', '1.1', true],
    ['1.0', '>', '1.1', false],
  ];
  for (const [version, op, target, expected] of cases) {
    it(`says ${version} ${op} ${target} is ${expected}`, () => {
      assert.equal(satisfiesRelation(version, op, target), expected);
    });
  }
});

describe('compareDebianVersions against dpkg', () => {
  it('agrees with dpkg --compare-versions on generated version pairs', () => {
    const random = seededRandom(0x5eed);
    const pairs = Array.from({ length: 600 }, () => generatePair(random));

    const verdicts = dpkgVerdicts(pairs);

    const disagreements = pairs
      .map(([a, b], index) => ({ a, b, dpkg: verdicts[index], herd: verdictOf(compareDebianVersions(a, b)) }))
      .filter((row) => row.dpkg !== row.herd);
    assert.deepEqual(disagreements, []);
  });
});

type Verdict = 'lt' | 'eq' | 'gt';

function verdictOf(order: number): Verdict {
  return order < 0 ? 'lt' : order > 0 ? 'gt' : 'eq';
}

/** One shell runs dpkg for every pair, so the oracle costs one spawn plus dpkg's own start-up. */
function dpkgVerdicts(pairs: [string, string][]): string[] {
  const probe = spawnSync('dpkg', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    assert.fail(
      'dpkg is the oracle for the version order and was not found: install dpkg (apt-get install dpkg)',
    );
  }
  const script = [
    'while read -r a b; do',
    '  dpkg --compare-versions "$a" lt "$b"; r=$?',
    '  if [ "$r" = 0 ]; then echo lt; continue; fi',
    '  if [ "$r" != 1 ]; then echo "error $r"; continue; fi',
    '  if dpkg --compare-versions "$a" eq "$b"; then echo eq; else echo gt; fi',
    'done',
  ].join('\n');
  const result = spawnSync('sh', ['-c', script], {
    input: pairs.map(([a, b]) => `${a} ${b}\n`).join(''),
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr, '', 'dpkg warned about a generated version; the generator must stay valid');
  const lines = result.stdout.trimEnd().split('\n');
  assert.equal(lines.length, pairs.length);
  return lines;
}

/** Versions as tokens, so pairs can be near-misses of each other rather than two random strings. */
interface VersionShape {
  epoch?: string;
  upstream: string[];
  revision?: string[];
}

function generatePair(random: () => number): [string, string] {
  const a = generateShape(random);
  const b = random() < 0.25 ? generateShape(random) : mutateShape(a, random);
  return [renderShape(a), renderShape(b)];
}

function generateShape(random: () => number): VersionShape {
  const upstream = [digitToken(random)];
  const extra = Math.floor(random() * 5);
  for (let i = 0; i < extra; i++) upstream.push(anyToken(random));
  const shape: VersionShape = { upstream };
  if (random() < 0.3) shape.epoch = pick(random, ['0', '1', '2', '10', '01', '00']);
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
    switch (Math.floor(random() * 8)) {
      case 0:
        target[index] = target === next.upstream && index === 0 ? digitToken(random) : anyToken(random);
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
        if (next.epoch === undefined) next.epoch = pick(random, ['0', '1', '00']);
        else delete next.epoch;
        break;
      case 5:
        if (next.revision) delete next.revision;
        else next.revision = random() < 0.5 ? ['0'] : revisionTokens(random);
        break;
      case 6:
        target.push(pick(random, ['~', '~~', '+', '.']));
        if (target === next.upstream || random() < 0.5) target.push(anyToken(random));
        break;
      default:
        target[index] = (target[index] ?? '').replace(/[~+.]/, pick(random, ['~', '+', '.']));
    }
  }
  return next;
}

function renderShape(shape: VersionShape): string {
  const epoch = shape.epoch === undefined ? '' : `${shape.epoch}:`;
  const revision = shape.revision ? `-${shape.revision.join('')}` : '';
  return `${epoch}${shape.upstream.join('')}${revision}`;
}

function revisionTokens(random: () => number): string[] {
  const tokens = [random() < 0.7 ? digitToken(random) : anyToken(random)];
  if (random() < 0.5) tokens.push(anyToken(random));
  return tokens;
}

function anyToken(random: () => number): string {
  const roll = random();
  if (roll < 0.35) return digitToken(random);
  if (roll < 0.6) return letterToken(random);
  return pick(random, ['.', '+', '~', '~~', '.0', '+b', '~rc', '~bpo', '+deb12u', '.dfsg', 'a~', '~~~']);
}

function digitToken(random: () => number): string {
  const roll = random();
  if (roll < 0.05) return '184467440737095516160';
  if (roll < 0.1) return `00${Math.floor(random() * 100)}`;
  return String(Math.floor(random() * (roll < 0.6 ? 10 : 2000)));
}

function letterToken(random: () => number): string {
  const letters = 'abczABCZ';
  const length = 1 + Math.floor(random() * 3);
  return Array.from({ length }, () => letters[Math.floor(random() * letters.length)]).join('');
}

function pick<T>(random: () => number, items: T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

/** mulberry32: a fixed seed keeps failures reproducible. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
