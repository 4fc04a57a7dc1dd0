import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { field, formatControlParagraph, parseControlParagraphs, parsePackagesIndex } from './control.js';

const sha = 'a'.repeat(64);
const origin = { suite: 'bookworm', repository: 'http://mirror.example/debian/' };

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

describe('parsePackagesIndex', () => {
  const stanza = (extra: string) =>
    `Package: libssl3\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\n${extra}Filename: pool/main/o/openssl/libssl3.deb\nSize: 2025\nSHA256: ${sha}\n`;

  it('maps stanza fields to a record and keeps the whole stanza', () => {
    const text = stanza(
      'Source: openssl (3.0.11-1)\nMulti-Arch: same\nPriority: optional\nDepends: libc6 (>= 2.34),\n zlib1g\nPre-Depends: debconf\nRecommends: ca-certificates\nProvides: libssl (= 3)\nConflicts: libssl1\nBreaks: old (<< 2)\n',
    );

    const [record] = parsePackagesIndex(text, origin);

    assert.deepEqual(
      { ...record, fields: undefined },
      {
        name: 'libssl3',
        version: '3.0.11-1~deb12u2',
        architecture: 'amd64',
        source: 'openssl',
        sourceVersion: '3.0.11-1',
        depends: 'libc6 (>= 2.34), zlib1g',
        preDepends: 'debconf',
        recommends: 'ca-certificates',
        provides: 'libssl (= 3)',
        conflicts: 'libssl1',
        breaks: 'old (<< 2)',
        multiArch: 'same',
        essential: false,
        priority: 'optional',
        filename: 'pool/main/o/openssl/libssl3.deb',
        size: 2025,
        sha256: sha,
        suite: 'bookworm',
        repository: 'http://mirror.example/debian/',
        fields: undefined,
      },
    );
    assert.equal(record?.fields[0]?.[0], 'Package');
    assert.equal(record?.fields.length, 15);
  });

  it('takes the package name and version as the source when Source is absent or has no version', () => {
    const [absent, bare] = parsePackagesIndex(`${stanza('')}\n${stanza('Source: openssl\n')}`, origin);

    assert.deepEqual([absent?.source, absent?.sourceVersion], ['libssl3', '3.0.11-1~deb12u2']);
    assert.deepEqual([bare?.source, bare?.sourceVersion], ['openssl', '3.0.11-1~deb12u2']);
  });

  it('reads Essential: yes', () => {
    const [record] = parsePackagesIndex(stanza('Essential: yes\n'), origin);

    assert.equal(record?.essential, true);
  });

  it('fails with INDEX_MALFORMED naming the index and line when a required field is missing', () => {
    const text = `${stanza('')}\nPackage: broken\nVersion: 1\nArchitecture: all\nFilename: pool/b.deb\nSize: 1\n`;

    assert.throws(() => parsePackagesIndex(text, origin), {
      code: 'INDEX_MALFORMED',
      message: /http:\/\/mirror\.example\/debian\/ bookworm:8: stanza "broken" lacks the SHA256 field/,
    });
  });

  it('fails with INDEX_MALFORMED on a bad size, digest or filename', () => {
    const bad = [
      stanza('').replace('Size: 2025', 'Size: big'),
      stanza('').replace(sha, 'XYZ'),
      stanza('').replace('pool/main', '../../etc'),
      stanza('').replace('pool/main/o/openssl/libssl3.deb', '/etc/passwd'),
      stanza('Source: openssl (1) junk\n'),
    ];

    for (const text of bad)
      assert.throws(() => parsePackagesIndex(text, origin), { code: 'INDEX_MALFORMED' }, text);
  });

  it('refuses a package name, version or architecture that could be read as a path, naming field and value', () => {
    const hostile = [
      { text: stanza('').replace('Package: libssl3', 'Package: ../../x'), field: 'Package "../../x"' },
      {
        text: stanza('').replace('Version: 3.0.11-1~deb12u2', 'Version: 1.0/../../x'),
        field: 'Version "1.0/../../x"',
      },
      {
        text: stanza('').replace('Architecture: amd64', 'Architecture: ../amd64'),
        field: 'Architecture "../amd64"',
      },
      { text: stanza('Source: ../evil\n'), field: 'Source "../evil"' },
      { text: stanza('Source: openssl (1/2)\n'), field: 'Source version "1/2"' },
      {
        text: stanza('').replace('pool/main/o', 'pool/%2e%2e/%2E%2e'),
        field: 'Filename "pool/%2e%2e/%2E%2e/openssl/libssl3.deb"',
      },
    ];

    for (const { text, field } of hostile) {
      assert.throws(
        () => parsePackagesIndex(text, origin),
        (error: { code?: string; message?: string }) => {
          assert.equal(error.code, 'INDEX_MALFORMED');
          assert.ok(error.message?.includes(`has ${field}: `), error.message);
          return true;
        },
      );
    }
  });

  it('reports syntax errors in an index as INDEX_MALFORMED', () => {
    assert.throws(() => parsePackagesIndex(' stray\n', origin), { code: 'INDEX_MALFORMED' });
  });
});
