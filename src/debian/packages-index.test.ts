import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { maxStanzaBytes, PackagesIndexParser, parsePackagesIndex } from './packages-index.js';

const sha = 'a'.repeat(64);
const origin = { suite: 'bookworm', repository: 'http://mirror.example/debian/' };

describe('parsePackagesIndex', () => {
  const stanza = (extra: string) =>
    `Package: libssl3\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\n${extra}Filename: pool/main/o/openssl/libssl3.deb\nSize: 2025\nSHA256: ${sha}\n`;

  it('maps stanza fields to a record of those fields alone', () => {
    const text = stanza(
      'Source: openssl (3.0.11-1)\nMulti-Arch: same\nPriority: optional\nDepends: libc6 (>= 2.34),\n zlib1g\nPre-Depends: debconf\nRecommends: ca-certificates\nProvides: libssl (= 3)\nConflicts: libssl1\nBreaks: old (<< 2)\n',
    );

    const [record] = parsePackagesIndex(text, origin);

    assert.deepEqual(
      { ...record },
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
      },
    );
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

describe('parsePackagesIndex on bytes', () => {
  const stanza = (extra: string) =>
    `Package: libssl3\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\n${extra}Filename: pool/main/o/openssl/libssl3.deb\nSize: 2025\nSHA256: ${sha}\n`;

  it('reads the same records from a Buffer, CRLF lines and lowercase field names included', () => {
    const text = `${stanza('Depends: libc6,\n zlib1g\n')}\n${stanza('')}`;
    const crlf = text.replaceAll('\n', '\r\n').replace('Package: libssl3', 'package: libssl3');

    const fromText = parsePackagesIndex(text, origin);
    const fromBytes = parsePackagesIndex(Buffer.from(crlf, 'utf8'), origin);

    assert.deepEqual(fromBytes, fromText);
    assert.equal(fromBytes[0]?.depends, 'libc6, zlib1g');
    assert.equal(fromBytes[0]?.name, 'libssl3');
  });

  it('treats a line of blanks as the end of a stanza, as deb822 does', () => {
    const records = parsePackagesIndex(`${stanza('')}  \t\n${stanza('')}`, origin);

    assert.equal(records.length, 2);
  });

  it('refuses a field given twice in one stanza, whatever its case, naming the line', () => {
    assert.throws(() => parsePackagesIndex(stanza('depends: a\nDEPENDS: b\n'), origin), {
      code: 'INDEX_MALFORMED',
      message: /bookworm:5: field DEPENDS appears twice in one paragraph/,
    });
  });

  it('tells apart many fields of one stanza, and finds the one given twice among them', () => {
    // More names than the 64 bits the scanner first checks a name against, so some share a bit.
    const many = Array.from({ length: 100 }, (_, i) => `X-Field-${i}: ${i}\n`).join('');
    assert.equal(parsePackagesIndex(stanza(many), origin).length, 1);

    assert.throws(() => parsePackagesIndex(stanza(`${many}x-field-37: again\n`), origin), {
      code: 'INDEX_MALFORMED',
      message: /bookworm:104: field x-field-37 appears twice in one paragraph/,
    });
  });

  it('refuses a field name with a space or a leading "#" or "-"', () => {
    for (const line of ['Bad Name: x\n', '#Comment: x\n', '-Dash: x\n', 'no colon here\n']) {
      assert.throws(() => parsePackagesIndex(stanza(line), origin), { code: 'INDEX_MALFORMED' }, line);
    }
  });
});

describe('PackagesIndexParser', () => {
  const stanza = (name: string, extra = '') =>
    `Package: ${name}\nVersion: 1.0-1\nArchitecture: amd64\n${extra}Filename: pool/main/${name}.deb\nSize: 20\nSHA256: ${sha}\n`;
  /** The index pushed in chunks of `size` bytes. */
  const parsedIn = (text: string, size: number) => {
    const bytes = Buffer.from(text);
    const parser = new PackagesIndexParser(origin);
    for (let at = 0; at < bytes.length; at += size) parser.push(bytes.subarray(at, at + size));
    return parser;
  };
  it('gives parsePackagesIndex records, however the index is cut', () => {
    const text = [
      stanza('pa', 'Depends: pb,\n pc\n'),
      stanza('pb'),
      `\n${stanza('pc', 'Description: x\n .\n more\n')}`,
      stanza('pd'),
    ].join('\n');

    for (const size of [1, 2, 3, 7, 64, 4096]) {
      const parser = parsedIn(text, size);
      const records = parser.records();

      assert.deepEqual(records, parsePackagesIndex(text, origin), `chunks of ${size}`);
    }
  });

  it('holds the first error until the records are asked for, with the line counted from the start', () => {
    const text = `${stanza('pa')}\n${stanza('pb')}\n${stanza('pc').replace(/Size: 20\n/, '')}\n${stanza('pd')}`;
    const expected =
      /^Packages index of http:\/\/mirror\.example\/debian\/ bookworm:15: stanza "pc" lacks the Size field$/;
    assert.throws(() => parsePackagesIndex(text, origin), { code: 'INDEX_MALFORMED', message: expected });

    for (const size of [1, 5, 100]) {
      const parser = parsedIn(text, size);
      parser.end();

      assert.throws(() => parser.records(), { code: 'INDEX_MALFORMED', message: expected });
    }
  });

  it('refuses a run of bytes with no blank line past maxStanzaBytes, naming the index and line', () => {
    const parser = new PackagesIndexParser(origin);
    parser.push(Buffer.from(`${stanza('pa')}\n`));
    const zeros = Buffer.alloc(64 * 1024);
    for (let sent = 0; sent <= maxStanzaBytes; sent += zeros.length) parser.push(zeros);
    parser.push(Buffer.from(`\n\n${stanza('pb')}`));

    assert.throws(() => parser.records(), {
      code: 'INDEX_MALFORMED',
      message: new RegExp(`bookworm:8: a stanza runs past ${maxStanzaBytes} bytes without ending`),
    });
  });

  it('makes records of strings, numbers and booleans only, holding none of the index bytes', () => {
    const [record] = parsedIn(stanza('pa', 'Depends: pb\n'), 3).records();

    for (const [key, value] of Object.entries(record ?? {})) {
      assert.ok(['string', 'number', 'boolean'].includes(typeof value), `${key} is a ${typeof value}`);
    }
  });
});
