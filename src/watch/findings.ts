/** What a check found: one path that differs from the image, and how it was seen. */

export type FindingChange = 'added' | 'modified' | 'deleted';

export interface DriftFinding {
  /** Absolute path in the instance. */
  path: string;
  change: FindingChange;
  /** Why it counts, in a few words: `not in the file manifest`, `sha256 differs`, `executable in writable /tmp`. */
  reason: string;
  /** What the instance holds there now, when it was read. */
  observed?: ObservedFile;
}

export interface ObservedFile {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Hex sha256 of a regular file's bytes. */
  sha256?: string;
  target?: string;
  /** The first bytes of the file, up to the evidence cap. */
  head?: Buffer;
}
