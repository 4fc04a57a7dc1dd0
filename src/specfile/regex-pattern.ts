/**
 * A regular expression written in herd.yaml (an acceptance check's header or body pattern): it must
 * compile as JavaScript writes it (no flags), stay short, and have no group repeated without bound
 * that itself holds a repetition (`(a+)+`, `(\w{1,3})*`), the shape behind most catastrophic
 * backtracking. Matching in Node
 * cannot be interrupted, so a pattern that could take exponential time is refused here, before any
 * response is matched against it.
 */

/** Long enough for any real header or body pattern, short enough that a pasted document is refused. */
export const maxRegexPatternLength = 1024;

/** What is wrong with `source` as a pattern, or undefined when it is fine. */
export function regexPatternProblem(source: string): string | undefined {
  if (source.length > maxRegexPatternLength)
    return `expected a regular expression of at most ${maxRegexPatternLength} characters, got ${source.length}`;
  try {
    new RegExp(source);
  } catch (error) {
    // V8 says "Invalid regular expression: /(/: Unterminated group"; the pattern is named already.
    const reason = (error as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
    return `expected a regular expression (JavaScript syntax), got ${JSON.stringify(shortened(source))}: ${lowerFirst(reason)}`;
  }
  const nested = nestedQuantifierAt(source);
  if (nested !== undefined) {
    return `expected a regular expression without a repeated group that repeats inside (it can take exponential time), got ${JSON.stringify(shortened(source))}: the group ending at character ${nested + 1} repeats and holds a repetition`;
  }
  return undefined;
}

interface OpenGroup {
  /** Some element inside repeats a variable number of times (`*`, `+`, `{n,}`, `{n,m}` with m > n). */
  repeats: boolean;
}

/**
 * The index of the `)` of the first group repeated without bound (`*`, `+`, `{n,}`) that holds a
 * variable repetition, as safe-regex's "star height above 1". A bounded outer count (`(\d{1,3}\.){3}`)
 * is fine: its cost is polynomial. Escapes and character classes are skipped; `?` (at most once)
 * does not count. Only called on a pattern that compiles.
 */
export function nestedQuantifierAt(source: string): number | undefined {
  const open: OpenGroup[] = [];
  /** The group that just closed, while the next character may still quantify it. */
  let closed: { repeats: boolean; at: number } | undefined;
  let index = 0;
  while (index < source.length) {
    const char = source[index];
    const repetition = repetitionAt(source, index);
    if (repetition !== undefined) {
      if (repetition.unbounded && closed?.repeats) return closed.at;
      if (repetition.variable) markRepeats(open);
      closed = undefined;
      index += repetition.length;
      continue;
    }
    closed = undefined;
    if (char === '\\') {
      index += 2;
    } else if (char === '[') {
      index = classEnd(source, index) + 1;
    } else if (char === '(') {
      open.push({ repeats: false });
      // `(?:`, `(?=`, `(?<name>`: this `?` is not a quantifier.
      index += source[index + 1] === '?' ? 2 : 1;
    } else if (char === ')') {
      const group = open.pop() ?? { repeats: false };
      if (group.repeats) markRepeats(open);
      closed = { repeats: group.repeats, at: index };
      index += 1;
    } else {
      index += 1;
    }
  }
  return undefined;
}

function markRepeats(open: OpenGroup[]): void {
  const innermost = open.at(-1);
  if (innermost) innermost.repeats = true;
}

interface Repetition {
  /** It may match a varying number of times: `*`, `+`, `{n,}`, `{n,m}` with m > n. */
  variable: boolean;
  /** It has no upper bound: `*`, `+`, `{n,}`. */
  unbounded: boolean;
  /** Characters it takes, with its lazy `?`. */
  length: number;
}

/** The quantifier at `index`, if there is one. */
function repetitionAt(source: string, index: number): Repetition | undefined {
  const char = source[index];
  const lazy = (length: number) => (source[index + length] === '?' ? length + 1 : length);
  if (char === '*' || char === '+') return { variable: true, unbounded: true, length: lazy(1) };
  if (char === '?') return { variable: false, unbounded: false, length: 1 };
  if (char !== '{') return undefined;
  // Without the u flag, a `{` that does not start a count is a literal brace.
  const braces = /^\{(\d+)(?:(,)(\d*))?\}/.exec(source.slice(index));
  if (!braces) return undefined;
  const [text, min, comma, max] = braces;
  const unbounded = comma !== undefined && max === '';
  const variable = unbounded || (comma !== undefined && Number(max) > Number(min));
  return { variable, unbounded, length: lazy(text.length) };
}

/** The index of the `]` that ends the character class opened at `start` (JavaScript without the v flag). */
function classEnd(source: string, start: number): number {
  let index = start + 1;
  if (source[index] === '^') index += 1;
  while (index < source.length && source[index] !== ']') index += source[index] === '\\' ? 2 : 1;
  return index;
}

function shortened(source: string): string {
  return source.length > 60 ? `${source.slice(0, 57)}...` : source;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
