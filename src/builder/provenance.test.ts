import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Digest } from '../oci/types.js';
import type { Lock } from './lock-file.js';
import { herdBuilderId, herdBuildType, type ProvenanceInput, slsaProvenance } from './provenance.js';

const imageDigest: Digest = `sha256:${'a'.repeat(64)}`;

function lock(): Lock {
  return {
    lockVersion: 1,
    service: 'hello',
    specDigest: `sha256:${'b'.repeat(64)}`,
    date: '2024-06-01T00:00:00Z',
    suite: 'bookworm',
    architecture: 'amd64',
    suites: [],
    files: [{ src: 'app/server.js', sha256: 'c'.repeat(64) }],
    packages: [
      {
        name: 'nodejs',
        version: '18.19.0+dfsg-6~deb12u2',
        architecture: 'amd64',
        source: 'nodejs',
        sourceVersion: '18.19.0+dfsg-6~deb12u2',
        suite: 'bookworm-security',
        filename: 'pool/main/n/nodejs/nodejs_18.19.0+dfsg-6~deb12u2_amd64.deb',
        size: 100,
        sha256: 'd'.repeat(64),
        reason: 'requested',
      },
      {
        name: 'libc6',
        version: '2.36-9+deb12u14',
        architecture: 'amd64',
        source: 'glibc',
        sourceVersion: '2.36-9+deb12u14',
        suite: 'bookworm-security',
        filename: 'pool/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb',
        size: 100,
        sha256: 'e'.repeat(64),
        reason: 'nodejs',
      },
    ],
  };
}

function provenanceInput(): ProvenanceInput {
  return {
    service: 'hello',
    imageDigest,
    specPath: 'examples/hello/herd.yaml',
    specDigest: `sha256:${'b'.repeat(64)}`,
    lockDigest: `sha256:${'9'.repeat(64)}`,
    lock: lock(),
    herdVersion: '0.1.0',
    sourceDateEpoch: 1717200000,
  };
}

interface Statement {
  _type: string;
  subject: { name: string; digest: Record<string, string> }[];
  predicateType: string;
  predicate: {
    buildDefinition: {
      buildType: string;
      externalParameters: {
        spec: { path: string; digest: Record<string, string> };
        lock: { digest: Record<string, string> };
      };
      internalParameters: { sourceDateEpoch: number };
      resolvedDependencies: { uri: string; digest: Record<string, string>; name?: string }[];
    };
    runDetails: {
      builder: { id: string; version: Record<string, string> };
      metadata?: Record<string, string>;
    };
  };
}

describe('slsaProvenance', () => {
  it('gives the same statement and the same JSON for the same input', () => {
    const first = slsaProvenance(provenanceInput());
    const second = slsaProvenance(provenanceInput());

    assert.deepEqual(first, second);
    assert.equal(JSON.stringify(first), JSON.stringify(second));
  });

  it('is an in-toto statement about the image digest with a SLSA v1 predicate', () => {
    const statement = slsaProvenance(provenanceInput()) as Statement;

    assert.equal(statement._type, 'https://in-toto.io/Statement/v1');
    assert.equal(statement.predicateType, 'https://slsa.dev/provenance/v1');
    assert.deepEqual(statement.subject, [{ name: 'hello', digest: { sha256: 'a'.repeat(64) } }]);
  });

  it('records the spec and lock as digest sets and the source date epoch as an internal parameter', () => {
    const { buildDefinition } = (slsaProvenance(provenanceInput()) as Statement).predicate;

    assert.equal(buildDefinition.buildType, herdBuildType);
    assert.deepEqual(buildDefinition.externalParameters, {
      spec: { path: 'examples/hello/herd.yaml', digest: { sha256: 'b'.repeat(64) } },
      lock: { digest: { sha256: '9'.repeat(64) } },
    });
    assert.deepEqual(buildDefinition.internalParameters, { sourceDateEpoch: 1717200000 });
  });

  it('resolves every package by purl sorted by name, then every app file by file uri', () => {
    const { resolvedDependencies } = (slsaProvenance(provenanceInput()) as Statement).predicate
      .buildDefinition;

    assert.deepEqual(resolvedDependencies, [
      {
        uri: 'pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=amd64&distro=debian-12&upstream=glibc',
        digest: { sha256: 'e'.repeat(64) },
        name: 'pool/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb',
      },
      {
        uri: 'pkg:deb/debian/nodejs@18.19.0%2Bdfsg-6~deb12u2?arch=amd64&distro=debian-12',
        digest: { sha256: 'd'.repeat(64) },
        name: 'pool/main/n/nodejs/nodejs_18.19.0+dfsg-6~deb12u2_amd64.deb',
      },
      { uri: 'file:app/server.js', digest: { sha256: 'c'.repeat(64) } },
    ]);
  });

  it('leaves out run metadata when the build gives no times, so the statement stays reproducible', () => {
    const { runDetails } = (slsaProvenance(provenanceInput()) as Statement).predicate;

    assert.deepEqual(runDetails, { builder: { id: herdBuilderId, version: { herd: '0.1.0' } } });
  });

  it('records start and finish times when the build passes them', () => {
    const input = {
      ...provenanceInput(),
      startedOn: '2024-06-01T10:00:00Z',
      finishedOn: '2024-06-01T10:00:05Z',
    };

    const { runDetails } = (slsaProvenance(input) as Statement).predicate;

    assert.deepEqual(runDetails.metadata, {
      startedOn: '2024-06-01T10:00:00Z',
      finishedOn: '2024-06-01T10:00:05Z',
    });
  });
});
