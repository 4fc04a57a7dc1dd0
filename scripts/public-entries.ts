// Gives each folder of src/ that other folders use an index.ts naming exactly what they import of it
// today, and points those imports at it. Run when the tree is quiet, from the repository's root:
//
//   npx tsx scripts/public-entries.ts [--dry-run] [--no-format] [--root <dir>]
//
// then `npx tsc --noEmit -p .`, `git add src/*/index.ts` and set publicEntriesRequired in
// test/architecture.test.ts to true.
// Inside a folder, modules keep importing each other directly (an import of their own index.ts
// would be a cycle through the re-exports); tests beside the code keep their direct imports.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { importsOf, listTypeScriptFiles, readImportGraph } from './import-graph.js';
import { exportLines, planPublicEntries, type SpecifierRewrite } from './public-entries-plan.js';

/** A script's output is its report (biome allows console only in the CLI, tests and benches). */
function say(stream: NodeJS.WriteStream, line: string): void {
  stream.write(`${line}\n`);
}

function option(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

const root = path.resolve(option('--root') ?? process.cwd());
const dryRun = process.argv.includes('--dry-run');
const format = !process.argv.includes('--no-format');

/** What each existing src/<folder>/index.ts re-exports: name → module. */
function existingEntries(): Map<string, Map<string, string>> {
  const entries = new Map<string, Map<string, string>>();
  for (const file of listTypeScriptFiles(root, 'src').filter((f) => /^src\/[^/]+\/index\.ts$/.test(f))) {
    const folder = file.split('/')[1] as string;
    const names = new Map<string, string>();
    for (const edge of importsOf(file, readFileSync(path.join(root, file), 'utf8'))) {
      if (edge.kind !== 'export' || edge.to === undefined) continue;
      for (const name of edge.names) names.set(name.name, edge.to);
    }
    entries.set(folder, names);
  }
  return entries;
}

/** The file's text with each rewrite's specifier replaced, found by its line and text. */
function rewriteFile(file: string, text: string, rewrites: readonly SpecifierRewrite[]): string {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const spans: { start: number; end: number; text: string }[] = [];
  for (const statement of source.statements) {
    if (!(ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement))) continue;
    const literal = statement.moduleSpecifier;
    if (!literal || !ts.isStringLiteral(literal)) continue;
    const line = source.getLineAndCharacterOfPosition(statement.getStart(source)).line + 1;
    const rewrite = rewrites.find((r) => r.line === line && r.from === literal.text);
    if (rewrite)
      spans.push({ start: literal.getStart(source) + 1, end: literal.getEnd() - 1, text: rewrite.to });
  }
  if (spans.length !== rewrites.length) {
    throw new Error(
      `${file}: found ${spans.length} of the ${rewrites.length} imports to rewrite; is someone editing it?`,
    );
  }
  let result = text;
  for (const span of spans.sort((a, b) => b.start - a.start)) {
    result = result.slice(0, span.start) + span.text + result.slice(span.end);
  }
  return result;
}

const plan = planPublicEntries(readImportGraph(root), existingEntries());
if (plan.problems.length > 0) {
  say(process.stderr, `public entries: ${plan.problems.length} imports to fix by hand first:`);
  for (const problem of plan.problems) say(process.stderr, `  ${problem}`);
  process.exit(1);
}

const changed: string[] = [];
for (const [folder, exports] of plan.entries) {
  if (exports.length === 0) continue;
  const index = `src/${folder}/index.ts`;
  const lines = exportLines(folder, exports);
  say(
    process.stdout,
    `${index}: ${exports.length} names from ${new Set(exports.map((e) => e.module)).size} modules`,
  );
  if (dryRun) {
    for (const line of lines) say(process.stdout, `  ${line}`);
    continue;
  }
  const target = path.join(root, index);
  const header = `/** What other folders use of src/${folder}/ (docs/architecture.md, "Public entries"). */\n`;
  const before = existsSync(target) ? readFileSync(target, 'utf8') : header;
  writeFileSync(target, `${before}${before.endsWith('\n') ? '' : '\n'}${lines.join('\n')}\n`);
  changed.push(index);
}

const byFile = new Map<string, SpecifierRewrite[]>();
for (const rewrite of plan.rewrites) byFile.set(rewrite.file, [...(byFile.get(rewrite.file) ?? []), rewrite]);
say(process.stdout, `${plan.rewrites.length} imports in ${byFile.size} files point at an index.ts`);
for (const [file, rewrites] of byFile) {
  if (dryRun) continue;
  const target = path.join(root, file);
  writeFileSync(target, rewriteFile(file, readFileSync(target, 'utf8'), rewrites));
  changed.push(file);
}

if (!dryRun && format && changed.length > 0) {
  // Imports now sort and merge differently; biome puts them in the order the lint expects.
  const biome = spawnSync('npx', ['biome', 'check', '--write', ...changed], { cwd: root, stdio: 'inherit' });
  if (biome.status !== 0) process.exit(biome.status ?? 1);
}
