import { HerdError } from '../herd-error.js';

/** What a debug session refuses or fails with on purpose; tests assert the code. */
export type DebugErrorCode =
  /** No running herd instance of a fleet with that id (or prefix). */
  | 'INSTANCE_NOT_FOUND'
  /** An id prefix that names more than one instance. */
  | 'INSTANCE_AMBIGUOUS'
  /** The instance already has a debug session: one at a time. */
  | 'ALREADY_DEBUGGING'
  /** The program to run is not in the instance (an image without a shell has no /bin/sh). */
  | 'PROGRAM_MISSING'
  /** The engine did not start the program; the instance is destroyed all the same. */
  | 'SESSION_FAILED'
  /** The client did not speak the session's framing (session-frames.ts). */
  | 'FRAME_INVALID';

export class DebugError extends HerdError<DebugErrorCode> {}
