import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { maxRegexPatternLength, nestedQuantifierAt, regexPatternProblem } from './regex-pattern.js';

describe('a regular expression from herd.yaml', () => {
  it('takes the patterns an acceptance check is written with', () => {
    for (const source of [
      'hello',
      '^text/plain',
      '^application/json(;\\s*charset=utf-8)?$',
      '"status":\\s*"ok"',
      '^(\\d{1,3}\\.){3}\\d{1,3}$',
      '(\\d{4}-)+',
      '[(+*)]+',
      '\\(a+\\)+',
      '(?:ab)+c*',
      '^(?<word>\\w+) \\k<word>$',
      'a{2}',
      '{not a count}+',
    ]) {
      assert.equal(regexPatternProblem(source), undefined, source);
    }
  });

  it('refuses a pattern that does not compile, saying why without repeating the engine prefix', () => {
    assert.equal(
      regexPatternProblem('a(b'),
      'expected a regular expression (JavaScript syntax), got "a(b": unterminated group',
    );
    assert.equal(
      regexPatternProblem('*start'),
      'expected a regular expression (JavaScript syntax), got "*start": nothing to repeat',
    );
  });

  it(`refuses a pattern longer than ${maxRegexPatternLength} characters before compiling it`, () => {
    assert.equal(regexPatternProblem('a'.repeat(maxRegexPatternLength)), undefined);
    assert.equal(
      regexPatternProblem('('.repeat(5000)),
      'expected a regular expression of at most 1024 characters, got 5000',
    );
    assert.equal(
      regexPatternProblem('a'.repeat(maxRegexPatternLength + 1)),
      'expected a regular expression of at most 1024 characters, got 1025',
    );
  });

  it('refuses an unbounded repetition of a group that repeats inside, the catastrophic shapes', () => {
    for (const [source, at] of [
      ['^(a+)+$', 4],
      ['(a*)*b', 3],
      ['(\\w+\\s?)*$', 7],
      ['^(x{1,3})+y', 8],
      ['((ab)+c)*', 7],
      ['(a+){2,}', 3],
      ['(?:[a-z]+\\.)+example$', 11],
      ['(a+?)+?', 4],
    ] as const) {
      assert.equal(nestedQuantifierAt(source), at, source);
      assert.match(
        regexPatternProblem(source) ?? '',
        new RegExp(
          `^expected a regular expression without a repeated group that repeats inside .*character ${at + 1} `,
        ),
        source,
      );
    }
  });

  it('takes a bounded repetition of a repeating group, whose cost is polynomial', () => {
    for (const source of ['(a+){3}', '(a+){1,5}', '(a+)?', '(a+)b+']) {
      assert.equal(nestedQuantifierAt(source), undefined, source);
    }
  });
});
