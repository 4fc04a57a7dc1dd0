import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import parseSpdxExpression from 'spdx-expression-parse';
import {
  copyrightTextOf,
  deb822Paragraphs,
  debianLicenseKey,
  spdxLicenseOfCopyright,
  spdxLicensesOf,
  spdxOfDebianExpression,
} from './debian-copyright.js';
import { spdxOfDebianException, spdxOfDebianLicense } from './debian-license-names.js';
import { ImageTree } from './image-tree.js';

const header =
  'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: x\n';

function dep5(...licenses: string[]): string {
  const files = licenses.map((l, i) => `Files: part${i}/*\nCopyright: 2024 Someone\nLicense: ${l}\n`);
  return [
    header,
    ...files,
    'License: GPL-2+\n On Debian systems, see /usr/share/common-licenses/GPL-2.\n',
  ].join('\n');
}

describe('the Debian license name table', () => {
  it('maps the names the issue names to their SPDX ids', () => {
    assert.equal(spdxOfDebianLicense['gpl-2+'], 'GPL-2.0-or-later');
    assert.equal(spdxOfDebianLicense['lgpl-2.1+'], 'LGPL-2.1-or-later');
    assert.equal(spdxOfDebianLicense.expat, 'MIT');
    assert.equal(spdxOfDebianLicense['bsd-3-clause'], 'BSD-3-Clause');
    assert.equal(spdxOfDebianLicense['apache-2.0'], 'Apache-2.0');
    assert.equal(spdxOfDebianLicense.artistic, 'Artistic-1.0');
  });

  it("maps every name to an expression of the SPDX license list's ids", () => {
    for (const spdx of Object.values(spdxOfDebianLicense)) {
      assert.doesNotThrow(() => parseSpdxExpression(spdx), spdx);
    }
    for (const [license, exception] of Object.entries(spdxOfDebianException)) {
      assert.doesNotThrow(() => parseSpdxExpression(`GPL-2.0-or-later WITH ${exception}`), license);
    }
  });

  it('writes expressions that parse as SPDX, however Debian grouped them', () => {
    for (const text of ['GPL-2+ or Artistic, and BSD-3-clause', 'GPL-2+ or Expat and ISC', 'Perl and Zlib']) {
      const spdx = spdxOfDebianExpression(text);
      assert.ok(spdx, text);
      assert.doesNotThrow(() => parseSpdxExpression(spdx), spdx);
    }
  });

  it('has lowercase keys and values made of SPDX ids, so every lookup can hit', () => {
    for (const [name, spdx] of Object.entries(spdxOfDebianLicense)) {
      assert.equal(name, name.toLowerCase(), name);
      assert.match(spdx, /^\(?[A-Za-z0-9.+-]+( (OR|AND) [A-Za-z0-9.+-]+)*\)?$/, spdx);
    }
  });
});

describe('debianLicenseKey', () => {
  it('reads the spellings packages use for the GNU licenses as the table writes them', () => {
    assert.equal(debianLicenseKey('GPL-2.0+'), 'gpl-2+');
    assert.equal(debianLicenseKey('GPLv3+'), 'gpl-3+');
    assert.equal(debianLicenseKey('LGPL-2.1+'), 'lgpl-2.1+');
    assert.equal(debianLicenseKey('GPL-3.0'), 'gpl-3');
    assert.equal(debianLicenseKey('Apache-2.0'), 'apache-2.0');
  });
});

describe('spdxOfDebianExpression', () => {
  it('turns or into OR and keeps names case-insensitively', () => {
    assert.equal(spdxOfDebianExpression('GPL-2+ or artistic'), 'GPL-2.0-or-later OR Artistic-1.0');
  });

  it('lets and bind tighter than or, and a comma group what comes before it', () => {
    assert.equal(spdxOfDebianExpression('GPL-2+ or Expat and ISC'), 'GPL-2.0-or-later OR (MIT AND ISC)');
    assert.equal(
      spdxOfDebianExpression('GPL-2+ or Artistic, and BSD-3-clause'),
      '(GPL-2.0-or-later OR Artistic-1.0) AND BSD-3-Clause',
    );
  });

  it('writes a known exception with WITH', () => {
    assert.equal(
      spdxOfDebianExpression('GPL-3+ with Autoconf exception'),
      'GPL-3.0-or-later WITH Autoconf-exception-2.0',
    );
  });

  it('says nothing for an unknown name or exception', () => {
    assert.equal(spdxOfDebianExpression('public-domain'), undefined);
    assert.equal(spdxOfDebianExpression('GPL-2+ or custom-license'), undefined);
    assert.equal(spdxOfDebianExpression('GPL-2+ with OpenSSL-unknown exception'), undefined);
  });
});

describe('spdxLicenseOfCopyright', () => {
  it('combines the licenses of all Files paragraphs with AND, each once, sorted', () => {
    const text = dep5('GPL-2+', 'LGPL-2.1+', 'GPL-2+', 'Expat or Apache-2.0');

    assert.equal(
      spdxLicenseOfCopyright(text),
      'GPL-2.0-or-later AND LGPL-2.1-or-later AND (MIT OR Apache-2.0)',
    );
  });

  it('reads only the first line of a License field, and ignores stand-alone License paragraphs', () => {
    const text = `${header}\nFiles: *\nCopyright: 2020 A\nLicense: BSD-3-clause\n Redistribution and use...\n .\n more text\n\nLicense: Artistic\n text\n`;

    assert.equal(spdxLicenseOfCopyright(text), 'BSD-3-Clause');
  });

  it('reads the older dep5 Format line and CRLF line ends', () => {
    const text = 'Format: http://dep.debian.net/deps/dep5\r\n\r\nFiles: *\r\nLicense: GPL-3+\r\n';

    assert.equal(spdxLicenseOfCopyright(text), 'GPL-3.0-or-later');
  });

  it('says nothing for a free-form copyright file, however license-like', () => {
    const text = 'This package was debianized by someone.\n\nLicense: GPL-2+\n';

    assert.equal(spdxLicenseOfCopyright(text), undefined);
  });

  it('says nothing when one Files paragraph is unclear, rather than a partial answer', () => {
    assert.equal(spdxLicenseOfCopyright(dep5('GPL-2+', 'public-domain')), undefined);
    assert.equal(spdxLicenseOfCopyright(`${header}\nFiles: *\nCopyright: x\n`), undefined);
  });

  it('keeps a continuation line from being read as a field', () => {
    const paragraphs = deb822Paragraphs('Files: *\nLicense: GPL-2+\n License: Expat\n');

    assert.equal(paragraphs[0]?.get('license'), 'GPL-2+\nLicense: Expat');
  });
});

describe('copyrightTextOf', () => {
  function tree(): ImageTree {
    const t = new ImageTree();
    const file = (path: string, text: string) =>
      t.add({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, data: Buffer.from(text), owner: 'p' });
    file('usr/share/doc/gcc-12-base/copyright', dep5('GPL-3+'));
    t.add({
      path: 'usr/share/doc/libgcc-s1',
      type: 'symlink',
      mode: 0o777,
      uid: 0,
      gid: 0,
      target: 'gcc-12-base',
      owner: 'p',
    });
    t.add({
      path: 'usr/share/doc/evil',
      type: 'symlink',
      mode: 0o777,
      uid: 0,
      gid: 0,
      target: '../../../etc',
      owner: 'p',
    });
    file('etc/copyright', dep5('MIT'));
    return t;
  }

  it("follows a doc folder that links to a sibling package's", () => {
    assert.equal(spdxLicensesOf(tree(), ['libgcc-s1', 'gcc-12-base']).get('libgcc-s1'), 'GPL-3.0-or-later');
  });

  it('does not follow a link out of /usr/share/doc, and says nothing for a missing file', () => {
    assert.equal(copyrightTextOf(tree(), 'evil'), undefined);
    assert.equal(copyrightTextOf(tree(), 'absent'), undefined);
  });
});
