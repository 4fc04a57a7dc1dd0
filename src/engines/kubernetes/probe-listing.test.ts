import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineError } from '../engine.js';
import { parseProbeListing } from './probe-listing.js';

const where = { pod: 'web-1', container: 'herd-drift-1' };
const motd = {
  path: '/etc/motd',
  type: 'file',
  mode: 0o644,
  uid: 0,
  gid: 0,
  size: 9,
  sha256: 'b'.repeat(64),
};
const summary = { summary: { entries: 1, unreadable: 0, pid: 7, skipped: [] } };

describe('parseProbeListing', () => {
  it('reads the listing the probe prints', () => {
    const listing = parseProbeListing(`${JSON.stringify(motd)}\n${JSON.stringify(summary)}\n`, where);

    assert.deepEqual(listing.entries, [motd]);
  });

  it('refuses a line holding a key twice (bytes written into the middle of a line), though JSON.parse would keep the last', () => {
    // The probe's line with `,"sha256":"<the image's>"` written in before its closing brace.
    const spliced = `${JSON.stringify(motd).slice(0, -1)},"sha256":"${'a'.repeat(64)}"}`;
    assert.equal((JSON.parse(spliced) as { sha256: string }).sha256, 'a'.repeat(64));

    assert.throws(
      () => parseProbeListing(`${spliced}\n${JSON.stringify(summary)}\n`, where),
      (error: unknown) =>
        error instanceof EngineError &&
        error.code === 'OTHER' &&
        /herd-drift-1 of pod web-1 printed line 1 that is not as the probe prints it/.test(error.message),
    );
  });

  it('refuses a summary spelled otherwise than the probe spells it', () => {
    const spaced = JSON.stringify(summary, null, 1).replaceAll('\n', '');

    assert.throws(
      () => parseProbeListing(`${JSON.stringify(motd)}\n${spaced}\n`, where),
      /printed line 2 that is not as the probe prints it/,
    );
  });
});
