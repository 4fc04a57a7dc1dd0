import { HerdError } from '../herd-error.js';

/** Every failure src/debian raises on purpose. Tests assert these codes, not the messages. */
export type DebianErrorCode =
  // Sources discovery and trust.
  | 'SOURCES_INVALID'
  | 'SOURCE_NOT_FOUND'
  | 'KEYRING_UNREADABLE'
  | 'SIGNATURE_INVALID'
  | 'SIGNATURE_MISSING'
  | 'RELEASE_MALFORMED'
  | 'RELEASE_EXPIRED'
  /** A Release dated later than now: apt's "not valid yet". */
  | 'RELEASE_NOT_YET_VALID'
  /** A signed Release of one suite served in place of another (mix-and-match). */
  | 'RELEASE_WRONG_SUITE'
  /** A Release older than one herd accepted before (rollback). */
  | 'RELEASE_DOWNGRADE'
  | 'FETCH_FAILED'
  /** A mirror that stopped sending, or sends too slowly to finish by the download's deadline. */
  | 'FETCH_TIMEOUT'
  // Indexes and their integrity.
  | 'INDEX_MISSING'
  | 'INDEX_MALFORMED'
  | 'DIGEST_MISMATCH'
  | 'CONTROL_MALFORMED'
  /** An image's dpkg database that cannot be trusted: unreadable, invalid names, a package twice. */
  | 'DPKG_DATABASE_INVALID'
  // Versions, relations and resolution.
  | 'VERSION_INVALID'
  | 'RELATION_INVALID'
  | 'PACKAGE_UNKNOWN'
  | 'PACKAGE_CONFLICT'
  | 'DEPENDENCY_UNSATISFIABLE'
  // .deb archives, parsed as hostile input.
  | 'DEB_MALFORMED'
  | 'DEB_UNSAFE_PATH'
  | 'DEB_UNSAFE_ENTRY'
  | 'DEB_TOO_LARGE'
  /** A member or an index that decompresses past the cap set for it (a decompression bomb). */
  | 'DECOMPRESSED_TOO_LARGE';

export class DebianError extends HerdError<DebianErrorCode> {}
