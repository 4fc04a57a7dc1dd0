/**
 * The secret scan on a real Debian image full of key material that is nobody's secret: python3
 * with its test suite (libpython3.11-testsuite ships TLS keys and certificates under
 * /usr/lib/python3.11/test/), perl with Net::SSLeay and IO::Socket::SSL (their example keys are in
 * /usr/share/doc, kept here with `excludeDefaults: false`), and openssl (openssl.cnf names key
 * files). Built from the Debian archive configured on this host, as examples/hello is. The gate
 * must report no secret, and the image must really hold those keys, so the test can fail.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { formatLock } from '../src/builder/lock-file.js';
import { gateImage } from '../src/gate/evaluate-gate.js';
import { loadImageView } from '../src/gate/image-view.js';
import { scanSecrets } from '../src/gate/secrets/scan-secrets.js';
import type { Verdict } from '../src/gate/verdict.js';
import { freshHome, type LockedBuild, lockAndBuild, writeSpecDir } from './support/build-harness.js';

const spec = `apiVersion: herd/v1
service: keyed
image:
  suite: bookworm
  packages: [python3, libpython3.11-testsuite, perl, libio-socket-ssl-perl, libnet-ssleay-perl, openssl]
  excludeDefaults: false
run:
  user: 65532
  entrypoint: [/usr/bin/python3]
`;

describe('the secret scan on a Debian image with python3, perl and openssl test data', () => {
  let home: string;
  let built: LockedBuild;
  let verdict: Verdict;

  before(async () => {
    home = await freshHome('herd-gate-secrets-');
    built = await lockAndBuild(await writeSpecDir({ 'herd.yaml': spec }), { home });
    verdict = await gateImage(built.store, built.image.digest, {
      spec: built.loaded.spec,
      gate: built.loaded.spec.gate,
      lockFile: formatLock(built.lock),
      vulnerabilities: {
        findings: [],
        age: { days: 0, since: new Date().toISOString(), basis: 'data-date' },
      },
      now: new Date(),
    });
  });

  after(async () => {
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('holds private keys from those packages, in test and documentation folders', async () => {
    const view = await loadImageView(built.store, built.image.digest);
    const keyFiles = [...view.files.values()]
      .filter((node) => node.type === 'file' && node.data?.includes('PRIVATE KEY-----'))
      .map((node) => node.path);

    assert.ok(
      keyFiles.some((path) => path.startsWith('/usr/lib/python3.11/test/')),
      `python's test keys: ${keyFiles.join(', ')}`,
    );
    assert.ok(
      keyFiles.some((path) => path.startsWith('/usr/share/doc/')),
      `perl's example keys: ${keyFiles.join(', ')}`,
    );
  });

  it('reports no secret', () => {
    const secrets = verdict.findings.filter((finding) => finding.kind === 'secret');

    assert.deepEqual(
      secrets.map((f) => `${f.rule} ${f.kind === 'secret' ? f.location.path : ''}`),
      [],
    );
    assert.ok(verdict.summary.secretScan.scanned > 1000, JSON.stringify(verdict.summary.secretScan));
    assert.ok(verdict.summary.secretScan.skippedKnownSafe > 100, JSON.stringify(verdict.summary.secretScan));
  });

  it('still finds those keys when the same files are app files, so the quiet is the scope, not blindness', async () => {
    const view = await loadImageView(built.store, built.image.digest);

    const { findings } = scanSecrets({ ...view, owners: new Map() });

    assert.ok(
      findings.some((f) => f.rule === 'HERD-S001' && f.location.path.startsWith('/usr/lib/python3.11/test/')),
    );
  });
});
