/**
 * Detectors for secrets by their shape in text: PEM private keys and the token formats of cloud,
 * VCS and registry services. Each one returns where a match is, never what it is; the scan turns
 * a match into a line number and a fingerprint. Patterns follow the issuers' documented formats
 * (and gitleaks' rules where the issuer documents none). Every pattern is linear: no nested
 * quantifiers over the same characters, so a hostile file cannot make the scan backtrack.
 */

/** Where a secret is in the text: the span that is hashed into the fingerprint. */
export interface SecretMatch {
  index: number;
  length: number;
}

export interface ContentDetector {
  rule: string;
  /** Text every match contains, to skip a file without decoding it. */
  hint: string | RegExp;
  /** Only files this accepts are searched; every file when absent. */
  appliesTo?: (path: string) => boolean;
  /** `path` is the file's path in the image, for detectors whose meaning depends on the file. */
  find(text: string, path: string): SecretMatch[];
}

function regexDetector(
  rule: string,
  options: {
    hint: string | RegExp;
    pattern: RegExp;
    /** The capture group that is the secret; the whole match when absent. */
    group?: number;
    /** Rejects documentation placeholders such as AWS's `AKIAIOSFODNN7EXAMPLE`. */
    accept?: (secret: string, file: { text: string; path: string }) => boolean;
    appliesTo?: (path: string) => boolean;
  },
): ContentDetector {
  return {
    rule,
    hint: options.hint,
    ...(options.appliesTo ? { appliesTo: options.appliesTo } : {}),
    find(text, path) {
      const matches: SecretMatch[] = [];
      for (const match of text.matchAll(options.pattern)) {
        const secret = options.group === undefined ? match[0] : match[options.group];
        if (secret === undefined || secret === '') continue;
        if (options.accept && !options.accept(secret, { text, path })) continue;
        const offset = options.group === undefined ? 0 : match[0].indexOf(secret);
        matches.push({ index: match.index + offset, length: secret.length });
      }
      return matches;
    },
  };
}

const notExample = (secret: string) => !/EXAMPLE/i.test(secret);

/**
 * `-----BEGIN … PRIVATE KEY-----`, a body of base64 (optionally after RFC 1421 headers such as
 * `Proc-Type:`), then the END line. A BEGIN line alone, as in source code that parses keys, is
 * not a key: at least 64 characters of base64 must follow it.
 * RFC 7468 (textual encodings), RFC 4880 §6.2 (OpenPGP armor).
 */
export const privateKeyDetector: ContentDetector = {
  rule: 'HERD-S001',
  hint: 'PRIVATE KEY',
  // Linear in the text, whatever a hostile file repeats: each END is searched for once, and of
  // several BEGIN lines before one END only the last can open a block (the others' bodies would
  // hold a BEGIN line), so each body is read once.
  find(text) {
    const matches: SecretMatch[] = [];
    const begin = /-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----/g;
    let start = begin.exec(text);
    while (start) {
      const end = text.indexOf('-----END ', start.index + start[0].length);
      // No END after this BEGIN means none after a later one either.
      if (end < 0) break;
      let last = start;
      for (let next = begin.exec(text); next && next.index < end; next = begin.exec(text)) last = next;
      const match = pemBlock(text, { start: last, end });
      if (match) matches.push(match);
      begin.lastIndex = end;
      start = begin.exec(text);
    }
    return matches;
  },
};

function pemBlock(text: string, at: { start: RegExpExecArray; end: number }): SecretMatch | undefined {
  const endLine = /^-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----/.exec(
    text.slice(at.end, at.end + 80),
  );
  if (!endLine) return undefined;
  const body = text
    .slice(at.start.index + at.start[0].length, at.end)
    .split(/\r?\n/)
    .filter((line) => !/^[A-Za-z-]+: /.test(line))
    .join('');
  if (!/^[A-Za-z0-9+/=\s]*$/.test(body) || body.replace(/[\s=]/g, '').length < 64) return undefined;
  return { index: at.start.index, length: at.end + endLine[0].length - at.start.index };
}

/** IAM access key ids: a 4-letter prefix giving the kind (AKIA long-term, ASIA temporary, …) and 16 more. */
const awsAccessKeyId = regexDetector('HERD-S002', {
  hint: /A(?:KIA|SIA|BIA|CCA|3T)/,
  pattern: /(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Z0-9])/g,
  accept: notExample,
});

/** 40 base64 characters, recognisable only by the name they are assigned to. */
const awsSecretAccessKey = regexDetector('HERD-S003', {
  hint: /secret_?access_?key/i,
  pattern: /(?:aws_?)?secret_?access_?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi,
  group: 1,
  accept: notExample,
});

/** A service account key file: `"type": "service_account"` and a `"private_key"` in the same JSON. */
const gcpServiceAccount = regexDetector('HERD-S004', {
  hint: 'service_account',
  pattern: /"private_key"\s*:\s*"(-----BEGIN[^"]{64,})"/g,
  group: 1,
  accept: (_secret, { text }) => /"type"\s*:\s*"service_account"/.test(text),
});

/** Classic (`ghp_` personal, `gho_` OAuth, `ghu_`/`ghs_` app, `ghr_` refresh) and fine-grained tokens. */
const githubToken = regexDetector('HERD-S005', {
  hint: /gh[pousr]_|github_pat_/,
  pattern: /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{82})(?![A-Za-z0-9_])/g,
});

const gitlabToken = regexDetector('HERD-S006', {
  hint: 'glpat-',
  pattern: /(?<![A-Za-z0-9_-])glpat-[A-Za-z0-9_-]{20,}/g,
});

/** Bot (`xoxb-`), user (`xoxp-`), app-level (`xoxa-`) and refresh (`xoxr-`) tokens. */
const slackToken = regexDetector('HERD-S007', {
  hint: 'xox',
  pattern: /(?<![A-Za-z0-9])xox[abpr]-[A-Za-z0-9]{6,}(?:-[A-Za-z0-9]{4,}){1,4}/g,
});

const npmrc = (path: string) => /(?:^|\/)\.?npmrc$/.test(path);

/** npm's own token format, anywhere. */
const npmToken = regexDetector('HERD-S008', {
  hint: 'npm_',
  pattern: /(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])/g,
});

/**
 * `_authToken=…`, `_auth=…` or `_password=…` in an .npmrc, whatever the token's format; a value
 * that reads the environment (`${NPM_TOKEN}`) is what an .npmrc should hold.
 */
const npmrcAuth = regexDetector('HERD-S008', {
  hint: '_auth',
  appliesTo: npmrc,
  pattern: /(?:^|:)_(?:authToken|auth|password)\s*=\s*([^\s$"'][^\s]*|"[^"$]+"|'[^'$]+')/gm,
  group: 1,
});

/** Docker's and containers' auth files: `"auths": { "<registry>": { "auth": "<base64>" } }`. */
const registryAuth = regexDetector('HERD-S009', {
  hint: '"auth',
  appliesTo: (path) => /(?:^|\/)(?:config\.json|auth\.json|\.dockercfg|\.dockerconfigjson)$/.test(path),
  pattern: /"(?:auth|identitytoken|registrytoken)"\s*:\s*"([A-Za-z0-9+/=._-]{8,})"/g,
  group: 1,
  // The legacy .dockercfg has the registries at the top level; the others nest them under "auths".
  accept: (_secret, { text, path }) => /"auths"\s*:/.test(text) || /\.dockercfg$/.test(path),
});

/** Every token detector, in rule order. The private key detector is first and also runs alone on package files. */
export const contentDetectors: readonly ContentDetector[] = [
  privateKeyDetector,
  awsAccessKeyId,
  awsSecretAccessKey,
  gcpServiceAccount,
  githubToken,
  gitlabToken,
  slackToken,
  npmToken,
  npmrcAuth,
  registryAuth,
];
