/**
 * Package URLs for Debian packages, shared by the SBOMs and the provenance so every document names
 * a package the same way, and the way scanners (Syft, Trivy) name it.
 * Spec: https://github.com/package-url/purl-spec/blob/main/PURL-SPECIFICATION.rst
 * deb type: https://github.com/package-url/purl-spec/blob/main/PURL-TYPES.rst#deb
 */
import type { LockedPackage } from './lock-file.js';

/** Debian's version numbers by suite: a lock records the codename, scanners match `distro=debian-<n>`. */
const debianVersionOf: Record<string, string> = {
  buster: '10',
  bullseye: '11',
  bookworm: '12',
  trixie: '13',
  forky: '14',
};

/**
 * The purl `distro` qualifier: `debian-<VERSION_ID>` when the version is known (from os-release,
 * else from the codename), else the bare codename, which the deb purl type also allows.
 */
export function debianDistro(suite: string, options: { versionId?: string } = {}): string {
  const version = options.versionId ?? debianVersionOf[suite];
  return version ? `debian-${version}` : suite;
}

/**
 * `pkg:deb/debian/<name>@<version>?arch=<arch>&distro=<distro>[&upstream=<source>]`.
 * The arch is the package's own (`all` for architecture-independent packages), as dpkg records it.
 */
export function debianPurl(
  pkg: Pick<LockedPackage, 'name' | 'version' | 'architecture' | 'source'>,
  options: { distro: string },
): string {
  // Qualifier keys are sorted, as the spec's canonical form requires.
  const qualifiers: [string, string][] = [
    ['arch', pkg.architecture],
    ['distro', options.distro],
  ];
  if (pkg.source && pkg.source !== pkg.name) qualifiers.push(['upstream', pkg.source]);
  const query = qualifiers.map(([key, value]) => `${key}=${percentEncode(value)}`).join('&');
  return `pkg:deb/debian/${percentEncode(pkg.name)}@${purlVersion(pkg.version)}?${query}`;
}

/**
 * A Debian version as the purl spec writes it: percent-encoded, except that the epoch's `:` stays
 * a colon. The spec's core rules say `:` needs no encoding anywhere and must not be encoded, and
 * the deb type's own example is `pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64`. Trivy instead
 * moves the epoch into an `epoch=` qualifier, which the deb type does not define.
 */
export function purlVersion(version: string): string {
  return version.split(':').map(percentEncode).join(':');
}

/** `pkg:oci/<name>@sha256%3A<hex>`: the image itself, as the oci purl type names it. */
export function ociPurl(name: string, digest: string): string {
  return `pkg:oci/${percentEncode(name)}@${percentEncode(digest)}`;
}

/** A base image's purl: named by its service, or `base` when the spec named it by digest alone. */
export function baseImagePurl(ref: string, digest: string): string {
  const name = ref.startsWith('sha256:') ? 'base' : (ref.split('@')[0] ?? ref);
  return ociPurl(name, digest);
}

/**
 * Percent-encodes everything but RFC 3986 unreserved characters, so a Debian version's `+`
 * becomes %2B (a bare `+` would read as a space in a query), while `~` stays as is.
 */
export function percentEncode(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9._~-]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
