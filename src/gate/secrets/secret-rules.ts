/**
 * The secret scan's rules: what each id means, for reports and SARIF. Every secret finding fails
 * the gate in every profile, so they all have severity `error`. The detectors that raise them are
 * listed in content-detectors.ts (by content) and credential-files.ts (by file name).
 */

export interface SecretRule {
  id: string;
  /** kebab-case, SARIF's `name`. */
  name: string;
  title: string;
  rationale: string;
  helpUri?: string;
}

const gitleaksRules = 'https://github.com/gitleaks/gitleaks/blob/master/config/gitleaks.toml';
const shipped =
  'Anyone who can pull the image can read it: images are copied to registries, caches and hosts, and layers are never really deleted.';

const list: SecretRule[] = [
  {
    id: 'HERD-S001',
    name: 'private-key',
    title: 'private key (PEM block)',
    rationale: `A private key in the image is a private key published. ${shipped} Mount it at run time instead.`,
    helpUri: gitleaksRules,
  },
  {
    id: 'HERD-S002',
    name: 'aws-access-key-id',
    title: 'AWS access key id',
    rationale: `An AWS access key id names a credential; its secret is rarely far away. ${shipped}`,
    helpUri: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html',
  },
  {
    id: 'HERD-S003',
    name: 'aws-secret-access-key',
    title: 'AWS secret access key',
    rationale: `An AWS secret access key signs requests as its owner. ${shipped}`,
    helpUri: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html',
  },
  {
    id: 'HERD-S004',
    name: 'gcp-service-account-key',
    title: 'GCP service account key (JSON)',
    rationale: `A service account key file holds the account's private key. ${shipped}`,
    helpUri: 'https://cloud.google.com/iam/docs/service-account-creds#key-types',
  },
  {
    id: 'HERD-S005',
    name: 'github-token',
    title: 'GitHub token',
    rationale: `A GitHub token acts as its user or app on every repository it reaches. ${shipped}`,
    helpUri:
      'https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/about-authentication-to-github#githubs-token-formats',
  },
  {
    id: 'HERD-S006',
    name: 'gitlab-token',
    title: 'GitLab token',
    rationale: `A GitLab token (personal, deploy, runner, CI job, feed, SCIM, OAuth application) acts on the projects it reaches. ${shipped}`,
    helpUri: 'https://docs.gitlab.com/ee/security/tokens/',
  },
  {
    id: 'HERD-S007',
    name: 'slack-token',
    title: 'Slack token or webhook',
    rationale: `A Slack token reads and posts as its bot or user; a webhook URL posts to its channel. ${shipped}`,
    helpUri: 'https://api.slack.com/authentication/token-types',
  },
  {
    id: 'HERD-S008',
    name: 'npm-token',
    title: 'npm access token or .npmrc credential',
    rationale: `An npm token, or an .npmrc _authToken, _auth or _password, publishes packages as its owner: a supply-chain credential. ${shipped}`,
    helpUri: gitleaksRules,
  },
  {
    id: 'HERD-S009',
    name: 'registry-auth',
    title: 'container registry credentials (auths)',
    rationale: `A registry auth entry is a base64 user:password or token for a registry. ${shipped}`,
    helpUri: 'https://github.com/containers/image/blob/main/docs/containers-auth.json.5.md',
  },
  {
    id: 'HERD-S010',
    name: 'credential-file',
    title: 'credential file',
    rationale: `Files by these names hold credentials by convention (SSH keys, keystores, cloud credentials, Terraform state). ${shipped} Secrets come from the environment at start.`,
  },
  {
    id: 'HERD-S011',
    name: 'high-entropy-assignment',
    title: 'high-entropy value assigned to a credential-like key',
    rationale: `A config file assigns a random-looking value to a key named like a credential (password, token, secret, api key). ${shipped} Read it from the environment instead.`,
    helpUri: gitleaksRules,
  },
  {
    id: 'HERD-S012',
    name: 'stripe-key',
    title: 'Stripe secret or restricted key',
    rationale: `A Stripe secret key moves money and reads customers' payment data as its account. ${shipped}`,
    helpUri: 'https://docs.stripe.com/keys',
  },
  {
    id: 'HERD-S013',
    name: 'google-api-key',
    title: 'Google API key',
    rationale: `A Google API key is billed to its project and reaches every API it is not restricted from. ${shipped}`,
    helpUri: 'https://cloud.google.com/docs/authentication/api-keys',
  },
  {
    id: 'HERD-S014',
    name: 'jwt',
    title: 'JSON Web Token',
    rationale: `A JWT is a bearer credential: whoever holds it is who it names until it expires, and tokens baked into images rarely expire soon. ${shipped}`,
    helpUri: 'https://www.rfc-editor.org/rfc/rfc7519',
  },
  {
    id: 'HERD-S015',
    name: 'url-password',
    title: 'password in a URL',
    rationale: `A URL of the form scheme://user:password@host carries its password in the clear (a database URL, a git credential, a proxy). ${shipped}`,
    helpUri: 'https://www.rfc-editor.org/rfc/rfc3986#section-3.2.1',
  },
  {
    id: 'HERD-S016',
    name: 'azure-connection-string',
    title: 'Azure storage account key or shared access signature',
    rationale: `An account key in an Azure connection string gives full access to the storage account; a shared access signature what it was signed for. ${shipped}`,
    helpUri: 'https://learn.microsoft.com/azure/storage/common/storage-configure-connection-string',
  },
  {
    id: 'HERD-S017',
    name: 'twilio-api-key',
    title: 'Twilio API key',
    rationale: `A Twilio API key sends messages and places calls billed to its account. ${shipped}`,
    helpUri: gitleaksRules,
  },
  {
    id: 'HERD-S018',
    name: 'sendgrid-api-key',
    title: 'SendGrid API key',
    rationale: `A SendGrid API key sends mail as its account, a ready tool for phishing. ${shipped}`,
    helpUri: gitleaksRules,
  },
  {
    id: 'HERD-S019',
    name: 'pypi-credential',
    title: 'PyPI upload token or .pypirc password',
    rationale: `A PyPI token or .pypirc password uploads packages as its owner: a supply-chain credential. ${shipped}`,
    helpUri: 'https://packaging.python.org/en/latest/specifications/pypirc/',
  },
  {
    id: 'HERD-S020',
    name: 'netrc-password',
    title: 'password in a .netrc',
    rationale: `A .netrc password logs curl, git, ftp and pip into its machine without asking. ${shipped}`,
    helpUri: 'https://everything.curl.dev/usingcurl/netrc.html',
  },
  {
    id: 'HERD-S021',
    name: 'kubernetes-secret',
    title: 'Kubernetes Secret data',
    rationale: `A Secret manifest's data is only base64-encoded, not encrypted: applying it is how the secret reaches a cluster, and shipping it is how it reaches everyone else. ${shipped}`,
    helpUri: 'https://kubernetes.io/docs/concepts/configuration/secret/',
  },
];

/** Registered by id, as the hardening rules are. */
export const secretRules: ReadonlyMap<string, SecretRule> = new Map(list.map((rule) => [rule.id, rule]));

export function secretRule(id: string): SecretRule {
  const rule = secretRules.get(id);
  if (!rule) throw new Error(`no secret rule ${id}`);
  return rule;
}
