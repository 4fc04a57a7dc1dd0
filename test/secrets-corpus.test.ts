/**
 * The secret scan over the labelled corpus in test/fixtures/secrets-corpus/: every positive must be
 * found by one of its family's rules, and nothing at all may be reported on a negative. Each file
 * is scanned in an image of its own (as an app file, or owned by its package), so files in
 * different families may share a path. Recall and precision are printed per family and overall.
 * HERD_CORPUS_SEED fills the templates with other fake secrets.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { SecretFinding } from '../src/gate/findings.js';
import { memoryImageView } from '../src/gate/memory-image.js';
import { scanSecrets } from '../src/gate/secrets/scan-secrets.js';
import { type Corpus, type CorpusFile, loadCorpus } from './fixtures/secrets-corpus.js';

interface Scored {
  file: CorpusFile;
  findings: SecretFinding[];
  /** A positive found by one of its family's rules. */
  found: boolean;
  /** Findings that are not the file's secret: every finding on a negative, other rules on a positive. */
  falsePositives: SecretFinding[];
}

function scan(file: CorpusFile, corpus: Corpus): Scored {
  const entry = { path: file.path, content: file.content };
  const view = memoryImageView(
    file.owner ? { packages: [{ name: file.owner, files: [entry] }] } : { files: [entry] },
  );
  const findings = scanSecrets(view).findings;
  const rules = corpus.families[file.family] ?? [];
  return {
    file,
    findings,
    found: file.positive && findings.some((f) => rules.includes(f.rule)),
    falsePositives: findings.filter((f) => !file.positive || !rules.includes(f.rule)),
  };
}

interface Score {
  positives: number;
  found: number;
  negatives: number;
  truePositives: number;
  falsePositives: number;
}

function score(results: Scored[]): Score {
  return {
    positives: results.filter((r) => r.file.positive).length,
    found: results.filter((r) => r.found).length,
    negatives: results.filter((r) => !r.file.positive).length,
    truePositives: results.reduce((n, r) => n + r.findings.length - r.falsePositives.length, 0),
    falsePositives: results.reduce((n, r) => n + r.falsePositives.length, 0),
  };
}

const ratio = (part: number, whole: number) => (whole === 0 ? '  -  ' : (part / whole).toFixed(3));

function table(results: Scored[], families: string[]): string[] {
  const rows = families.map(
    (family) => [family, score(results.filter((r) => r.file.family === family))] as const,
  );
  rows.push(['overall', score(results)] as const);
  return [
    'family            positives  negatives  recall  precision',
    ...rows.map(
      ([family, s]) =>
        `${family.padEnd(18)}${String(s.positives).padStart(9)}${String(s.negatives).padStart(11)}  ${ratio(s.found, s.positives)}   ${ratio(s.truePositives, s.truePositives + s.falsePositives)}`,
    ),
  ];
}

describe('the secret scan over the labelled corpus', () => {
  let corpus: Corpus;
  let results: Scored[];

  before(async () => {
    const seed = process.env.HERD_CORPUS_SEED ? Number(process.env.HERD_CORPUS_SEED) : undefined;
    corpus = await loadCorpus(seed === undefined ? {} : { seed });
    results = corpus.files.map((file) => scan(file, corpus));
  });

  it('has positives and look-alike negatives for every family the issue names', () => {
    for (const family of [
      'stripe',
      'google-api-key',
      'jwt',
      'url-password',
      'azure-storage',
      'slack',
      'twilio',
      'sendgrid',
      'gitlab',
      'github',
      'private-key',
      'npmrc',
      'pypirc',
      'netrc',
      'docker-config',
      'minified-json',
      'yaml-list',
      'dotenv',
      'properties',
      'toml',
    ]) {
      const files = corpus.files.filter((f) => f.family === family);
      assert.ok(files.filter((f) => f.positive).length >= 3, `${family}: at least 3 positives`);
      assert.ok(files.filter((f) => !f.positive).length >= 2, `${family}: at least 2 negatives`);
    }
  });

  it('prints recall and precision per family and overall', (t) => {
    for (const line of table(results, Object.keys(corpus.families))) t.diagnostic(line);

    assert.equal(score(results).positives + score(results).negatives, corpus.files.length);
  });

  it('finds every positive with one of its family rules (recall 1.0)', () => {
    const missed = results.filter((r) => r.file.positive && !r.found);

    assert.deepEqual(
      missed.map((r) => `${r.file.source}: ${r.findings.map((f) => f.rule).join(', ') || 'nothing found'}`),
      [],
    );
  });

  it('reports nothing on the negatives and nothing but the secret on the positives (no false positives)', () => {
    const wrong = results.flatMap((r) =>
      r.falsePositives.map((f) => `${r.file.source}: ${f.rule} at line ${f.location.line ?? '-'}`),
    );

    assert.deepEqual(wrong, []);
  });

  it('never puts a secret from the corpus in a finding', () => {
    for (const r of results.filter((result) => result.file.positive)) {
      const serialized = JSON.stringify(r.findings);
      for (const token of r.file.content.match(/[A-Za-z0-9_+/=-]{24,}/g) ?? []) {
        assert.ok(!serialized.includes(token), `${r.file.source}: a finding shows part of the file`);
      }
    }
  });
});
