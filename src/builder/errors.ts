import { HerdError } from '../herd-error.js';

export type BuildErrorCode =
  | 'LOCK_INVALID'
  | 'LOCK_MISSING'
  | 'LOCK_STALE'
  /** HERD_HOME/archive-dates.json cannot be read: herd will not guess what it accepted before. */
  | 'ARCHIVE_DATES_INVALID'
  | 'APP_FILE_MISSING'
  | 'PATH_CONFLICT'
  | 'DEB_MISMATCH'
  /** A .deb's own control file names another package, version or architecture than herd.lock. */
  | 'DEB_CONTROL_MISMATCH'
  /** An unpacked package's bytes on disk changed after herd read and hashed them. */
  | 'CACHE_TAMPERED'
  /** A base layer that decompresses past the cap (a decompression bomb). */
  | 'DECOMPRESSED_TOO_LARGE'
  | 'SOURCE_DATE_EPOCH_INVALID'
  /** `image.from` names no catalog release, or its digest is not in the local store. */
  | 'BASE_NOT_FOUND'
  /** The base is not an image herd can build on: wrong platform, unknown layer type, broken digests. */
  | 'BASE_INVALID'
  /** A base layer holds what no image may: device nodes, unsafe paths, escaping links. */
  | 'BASE_UNSAFE'
  /** The base's /etc/passwd or /etc/group gives the spec's user name or group another id. */
  | 'ACCOUNT_CONFLICT'
  /** A `run.writable` path where the image has a file or a link: a tmpfs can only go over a folder. */
  | 'WRITABLE_NOT_FOLDER'
  /** The entrypoint or command is missing, not executable by the run user, or needs what the image lacks. */
  | 'ENTRYPOINT_UNRUNNABLE';

export class BuildError extends HerdError<BuildErrorCode> {}
