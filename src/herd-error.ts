/**
 * The base of every error herd raises on purpose. Each area (debian, oci, spec, build, …) has an
 * `errors.ts` with a subclass and a union of string codes; tests assert the code, not the message.
 * Messages are lowercase and say what was received and what was expected.
 */
export class HerdError<Code extends string = string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}
