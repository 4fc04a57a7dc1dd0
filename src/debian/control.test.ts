import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { field, formatControlParagraph, parseControlParagraphs } from './control.js';

const sha = 'a'.repeat(64);

describe('parseControlParagraphs', () => {
  it('keeps fields in file order and multi-line values raw, " ." lines included', () => {
    const text = 'Package: hello\nDescription: greets\n the world\n .\n politely\nVersion: 1.0\n';

    const paragraphs = parseControlParagraphs(text);

    assert.deepEqual(paragraphs, [
      [
        ['Package', 'hello'],
        ['Description', 'greets\n the world\n .\n politely'],
        ['Version', '1.0'],
      ],
    ]);
  });

  it('starts a value with a newline when its first line is empty, as in Release SHA256 sections', () => {
    const text = `SHA256:\n ${sha} 123 main/binary-amd64/Packages\n`;

    const [paragraph] = parseControlParagraphs(text);

    assert.equal(field(paragraph ?? [], 'SHA256'), `\n ${sha} 123 main/binary-amd64/Packages`);
  });

  it('splits paragraphs on blank and whitespace-only lines and ignores extra ones', () => {
    const text = '\n\nA: 1\n\n \t\n\nB: 2\nC: 3\n\n\n';

    const paragraphs = parseControlParagraphs(text);

    assert.deepEqual(paragraphs, [
      [['A', '1']],
      [
        ['B', '2'],
        ['C', '3'],
      ],
    ]);
  });

  it('reads CRLF line endings and drops trailing whitespace', () => {
    const text = 'Package: hello  \r\nDepends: libc6,\r\n zlib1g \t\r\n\r\nPackage: two\r\n';

    const paragraphs = parseControlParagraphs(text);

    assert.deepEqual(paragraphs, [
      [
        ['Package', 'hello'],
        ['Depends', 'libc6,\n zlib1g'],
      ],
      [['Package', 'two']],
    ]);
  });

  it('looks fields up by case-insensitive name', () => {
    const [paragraph = []] = parseControlParagraphs('Multi-Arch: same\n');

    assert.equal(field(paragraph, 'multi-arch'), 'same');
    assert.equal(field(paragraph, 'MULTI-ARCH'), 'same');
    assert.equal(field(paragraph, 'Package'), undefined);
  });

  it('skips comment lines only when comments are enabled, as for .sources files', () => {
    const text = '# my mirror\nTypes: deb\n# URIs: http://old/\nURIs: http://mirror.example/debian\n';

    const paragraphs = parseControlParagraphs(text, { comments: true });

    assert.deepEqual(paragraphs, [
      [
        ['Types', 'deb'],
        ['URIs', 'http://mirror.example/debian'],
      ],
    ]);
    assert.throws(() => parseControlParagraphs(text), { code: 'CONTROL_MALFORMED' });
  });

  it('rejects a continuation line with no field before it, naming the line', () => {
    assert.throws(() => parseControlParagraphs('A: 1\n\n continued\n', { origin: 'x.sources' }), {
      code: 'CONTROL_MALFORMED',
      message: /^x\.sources:3: /,
    });
  });

  it('rejects a line that is neither a field nor a continuation', () => {
    assert.throws(() => parseControlParagraphs('Package hello\n'), { code: 'CONTROL_MALFORMED' });
    assert.throws(() => parseControlParagraphs(': empty name\n'), { code: 'CONTROL_MALFORMED' });
  });

  it('rejects a field that appears twice in one paragraph, whatever its case', () => {
    assert.throws(() => parseControlParagraphs('SHA256: a\nsha256: b\n'), {
      code: 'CONTROL_MALFORMED',
      message: /appears twice/,
    });
  });
});

describe('formatControlParagraph', () => {
  it('writes a parsed paragraph back byte for byte', () => {
    const text = `Package: hello\nDescription: greets\n the world\n .\n\tpolitely\nSHA256:\n ${sha} 1 x\n`;

    const [paragraph = []] = parseControlParagraphs(text);

    assert.equal(formatControlParagraph(paragraph), text);
  });

  it('indents continuation lines built by code and writes empty ones as " ."', () => {
    const formatted = formatControlParagraph([
      ['Package', 'hello'],
      ['Description', 'short\nlong text\n\nmore'],
    ]);

    assert.equal(formatted, 'Package: hello\nDescription: short\n long text\n .\n more\n');
    assert.deepEqual(parseControlParagraphs(formatted)[0], [
      ['Package', 'hello'],
      ['Description', 'short\n long text\n .\n more'],
    ]);
  });
});
