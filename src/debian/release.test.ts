import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as openpgp from 'openpgp';
import { checkReleaseSuite, parseRelease, verifyInRelease } from './release.js';

const sha = 'a'.repeat(64);

function releaseText(fields: Record<string, string | undefined>): string {
  const lines = Object.entries({
    Suite: 'stable-security',
    Codename: 'bookworm-security',
    Date: 'Sat, 01 Jun 2024 00:00:00 UTC',
    Architectures: 'amd64',
    Components: 'main',
    ...fields,
  })
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `${name}: ${value}\n`);
  return `${lines.join('')}SHA256:\n ${sha} 10 main/binary-amd64/Packages\n`;
}

describe('verifyInRelease', () => {
  let key: openpgp.PrivateKey;
  const sign = async (text: string) =>
    openpgp.sign({ message: await openpgp.createCleartextMessage({ text }), signingKeys: key });

  before(async () => {
    ({ privateKey: key } = await openpgp.generateKey({
      type: 'ecc',
      curve: 'ed25519Legacy',
      userIDs: [{ name: 'release test key' }],
      format: 'object',
    }));
  });

  it('returns the signed Release with its suite, codename and dates', async () => {
    const inRelease = await sign(releaseText({ 'Valid-Until': 'Sat, 08 Jun 2024 00:00:00 UTC' }));

    const { release } = await verifyInRelease(inRelease, {
      keys: [key.toPublic()],
      name: 'InRelease',
      now: new Date('2024-06-02T00:00:00Z'),
    });

    assert.equal(release.suite, 'stable-security');
    assert.equal(release.codename, 'bookworm-security');
    assert.equal(release.date?.toISOString(), '2024-06-01T00:00:00.000Z');
    assert.equal(release.validUntil?.toISOString(), '2024-06-08T00:00:00.000Z');
  });

  it('refuses a Release past its Valid-Until, a frozen mirror, with RELEASE_EXPIRED', async () => {
    const inRelease = await sign(releaseText({ 'Valid-Until': 'Sat, 08 Jun 2024 00:00:00 UTC' }));

    await assert.rejects(
      verifyInRelease(inRelease, {
        keys: [key.toPublic()],
        name: 'InRelease',
        now: new Date('2024-06-09T00:00:00Z'),
      }),
      { code: 'RELEASE_EXPIRED', message: /InRelease expired at 2024-06-08T00:00:00\.000Z/ },
    );
  });

  it('refuses a Release dated in the future, which would poison the remembered date', async () => {
    const inRelease = await sign(releaseText({ Date: 'Fri, 01 Jan 2100 00:00:00 UTC' }));
    const options = { keys: [key.toPublic()], name: 'InRelease', now: new Date('2024-06-01T00:00:00Z') };

    await assert.rejects(verifyInRelease(inRelease, options), {
      code: 'RELEASE_NOT_YET_VALID',
      message: /InRelease is dated 2100-01-01T00:00:00\.000Z, later than now \(2024-06-01T00:00:00\.000Z\)/,
    });
    const skewed = await sign(releaseText({ Date: 'Sat, 01 Jun 2024 00:05:00 UTC' }));
    await verifyInRelease(skewed, options);
  });

  it('refuses a Valid-Until or Date it cannot read instead of skipping it', async () => {
    for (const fields of [{ 'Valid-Until': 'next week' }, { Date: 'yesterday-ish' }, { Date: '' }]) {
      const inRelease = await sign(releaseText(fields));

      await assert.rejects(verifyInRelease(inRelease, { keys: [key.toPublic()], name: 'InRelease' }), {
        code: 'RELEASE_MALFORMED',
        message: /InRelease: (Valid-Until|Date) ".*" is not a date/,
      });
    }
  });
});

describe('checkReleaseSuite', () => {
  it('accepts a Release whose Suite or Codename is the suite asked for', () => {
    const release = parseRelease(releaseText({}), { name: 'InRelease' });

    checkReleaseSuite(release, { suite: 'bookworm-security', name: 'InRelease' });
    checkReleaseSuite(release, { suite: 'stable-security', name: 'InRelease' });
  });

  it("refuses another suite's Release served in its place, naming both", () => {
    const release = parseRelease(releaseText({ Suite: 'stable', Codename: 'bookworm' }), {
      name: 'InRelease',
    });

    assert.throws(() => checkReleaseSuite(release, { suite: 'bookworm-security', name: 'InRelease' }), {
      code: 'RELEASE_WRONG_SUITE',
      message:
        /InRelease is signed for suite stable, codename bookworm, but suite bookworm-security was asked for/,
    });
  });

  it('refuses a Release that names no suite at all', () => {
    const release = parseRelease(releaseText({ Suite: undefined, Codename: undefined }), {
      name: 'InRelease',
    });

    assert.throws(() => checkReleaseSuite(release, { suite: 'bookworm', name: 'InRelease' }), {
      code: 'RELEASE_WRONG_SUITE',
      message: /suite \(none\), codename \(none\)/,
    });
  });
});
