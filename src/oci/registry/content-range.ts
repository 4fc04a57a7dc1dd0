/**
 * The byte ranges of chunked uploads. Unlike RFC 9110, the distribution spec writes them without a
 * unit and with an inclusive end: `Content-Range: 0-1023` on a PATCH, `Range: 0-1023` in the reply.
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pushing-a-blob-in-chunks
 */

/** The Content-Range of a chunk of `length` bytes (at least one) that starts at `start`. */
export function formatContentRange(start: number, length: number): string {
  if (!Number.isSafeInteger(start) || start < 0 || !Number.isSafeInteger(length) || length < 1) {
    throw new RangeError(`a chunk needs start >= 0 and length >= 1, got start ${start} and length ${length}`);
  }
  return `${start}-${start + length - 1}`;
}

/**
 * Reads a registry's `Range` reply. Some registries prefix `bytes=`; anything else that is not
 * `<start>-<end>` with start <= end is refused as undefined.
 */
export function parseUploadRange(header: string | null): { start: number; end: number } | undefined {
  const match = /^(?:bytes=)?([0-9]+)-([0-9]+)$/.exec(header?.trim() ?? '');
  if (!match) return undefined;
  const start = Number(match[1]);
  const end = Number(match[2]);
  return Number.isSafeInteger(end) && start <= end ? { start, end } : undefined;
}
