/**
 * Where `herd vulndb update` reads from unless told otherwise: apart from commands/gate.ts, so
 * that `herd --help` can name it without loading the gate.
 */

/** The Debian security tracker's own export. */
export const trackerDataUrl = 'https://security-tracker.debian.org/tracker/data/json';
