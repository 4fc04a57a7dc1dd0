import { HerdError } from '../../herd-error.js';

/** Every failure `herd fim` raises on purpose. Tests assert these codes; the CLI maps them to exit codes. */
export type FimErrorCode =
  /** The directory to baseline or check does not exist or is not a directory. */
  | 'DIR_INVALID'
  /** The baseline file cannot be read. */
  | 'BASELINE_UNREADABLE'
  /** The baseline ends before its signature line: cut short, or never finished. */
  | 'BASELINE_TRUNCATED'
  /** The baseline is not herd's format, or its entries are out of order. */
  | 'BASELINE_MALFORMED'
  /** No trusted key signed this baseline, or its bytes are not the bytes that were signed. */
  | 'BASELINE_SIGNATURE_INVALID'
  /** The baseline describes another directory than the one to check. */
  | 'BASELINE_ROOT_MISMATCH'
  /** The baseline cannot be written. */
  | 'BASELINE_WRITE_FAILED'
  /** There is no key to verify the baseline with. */
  | 'NO_TRUSTED_KEYS'
  /** The baseline holds xattrs but this host cannot read them (the binding does not load), or one entry's cannot be read. */
  | 'XATTRS_UNAVAILABLE';

export class FimError extends HerdError<FimErrorCode> {}
