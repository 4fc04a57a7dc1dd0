import { HerdError } from '../herd-error.js';

/** Every failure src/specfile raises on purpose. Tests assert these codes, not the messages. */
export type SpecErrorCode =
  /** The spec file (or `<dir>/herd.yaml`) cannot be read. */
  | 'SPEC_NOT_FOUND'
  /** The file is not well-formed YAML. */
  | 'SPEC_SYNTAX'
  /** The YAML is well-formed but is not a valid herd.yaml v1. */
  | 'SPEC_INVALID'
  /** `herd init` would overwrite an existing herd.yaml. */
  | 'SPEC_EXISTS'
  /** A run template read back (attested with an image, stored with a fleet) is malformed or of an unknown version. */
  | 'RUN_TEMPLATE_INVALID';

/** One thing wrong with a spec, located in its file (line and col are 1-based). */
export interface SpecProblem {
  file: string;
  line: number;
  col: number;
  /**
   * Where in the spec: `['image', 'packages', 2]`. For an unknown field it is the field's own path,
   * for a missing one the path of the mapping that lacks it.
   */
  path: (string | number)[];
  /** What is wrong, starting with the field's name: `image.packages[2]: expected a package name, got 42`. */
  message: string;
}

export class SpecError extends HerdError<SpecErrorCode> {
  /** Sorted by position; empty when the error is about the file as a whole (not found, exists). */
  readonly problems: SpecProblem[];

  constructor(
    code: SpecErrorCode,
    message: string,
    options: { problems?: SpecProblem[]; cause?: unknown } = {},
  ) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.problems = options.problems ?? [];
  }

  /** An error whose message lists every problem as `file:line:col: what is wrong`, one per line. */
  static fromProblems(code: SpecErrorCode, problems: SpecProblem[]): SpecError {
    return new SpecError(code, problems.map(formatProblem).join('\n'), { problems });
  }
}

export function formatProblem(problem: SpecProblem): string {
  return `${problem.file}:${problem.line}:${problem.col}: ${problem.message}`;
}

/** `image.packages[2]`, `env.API_TOKEN`, `files[0].src`; odd keys are quoted: `env["my var"]`. */
export function formatPath(path: readonly (string | number)[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

/** How a received value reads in a message: `42`, `"Foo"`, `a list`, `an empty value`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (value instanceof Uint8Array) return 'binary data';
  if (typeof value === 'object') return Object.keys(value).length === 0 ? 'an empty mapping' : 'a mapping';
  return `a ${typeof value}`;
}
