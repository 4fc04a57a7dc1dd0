/**
 * JSON decoded into a declared shape the way Go's encoding/json fills a struct, because cosign,
 * sigstore and in-toto read their payloads with it and herd must read the same bytes the same way
 * (a parser differential on signed data is a way to make two verifiers disagree):
 * - an object key selects the struct field with that name, else the one whose name equals it under
 *   Unicode case folding (`Critical`, `DOCKER-REFERENCE`, even the Kelvin sign for `k`);
 * - keys are applied in order, so of two keys for one field the later wins; an object decoded
 *   into a struct or a map that already holds values merges into it;
 * - unknown keys are ignored; `null` leaves a struct or string as it was and clears a map, slice
 *   or interface value; any other type mismatch is an error (Go's Unmarshal fails).
 * Spec: https://pkg.go.dev/encoding/json#Unmarshal
 */

export type GoShape =
  | { kind: 'string' }
  | { kind: 'struct'; fields: Readonly<Record<string, GoShape>> }
  | { kind: 'map'; values: GoShape }
  | { kind: 'slice'; items: GoShape }
  /** interface{}: whatever the JSON holds, as JSON.parse gives it (last duplicate key wins). */
  | { kind: 'any' };

export const goString: GoShape = { kind: 'string' };
export const goAny: GoShape = { kind: 'any' };
export function goStruct(fields: Record<string, GoShape>): GoShape {
  return { kind: 'struct', fields };
}
export function goMap(values: GoShape): GoShape {
  return { kind: 'map', values };
}
export function goSlice(items: GoShape): GoShape {
  return { kind: 'slice', items };
}

/** Why a document did not decode: `path` names the field in the shape's own spelling. */
export class GoJsonError extends Error {
  readonly path: string;

  constructor(path: string, message: string) {
    super(message);
    this.path = path;
  }
}

/** Deeper than this is refused; Go stops at 10000, and no signed payload comes near either. */
const maxDepth = 512;

/**
 * Decodes `text` into `shape`. A struct becomes an object holding only the fields that were set
 * (a missing field is Go's zero value: the caller reads `undefined` as "", nil or empty).
 */
export function decodeGoJson(text: string, shape: GoShape): unknown {
  const reader = new Reader(text);
  reader.space();
  const value = reader.decode(shape, undefined, { path: '', depth: 0 });
  reader.space();
  if (!reader.done()) reader.fail('', 'unexpected data after the top-level value');
  return value;
}

/**
 * Go's fold for matching a key against an ASCII field name: ASCII letters upper-cased, and the two
 * non-ASCII runes whose fold set holds an ASCII letter (U+212A Kelvin sign, U+017F long s) mapped
 * to it. Any other non-ASCII rune can never equal an ASCII name, so it is left as it is.
 */
export function foldKey(key: string): string {
  let folded = '';
  for (const char of key) {
    if (char === '\u212a') folded += 'K';
    else if (char === '\u017f') folded += 'S';
    else if (char >= 'a' && char <= 'z') folded += char.toUpperCase();
    else folded += char;
  }
  return folded;
}

type Context = { path: string; depth: number };

/** RFC 8259 §6, sticky: matched at the reader's position only. */
const numberPattern = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

class Reader {
  readonly #text: string;
  #at = 0;

  constructor(text: string) {
    this.#text = text;
  }

  done(): boolean {
    return this.#at >= this.#text.length;
  }

  fail(path: string, why: string): never {
    throw new GoJsonError(path, why);
  }

  space(): void {
    const text = this.#text;
    while (this.#at < text.length) {
      const c = text.charCodeAt(this.#at);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.#at++;
    }
  }

  decode(shape: GoShape, current: unknown, context: Context): unknown {
    if (context.depth > maxDepth) this.fail(context.path, `nested deeper than ${maxDepth} levels`);
    const next = this.#text[this.#at];
    if (next === 'n' && shape.kind !== 'any') {
      this.#literal('null', context.path);
      return shape.kind === 'struct' || shape.kind === 'string' ? current : undefined;
    }
    switch (shape.kind) {
      case 'any':
        return JSON.parse(this.#skipValue(context));
      case 'string':
        if (next !== '"') this.fail(context.path, `expected a string, got ${this.#describe()}`);
        return this.#string(context.path);
      case 'struct':
        return this.#struct(shape.fields, current, context);
      case 'map':
        return this.#map(shape.values, current, context);
      case 'slice':
        return this.#slice(shape.items, current, context);
      default: {
        const exhaustive: never = shape;
        return exhaustive;
      }
    }
  }

  #struct(fields: Readonly<Record<string, GoShape>>, current: unknown, context: Context): unknown {
    if (this.#text[this.#at] !== '{') this.fail(context.path, `expected an object, got ${this.#describe()}`);
    const result: Record<string, unknown> = { ...((current as Record<string, unknown>) ?? {}) };
    this.#entries(context.path, (key) => {
      const name = fieldFor(fields, key);
      const path = join(context.path, name ?? key);
      if (name === undefined) {
        this.#skipValue({ path, depth: context.depth + 1 });
        return;
      }
      result[name] = this.decode(fields[name] as GoShape, result[name], { path, depth: context.depth + 1 });
    });
    return result;
  }

  /** Map keys are data, not field names: taken as written. An existing map is added to. */
  #map(values: GoShape, current: unknown, context: Context): unknown {
    if (this.#text[this.#at] !== '{') this.fail(context.path, `expected an object, got ${this.#describe()}`);
    const result: Record<string, unknown> = { ...((current as Record<string, unknown>) ?? {}) };
    this.#entries(context.path, (key) => {
      const path = join(context.path, key);
      // Each map element starts from its zero value, never from the previous one.
      const value = this.decode(values, undefined, { path, depth: context.depth + 1 });
      Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
    });
    return result;
  }

  /** Go decodes element i into the slice's existing element i, then cuts the slice to length. */
  #slice(items: GoShape, current: unknown, context: Context): unknown {
    if (this.#text[this.#at] !== '[') this.fail(context.path, `expected an array, got ${this.#describe()}`);
    const previous = Array.isArray(current) ? current : [];
    const result: unknown[] = [];
    this.#items(context.path, (index) => {
      const path = `${context.path}[${index}]`;
      result.push(this.decode(items, previous[index], { path, depth: context.depth + 1 }));
    });
    return result;
  }

  /** Calls `each(index)` with the reader on each element; `each` must consume it. */
  #items(path: string, each: (index: number) => void): void {
    this.#at++;
    this.space();
    if (this.#text[this.#at] === ']') {
      this.#at++;
      return;
    }
    for (let index = 0; ; index++) {
      each(index);
      this.space();
      const c = this.#text[this.#at];
      this.#at++;
      if (c === ']') return;
      if (c !== ',') this.fail(path, `expected , or ] in an array, got ${describeChar(c)}`);
      this.space();
    }
  }

  /** Calls `each(key)` with the reader on the value; `each` must consume it. */
  #entries(path: string, each: (key: string) => void): void {
    this.#at++;
    this.space();
    if (this.#text[this.#at] === '}') {
      this.#at++;
      return;
    }
    for (;;) {
      if (this.#text[this.#at] !== '"') this.fail(path, `expected a key, got ${this.#describe()}`);
      const key = this.#string(path);
      this.space();
      if (this.#text[this.#at] !== ':') this.fail(path, `expected : after key ${JSON.stringify(key)}`);
      this.#at++;
      this.space();
      each(key);
      this.space();
      const c = this.#text[this.#at];
      this.#at++;
      if (c === '}') return;
      if (c !== ',') this.fail(path, `expected , or } in an object, got ${describeChar(c)}`);
      this.space();
    }
  }

  /** Checks one value's syntax and returns its text, without building anything. */
  #skipValue(context: Context): string {
    if (context.depth > maxDepth) this.fail(context.path, `nested deeper than ${maxDepth} levels`);
    const start = this.#at;
    const c = this.#text[this.#at];
    const deeper = { ...context, depth: context.depth + 1 };
    if (c === '"') this.#string(context.path);
    else if (c === '{') this.#entries(context.path, () => this.#skipValue(deeper));
    else if (c === '[') this.#items(context.path, () => this.#skipValue(deeper));
    else if (c === 't') this.#literal('true', context.path);
    else if (c === 'f') this.#literal('false', context.path);
    else if (c === 'n') this.#literal('null', context.path);
    else this.#number(context.path);
    return this.#text.slice(start, this.#at);
  }

  #literal(word: string, path: string): void {
    if (!this.#text.startsWith(word, this.#at))
      this.fail(path, `expected a JSON value, got ${this.#describe()}`);
    this.#at += word.length;
  }

  #number(path: string): void {
    numberPattern.lastIndex = this.#at;
    if (!numberPattern.test(this.#text)) this.fail(path, `expected a JSON value, got ${this.#describe()}`);
    this.#at = numberPattern.lastIndex;
  }

  /** Scans a string token by hand (no regex over megabytes), then lets JSON.parse decode its escapes. */
  #string(path: string): string {
    const text = this.#text;
    const start = this.#at;
    let at = start + 1;
    for (;;) {
      if (at >= text.length) this.fail(path, 'unterminated string');
      const c = text.charCodeAt(at);
      if (c === 0x22) break;
      if (c < 0x20) this.fail(path, 'control character in a string');
      if (c === 0x5c) {
        const escaped = text[at + 1];
        if (escaped === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(at + 2, at + 6)))
            this.fail(path, 'bad \\u escape in a string');
          at += 6;
          continue;
        }
        if (escaped === undefined || !'"\\/bfnrt'.includes(escaped))
          this.fail(path, 'bad escape in a string');
        at += 2;
        continue;
      }
      at++;
    }
    this.#at = at + 1;
    return JSON.parse(text.slice(start, at + 1)) as string;
  }

  #describe(): string {
    const c = this.#text[this.#at];
    switch (c) {
      case '"':
        return 'a string';
      case '{':
        return 'an object';
      case '[':
        return 'an array';
      case 't':
      case 'f':
        return 'a boolean';
      case 'n':
        return 'null';
      default:
        return c !== undefined && /[-0-9]/.test(c) ? 'a number' : describeChar(c);
    }
  }
}

/** Go's rule: the field named exactly so, else the one equal under case folding. */
function fieldFor(fields: Readonly<Record<string, GoShape>>, key: string): string | undefined {
  if (Object.hasOwn(fields, key)) return key;
  const folded = foldKey(key);
  return Object.keys(fields).find((name) => foldKey(name) === folded);
}

function join(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

function describeChar(c: string | undefined): string {
  return c === undefined ? 'the end of the input' : `character ${JSON.stringify(c)}`;
}
