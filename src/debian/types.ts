/** Debian archive records as herd uses them. */

/** One binary package stanza from a Packages index, with where it came from. */
export interface PackageRecord {
  name: string;
  version: string;
  architecture: string;
  /** Source package name; the package's own name when the stanza has no Source field. */
  source: string;
  /** Source version; the binary version when `Source:` carries none. */
  sourceVersion: string;
  depends: string;
  preDepends: string;
  recommends: string;
  provides: string;
  conflicts: string;
  breaks: string;
  multiArch?: string;
  essential: boolean;
  priority?: string;
  filename: string;
  size: number;
  sha256: string;
  /** The suite and repository the stanza was read from. */
  suite: string;
  repository: string;
}
