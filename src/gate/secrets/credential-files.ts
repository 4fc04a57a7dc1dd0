/**
 * Files that hold credentials by the convention of their name, whatever is in them today: a `.env`
 * shipped empty is still where the next secret will go. Matched on the path alone, so size and
 * binary content (a PKCS#12 bundle) do not hide them. Each entry says what the file is, for the
 * finding's message.
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
  { what: 'git credentials (git credential-store)', matches: exactNames(['.git-credentials']) },
  { what: 'netrc login credentials', matches: exactNames(['.netrc', '_netrc']) },
  { what: 'PostgreSQL passwords', matches: exactNames(['.pgpass']) },
  { what: 'MySQL client credentials', matches: exactNames(['.my.cnf', '.mylogin.cnf']) },
  {
    what: 'a dotenv file',
    // `.env.example` and friends document the variables without values; they are what a repo should hold.
    matches: (_path, name) =>
      (name === '.env' || name.startsWith('.env.')) &&
      !/\.(?:example|sample|template|dist|defaults)$/.test(name),
  },
  { what: 'cloud credentials (credentials.json)', matches: exactNames(['credentials.json']) },
  { what: 'AWS credentials', matches: pathEnds(['/.aws/credentials']) },
  { what: 'Docker registry credentials', matches: pathEnds(['/.docker/config.json', '/.dockercfg']) },
  { what: 'container registry credentials', matches: pathEnds(['/containers/auth.json']) },
  { what: 'a Kubernetes kubeconfig', matches: pathEnds(['/.kube/config']) },
  { what: 'PyPI upload credentials', matches: exactNames(['.pypirc']) },
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
