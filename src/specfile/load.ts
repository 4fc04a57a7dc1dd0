/**
 * Reads herd.yaml: YAML syntax first, then the schema, every problem reported at its line and
 * column in one error. The only effects here are reading the file.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { isAlias, LineCounter, parseDocument, visit } from 'yaml';
import { describeValue, SpecError } from './errors.js';
import { issueProblems, type SpecSource, type YamlFault, yamlProblems } from './locate-problems.js';
import { Spec as SpecSchema } from './schema.js';
import type { LoadedSpec, Spec } from './types.js';

export const specFileName = 'herd.yaml';

/** Loads `path`, or `<path>/herd.yaml` when `path` is a folder. */
export async function loadSpec(path: string): Promise<LoadedSpec> {
  const file = (await isDirectory(path)) ? join(path, specFileName) : path;
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(cause);
    const message = `cannot read spec ${file}: ${reason}; expected a herd.yaml (herd init writes one)`;
    throw new SpecError('SPEC_NOT_FOUND', message, { cause });
  }
  const spec = parseSpecText(decodeUtf8(bytes, file), file);
  const absolute = resolve(file);
  return {
    spec,
    path: absolute,
    dir: dirname(absolute),
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
  };
}

/** Parses and validates spec text; `fileName` only names the file in problems. */
export function parseSpecText(text: string, fileName: string): Spec {
  const source = parseYaml(text, fileName);
  const data = toPlainData(source);
  const result = SpecSchema.safeParse(data, {
    reportInput: true,
    // Every field names what it expects; this covers whatever zod raises without asking a field.
    error: (issue) => `expected a valid value, got ${describeValue(issue.input)}`,
  });
  if (!result.success)
    throw SpecError.fromProblems('SPEC_INVALID', issueProblems(result.error.issues, source));
  return result.data;
}

/**
 * YAML 1.2 reads `mode: 0644` as decimal 644. Tools built on YAML 1.1 (Kubernetes, Compose, Ansible)
 * read it as octal, and that is what a user means: plain numbers with a leading zero are octal here.
 */
const legacyOctalInt = {
  tag: 'tag:yaml.org,2002:int',
  default: true,
  format: 'OCT',
  test: /^0[0-7]+$/,
  identify: () => false,
  resolve: (value: string) => Number.parseInt(value, 8),
} as const;

function parseYaml(text: string, file: string): SpecSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    customTags: (tags) => [legacyOctalInt, ...tags],
  });
  const source = { file, doc, lineCounter };
  // Warnings too (an unknown tag, say): a spec that YAML had to guess at is not one to build from.
  const errors = [...doc.errors, ...doc.warnings];
  if (errors.length > 0) throw SpecError.fromProblems('SPEC_SYNTAX', yamlProblems(errors, source));
  return source;
}

/** Plain data for the schema; aliases are resolved here, with a bound against alias bombs. */
function toPlainData(source: SpecSource): unknown {
  const unresolved: YamlFault[] = [];
  visit(source.doc, {
    Alias: (_key, node) => {
      if (isAlias(node) && node.resolve(source.doc) === undefined) {
        unresolved.push({
          pos: [node.range?.[0] ?? 0],
          message: `alias *${node.source} has no anchor before it`,
        });
      }
    },
  });
  if (unresolved.length > 0) throw SpecError.fromProblems('SPEC_SYNTAX', yamlProblems(unresolved, source));
  try {
    return source.doc.toJS({ maxAliasCount: 100 });
  } catch (cause) {
    throw SpecError.fromProblems(
      'SPEC_SYNTAX',
      yamlProblems([{ pos: [0], message: `cannot be read: ${(cause as Error).message}` }], source),
    );
  }
}

function decodeUtf8(bytes: Buffer, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const message = 'invalid YAML: expected UTF-8 text, got bytes that are not';
    throw SpecError.fromProblems('SPEC_SYNTAX', [{ file, line: 1, col: 1, path: [], message }]);
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
