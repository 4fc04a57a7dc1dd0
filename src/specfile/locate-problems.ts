/**
 * Turns YAML errors and zod issues into `SpecProblem`s that point at the line and column of the
 * node they are about: the value for a wrong value, the key for an unknown field, the mapping for a
 * missing field.
 */
import {
  type Document,
  isAlias,
  isCollection,
  isMap,
  isScalar,
  isSeq,
  type LineCounter,
  type Node,
} from 'yaml';
import type { z } from 'zod';
import { formatPath, type SpecProblem } from './errors.js';

export interface SpecSource {
  file: string;
  doc: Document;
  lineCounter: LineCounter;
}

type Path = (string | number)[];

/** A YAML error or warning, or one of the loader's own: an offset into the text and what is wrong. */
export interface YamlFault {
  pos: readonly number[];
  message: string;
}

export function yamlProblems(errors: readonly YamlFault[], source: SpecSource): SpecProblem[] {
  return sortProblems(
    errors.map((error) => {
      const { line, col } = source.lineCounter.linePos(error.pos[0] ?? 0);
      return {
        file: source.file,
        line,
        col,
        path: [],
        message: `invalid YAML: ${lowerFirst(error.message)}`,
      };
    }),
  );
}

export function issueProblems(issues: readonly z.core.$ZodIssue[], source: SpecSource): SpecProblem[] {
  const problems = flattenUnions(issues, []).map((issue) => problemFor(issue, source));
  // Two checks of one value (a pattern, then a range) can fail with the same words; say it once.
  const seen = new Set<string>();
  const distinct = problems.filter((problem) => {
    const key = `${problem.line}:${problem.col}:${problem.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return sortProblems(distinct);
}

function problemFor(issue: z.core.$ZodIssue, source: SpecSource): SpecProblem {
  const path = issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol');
  const parent = path.slice(0, -1);
  const last = path.at(-1);
  const label = (at: Path) => (at.length > 0 ? `${formatPath(at)}: ` : '');

  if (isMissing(issue) && last !== undefined) {
    return {
      file: source.file,
      ...positionOf(source, parent, 'mapping'),
      path: parent,
      message: `${label(parent)}missing required field ${JSON.stringify(String(last))}`,
    };
  }
  if (isAboutKey(issue)) {
    return {
      file: source.file,
      ...positionOf(source, path, 'key'),
      path,
      message: `${label(parent)}${issue.message}`,
    };
  }
  return {
    file: source.file,
    ...positionOf(source, path, 'value'),
    path,
    message: `${label(path)}${issue.message}`,
  };
}

/** A required field that is absent: zod saw `undefined` where a value was expected. */
function isMissing(issue: z.core.$ZodIssue): boolean {
  return (issue.code === 'invalid_type' || issue.code === 'invalid_value') && issue.input === undefined;
}

function isAboutKey(issue: z.core.$ZodIssue): boolean {
  return issue.code === 'custom' && issue.params?.at === 'key';
}

/**
 * A union's options are told apart by the kind of YAML value (number, string, list, mapping). The
 * options that failed only because the value is of another kind say nothing; the one that matched
 * says what is wrong inside it. When none matched, the union's own "expected …" message stands.
 */
function flattenUnions(issues: readonly z.core.$ZodIssue[], prefix: Path): z.core.$ZodIssue[] {
  return issues.flatMap((issue): z.core.$ZodIssue[] => {
    const path = [...prefix, ...issue.path] as Path;
    if (issue.code !== 'invalid_union') return [{ ...issue, path }];
    const matched = issue.errors.filter((optionIssues) => !optionIssues.every(isWrongKind));
    const [only] = matched;
    return matched.length === 1 && only ? flattenUnions(only, path) : [{ ...issue, path }];
  });
}

function isWrongKind(issue: z.core.$ZodIssue): boolean {
  return issue.code === 'invalid_type' && issue.path.length === 0;
}

/**
 * Line and column of the node at `path`, or of its nearest ancestor in the file when the path goes
 * further than the YAML does. `key` points at the last key of the path; `mapping` at the key that
 * holds the mapping (or the mapping itself when it is a list item or the document).
 */
function positionOf(
  source: SpecSource,
  path: Path,
  target: 'value' | 'key' | 'mapping',
): { line: number; col: number } {
  let node: Node | null = source.doc.contents;
  let key: Node | null = null;
  let reached = 0;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(source.doc) ?? null;
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (!pair) break;
      key = pair.key as Node;
      node = (pair.value as Node | null) ?? key;
    } else if (isSeq(node) && typeof segment === 'number' && node.items[segment]) {
      key = null;
      node = node.items[segment] as Node;
    } else {
      break;
    }
    reached += 1;
  }
  const complete = reached === path.length;
  // An empty value has no text of its own, and a block mapping or list starts on the line below its
  // key: the key is where a reader looks for both.
  const emptyValue = isScalar(node) && node.value === null && !node.source;
  const useKey =
    key && ((target !== 'value' && complete) || emptyValue || (isCollection(node) && !node.flow));
  return offsetToPosition(source.lineCounter, (useKey ? key : node)?.range?.[0] ?? 0);
}

function offsetToPosition(lineCounter: LineCounter, offset: number): { line: number; col: number } {
  const { line, col } = lineCounter.linePos(offset);
  return { line, col };
}

function sortProblems(problems: SpecProblem[]): SpecProblem[] {
  return problems.sort((a, b) => a.line - b.line || a.col - b.col);
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
