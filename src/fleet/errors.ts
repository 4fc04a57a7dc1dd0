import { HerdError } from '../herd-error.js';

/** Every failure src/fleet raises on purpose. Tests assert these codes, not the messages. */
export type FleetErrorCode =
  /** No fleet is defined for the service. */
  | 'FLEET_NOT_FOUND'
  /** A first rollout came without the template (spec) its instances are made from. */
  | 'TEMPLATE_MISSING'
  /** A rollback found no earlier revision that completed. */
  | 'NO_PREVIOUS_REVISION'
  /** A size outside 0 to 10000, or not a whole number. */
  | 'SIZE_INVALID'
  /** A count that is neither a whole number nor a percentage such as "25%". */
  | 'COUNT_INVALID'
  /** A fleet API request that is not what the API expects (e.g. no digest). */
  | 'REQUEST_INVALID'
  /** A template read back from herd.db is malformed or of an unknown version. */
  | 'TEMPLATE_INVALID';

export class FleetError extends HerdError<FleetErrorCode> {}
