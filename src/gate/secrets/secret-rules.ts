/**
 * The secret scan's rules: what each id means, for reports and SARIF. Every secret finding fails
 * the gate in every profile, so they all have severity `error`. The detectors that raise them are in
 * content-detectors.ts, credential-files.ts and high-entropy-assignments.ts.
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
    title: 'GitLab personal access token',
    rationale: `A GitLab personal access token acts as its user. ${shipped}`,
    helpUri: 'https://docs.gitlab.com/ee/security/tokens/',
  },
  {
    id: 'HERD-S007',
    name: 'slack-token',
    title: 'Slack token',
    rationale: `A Slack token reads and posts as its bot or user. ${shipped}`,
    helpUri: 'https://api.slack.com/authentication/token-types',
  },
  {
    id: 'HERD-S008',
    name: 'npm-token',
    title: 'npm access token',
    rationale: `An npm token publishes packages as its owner: a supply-chain credential. ${shipped}`,
    helpUri: 'https://docs.npmjs.com/about-access-tokens',
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
    rationale: `Files by these names hold credentials by convention (SSH keys, .netrc, .env, cloud and registry credentials). ${shipped} Secrets come from the environment at start.`,
  },
  {
    id: 'HERD-S011',
    name: 'high-entropy-assignment',
    title: 'high-entropy value assigned to a credential-like key',
    rationale: `A config file assigns a random-looking value to a key named like a credential (password, token, secret, api key). ${shipped} Read it from the environment instead.`,
    helpUri: gitleaksRules,
  },
];

/** Registered by id, as the hardening rules are. */
export const secretRules: ReadonlyMap<string, SecretRule> = new Map(list.map((rule) => [rule.id, rule]));

export function secretRule(id: string): SecretRule {
  const rule = secretRules.get(id);
  if (!rule) throw new Error(`no secret rule ${id}`);
  return rule;
}
