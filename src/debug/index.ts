/** What other folders use of src/debug/ (docs/architecture.md, "Public entries"). */
export { type DebugSession, DebugSessions } from './debug-sessions.js';
export { DebugError } from './errors.js';
export { encodeFrame, FrameReader, frameTypes, type SessionEnd } from './session-frames.js';
