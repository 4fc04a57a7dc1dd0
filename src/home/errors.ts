import { HerdError } from '../herd-error.js';

/** Every failure src/home raises on purpose. Tests assert these codes, not the messages. */
export type HomeErrorCode =
  /** Another live control plane holds HERD_HOME's lock. */
  | 'HOME_IN_USE'
  /** The lock file is not one herd wrote: not JSON, or a field missing or of the wrong kind. */
  | 'HOME_LOCK_INVALID'
  /** The lock kept changing hands for longer than the time allowed to take it. */
  | 'HOME_LOCK_BUSY'
  /** This process's lock was replaced while it ran (someone removed it by hand). */
  | 'HOME_LOCK_LOST'
  /** HERD_HOME belongs to another user, who could replace what herd writes in it. */
  | 'HOME_NOT_OWNED';

export class HomeError extends HerdError<HomeErrorCode> {}
