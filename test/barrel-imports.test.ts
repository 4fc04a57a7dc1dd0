/**
 * scripts/barrel-imports.ts, the build's rewrite of imports of a folder's index.ts: on the text,
 * as pure functions, and on src/'s own indexes, which it must be able to follow.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  type IndexExports,
  parseIndex,
  rewriteIndexImports,
  sourceFileOf,
} from '../scripts/barrel-imports.js';
import { listTypeScriptFiles } from '../scripts/import-graph.js';
import { projectRoot } from './support/cli.js';

const debianIndex = `/** What other folders use. */
export { DebianError } from './errors.js';
export { type DpkgRecord, readDpkgStatus as readStatus } from './dpkg-status.js';
export type { Relation } from './relations.js';
// a comment
export { loadVulnDb, type VulnDb } from './vulns/index.js';
`;
const vulnsIndex = "export { loadVulnDb, type VulnDb } from './load.js';\n";

function indexesOf(files: Record<string, string>): (file: string) => IndexExports | undefined {
  const parsed = new Map<string, IndexExports | undefined>();
  const indexAt = (file: string): IndexExports | undefined => {
    if (!(file in files)) return undefined;
    if (!parsed.has(file)) parsed.set(file, parseIndex(file, files[file]!, indexAt));
    return parsed.get(file);
  };
  return indexAt;
}

describe('barrel imports (scripts/barrel-imports.ts)', () => {
  const indexAt = indexesOf({
    '/r/src/debian/index.ts': debianIndex,
    '/r/src/debian/vulns/index.ts': vulnsIndex,
  });

  it('reads what an index re-exports, by the name it exports, through an index it re-exports', () => {
    const index = indexAt('/r/src/debian/index.ts')!;
    assert.deepEqual(index.get('readStatus'), {
      file: '/r/src/debian/dpkg-status.ts',
      name: 'readDpkgStatus',
      typeOnly: false,
    });
    assert.equal(index.get('Relation')?.typeOnly, true);
    assert.equal(index.get('DpkgRecord')?.typeOnly, true);
    assert.deepEqual(index.get('loadVulnDb'), {
      file: '/r/src/debian/vulns/load.ts',
      name: 'loadVulnDb',
      typeOnly: false,
    });
  });

  it('points an import at the defining modules, on as many lines, types left out', () => {
    const text = [
      'import { readFile } from "node:fs/promises";',
      'import {',
      '  DebianError,',
      '  type DpkgRecord,',
      '  loadVulnDb as load,',
      '  readStatus,',
      "} from '../debian/index.js';",
      'const x = 1;',
    ].join('\n');
    const rewritten = rewriteIndexImports('/r/src/gate/a.ts', text, indexAt);
    assert.equal(
      rewritten,
      [
        'import { readFile } from "node:fs/promises";',
        'import { DebianError } from "/r/src/debian/errors.ts"; import { loadVulnDb as load } from "/r/src/debian/vulns/load.ts"; import { readDpkgStatus as readStatus } from "/r/src/debian/dpkg-status.ts";',
        '',
        '',
        '',
        '',
        '',
        'const x = 1;',
      ].join('\n'),
    );
  });

  it('drops an import of types only, and leaves import type, unknown names and other files as written', () => {
    assert.equal(
      rewriteIndexImports(
        '/r/src/gate/a.ts',
        "import { type DpkgRecord } from '../debian/index.js';",
        indexAt,
      ),
      '',
    );
    for (const statement of [
      "import type { DpkgRecord } from '../debian/index.js';",
      "import { notExported } from '../debian/index.js';",
      "import { x } from '../debian/errors.js';",
      "import { x } from '../nowhere/index.js';",
    ]) {
      assert.equal(rewriteIndexImports('/r/src/gate/a.ts', statement, indexAt), statement);
    }
  });

  it('takes an index with anything but re-exports as it is', () => {
    const withCode = indexesOf({ '/r/src/x/index.ts': `${vulnsIndex}export const y = 1;\n` });
    assert.equal(withCode('/r/src/x/index.ts'), undefined);
  });

  it("follows every name of src/'s own indexes to a module that exists", () => {
    const root = projectRoot;
    const indexes = listTypeScriptFiles(root, 'src').filter((file) => file.endsWith('/index.ts'));
    assert.ok(indexes.length > 10, `found ${indexes.length} index.ts files under src`);
    const files: Record<string, string> = {};
    for (const file of indexes) files[join(root, file)] = readFileSync(join(root, file), 'utf8');
    const at = indexesOf(files);
    for (const file of indexes) {
      const index = at(join(root, file));
      assert.ok(index, `${file} holds more than re-exports: its imports would not be rewritten`);
      for (const [name, defined] of index) {
        const text = readFileSync(defined.file, 'utf8');
        assert.match(text, new RegExp(`\\b${defined.name}\\b`), `${file}: ${name} is not in ${defined.file}`);
      }
    }
    assert.equal(sourceFileOf('/r/src/gate/a.ts', '../oci/index.js'), '/r/src/oci/index.ts');
  });
});
