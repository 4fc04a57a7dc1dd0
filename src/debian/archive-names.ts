/**
 * Names read from an archive are data, never paths. Package names, versions and architectures end
 * up in file names (`/var/lib/dpkg/status.d/<name>`), cache keys, URLs and SBOMs, so each is held
 * to Debian Policy's syntax before anything uses it: a signed index (or an edited lock) naming a
 * package `../../x` is refused, not written out. Each check returns why a value is not valid, or
 * undefined when it is, so the caller can name the field and where it was read.
 */

/** Debian Policy §5.6.1 (Source) and §5.6.7 (Package): https://www.debian.org/doc/debian-policy/ch-controlfields.html#source */
const packageName = /^[a-z0-9][a-z0-9+.-]+$/;

/**
 * dpkg-architecture(1) names: `amd64`, `arm64`, `ppc64el`, `hurd-i386`, and `all` for
 * architecture-independent packages.
 */
const architectureName = /^[a-z0-9][a-z0-9-]*$/;

/** Debian Policy §5.6.12: the epoch is an unsigned integer. */
const epochPattern = /^\d+$/;
/** The upstream version starts with a digit and holds alphanumerics and `. + - ~`. */
const upstreamPattern = /^[0-9][A-Za-z0-9.+~-]*$/;
/** The Debian revision holds alphanumerics and `+ . ~` (no hyphen: the last hyphen splits it off). */
const revisionPattern = /^[A-Za-z0-9+.~]+$/;

export function packageNameProblem(value: string): string | undefined {
  if (packageName.test(value)) return undefined;
  return 'expected a Debian package name: two or more of a-z, 0-9, "+", "-", ".", starting with a letter or digit (Debian Policy 5.6.1)';
}

export function architectureProblem(value: string): string | undefined {
  if (architectureName.test(value)) return undefined;
  return 'expected a Debian architecture name such as amd64, arm64 or all: a-z, 0-9 and "-"';
}

/**
 * Policy §5.6.12, `[epoch:]upstream_version[-debian_revision]`. Stricter than dpkg, which only
 * warns about stray characters: a version is also a file name component here.
 */
export function versionProblem(value: string): string | undefined {
  const expected = 'expected [epoch:]upstream[-revision] (Debian Policy 5.6.12)';
  const colon = value.indexOf(':');
  const epoch = colon >= 0 ? value.slice(0, colon) : undefined;
  const rest = colon >= 0 ? value.slice(colon + 1) : value;
  if (epoch !== undefined && !epochPattern.test(epoch)) {
    return `the epoch "${epoch}" is not an unsigned integer; ${expected}`;
  }
  const hyphen = rest.lastIndexOf('-');
  const upstream = hyphen >= 0 ? rest.slice(0, hyphen) : rest;
  const revision = hyphen >= 0 ? rest.slice(hyphen + 1) : undefined;
  if (!upstreamPattern.test(upstream)) {
    return `the upstream version "${upstream}" must start with a digit and hold only A-Z, a-z, 0-9 and ". + - ~"; ${expected}`;
  }
  if (revision !== undefined && !revisionPattern.test(revision)) {
    return `the revision "${revision}" must hold only A-Z, a-z, 0-9 and "+ . ~"; ${expected}`;
  }
  return undefined;
}

const plainPoolPath = /^[A-Za-z0-9][A-Za-z0-9+._~-]*(?:\/[A-Za-z0-9][A-Za-z0-9+._~-]*)*$/;

/**
 * A pool path (a Packages `Filename`): relative to the repository root, never climbing out of it.
 * Percent-escapes count as what they decode to, since the path becomes part of a URL, and `?`, `#`
 * and backslashes are refused because they would change which URL or file is read.
 */
export function poolPathProblem(value: string): string | undefined {
  // The common case at once: every segment starts with a letter or digit, so none is `.` or `..`,
  // and no `%`, `\`, `?`, `#`, space or control character appears (Packages indexes hold 60,000).
  if (plainPoolPath.test(value)) return undefined;
  const expected =
    'expected a path relative to the repository root, like pool/main/h/hello/hello_1.0_amd64.deb';
  if (value === '') return `it is empty; ${expected}`;
  if (value.startsWith('/')) return `it is absolute; ${expected}`;
  // Control characters, spaces and the characters that end or re-interpret a URL path.
  if (/[\0-\x20\x7f\\?#]/.test(value))
    return `it holds a space, a control character, "\\", "?" or "#"; ${expected}`;
  for (const segment of value.split('/')) {
    if (segment === '') return `it has an empty component; ${expected}`;
    const decoded = segment.replace(/%2e/gi, '.');
    if (decoded === '.' || decoded === '..') return `it has a "${segment}" component; ${expected}`;
    if (/%2f|%5c/i.test(segment)) return `it has an encoded "/" or "\\" in "${segment}"; ${expected}`;
  }
  return undefined;
}
