/**
 * An engine's archive of an instance (an export, or one path) read with src/oci's stream reader,
 * its failures said as the watch's: a cut stream is EXPORT_TRUNCATED, a forged one
 * EXPORT_MALFORMED, one past the limits EXPORT_TOO_LARGE. Never a pass: the caller gets no entries
 * beyond the failure.
 */
import { OciError, readTarStream, type TarStreamItem, type TarStreamLimits } from '../oci/index.js';
import { WatchError, type WatchErrorCode } from './errors.js';

export async function* readExportStream(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  limits: TarStreamLimits = {},
): AsyncGenerator<TarStreamItem> {
  try {
    for await (const { entry, content } of readTarStream(source, limits)) {
      yield { entry, content: withExportErrors(content) };
    }
  } catch (error) {
    throw exportErrorOf(error);
  }
}

/** A file's bytes fail as the archive does: a stream cut inside the file is cut there. */
async function* withExportErrors(content: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  try {
    yield* content;
  } catch (error) {
    throw exportErrorOf(error);
  }
}

function exportErrorOf(error: unknown): unknown {
  if (!(error instanceof OciError)) return error;
  return new WatchError(exportCodeOf(error), error.message, { cause: error });
}

function exportCodeOf(error: OciError): WatchErrorCode {
  switch (error.code) {
    case 'TAR_TRUNCATED':
      return 'EXPORT_TRUNCATED';
    case 'TAR_TOO_LARGE':
      return 'EXPORT_TOO_LARGE';
    default:
      return 'EXPORT_MALFORMED';
  }
}
