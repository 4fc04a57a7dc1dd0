/**
 * Secrets recognisable by their own shape, wherever they are: the token formats of cloud, VCS,
 * chat, payment and mail services. Ported from gitleaks' default rules (config/gitleaks.toml,
 * generated from cmd/generate/config/rules/*.go): the same patterns, keywords and entropy
 * thresholds, rewritten for JavaScript's regexes (no inline `(?i)`; gitleaks' trailing boundary as
 * a lookahead). Where a rule is not gitleaks', its comment says whose format it follows.
 *
 * Every pattern is linear: bounded repeats, or an unbounded one that starts only at a word
 * boundary after a literal prefix, so a hostile file cannot make the scan backtrack.
 */
import { type ContentDetector, regexDetector, tokenEnd } from './detector.js';
import { shannonEntropy } from './entropy.js';

const re = (source: string, flags = 'g') => new RegExp(source, flags);
const afterPrefix = (prefix: RegExp) => (secret: string) => secret.replace(prefix, '');

/** gitleaks `aws-access-token`: the key id's 4-letter kind (AKIA long-term, ASIA temporary, …) and 16 base32 characters. */
const awsAccessKeyId = regexDetector('HERD-S002', {
  keywords: ['a3t', 'akia', 'asia', 'abia', 'acca'],
  pattern: /\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b/g,
  group: 1,
  entropy: 3,
  body: afterPrefix(/^.{4}/),
});

/**
 * The 40 base64 characters of a secret access key are recognisable only by the name they are
 * assigned to (`aws_secret_access_key`, `AWS_SECRET_ACCESS_KEY`, `"SecretAccessKey"`), as in
 * AWS's credentials file and the CLI's JSON output. gitleaks leaves them to its generic rule.
 */
const awsSecretAccessKey = regexDetector('HERD-S003', {
  keywords: ['secret'],
  pattern: /(?:aws_?)?secret[_-]?access[_-]?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi,
  group: 1,
  entropy: 3,
});

/** A service account key file: `"type": "service_account"` and a `"private_key"` in the same JSON (Google's format). */
const gcpPrivateKey = regexDetector('HERD-S004', {
  keywords: ['service_account'],
  pattern: /"private_key"\s*:\s*"(-----BEGIN[^"]{64,})"/g,
  group: 1,
});
const gcpServiceAccount: ContentDetector = {
  ...gcpPrivateKey,
  // The type is looked for once per file, not once per key.
  find: (text, path) => (/"type"\s*:\s*"service_account"/.test(text) ? gcpPrivateKey.find(text, path) : []),
};

/** gitleaks `github-pat`, `github-oauth`, `github-app-token`, `github-refresh-token`, `github-fine-grained-pat`. */
const githubTokens = [
  { keywords: ['ghp_'], pattern: /ghp_[0-9a-zA-Z]{36}/g },
  { keywords: ['gho_'], pattern: /gho_[0-9a-zA-Z]{36}/g },
  { keywords: ['ghu_', 'ghs_'], pattern: /(?:ghu|ghs)_[0-9a-zA-Z]{36}/g },
  { keywords: ['ghr_'], pattern: /ghr_[0-9a-zA-Z]{36}/g },
  { keywords: ['github_pat_'], pattern: /github_pat_\w{82}/g },
].map(({ keywords, pattern }) =>
  regexDetector('HERD-S005', {
    keywords,
    pattern,
    entropy: 3,
    body: afterPrefix(/^gh[pousr]_|^github_pat_/),
  }),
);

/** gitleaks' `gitlab-*` rules: every GitLab token prefix (personal, deploy, runner, CI job, feed, SCIM, …). */
const gitlabTokens = [
  { keywords: ['glpat-'], pattern: /glpat-[\w-]{20}/g, entropy: 3 },
  {
    keywords: ['glpat-'],
    pattern: /\bglpat-[0-9a-zA-Z_-]{27,300}\.[0-9a-z]{2}[0-9a-z]{7}\b/g,
    entropy: 4,
  },
  { keywords: ['glcbt-'], pattern: /glcbt-[0-9a-zA-Z]{1,5}_[0-9a-zA-Z_-]{20}/g, entropy: 3 },
  { keywords: ['gldt-'], pattern: /gldt-[0-9a-zA-Z_-]{20}/g, entropy: 3 },
  { keywords: ['glffct-'], pattern: /glffct-[0-9a-zA-Z_-]{20}/g, entropy: 3 },
  { keywords: ['glft-'], pattern: /glft-[0-9a-zA-Z_-]{20}/g, entropy: 3 },
  { keywords: ['glimt-'], pattern: /glimt-[0-9a-zA-Z_-]{25}/g, entropy: 3 },
  { keywords: ['glagent-'], pattern: /glagent-[0-9a-zA-Z_-]{50}/g, entropy: 3 },
  { keywords: ['gloas-'], pattern: /gloas-[0-9a-zA-Z_-]{64}/g, entropy: 3 },
  { keywords: ['glptt-'], pattern: /glptt-[0-9a-f]{40}/g, entropy: 3 },
  { keywords: ['gr1348941'], pattern: /GR1348941[\w-]{20}/g, entropy: 3 },
  { keywords: ['glrt-'], pattern: /glrt-[0-9a-zA-Z_-]{20}/g, entropy: 3 },
  {
    keywords: ['glrt-'],
    pattern: /\bglrt-t\d_[0-9a-zA-Z_-]{27,300}\.[0-9a-z]{2}[0-9a-z]{7}\b/g,
    entropy: 4,
  },
  { keywords: ['glsoat-'], pattern: /glsoat-[0-9a-zA-Z_-]{20}/g, entropy: 3 },
  { keywords: ['_gitlab_session='], pattern: /_gitlab_session=[0-9a-z]{32}/g, entropy: 3 },
].map(({ keywords, pattern, entropy }) =>
  regexDetector('HERD-S006', {
    keywords,
    pattern,
    entropy,
    body: afterPrefix(/^(?:gl[a-z]+-|GR1348941|_gitlab_session=)/),
  }),
);

/** gitleaks' `slack-*` rules: bot, user, app-level, configuration and legacy tokens, and incoming webhooks. */
const slackTokens = [
  { keywords: ['xapp'], pattern: /xapp-\d-[A-Za-z0-9]+-\d+-[A-Za-z0-9]+/gi, entropy: 2 },
  { keywords: ['xoxb'], pattern: /xoxb-[0-9]{10,13}-[0-9]{10,13}[a-zA-Z0-9-]*/g, entropy: 3 },
  { keywords: ['xoxe.xoxb-', 'xoxe.xoxp-'], pattern: /xoxe.xox[bp]-\d-[A-Za-z0-9]{163,166}/gi, entropy: 2 },
  { keywords: ['xoxe-'], pattern: /xoxe-\d-[A-Za-z0-9]{146}/gi, entropy: 2 },
  { keywords: ['xoxb'], pattern: /xoxb-[0-9]{8,14}-[a-zA-Z0-9]{18,26}/g, entropy: 2 },
  { keywords: ['xoxo', 'xoxs'], pattern: /xox[os]-\d+-\d+-\d+-[a-fA-F\d]+/g, entropy: 2 },
  { keywords: ['xoxa', 'xoxr'], pattern: /xox[ar]-(?:\d-)?[0-9a-zA-Z]{8,48}/g, entropy: 2 },
  { keywords: ['xoxp-', 'xoxe-'], pattern: /xox[pe](?:-[0-9]{10,13}){3}-[a-zA-Z0-9-]{28,34}/g, entropy: 2 },
  {
    keywords: ['hooks.slack.com'],
    pattern: /(?:https?:\/\/)?hooks.slack.com\/(?:services|workflows|triggers)\/[A-Za-z0-9+/]{43,56}/g,
    entropy: undefined,
  },
].map(({ keywords, pattern, entropy }) =>
  regexDetector('HERD-S007', {
    keywords,
    pattern,
    ...(entropy === undefined ? {} : { entropy }),
    body: afterPrefix(/^(?:https?:\/\/)?(?:hooks\.slack\.com\/\w+\/|xoxe\.xox[bp]-|xapp-|xox[a-z]-)/),
  }),
);

/** gitleaks `npm-access-token`. */
const npmToken = regexDetector('HERD-S008', {
  keywords: ['npm_'],
  pattern: re(String.raw`\b(npm_[a-z0-9]{36})${tokenEnd}`, 'gi'),
  group: 1,
  entropy: 2,
  body: afterPrefix(/^npm_/i),
});

/** gitleaks `stripe-access-token`: secret and restricted keys, live and test mode. */
const stripeKey = regexDetector('HERD-S012', {
  keywords: ['sk_test', 'sk_live', 'sk_prod', 'rk_test', 'rk_live', 'rk_prod'],
  pattern: re(String.raw`\b((?:sk|rk)_(?:test|live|prod)_[a-zA-Z0-9]{10,99})${tokenEnd}`),
  group: 1,
  entropy: 2,
  body: afterPrefix(/^[sr]k_[a-z]+_/),
});

/** gitleaks `gcp-api-key`; its allowlist of published keys is in placeholders.ts. */
const googleApiKey = regexDetector('HERD-S013', {
  keywords: ['aiza'],
  pattern: re(String.raw`\b(AIza[\w-]{35})${tokenEnd}`),
  group: 1,
  entropy: 4,
  body: afterPrefix(/^AIza/),
});

/**
 * gitleaks `jwt`. Its keyword is `ey`, which nearly every file contains; every match contains
 * `.ey` (the payload's `{"`), so that is the prefilter. A token whose payload is jwt.io's sample
 * (`"name":"John Doe"`, `"sub":"1234567890"`) is documentation.
 */
const jwt = regexDetector('HERD-S014', {
  keywords: ['.ey'],
  caseSensitive: true,
  pattern: re(
    String.raw`\b(ey[a-zA-Z0-9]{17,}\.ey[a-zA-Z0-9\/\\_-]{17,}\.(?:[a-zA-Z0-9\/\\_-]{10,}={0,2})?)${tokenEnd}`,
  ),
  group: 1,
  entropy: 3,
  accept: (secret) => !isSampleJwt(secret),
});

function isSampleJwt(token: string): boolean {
  const payload = Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8');
  return /"sub"\s*:\s*"1234567890"/.test(payload) && /"name"\s*:\s*"John Doe"/.test(payload);
}

/** gitleaks `jwt-base64`: a JWT, base64-encoded again; each alternative is a JOSE header parameter's name. */
const jwtBase64 = regexDetector('HERD-S014', {
  keywords: ['zxlk'],
  pattern: re(
    String.raw`\bZXlK(?:aGJHY2lPaU|aGNIVWlPaU|aGNIWWlPaU|aGRXUWlPaU|aU5qUWlP|amNtbDBJanBi|amRIa2lPaU|bGNHc2lPbn|bGJtTWlPaU|cWEzVWlPaU|cWQyc2lPb|cGMzTWlPaU|cGRpSTZJ|cmFXUWlP|clpYbGZiM0J6SWpwY|cmRIa2lPaUp|dWIyNWpaU0k2|d01tTWlP|d01uTWlPaU|d2NIUWlPaU|emRXSWlPaU|emRuUWlP|MFlXY2lPaU|MGVYQWlPaUp|MWNtd2l|MWMyVWlPaUp|MlpYSWlPaU|MlpYSnphVzl1SWpv|NElqb2|NE5XTWlP|NE5YUWlPaU|NE5YUWpVekkxTmlJNkl|NE5YVWlPaU|NmFYQWlPaU)[a-zA-Z0-9\/\\_+\-\r\n]{40,}={0,2}`,
  ),
  entropy: 2,
});

/**
 * An Azure storage account key in a connection string (`AccountKey=`, 64 bytes in base64) or a
 * Service Bus / Event Hubs `SharedAccessKey=` (32 bytes). gitleaks has no rule for them; the shape
 * is Azure's documented connection string format. The storage emulator's account
 * (`devstoreaccount1`) has a key Microsoft publishes, so it is not a secret.
 */
const notEmulator = (_secret: string, file: { text: string; index: number }) =>
  !/AccountName\s*=\s*devstoreaccount1/i.test(recordAround(file.text, file.index));
const azureConnectionStringKeys = [
  /(?<![A-Za-z])AccountKey\s*=\s*([A-Za-z0-9+/]{86}==)(?![A-Za-z0-9+/=])/gi,
  /(?<![A-Za-z])SharedAccessKey\s*=\s*([A-Za-z0-9+/]{43}=)(?![A-Za-z0-9+/=])/gi,
].map((pattern) =>
  regexDetector('HERD-S016', {
    keywords: ['accountkey', 'sharedaccesskey'],
    pattern,
    group: 1,
    entropy: 4,
    accept: notEmulator,
  }),
);

/**
 * A shared access signature: `sig=` (an HMAC-SHA256 in URL-encoded base64) in a query string or
 * connection string that also has the `sv=` (signed version) every SAS carries. Azure's format.
 */
const azureSas = regexDetector('HERD-S016', {
  keywords: ['sig='],
  pattern: /[?&;]sig=((?:[A-Za-z0-9+/]|%2[BbFf]){43}(?:%3[Dd]|=))/g,
  group: 1,
  accept: (secret, { text, index }) =>
    /[?&;]sv=\d{4}-\d{2}-\d{2}/.test(recordAround(text, index)) && shannonEntropy(secret) > 4,
});

/** The connection string or URL a match is in: from the last quote or line break before it to the next. */
function recordAround(text: string, index: number): string {
  const before = text.slice(Math.max(0, index - 2000), index);
  const start = Math.max(before.lastIndexOf('\n'), before.lastIndexOf('"'), before.lastIndexOf("'")) + 1;
  const after = text.slice(index, index + 2000);
  const end = after.search(/["'\n]/);
  return before.slice(start) + (end < 0 ? after : after.slice(0, end));
}

/**
 * gitleaks `twilio-api-key`. gitleaks' keyword is `sk` in any case; the pattern itself needs `SK`
 * as written, so that is the prefilter. A leading boundary keeps it out of long hex and base64
 * runs, where 32 hex digits after `SK` are chance.
 */
const twilioApiKey = regexDetector('HERD-S017', {
  keywords: ['SK'],
  caseSensitive: true,
  pattern: /(?<![A-Za-z0-9+/])SK[0-9a-fA-F]{32}(?![0-9a-fA-F])/g,
  entropy: 3,
  body: afterPrefix(/^SK/),
});

/** gitleaks `sendgrid-api-token`. */
const sendgridKey = regexDetector('HERD-S018', {
  keywords: ['sg.'],
  pattern: re(String.raw`\b(SG\.[a-zA-Z0-9=_\-.]{66})${tokenEnd}`),
  group: 1,
  entropy: 2,
  body: afterPrefix(/^SG\./),
});

/** gitleaks `pypi-upload-token`: a macaroon whose location is pypi.org, base64-encoded after `pypi-`. */
const pypiToken = regexDetector('HERD-S019', {
  keywords: ['pypi-ageichlwas5vcmc'],
  pattern: /pypi-AgEIcHlwaS5vcmc[\w-]{50,1000}/g,
  entropy: 3,
  body: afterPrefix(/^pypi-AgEIcHlwaS5vcmc/),
});

/** In rule order. */
export const tokenDetectors: readonly ContentDetector[] = [
  awsAccessKeyId,
  awsSecretAccessKey,
  gcpServiceAccount,
  ...githubTokens,
  ...gitlabTokens,
  ...slackTokens,
  npmToken,
  stripeKey,
  googleApiKey,
  jwt,
  jwtBase64,
  ...azureConnectionStringKeys,
  azureSas,
  twilioApiKey,
  sendgridKey,
  pypiToken,
];
