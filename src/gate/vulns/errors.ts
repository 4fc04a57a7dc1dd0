import { HerdError } from '../../herd-error.js';

/** Every failure src/gate/vulns raises on purpose. Tests assert these codes, not the messages. */
export type VulnDbErrorCode =
  /** Neither `--from` nor HERD_VULNDB_URL names where the data comes from. */
  | 'VULNDB_SOURCE_MISSING'
  | 'VULNDB_FETCH_FAILED'
  /** The input is not tracker JSON or OSV: bad JSON, bad gzip, or a field of the wrong shape. */
  | 'VULNDB_MALFORMED'
  /** A gzip input that decompresses past the cap (endless data). */
  | 'VULNDB_TOO_LARGE'
  /** The input parsed but holds no record for the suites asked for. */
  | 'VULNDB_EMPTY'
  | 'VULNDB_RELEASE_UNKNOWN'
  /** No cache yet: `herd vulndb update` has never succeeded in this HERD_HOME. */
  | 'VULNDB_MISSING'
  /** The cache file exists but is not one herd wrote (damaged, or an older format). */
  | 'VULNDB_CACHE_INVALID';

export class VulnDbError extends HerdError<VulnDbErrorCode> {}
