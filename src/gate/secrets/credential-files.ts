/**
 * Files that hold credentials by the convention of their name, whatever is in them today: a key
 * file shipped empty is still where the next key will go. Matched on the path alone, so size and
 * binary content (a PKCS#12 bundle) do not hide them. Each entry says what the file is, for the
 * finding's message. Files whose format the scan reads field by field (`.env`, `.netrc`,
 * `.pypirc`, `.npmrc`, `.git-credentials`, docker's and containers' auth files) are judged by
 * what they hold instead (credential-formats.ts, high-entropy-assignments.ts): one with only
 * placeholders or references to the environment is what an image should carry.
 */

interface CredentialFileName {
  /** What such a file holds, e.g. "an SSH private key". */
  what: string;
  matches: (path: string, name: string) => boolean;
}

const exactNames = (names: string[]) => (_path: string, name: string) => names.includes(name);
const pathEnds = (suffixes: string[]) => (path: string) => suffixes.some((suffix) => path.endsWith(suffix));
const extensions = (exts: string[]) => (_path: string, name: string) =>
  exts.some((ext) => name.endsWith(ext));

/** The documented list; docs/ and the gate README repeat it. */
export const credentialFileNames: readonly CredentialFileName[] = [
  {
    what: 'an SSH private key',
    matches: exactNames(['id_rsa', 'id_dsa', 'id_ecdsa', 'id_ed25519', 'id_ecdsa_sk', 'id_ed25519_sk']),
  },
  { what: 'PostgreSQL passwords', matches: exactNames(['.pgpass']) },
  { what: 'MySQL client credentials', matches: exactNames(['.my.cnf', '.mylogin.cnf']) },
  { what: 'cloud credentials (credentials.json)', matches: exactNames(['credentials.json']) },
  { what: 'AWS credentials', matches: pathEnds(['/.aws/credentials']) },
  { what: 'a Kubernetes kubeconfig', matches: pathEnds(['/.kube/config']) },
  { what: 'a Vault token', matches: exactNames(['.vault-token']) },
  { what: 'HTTP basic-auth password hashes', matches: exactNames(['.htpasswd']) },
  { what: 'a PKCS#12 key bundle', matches: extensions(['.p12', '.pfx']) },
  { what: 'a Java keystore', matches: extensions(['.jks', '.keystore']) },
  {
    what: 'a GnuPG secret keyring',
    matches: (path, name) => name === 'secring.gpg' || path.includes('/.gnupg/private-keys-v1.d/'),
  },
  { what: 'Terraform state, which stores secrets in plain text', matches: extensions(['.tfstate']) },
  { what: 'a Rails master key', matches: pathEnds(['/config/master.key']) },
];

/** What the file at `path` holds by its name, or undefined for an ordinary name. */
export function credentialFileKind(path: string): string | undefined {
  const name = path.slice(path.lastIndexOf('/') + 1);
  return credentialFileNames.find((entry) => entry.matches(path, name))?.what;
}
