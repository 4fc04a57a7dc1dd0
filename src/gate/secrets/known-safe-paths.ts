/**
 * Where Debian packages ship key material that is not anyone's secret: public CA certificates,
 * documentation, and upstream test suites with throwaway keys (python3-cryptography, libssl's test
 * data, Go and Node modules' fixtures). Only files a package owns are skipped here; an app file
 * under these paths is scanned like any other, since nothing vouches for it.
 */

const safePrefixes = [
  '/usr/share/doc/',
  '/usr/share/ca-certificates/',
  '/etc/ssl/certs/',
  '/usr/share/common-licenses/',
];

/** Folders upstream projects keep test material in, at any depth. */
const safeFolders = ['test', 'tests', 'testdata', 'test-data', 'testing', 'fixtures', 'examples'];

const safeFolder = new RegExp(`/(?:${safeFolders.join('|')})/`);

export function isKnownSafePackagePath(path: string): boolean {
  return safePrefixes.some((prefix) => path.startsWith(prefix)) || safeFolder.test(path);
}
