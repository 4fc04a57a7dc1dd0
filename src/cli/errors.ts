import { HerdError } from '../herd-error.js';

export type CliErrorCode =
  | 'KEY_PASSWORD_MISSING'
  | 'ARGUMENT_INVALID'
  | 'CONTROL_PLANE_UNREACHABLE'
  | 'CONTROL_PLANE_REFUSED';

/** Problems with what was typed or what the terminal can give: arguments, passwords. */
export class CliError extends HerdError<CliErrorCode> {}
