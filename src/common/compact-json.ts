/**
 * JSON with no whitespace and the keys in the order they were written: the bytes of OCI
 * documents (manifests, index.json, configs) that are then hashed, so they must not depend on
 * formatting. Not canonical: two objects with the same members in another order give other bytes,
 * and a digest already taken over these bytes must keep matching, so the order is never changed.
 */
export function compactJson(document: unknown): string {
  return JSON.stringify(document);
}
