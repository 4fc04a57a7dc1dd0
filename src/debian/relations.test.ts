import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  architectureMatches,
  formatRelationGroup,
  parseRelations,
  type Relation,
  relationsForArchitecture,
} from './relations.js';

describe('parseRelations', () => {
  it('splits groups on commas and alternatives on bars', () => {
    const groups = parseRelations('libc6 (>= 2.34), mawk | gawk, zlib1g');

    assert.deepEqual(groups, [
      [{ name: 'libc6', op: '>=', version: '2.34' }],
      [{ name: 'mawk' }, { name: 'gawk' }],
      [{ name: 'zlib1g' }],
    ]);
  });

  it('reads every operator and turns the obsolete < and > into <= and >=', () => {
    const ops = ['<<', '<=', '=', '>=', '>>', '<', '>'].map(
      (op) => parseRelations(`a (${op} 1:2.0-1)`)[0]?.[0]?.op,
    );

    assert.deepEqual(ops, ['<<', '<=', '=', '>=', '>>', '<=', '>=']);
  });

  it('accepts missing or extra spaces and folded lines', () => {
    const groups = parseRelations('a(>=1.0) ,\n  b ( << 2 )  |c:any\n');

    assert.deepEqual(groups, [
      [{ name: 'a', op: '>=', version: '1.0' }],
      [
        { name: 'b', op: '<<', version: '2' },
        { name: 'c', archQualifier: 'any' },
      ],
    ]);
  });

  it('reads architecture qualifiers, architecture lists and build profiles', () => {
    const [[relation] = []] = parseRelations(
      'python3:native (>= 3.11) [amd64 !i386] <!nocheck> <cross stage1>',
    );

    assert.deepEqual(relation, {
      name: 'python3',
      archQualifier: 'native',
      op: '>=',
      version: '3.11',
      arches: ['amd64', '!i386'],
      profiles: [['!nocheck'], ['cross', 'stage1']],
    });
  });

  it('reads versioned Provides entries', () => {
    const groups = parseRelations('libssl (= 3.0.11), awk');

    assert.deepEqual(groups, [[{ name: 'libssl', op: '=', version: '3.0.11' }], [{ name: 'awk' }]]);
  });

  it('gives no groups for an empty field and skips empty groups from stray commas', () => {
    assert.deepEqual(parseRelations(''), []);
    assert.deepEqual(parseRelations('a, , b,'), [[{ name: 'a' }], [{ name: 'b' }]]);
  });

  it('rejects malformed relations with RELATION_INVALID naming the context', () => {
    for (const bad of ['a (>= )', 'a (~ 1)', 'a | | b', '(>= 1)', 'a b', 'a [amd64']) {
      assert.throws(
        () => parseRelations(bad, { context: 'Depends of x 1' }),
        { code: 'RELATION_INVALID', message: /Depends of x 1/ },
        bad,
      );
    }
  });
});

describe('relationsForArchitecture', () => {
  it('drops alternatives restricted to other architectures, and groups left empty', () => {
    const groups = parseRelations('a [i386], b [amd64] | c [!amd64], d [!amd64 !arm64], e');

    const kept = relationsForArchitecture(groups, 'amd64');

    assert.deepEqual(kept.map(formatRelationGroup), ['b [amd64]', 'e']);
  });

  it('matches architecture wildcards the way dpkg-architecture does', () => {
    assert.equal(architectureMatches('any', 'arm64'), true);
    assert.equal(architectureMatches('linux-any', 'amd64'), true);
    assert.equal(architectureMatches('any-amd64', 'amd64'), true);
    assert.equal(architectureMatches('any-amd64', 'kfreebsd-amd64'), true);
    assert.equal(architectureMatches('linux-any', 'hurd-i386'), false);
    assert.equal(architectureMatches('any-i386', 'amd64'), false);
    assert.equal(architectureMatches('arm64', 'amd64'), false);
  });
});

describe('formatRelationGroup', () => {
  it('writes relations back in control-file syntax', () => {
    const group: Relation[] = [
      { name: 'a', archQualifier: 'any', op: '>=', version: '1' },
      { name: 'b', arches: ['!i386'] },
    ];

    assert.equal(formatRelationGroup(group), 'a:any (>= 1) | b [!i386]');
  });
});
