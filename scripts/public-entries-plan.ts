// What scripts/public-entries.ts writes, decided from the import graph alone (pure): for each folder
// of src/ that other folders use, the names its index.ts must export, and the cross-folder imports
// to point at that index instead of a module inside the folder. docs/architecture.md, "Public entries".
import path from 'node:path';
import { folderOf, type ImportGraph, isTestFile } from './import-graph.js';

/** One name an index.ts re-exports, from a module of its folder. */
export interface EntryExport {
  readonly name: string;
  /** The module it comes from, relative to the root (`src/oci/digest.ts`). */
  readonly module: string;
  /** Only ever imported as a type by other folders: exported with `export type`. */
  readonly typeOnly: boolean;
}

export interface SpecifierRewrite {
  readonly file: string;
  readonly line: number;
  readonly from: string;
  readonly to: string;
}

export interface PublicEntriesPlan {
  /** Per folder, the exports its index.ts lacks today, sorted by module then name. */
  readonly entries: ReadonlyMap<string, readonly EntryExport[]>;
  readonly rewrites: readonly SpecifierRewrite[];
  /** Imports the script cannot turn into explicit named exports: fix them by hand first. */
  readonly problems: readonly string[];
}

/**
 * Plans every folder's index.ts from what other folders' production modules import of it (tests
 * beside the code may keep importing modules, test support included, directly). `existing` is what
 * each folder's index.ts exports today, name → module, so an index a folder's owner wrote is kept
 * and only completed.
 */
export function planPublicEntries(
  graph: ImportGraph,
  existing: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map(),
): PublicEntriesPlan {
  const wanted = new Map<string, Map<string, { module: string; typeOnly: boolean }>>();
  const rewrites: SpecifierRewrite[] = [];
  const problems: string[] = [];

  for (const edge of graph.edges) {
    if (edge.to === undefined || isTestFile(edge.from)) continue;
    const from = folderOf(edge.from);
    const to = folderOf(edge.to);
    if (from === undefined || to === undefined || from === to || to.endsWith('.ts')) continue;
    const index = `src/${to}/index.ts`;
    if (edge.to === index) continue;
    const place = `${edge.from}:${edge.line} (${edge.specifier})`;
    if (edge.kind === 'dynamic') {
      problems.push(
        `${place}: a dynamic import of a module of ${to} has no names to export; import from its index.ts by hand`,
      );
      continue;
    }
    const names = edge.names.filter((name) => name.name !== '*' && name.name !== 'default');
    if (edge.names.some((name) => name.name === '*' || name.name === 'default')) {
      problems.push(
        `${place}: a namespace, \`export *\` or default import cannot be named in ${index}; name what is used`,
      );
      continue;
    }
    const folderNames = wanted.get(to) ?? new Map<string, { module: string; typeOnly: boolean }>();
    wanted.set(to, folderNames);
    for (const name of names) {
      const known = folderNames.get(name.name);
      if (known && known.module !== edge.to) {
        problems.push(`${index} would export ${name.name} twice: from ${known.module} and ${edge.to}`);
        continue;
      }
      folderNames.set(name.name, { module: edge.to, typeOnly: (known?.typeOnly ?? true) && name.typeOnly });
    }
    rewrites.push({
      file: edge.from,
      line: edge.line,
      from: edge.specifier,
      to: relativeSpecifier(edge.from, index),
    });
  }

  const entries = new Map<string, EntryExport[]>();
  for (const [folder, names] of [...wanted].sort(([a], [b]) => a.localeCompare(b))) {
    const already = existing.get(folder) ?? new Map<string, string>();
    const missing: EntryExport[] = [];
    for (const [name, { module, typeOnly }] of names) {
      const exportedFrom = already.get(name);
      if (exportedFrom === undefined) missing.push({ name, module, typeOnly });
      else if (exportedFrom !== module) {
        problems.push(
          `src/${folder}/index.ts exports ${name} from ${exportedFrom}, but ${module} is where other folders import it from`,
        );
      }
    }
    missing.sort((a, b) => a.module.localeCompare(b.module) || a.name.localeCompare(b.name));
    entries.set(folder, missing);
  }
  return { entries, rewrites, problems };
}

/** `../oci/index.js` from `src/cli/main.ts` to `src/oci/index.ts`. */
export function relativeSpecifier(from: string, to: string): string {
  const relative = path.posix.relative(path.posix.dirname(from), to).replace(/\.ts$/, '.js');
  return relative.startsWith('.') ? relative : `./${relative}`;
}

/** The export lines an index.ts gets for `exports`: one per module, values and types named apart. */
export function exportLines(folder: string, exports: readonly EntryExport[]): string[] {
  const byModule = new Map<string, EntryExport[]>();
  for (const entry of exports) byModule.set(entry.module, [...(byModule.get(entry.module) ?? []), entry]);
  return [...byModule].map(([module, names]) => {
    const specifier = relativeSpecifier(`src/${folder}/index.ts`, module);
    const allTypes = names.every((name) => name.typeOnly);
    const list = names
      .map((name) => (name.typeOnly && !allTypes ? `type ${name.name}` : name.name))
      .join(', ');
    return `export ${allTypes ? 'type ' : ''}{ ${list} } from '${specifier}';`;
  });
}
