/**
 * For `npm run build` (scripts/build.ts): an esbuild plugin that points each import of a folder's
 * index.ts, its public entry (docs/architecture.md), at the modules that define the names taken.
 *
 * Why: esbuild's code splitting follows a loaded file's imports whole, used or not. A command that
 * takes one name of src/debian/index.ts loaded every module that index re-exports, and the packages
 * those import: `herd gate` loaded openpgp (for the Release files' signatures, about 100 ms), the
 * Packages index parser and the registry client, none of which a gate runs. Rewritten, a command's
 * chunks hold what its code imports and nothing the index merely names.
 *
 * It only ever drops files that nothing uses: src/'s modules have no effects when loaded (each
 * one's top level declares; the index files hold nothing but `export { … } from` lines), so what
 * the sources do under tsx, the build does too. An index that holds anything else, or an import
 * naming something an index does not re-export, is left as written.
 */

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Plugin } from 'esbuild';

/** Where one name an index re-exports is defined: the module's path and the name it has there. */
export interface ReexportedName {
  file: string;
  name: string;
  /** `export type { … }` or `type X`: nothing of it is left at run time. */
  typeOnly: boolean;
}

/** An index's re-exports by the name it exports them as. */
export type IndexExports = ReadonlyMap<string, ReexportedName>;

const reexportStatement = /^export\s+(type\s+)?\{([^}]*)\}\s*from\s*'([^']+)';/gm;
const namedImportOfIndex = /^import\s+(type\s+)?\{([^}]*)\}\s*from\s*'(\.{1,2}\/[^']*index\.js)';/gm;

/** `a`, `a as b`, `type a`: the names of one `{ … }` list. */
function specifiersOf(list: string): { name: string; as: string; typeOnly: boolean }[] {
  return list
    .split(',')
    .map((raw) => raw.trim())
    .filter((raw) => raw !== '')
    .map((raw) => {
      const typeOnly = /^type\s/.test(raw);
      const [name = '', as = name] = raw.replace(/^type\s+/, '').split(/\s+as\s+/);
      return { name, as, typeOnly };
    });
}

/** The TypeScript file a relative `.js` specifier in `from` names. */
export function sourceFileOf(from: string, specifier: string): string {
  return resolve(dirname(from), specifier).replace(/\.js$/, '.ts');
}

/**
 * An index.ts's re-exports, followed through an index it re-exports from (src/gate's names
 * src/gate/vulns' own). Undefined when the file holds anything but `export { … } from` lines and
 * comments, or when `readIndex` cannot follow a re-exported name: such an index is imported as is.
 */
export function parseIndex(
  file: string,
  text: string,
  readIndex: (file: string) => IndexExports | undefined,
): IndexExports | undefined {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  if (code.replace(reexportStatement, '').trim() !== '') return undefined;
  const names = new Map<string, ReexportedName>();
  for (const [, typeKeyword, list = '', specifier = ''] of code.matchAll(reexportStatement)) {
    const target = sourceFileOf(file, specifier);
    const inner = target.endsWith('/index.ts') ? readIndex(target) : undefined;
    for (const { name, as, typeOnly } of specifiersOf(list)) {
      const defined = inner ? inner.get(name) : { file: target, name, typeOnly: false };
      if (!defined) return undefined;
      names.set(as, { ...defined, typeOnly: Boolean(typeKeyword) || typeOnly || defined.typeOnly });
    }
  }
  return names;
}

/**
 * `text` with each `import { … } from '<relative>/index.js'` replaced by imports of the modules
 * that define the names (absolute paths, which esbuild takes), on as many lines as it had so that
 * what esbuild reports still points at the source's lines. Type-only names go: nothing of them is
 * left at run time either way.
 */
export function rewriteIndexImports(
  file: string,
  text: string,
  indexAt: (file: string) => IndexExports | undefined,
): string {
  return text.replace(namedImportOfIndex, (statement, typeKeyword, list: string, specifier: string) => {
    if (typeKeyword) return statement;
    const index = indexAt(sourceFileOf(file, specifier));
    if (!index) return statement;
    const byModule = new Map<string, string[]>();
    for (const { name, as, typeOnly } of specifiersOf(list)) {
      const defined = index.get(name);
      if (!defined) return statement;
      if (typeOnly || defined.typeOnly) continue;
      const names = byModule.get(defined.file) ?? [];
      names.push(defined.name === as ? as : `${defined.name} as ${as}`);
      byModule.set(defined.file, names);
    }
    const imports = [...byModule].map(
      ([module, names]) => `import { ${names.join(', ')} } from ${JSON.stringify(module)};`,
    );
    return imports.join(' ') + '\n'.repeat(statement.split('\n').length - 1);
  });
}

/** The plugin: rewrites the imports of every TypeScript module under `srcDir` as it loads. */
export function barrelImports(srcDir: string): Plugin {
  const root = srcDir.endsWith('/') ? srcDir : `${srcDir}/`;
  const indexes = new Map<string, IndexExports | undefined>();
  const indexAt = (file: string): IndexExports | undefined => {
    if (!file.startsWith(root) || !file.endsWith('/index.ts')) return undefined;
    if (!indexes.has(file)) {
      // Marked first: an index that re-exports, through others, from itself is imported as is.
      indexes.set(file, undefined);
      let text: string | undefined;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        text = undefined;
      }
      indexes.set(file, text === undefined ? undefined : parseIndex(file, text, indexAt));
    }
    return indexes.get(file);
  };
  return {
    name: 'herd-barrel-imports',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (!args.path.startsWith(root)) return undefined;
        const text = await readFile(args.path, 'utf8');
        return { contents: rewriteIndexImports(args.path, text, indexAt), loader: 'ts' };
      });
    },
  };
}
