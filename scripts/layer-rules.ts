// The layer rules of docs/architecture.md as data, and the checks test/architecture.test.ts makes
// with them: an import the table does not allow, a cycle between folders, a cycle between modules.
// Pure: the graph and the markdown are handed in.
import { folderOf, type ImportEdge, type ImportGraph, isTestFile } from './import-graph.js';

/** One row of the layer table: a folder of src/ (or a file directly under it) and what it may import. */
export interface LayerRow {
  readonly folder: string;
  readonly layer: number;
  /** Folders named in "May import". */
  readonly mayImport: readonly string[];
  /** "any lower layer": every folder whose layer number is smaller. */
  readonly anyLowerLayer: boolean;
  /** Folders that only the tests beside the code (`*.test.ts`, `*.test-support.ts`) may import too. */
  readonly testsMayImport: readonly string[];
}

/** An import the layers do not allow, kept on purpose until it is removed: one file to one file. */
export interface LayerException {
  readonly from: string;
  readonly to: string;
  readonly why: string;
}

export interface LayerTable {
  readonly rows: readonly LayerRow[];
  readonly exceptions: readonly LayerException[];
}

export const layerTableMarker = '<!-- layer-table: read by test/architecture.test.ts -->';
export const exceptionTableMarker = '<!-- layer-exceptions: read by test/architecture.test.ts -->';

/** The markdown table that follows `marker`, as rows of trimmed cells, the header and divider left out. */
export function markdownTableAfter(markdown: string, marker: string): string[][] {
  const start = markdown.indexOf(marker);
  if (start < 0) throw new Error(`architecture table marker not found: expected a line ${marker}`);
  const lines = markdown.slice(start + marker.length).split('\n');
  const rows: string[][] = [];
  let begun = false;
  for (const line of lines) {
    const trimmed = line.trim();
    if (!trimmed.startsWith('|')) {
      if (begun) break;
      if (trimmed === '') continue;
      throw new Error(`expected a markdown table after ${marker}, got: ${trimmed}`);
    }
    begun = true;
    rows.push(splitRow(trimmed));
  }
  if (rows.length < 2) throw new Error(`expected a header, a divider and rows after ${marker}`);
  return rows.slice(2);
}

function splitRow(line: string): string[] {
  // `|` inside backticks is not used in these tables, so a plain split is enough.
  return line
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split('|')
    .map((cell) => cell.trim());
}

/** The names written in backticks in a cell: `` `oci`, `journal` `` is ['oci', 'journal']. */
function codeNames(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1] as string);
}

/**
 * Reads the layer table (columns: layer, folder, may import, its tests may also import, why) and
 * the exception table (columns: importing file, imported file, why) out of docs/architecture.md.
 */
export function parseLayerTable(markdown: string): LayerTable {
  const rows = markdownTableAfter(markdown, layerTableMarker).map((cells, index): LayerRow => {
    const [layer, folder, mayImport, testsMayImport] = cells;
    const folderName = codeNames(folder ?? '')[0];
    const layerNumber = Number(layer);
    if (folderName === undefined || !Number.isInteger(layerNumber) || mayImport === undefined) {
      throw new Error(
        `layer table row ${index + 1} is malformed: expected | layer | \`folder\` | may import | …, got | ${cells.join(' | ')} |`,
      );
    }
    return {
      folder: folderName,
      layer: layerNumber,
      mayImport: codeNames(mayImport),
      anyLowerLayer: /any lower layer/i.test(mayImport),
      testsMayImport: codeNames(testsMayImport ?? ''),
    };
  });
  const exceptions = markdownTableAfter(markdown, exceptionTableMarker)
    .filter((cells) => cells.some((cell) => cell !== '' && cell !== '—'))
    .map((cells, index): LayerException => {
      const [from, to, why] = cells;
      const fromFile = codeNames(from ?? '')[0];
      const toFile = codeNames(to ?? '')[0];
      if (fromFile === undefined || toFile === undefined || !why) {
        throw new Error(
          `layer exception row ${index + 1} is malformed: expected | \`from\` | \`to\` | why |, got | ${cells.join(' | ')} |`,
        );
      }
      return { from: fromFile, to: toFile, why };
    });
  return { rows, exceptions };
}

/** Mistakes in the table itself: an unknown folder, a folder twice, a "may import" that is not below. */
export function checkTable(table: LayerTable): string[] {
  const problems: string[] = [];
  const byFolder = new Map<string, LayerRow>();
  for (const row of table.rows) {
    if (byFolder.has(row.folder)) problems.push(`the layer table lists ${row.folder} twice`);
    byFolder.set(row.folder, row);
  }
  for (const row of table.rows) {
    for (const target of [...row.mayImport, ...row.testsMayImport]) {
      const targetRow = byFolder.get(target);
      if (!targetRow)
        problems.push(`${row.folder} may import ${target}, which the layer table does not list`);
      else if (row.mayImport.includes(target) && targetRow.layer >= row.layer) {
        problems.push(
          `${row.folder} (layer ${row.layer}) may import ${target} (layer ${targetRow.layer}): a folder may import only lower layers, or the layers could form a cycle`,
        );
      }
    }
  }
  return problems;
}

export interface Violation {
  readonly from: string;
  readonly to: string;
  readonly line: number;
  readonly rule: string;
}

export function formatViolation(violation: Violation): string {
  return `${violation.from}:${violation.line} imports ${violation.to}: ${violation.rule}`;
}

export interface CheckOptions {
  /**
   * Cross-folder imports must name the folder's index.ts (docs/architecture.md, "Public entries").
   * Tests beside the code are exempt: they may reach test support and internals directly.
   */
  readonly throughIndex: boolean;
}

/** Imports within src/ that the layer table does not allow, and exceptions that match no import. */
export function checkImports(
  graph: ImportGraph,
  table: LayerTable,
  options: CheckOptions = { throughIndex: false },
): Violation[] {
  const byFolder = new Map(table.rows.map((row) => [row.folder, row]));
  const violations: Violation[] = [];
  const isException = (edge: ImportEdge) =>
    table.exceptions.some((exception) => exception.from === edge.from && exception.to === edge.to);

  for (const file of graph.files) {
    const folder = folderOf(file);
    if (folder !== undefined && !byFolder.has(folder)) {
      violations.push({
        from: file,
        to: file,
        line: 0,
        rule: `folder ${folder} is not in the layer table of docs/architecture.md`,
      });
    }
  }
  for (const edge of graph.edges) {
    const from = folderOf(edge.from);
    const to = edge.to === undefined ? undefined : folderOf(edge.to);
    if (from === undefined || to === undefined || edge.to === undefined || from === to) continue;
    const row = byFolder.get(from);
    const target = byFolder.get(to);
    if (!row || !target) {
      if (!target)
        violations.push({
          ...edgePlace(edge),
          rule: `folder ${to} is not in the layer table of docs/architecture.md`,
        });
      continue;
    }
    if (isException(edge)) continue;
    const allowed =
      (target.layer === 0 && row.layer > 0) ||
      row.mayImport.includes(to) ||
      (row.anyLowerLayer && target.layer < row.layer) ||
      (isTestFile(edge.from) && row.testsMayImport.includes(to));
    if (!allowed) {
      violations.push({ ...edgePlace(edge), rule: ruleText(row, target, isTestFile(edge.from)) });
    } else if (options.throughIndex && !isTestFile(edge.from) && !isPublicEntry(edge.to, to)) {
      violations.push({
        ...edgePlace(edge),
        rule: `${from} may use ${to} only through src/${to}/index.ts (its public entry), not a module inside it`,
      });
    }
  }
  for (const exception of table.exceptions) {
    if (!graph.edges.some((edge) => edge.from === exception.from && edge.to === exception.to)) {
      violations.push({
        from: exception.from,
        to: exception.to,
        line: 0,
        rule: 'the layer exception in docs/architecture.md matches no import any more: remove it from the table',
      });
    }
  }
  return violations;
}

function edgePlace(edge: ImportEdge): { from: string; to: string; line: number } {
  return { from: edge.from, to: edge.to ?? edge.specifier, line: edge.line };
}

/** A file directly under src/ (herd-error.ts) has no index; a folder's entry is its index.ts. */
function isPublicEntry(file: string, folder: string): boolean {
  return folder.endsWith('.ts') || file === `src/${folder}/index.ts`;
}

function ruleText(row: LayerRow, target: LayerRow, test: boolean): string {
  const allowed = [
    ...(row.layer > 0 ? ['layer 0'] : []),
    ...row.mayImport,
    ...(row.anyLowerLayer ? ['any lower layer'] : []),
  ];
  const tests =
    test && row.testsMayImport.length > 0 ? `; its tests also ${row.testsMayImport.join(', ')}` : '';
  return (
    `${row.folder} (layer ${row.layer}) may not import ${target.folder} (layer ${target.layer}); ` +
    `the layer table allows ${allowed.length > 0 ? allowed.join(', ') : 'nothing of herd'}${tests}`
  );
}

/**
 * Cycles in a directed graph, one per strongly connected component with more than one node (or a
 * node that imports itself), each as a path that starts and ends at the same node.
 */
export function findCycles(
  nodes: Iterable<string>,
  arcs: ReadonlyMap<string, ReadonlySet<string>>,
): string[][] {
  // Tarjan's algorithm, iterative so a deep graph cannot overflow the stack.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const root of nodes) {
    if (index.has(root)) continue;
    const work: { node: string; next: string[] }[] = [];
    const enter = (node: string) => {
      index.set(node, counter);
      low.set(node, counter);
      counter += 1;
      stack.push(node);
      onStack.add(node);
      work.push({ node, next: [...(arcs.get(node) ?? [])].sort() });
    };
    enter(root);
    while (work.length > 0) {
      const frame = work[work.length - 1] as { node: string; next: string[] };
      const successor = frame.next.shift();
      if (successor !== undefined) {
        if (!index.has(successor)) enter(successor);
        else if (onStack.has(successor)) {
          low.set(frame.node, Math.min(low.get(frame.node) as number, index.get(successor) as number));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent)
        low.set(parent.node, Math.min(low.get(parent.node) as number, low.get(frame.node) as number));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string | undefined;
        do {
          member = stack.pop() as string;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        if (component.length > 1 || arcs.get(frame.node)?.has(frame.node)) components.push(component);
      }
    }
  }
  return components.map((component) => cycleThrough(component, arcs));
}

/** One concrete cycle inside a strongly connected component: a → b → … → a, from its first node in order. */
function cycleThrough(component: string[], arcs: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const members = new Set(component);
  const start = [...component].sort()[0] as string;
  // Breadth-first from start back to start within the component: the shortest cycle through it.
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift() as string;
    for (const next of [...(arcs.get(node) ?? [])].sort()) {
      if (!members.has(next)) continue;
      if (next === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(previous.get(path[0] as string) as string);
        return [...path, start];
      }
      if (!previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return [start, start];
}

/** The folders of src/ as a graph: an arc for every import of a non-test file into another folder. */
export function folderArcs(graph: ImportGraph, table: LayerTable): Map<string, Set<string>> {
  const arcs = new Map<string, Set<string>>();
  for (const edge of graph.edges) {
    if (edge.to === undefined || isTestFile(edge.from) || isExcepted(edge, table)) continue;
    const from = folderOf(edge.from);
    const to = folderOf(edge.to);
    if (from === undefined || to === undefined || from === to) continue;
    arcs.set(from, (arcs.get(from) ?? new Set()).add(to));
  }
  return arcs;
}

/**
 * The modules of src/ as a graph of what ESM loads: value imports only, since `import type` is
 * erased before anything runs and so cannot make a module see another half-initialised.
 */
export function moduleArcs(graph: ImportGraph, table: LayerTable): Map<string, Set<string>> {
  const arcs = new Map<string, Set<string>>();
  for (const edge of graph.edges) {
    if (edge.to === undefined || edge.typeOnly || isExcepted(edge, table)) continue;
    if (folderOf(edge.to) === undefined) continue;
    arcs.set(edge.from, (arcs.get(edge.from) ?? new Set()).add(edge.to));
  }
  return arcs;
}

function isExcepted(edge: ImportEdge, table: LayerTable): boolean {
  return table.exceptions.some((exception) => exception.from === edge.from && exception.to === edge.to);
}

export function formatCycle(cycle: readonly string[]): string {
  return cycle.join(' → ');
}

/**
 * Entries of "may import" (and of the tests' column) that no import uses: the table should say
 * what the code does, so a dependency that went away leaves the table too.
 */
export function unusedAllowances(graph: ImportGraph, table: LayerTable): string[] {
  const used = new Set<string>();
  for (const edge of graph.edges) {
    const from = folderOf(edge.from);
    const to = edge.to === undefined ? undefined : folderOf(edge.to);
    if (from === undefined || to === undefined || from === to) continue;
    used.add(`${isTestFile(edge.from) ? 'test' : 'code'} ${from} ${to}`);
  }
  const unused: string[] = [];
  for (const row of table.rows) {
    for (const target of row.mayImport) {
      if (!used.has(`code ${row.folder} ${target}`))
        unused.push(`${row.folder} may import ${target}, but none of its modules does`);
    }
    for (const target of row.testsMayImport) {
      if (!used.has(`test ${row.folder} ${target}`))
        unused.push(`${row.folder}'s tests may import ${target}, but none does`);
    }
  }
  return unused;
}
