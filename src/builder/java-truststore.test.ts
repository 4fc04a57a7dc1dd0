import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { jksTruststore, pemCertificates } from './java-truststore.js';

/** Two real CA certificates from this machine's ca-certificates. */
const bundle = readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8');

describe('jksTruststore', () => {
  it("writes a store that Java's keytool reads, with every certificate as a trusted entry", () => {
    const keytool = spawnSync('sh', ['-c', 'command -v keytool'], { encoding: 'utf8' });
    assert.equal(
      keytool.status,
      0,
      'keytool is needed for this test (apt-get install openjdk-17-jre-headless)',
    );
    const [first, second] = pemCertificates(bundle);
    assert.ok(first && second, 'the CA bundle holds certificates');
    const dir = mkdtempSync(join(tmpdir(), 'herd-jks-'));
    try {
      const path = join(dir, 'cacerts');
      writeFileSync(
        path,
        jksTruststore([
          { alias: 'debian:second.pem', der: second },
          { alias: 'debian:first.pem', der: first },
        ]),
      );

      const listed = spawnSync('keytool', ['-list', '-keystore', path, '-storepass', 'changeit'], {
        encoding: 'utf8',
      });

      assert.equal(listed.status, 0, listed.stdout + listed.stderr);
      assert.match(listed.stdout, /Your keystore contains 2 entries/);
      assert.match(listed.stdout, /debian:first\.pem,.*trustedCertEntry/);
      assert.match(listed.stdout, /debian:second\.pem,.*trustedCertEntry/);
      // A wrong password fails the integrity check: the digest is really over the store.
      const wrong = spawnSync('keytool', ['-list', '-keystore', path, '-storepass', 'notit'], {
        encoding: 'utf8',
      });
      assert.notEqual(wrong.status, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives the same bytes whatever order the certificates come in', () => {
    const [a, b] = pemCertificates(bundle) as [Buffer, Buffer];
    assert.ok(
      jksTruststore([
        { alias: 'x', der: a },
        { alias: 'y', der: b },
      ]).equals(
        jksTruststore([
          { alias: 'y', der: b },
          { alias: 'x', der: a },
        ]),
      ),
    );
  });
});
