/**
 * A .deb says who it is: the Package, Version and Architecture of its own control file must be
 * herd.lock's. The lock's sha256 binds the bytes; this binds the lock's words (what the SBOMs,
 * the provenance and the gate report) to what those bytes say they are, so an edited version in
 * the lock cannot build an image whose SBOM claims a version that is not in it.
 */
import { field, parseControlParagraphs } from '../debian/index.js';
import { BuildError } from './errors.js';
import type { LockedPackage } from './lock-file.js';

export interface IdentityMismatch {
  field: 'Package' | 'Version' | 'Architecture';
  /** What the .deb's control file says; undefined when it lacks the field. */
  got: string | undefined;
  /** What herd.lock says. */
  expected: string;
}

/** Every field where the control file and the lock entry differ; empty when they agree. */
export function debIdentityMismatches(
  control: string,
  locked: LockedPackage,
  options: { origin?: string } = {},
): IdentityMismatch[] {
  const [paragraph = []] = parseControlParagraphs(control, options.origin ? { origin: options.origin } : {});
  const expected = { Package: locked.name, Version: locked.version, Architecture: locked.architecture };
  const mismatches: IdentityMismatch[] = [];
  for (const name of ['Package', 'Version', 'Architecture'] as const) {
    const got = field(paragraph, name)?.trim();
    if (got !== expected[name]) mismatches.push({ field: name, got, expected: expected[name] });
  }
  return mismatches;
}

/** Throws DEB_CONTROL_MISMATCH naming the .deb, the field, what it says and what the lock says. */
export function checkDebIdentity(control: string, locked: LockedPackage, options: { name: string }): void {
  const [first, ...rest] = debIdentityMismatches(control, locked, {
    origin: `the control file of ${options.name}`,
  });
  if (!first) return;
  const said = (m: IdentityMismatch) =>
    `${m.field} ${m.got === undefined ? '(missing)' : JSON.stringify(m.got)}, herd.lock says ${JSON.stringify(m.expected)}`;
  throw new BuildError(
    'DEB_CONTROL_MISMATCH',
    `${options.name}: its control file says ${[first, ...rest].map(said).join('; ')}; ` +
      'the lock was edited, or the archive signed a package under another name: run herd lock again',
  );
}
