import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LayoutStore } from '../oci/layout-store.js';
import { MediaType } from '../oci/types.js';
import { defaultGateSection } from '../specfile/gate-section.js';
import { evaluateImage, storeVerdict } from './evaluate-gate.js';
import { memoryImageView } from './memory-image.js';
import { type Verdict, verdictArtifactType } from './verdict.js';

const now = new Date('2025-03-02T00:00:00Z');
const shellImage = memoryImageView({
  files: [{ path: '/usr/bin/sh', mode: 0o755 }],
  config: { Healthcheck: { Test: ['CMD', '/healthz'] } },
});

describe('evaluating an image', () => {
  it("uses the spec's profile by default and lets the caller override it", () => {
    const strictGate = { ...defaultGateSection, profile: 'strict' as const };

    assert.equal(evaluateImage(shellImage, { now }).passed, true);
    assert.equal(evaluateImage(shellImage, { now, gate: strictGate }).passed, false);
    assert.equal(evaluateImage(shellImage, { now, gate: strictGate, profile: 'baseline' }).passed, true);
  });

  it('tags each hardening finding with its rule, and takes the level from the result or else the rule', () => {
    const verdict = evaluateImage(shellImage, { now, profile: 'strict' });

    assert.deepEqual(
      verdict.findings.map((f) => [f.rule, f.level, f.fails]),
      [
        ['HERD-H005', 'error', true],
        ['HERD-V002', 'warning', false],
        ['HERD-H012', 'info', false],
      ],
    );
  });

  it('turns the vulnerability matches handed in into findings at their package record', () => {
    const view = memoryImageView({ packages: [{ name: 'libssl3', source: 'openssl' }] });

    const verdict = evaluateImage(view, {
      now,
      vulnerabilities: {
        age: { days: 0.5, since: '2025-03-01T12:00:00Z', basis: 'data-date' },
        findings: [
          {
            cve: 'CVE-2025-0001',
            aliases: [],
            source: 'openssl',
            packages: ['libssl3'],
            installedVersion: '1.0-1',
            fixedVersion: '1.0-2',
            status: 'fixed-available',
            severity: 'high',
            severityInferred: false,
            urgency: 'high',
            description: '',
            suite: 'bookworm',
          },
        ],
      },
    });

    const [finding] = verdict.findings;
    assert.equal(verdict.passed, false);
    assert.equal(finding?.rule, 'CVE-2025-0001');
    assert.equal(
      finding?.kind === 'vulnerability' ? finding.location.path : '',
      '/var/lib/dpkg/status.d/libssl3',
    );
    assert.equal(verdict.vulndb.age, 0.5);
  });
});

describe('storing a verdict', () => {
  it('attaches it to the image as a referrer of the verdict artifact type', async () => {
    const store = new LayoutStore(join(await mkdtemp(join(tmpdir(), 'herd-gate-store-')), 'store'));
    await store.init();
    const image = await store.putJson(
      { schemaVersion: 2, mediaType: MediaType.imageManifest },
      MediaType.imageManifest,
    );
    const verdict: Verdict = { ...evaluateImage(shellImage, { now }), image: image.digest };

    const stored = await storeVerdict(store, image.digest, verdict);

    const [referrer] = await store.referrers(image.digest, { artifactType: verdictArtifactType });
    assert.equal(referrer?.digest, stored.digest);
    const manifest = await store.getManifest(stored.digest);
    assert.equal(manifest.subject?.digest, image.digest);
    assert.equal(manifest.annotations?.['dev.herd.gate.passed'], 'true');
    assert.deepEqual(await store.getJson(manifest.layers[0]?.digest ?? 'sha256:'), verdict);
  });

  it('refuses to attach a verdict about another image', async () => {
    const store = new LayoutStore(join(await mkdtemp(join(tmpdir(), 'herd-gate-store-')), 'store'));
    await store.init();
    const image = await store.putJson(
      { schemaVersion: 2, mediaType: MediaType.imageManifest },
      MediaType.imageManifest,
    );

    await assert.rejects(storeVerdict(store, image.digest, evaluateImage(shellImage, { now })), {
      code: 'VERDICT_MISMATCH',
    });
  });
});
