import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { type ImportEdge, type ImportGraph, importsOf, readImportGraph } from '../scripts/import-graph.js';
import {
  checkImports,
  checkTable,
  findCycles,
  folderArcs,
  formatCycle,
  formatViolation,
  type LayerTable,
  moduleArcs,
  parseLayerTable,
  unusedAllowances,
} from '../scripts/layer-rules.js';
import { exportLines, planPublicEntries } from '../scripts/public-entries-plan.js';

/**
 * Cross-folder imports must name the folder's index.ts (docs/architecture.md, "Public entries"): what
 * a folder offers is what its index names; the rest is internal.
 */
const publicEntriesRequired = true;

const root = path.resolve(import.meta.dirname, '..');
const architecture = readFileSync(path.join(root, 'docs/architecture.md'), 'utf8');

describe('the layers of src/ (docs/architecture.md)', () => {
  const table = parseLayerTable(architecture);
  const graph = readImportGraph(root);

  it('has a layer table in which every folder imports only lower layers', () => {
    assert.ok(table.rows.length > 0, 'docs/architecture.md has no rows in its layer table');

    assert.deepEqual(checkTable(table), []);
  });

  it('lists every folder of src/ in the layer table', () => {
    const folders = new Set(graph.files.map((file) => file.split('/')[1]));
    const listed = new Set(table.rows.map((row) => row.folder));

    const missing = [...folders].filter((folder) => folder !== undefined && !listed.has(folder));

    assert.deepEqual(missing, [], `folders of src/ missing from the layer table: ${missing.join(', ')}`);
  });

  it('has no import the layer table does not allow', () => {
    const violations = checkImports(graph, table, { throughIndex: publicEntriesRequired });

    assert.deepEqual(violations.map(formatViolation), []);
  });

  it('would fail if src/oci imported the CLI: the forbidden import and the cycle it makes are both named', () => {
    const digest = graph.files.find((file) => file === 'src/oci/digest.ts');
    assert.ok(digest, 'src/oci/digest.ts is missing: pick another module of src/oci for this test');
    const forbidden = importsOf(digest, "import { main } from '../cli/main.js';");
    const withForbidden: ImportGraph = { files: graph.files, edges: [...graph.edges, ...forbidden] };

    const violations = checkImports(withForbidden, table).map(formatViolation);
    const cycles = findCycles(new Set(table.rows.map((row) => row.folder)), folderArcs(withForbidden, table));

    assert.deepEqual(violations, [
      'src/oci/digest.ts:1 imports src/cli/main.ts: oci (layer 1) may not import cli (layer 7); the layer table allows layer 0',
    ]);
    assert.equal(cycles.length, 1);
    assert.ok(
      cycles[0]?.includes('oci') && cycles[0].includes('cli'),
      `expected a cycle through oci and cli, got ${cycles.map(formatCycle)}`,
    );
  });

  it('allows nothing in the layer table that no import uses', () => {
    assert.deepEqual(unusedAllowances(graph, table), []);
  });

  it('has no cycle between folders', () => {
    const cycles = findCycles(new Set(table.rows.map((row) => row.folder)), folderArcs(graph, table));

    assert.deepEqual(cycles.map(formatCycle), []);
  });

  it('has no cycle between modules through value imports', () => {
    const cycles = findCycles(graph.files, moduleArcs(graph, table));

    assert.deepEqual(cycles.map(formatCycle), []);
  });
});

describe('the layer checker', () => {
  const markdown = (exceptions = '| — | — | — |') => `
<!-- layer-table: read by test/architecture.test.ts -->
| Layer | Folder | May import | Its tests may also import | Why |
| --- | --- | --- | --- | --- |
| 0 | \`common\` | nothing of herd's | | bottom |
| 1 | \`oci\` | layer 0 | | images |
| 2 | \`gate\` | \`oci\` | \`fleet\` | judges |
| 2 | \`fleet\` | \`oci\` | | runs |
| 3 | \`cli\` | any lower layer | | edge |

<!-- layer-exceptions: read by test/architecture.test.ts -->
| Importing file | Imported file | Why |
| --- | --- | --- |
${exceptions}
`;
  const table: LayerTable = parseLayerTable(markdown());
  const graphOf = (files: Record<string, string>): ImportGraph => ({
    files: Object.keys(files),
    edges: Object.entries(files).flatMap(([file, text]): ImportEdge[] => importsOf(file, text)),
  });
  const allowedTree = {
    'src/common/clock.ts': "import { setTimeout } from 'node:timers';",
    'src/oci/digest.ts': "import { systemClock } from '../common/clock.js';",
    'src/oci/layout-store.ts': "import { type Digest } from './digest.js';",
    'src/gate/evaluate.ts':
      "import type { Digest } from '../oci/digest.js';\nexport { x } from '../oci/layout-store.js';",
    'src/gate/evaluate.test.ts': "import { FleetController } from '../fleet/controller.js';",
    'src/fleet/controller.ts': "import { LayoutStore } from '../oci/layout-store.js';",
    'src/cli/main.ts': "const gate = await import('../gate/evaluate.js');\nimport '../fleet/controller.js';",
  };

  it('reads the layers, what each may import and what its tests may also import', () => {
    const gate = table.rows.find((row) => row.folder === 'gate');

    assert.deepEqual(gate, {
      folder: 'gate',
      layer: 2,
      mayImport: ['oci'],
      anyLowerLayer: false,
      testsMayImport: ['fleet'],
    });
    assert.equal(table.rows.find((row) => row.folder === 'cli')?.anyLowerLayer, true);
    assert.deepEqual(table.exceptions, []);
  });

  it('passes a tree whose imports the table allows, layer 0 and tests included', () => {
    const graph = graphOf(allowedTree);

    assert.deepEqual(checkImports(graph, table).map(formatViolation), []);
    assert.deepEqual(findCycles(graph.files, moduleArcs(graph, table)), []);
  });

  it('fails on an import the table does not allow, naming both files and the rule', () => {
    const graph = graphOf({
      ...allowedTree,
      'src/oci/layout-store.ts': "import { evaluate } from '../gate/evaluate.js';",
    });

    const violations = checkImports(graph, table).map(formatViolation);

    assert.deepEqual(violations, [
      'src/oci/layout-store.ts:1 imports src/gate/evaluate.ts: oci (layer 1) may not import gate (layer 2); the layer table allows layer 0',
    ]);
  });

  it('fails on a dynamic import and a re-export the table does not allow', () => {
    const graph = graphOf({
      ...allowedTree,
      'src/fleet/controller.ts':
        "export { evaluate } from '../gate/evaluate.js';\nawait import('../cli/main.js');",
    });

    const violations = checkImports(graph, table).map(
      (violation) => `${violation.from}:${violation.line} → ${violation.to}`,
    );

    assert.deepEqual(violations, [
      'src/fleet/controller.ts:1 → src/gate/evaluate.ts',
      'src/fleet/controller.ts:2 → src/cli/main.ts',
    ]);
  });

  it('lets a test beside the code import what its column allows, and nothing else', () => {
    const graph = graphOf({
      ...allowedTree,
      'src/fleet/controller.test.ts': "import { evaluate } from '../gate/evaluate.js';",
    });

    const violations = checkImports(graph, table).map(formatViolation);

    assert.equal(violations.length, 1);
    assert.match(
      violations[0] as string,
      /^src\/fleet\/controller\.test\.ts:1 imports src\/gate\/evaluate\.ts: fleet \(layer 2\) may not import gate/,
    );
  });

  it('names a folder that is not in the table', () => {
    const graph = graphOf({
      ...allowedTree,
      'src/plugins/extra.ts': "import { x } from '../oci/digest.js';",
    });

    const violations = checkImports(graph, table).map(formatViolation);

    assert.deepEqual(violations, [
      'src/plugins/extra.ts:0 imports src/plugins/extra.ts: folder plugins is not in the layer table of docs/architecture.md',
    ]);
  });

  it('fails on a cycle between modules and names it', () => {
    const graph = graphOf({
      ...allowedTree,
      'src/oci/digest.ts': "import { LayoutStore } from './layout-store.js';",
      'src/oci/layout-store.ts': "import { digestOf } from './digest.js';",
    });

    const cycles = findCycles(graph.files, moduleArcs(graph, table)).map(formatCycle);

    assert.deepEqual(cycles, ['src/oci/digest.ts → src/oci/layout-store.ts → src/oci/digest.ts']);
  });

  it('does not count a cycle through type-only imports between modules', () => {
    const graph = graphOf({
      ...allowedTree,
      'src/oci/digest.ts': "import type { LayoutStore } from './layout-store.js';",
      'src/oci/layout-store.ts': "import { type Digest } from './digest.js';",
    });

    assert.deepEqual(findCycles(graph.files, moduleArcs(graph, table)), []);
  });

  it('fails on a cycle between folders, type-only imports included', () => {
    const graph = graphOf({
      ...allowedTree,
      'src/oci/layout-store.ts': "import type { Verdict } from '../gate/evaluate.js';",
    });

    const cycles = findCycles(['common', 'oci', 'gate', 'fleet', 'cli'], folderArcs(graph, table)).map(
      formatCycle,
    );

    assert.deepEqual(cycles, ['gate → oci → gate']);
  });

  it('allows an import listed as an exception, and fails when the exception matches nothing any more', () => {
    const forbidden = {
      ...allowedTree,
      'src/oci/layout-store.ts': "import { evaluate } from '../gate/evaluate.js';",
    };
    const excepted = parseLayerTable(
      markdown('| `src/oci/layout-store.ts` | `src/gate/evaluate.ts` | being moved to gate |'),
    );

    assert.deepEqual(checkImports(graphOf(forbidden), excepted), []);
    assert.deepEqual(
      findCycles(['common', 'oci', 'gate', 'fleet', 'cli'], folderArcs(graphOf(forbidden), excepted)),
      [],
    );
    assert.deepEqual(checkImports(graphOf(allowedTree), excepted).map(formatViolation), [
      'src/oci/layout-store.ts:0 imports src/gate/evaluate.ts: the layer exception in docs/architecture.md matches no import any more: remove it from the table',
    ]);
  });

  it('with public entries required, fails on a cross-folder import of a module inside the folder', () => {
    const graph = graphOf({
      'src/common/index.ts': "export { systemClock } from './clock.js';",
      'src/common/clock.ts': '',
      'src/oci/index.ts': "export { digestOf } from './digest.js';",
      'src/oci/digest.ts':
        "import { systemClock } from '../common/index.js';\nimport { a } from './layout-store.js';",
      'src/oci/layout-store.ts': "import { systemClock } from '../common/clock.js';",
      'src/gate/evaluate.ts': "import { digestOf } from '../oci/index.js';",
    });

    const violations = checkImports(graph, table, { throughIndex: true }).map(formatViolation);

    assert.deepEqual(violations, [
      'src/oci/layout-store.ts:1 imports src/common/clock.ts: oci may use common only through src/common/index.ts (its public entry), not a module inside it',
    ]);
  });

  it('names an allowance that no import uses any more', () => {
    const graph = graphOf({ ...allowedTree, 'src/gate/evaluate.test.ts': '' });

    assert.deepEqual(unusedAllowances(graph, table), ["gate's tests may import fleet, but none does"]);
  });

  it('refuses a table in which a folder may import its own layer or one above', () => {
    const upward = parseLayerTable(markdown().replace('| 1 | `oci` | layer 0 |', '| 1 | `oci` | `gate` |'));

    assert.deepEqual(checkTable(upward), [
      'oci (layer 1) may import gate (layer 2): a folder may import only lower layers, or the layers could form a cycle',
    ]);
  });

  it('names the marker when the document has no layer table', () => {
    assert.throws(
      () => parseLayerTable('# no table here'),
      /architecture table marker not found: expected a line <!-- layer-table/,
    );
  });
});

describe('the public entries script (scripts/public-entries.ts)', () => {
  const graphOf = (files: Record<string, string>): ImportGraph => ({
    files: Object.keys(files),
    edges: Object.entries(files).flatMap(([file, text]): ImportEdge[] => importsOf(file, text)),
  });

  it('exports exactly what other folders import, types as types, and points those imports at index.ts', () => {
    const graph = graphOf({
      'src/oci/digest.ts': "import { LayoutStore } from './layout-store.js';",
      'src/gate/evaluate.ts':
        "import { type Digest, sha256Digest } from '../oci/digest.js';\nimport type { LayoutStore } from '../oci/layout-store.js';",
      'src/cli/main.ts':
        "import { Digest } from '../oci/digest.js';\nimport { herdHome } from '../herd-home.js';",
      'src/cli/main.test.ts': "import { fakeStore } from '../oci/store.test-support.js';",
    });

    const plan = planPublicEntries(graph);

    assert.deepEqual(plan.problems, []);
    assert.deepEqual(exportLines('oci', plan.entries.get('oci') ?? []), [
      "export { Digest, sha256Digest } from './digest.js';",
      "export type { LayoutStore } from './layout-store.js';",
    ]);
    assert.deepEqual(
      plan.rewrites.map((rewrite) => `${rewrite.file}:${rewrite.line} ${rewrite.from} → ${rewrite.to}`),
      [
        'src/gate/evaluate.ts:1 ../oci/digest.js → ../oci/index.js',
        'src/gate/evaluate.ts:2 ../oci/layout-store.js → ../oci/index.js',
        'src/cli/main.ts:1 ../oci/digest.js → ../oci/index.js',
      ],
    );
  });

  it('keeps what an existing index.ts exports and adds only what it lacks', () => {
    const graph = graphOf({
      'src/gate/evaluate.ts':
        "import { systemClock } from '../common/clock.js';\nimport { exists } from '../common/file-exists.js';",
    });
    const existing = new Map([['common', new Map([['systemClock', 'src/common/clock.ts']])]]);

    const plan = planPublicEntries(graph, existing);

    assert.deepEqual(exportLines('common', plan.entries.get('common') ?? []), [
      "export { exists } from './file-exists.js';",
    ]);
  });

  it('refuses what cannot be named explicitly: a namespace import, a dynamic import, one name from two modules', () => {
    const graph = graphOf({
      'src/oci/a.ts': '',
      'src/oci/b.ts': '',
      'src/gate/one.ts': "import * as oci from '../oci/a.js';",
      'src/gate/two.ts': "const b = await import('../oci/b.js');",
      'src/gate/three.ts': "import { Entry } from '../oci/a.js';",
      'src/gate/four.ts': "import { Entry } from '../oci/b.js';",
    });

    const problems = planPublicEntries(graph).problems;

    assert.equal(problems.length, 3);
    assert.ok(problems.some((problem) => problem.includes('a namespace')));
    assert.ok(problems.some((problem) => problem.includes('a dynamic import')));
    assert.ok(
      problems.some((problem) =>
        problem.includes('would export Entry twice: from src/oci/a.ts and src/oci/b.ts'),
      ),
    );
  });
});
