// The import graph of src/, read with the TypeScript compiler's parser (no type checking), for the
// layer test (test/architecture.test.ts) and scripts/public-entries.ts. docs/architecture.md says
// which edges are allowed.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** One name an import or re-export takes from a module; `*` for a namespace or `export *`. */
export interface ImportedName {
  readonly name: string;
  readonly typeOnly: boolean;
}

export interface ImportEdge {
  /** Importing file, relative to the repository root with `/` separators (`src/cli/main.ts`). */
  readonly from: string;
  /** The specifier as written (`../oci/digest.js`, `node:fs`). */
  readonly specifier: string;
  /** The file it resolves to, relative to the root; undefined for a package or Node built-in. */
  readonly to: string | undefined;
  readonly line: number;
  readonly kind: 'import' | 'export' | 'dynamic';
  /** True when nothing of it is left at run time (`import type`, `export type`, or every name a type). */
  readonly typeOnly: boolean;
  /** The names taken; empty for a side-effect import (`import './x.js'`) or a dynamic import. */
  readonly names: readonly ImportedName[];
}

export interface ImportGraph {
  /** Every scanned file, relative to the root. */
  readonly files: readonly string[];
  readonly edges: readonly ImportEdge[];
}

/** Every .ts file under `dir` (relative to `root`), sorted. */
export function listTypeScriptFiles(root: string, dir: string): string[] {
  const found: string[] = [];
  const walk = (relative: string): void => {
    for (const entry of readdirSync(path.join(root, relative), { withFileTypes: true })) {
      const child = `${relative}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
        found.push(child);
    }
  };
  walk(dir);
  return found.sort();
}

/** The import graph of every .ts file under `dir` (default `src`) of the repository at `root`. */
export function readImportGraph(root: string, dir = 'src'): ImportGraph {
  const files = listTypeScriptFiles(root, dir);
  const read: string[] = [];
  const edges: ImportEdge[] = [];
  for (const file of files) {
    const text = readIfPresent(path.join(root, file));
    if (text === undefined) continue;
    read.push(file);
    edges.push(...importsOf(file, text));
  }
  return { files: read, edges };
}

/** A file deleted between the listing and the read (someone is moving code) is skipped. */
function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The imports, re-exports and dynamic imports of one file's text. */
export function importsOf(file: string, text: string): ImportEdge[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const edges: ImportEdge[] = [];
  const lineOf = (node: ts.Node): number =>
    source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
  const add = (
    node: ts.Node,
    specifier: string,
    kind: ImportEdge['kind'],
    names: ImportedName[],
    typeOnly: boolean,
  ) => {
    edges.push({
      from: file,
      specifier,
      to: resolveSpecifier(file, specifier),
      line: lineOf(node),
      kind,
      typeOnly,
      names,
    });
  };

  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const names = importedNames(node.importClause);
      const typeOnly =
        node.importClause?.isTypeOnly === true || (names.length > 0 && names.every((n) => n.typeOnly));
      add(node, node.moduleSpecifier.text, 'import', names, typeOnly);
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      const names = exportedNames(node);
      const typeOnly = node.isTypeOnly || (names.length > 0 && names.every((n) => n.typeOnly));
      add(node, node.moduleSpecifier.text, 'export', names, typeOnly);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments.length > 0 &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      add(node, node.arguments[0].text, 'dynamic', [], false);
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      // `typeof import('../x.js')` in a type position: a type-only dependency.
      add(node, node.argument.literal.text, 'dynamic', [], true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

function importedNames(clause: ts.ImportClause | undefined): ImportedName[] {
  if (!clause) return [];
  const clauseType = clause.isTypeOnly;
  const names: ImportedName[] = [];
  if (clause.name) names.push({ name: 'default', typeOnly: clauseType });
  const bindings = clause.namedBindings;
  if (bindings && ts.isNamespaceImport(bindings)) names.push({ name: '*', typeOnly: clauseType });
  if (bindings && ts.isNamedImports(bindings)) {
    for (const element of bindings.elements) {
      names.push({
        name: (element.propertyName ?? element.name).text,
        typeOnly: clauseType || element.isTypeOnly,
      });
    }
  }
  return names;
}

function exportedNames(node: ts.ExportDeclaration): ImportedName[] {
  const clause = node.exportClause;
  if (!clause || ts.isNamespaceExport(clause)) return [{ name: '*', typeOnly: node.isTypeOnly }];
  return clause.elements.map((element) => ({
    name: (element.propertyName ?? element.name).text,
    typeOnly: node.isTypeOnly || element.isTypeOnly,
  }));
}

/** `../oci/digest.js` from `src/cli/main.ts` is `src/oci/digest.ts`; packages resolve to undefined. */
export function resolveSpecifier(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return undefined;
  const joined = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  if (joined.endsWith('.js')) return `${joined.slice(0, -'.js'.length)}.ts`;
  if (joined.endsWith('.json') || joined.endsWith('.ts')) return joined;
  return `${joined}.ts`;
}

/**
 * The layer a file belongs to: `src/oci/registry/client.ts` is `oci`, `src/herd-error.ts` is
 * `herd-error.ts` (a file directly under src/ is its own layer). Undefined outside `src/`.
 */
export function folderOf(file: string): string | undefined {
  const parts = file.split('/');
  if (parts[0] !== 'src' || parts.length < 2) return undefined;
  return parts[1];
}

/** Tests and test support beside the code (`*.test.ts`, `*.test-support.ts`). */
export function isTestFile(file: string): boolean {
  return /\.test(-support)?\.ts$/.test(file);
}
