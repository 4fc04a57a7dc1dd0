import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import formatsPlugin from 'ajv-formats';
import type { Digest } from '../oci/types.js';
import type { LockedPackage } from './lock-file.js';
import { cycloneDxDocument, type SbomInput, spdxDocument, uuidFromDigest } from './sbom.js';

const imageDigest: Digest = `sha256:${'0123456789abcdef'.repeat(4)}`;

function lockedPackage(name: string, fields: Partial<LockedPackage> = {}): LockedPackage {
  return {
    name,
    version: '1.0-1',
    architecture: 'amd64',
    source: name,
    sourceVersion: '1.0-1',
    suite: 'bookworm',
    filename: `pool/main/${name[0]}/${name}/${name}_1.0-1_amd64.deb`,
    size: 1000,
    sha256: 'f'.repeat(64),
    reason: 'requested',
    ...fields,
  };
}

function sbomInput(): SbomInput {
  return {
    service: 'hello',
    version: '1.2.0',
    imageDigest,
    created: '2024-06-01T00:00:00.000Z',
    suite: 'bookworm',
    versionId: '12',
    architecture: 'amd64',
    // Out of order on purpose: the documents sort by name.
    packages: [
      lockedPackage('libc6', {
        version: '2.36-9+deb12u14',
        source: 'glibc',
        sourceVersion: '2.36-9+deb12u14',
        suite: 'bookworm-security',
      }),
      lockedPackage('base-files', { version: '12.4+deb12u11' }),
      lockedPackage('libstdc++6', { version: '12.2.0-14', source: 'gcc-12', sourceVersion: '12.2.0-14' }),
    ],
  };
}

interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  sourceInfo?: string;
  primaryPackagePurpose?: string;
  checksums: { algorithm: string; checksumValue: string }[];
  externalRefs: { referenceType: string; referenceLocator: string }[];
}

interface Spdx {
  spdxVersion: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  packages: SpdxPackage[];
  relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
}

interface CycloneDx {
  bomFormat: string;
  specVersion: string;
  serialNumber: string;
  metadata: {
    timestamp: string;
    component: { type: string; name: string; version?: string; 'bom-ref': string };
  };
  components: {
    'bom-ref': string;
    name: string;
    purl: string;
    properties: { name: string; value: string }[];
  }[];
  dependencies: { ref: string; dependsOn: string[] }[];
}

describe('spdxDocument', () => {
  it('gives the same document and the same JSON for the same input', () => {
    const first = spdxDocument(sbomInput());
    const second = spdxDocument(sbomInput());

    assert.deepEqual(first, second);
    assert.equal(JSON.stringify(first), JSON.stringify(second));
  });

  it('derives the namespace from the image digest and dates the document with the build date', () => {
    const doc = spdxDocument(sbomInput()) as Spdx;

    assert.equal(doc.spdxVersion, 'SPDX-2.3');
    assert.equal(doc.documentNamespace, `urn:herd:spdx:hello:${imageDigest.slice(7)}`);
    assert.deepEqual(doc.creationInfo, { created: '2024-06-01T00:00:00Z', creators: ['Tool: herd'] });
  });

  it('writes the creation time in whole seconds, as the SPDX 2.3 schema requires', () => {
    const doc = spdxDocument({ ...sbomInput(), created: '2024-06-01T12:34:56.789Z' }) as Spdx;

    assert.equal(doc.creationInfo.created, '2024-06-01T12:34:56Z');
  });

  it('lists the image first, then the Debian packages sorted by name', () => {
    const doc = spdxDocument(sbomInput()) as Spdx;

    assert.deepEqual(
      doc.packages.map((p) => p.SPDXID),
      [
        'SPDXRef-Image',
        'SPDXRef-Package-deb-base-files',
        'SPDXRef-Package-deb-libc6',
        'SPDXRef-Package-deb-libstdc-2B-2B6',
      ],
    );
    assert.equal(doc.packages[0]?.primaryPackagePurpose, 'CONTAINER');
    assert.deepEqual(doc.packages[0]?.checksums, [
      { algorithm: 'SHA256', checksumValue: imageDigest.slice(7) },
    ]);
  });

  it('names each package by purl and records its source and deb checksum', () => {
    const doc = spdxDocument(sbomInput()) as Spdx;

    const libc = doc.packages.find((p) => p.name === 'libc6');

    assert.equal(libc?.versionInfo, '2.36-9+deb12u14');
    assert.equal(libc?.sourceInfo, 'built package from: glibc 2.36-9+deb12u14');
    assert.deepEqual(libc?.checksums, [{ algorithm: 'SHA256', checksumValue: 'f'.repeat(64) }]);
    assert.equal(
      libc?.externalRefs[0]?.referenceLocator,
      'pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=amd64&distro=debian-12&upstream=glibc',
    );
  });

  it('relates the document to the image once and the image to every package', () => {
    const doc = spdxDocument(sbomInput()) as Spdx;

    const describes = doc.relationships.filter((r) => r.relationshipType === 'DESCRIBES');
    const contains = doc.relationships.filter((r) => r.relationshipType === 'CONTAINS');

    assert.equal(doc.relationships.length, 1 + 3);
    assert.deepEqual(describes, [
      {
        spdxElementId: 'SPDXRef-DOCUMENT',
        relationshipType: 'DESCRIBES',
        relatedSpdxElement: 'SPDXRef-Image',
      },
    ]);
    assert.ok(contains.every((r) => r.spdxElementId === 'SPDXRef-Image'));
    assert.equal(new Set(contains.map((r) => r.relatedSpdxElement)).size, 3);
  });

  it('uses only characters SPDX allows in package ids', () => {
    const doc = spdxDocument(sbomInput()) as Spdx;

    assert.ok(doc.packages.every((p) => /^SPDXRef-[A-Za-z0-9.-]+$/.test(p.SPDXID)));
  });
});

describe('cycloneDxDocument', () => {
  it('gives the same document and the same JSON for the same input', () => {
    const first = cycloneDxDocument(sbomInput());
    const second = cycloneDxDocument(sbomInput());

    assert.deepEqual(first, second);
    assert.equal(JSON.stringify(first), JSON.stringify(second));
  });

  it('derives a valid version 4 serial number from the image digest', () => {
    const bom = cycloneDxDocument(sbomInput()) as CycloneDx;

    assert.equal(bom.serialNumber, 'urn:uuid:01234567-89ab-4def-8123-456789abcdef');
    assert.match(
      bom.serialNumber,
      /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it('gives different images different serial numbers', () => {
    assert.notEqual(uuidFromDigest(imageDigest), uuidFromDigest(`sha256:${'f'.repeat(64)}`));
  });

  it('describes the image as the container component with the service name and version', () => {
    const bom = cycloneDxDocument(sbomInput()) as CycloneDx;

    assert.equal(bom.specVersion, '1.5');
    assert.equal(bom.metadata.timestamp, '2024-06-01T00:00:00.000Z');
    assert.deepEqual(
      {
        type: bom.metadata.component.type,
        name: bom.metadata.component.name,
        version: bom.metadata.component.version,
      },
      { type: 'container', name: 'hello', version: '1.2.0' },
    );
  });

  it('keys each package by its purl and records its source and suite', () => {
    const bom = cycloneDxDocument(sbomInput()) as CycloneDx;

    const libc = bom.components.find((c) => c.name === 'libc6');

    assert.deepEqual(
      bom.components.map((c) => c.name),
      ['base-files', 'libc6', 'libstdc++6'],
    );
    assert.equal(libc?.['bom-ref'], libc?.purl);
    assert.deepEqual(libc?.properties, [
      { name: 'herd:debian:source', value: 'glibc' },
      { name: 'herd:debian:suite', value: 'bookworm-security' },
    ]);
  });

  it('makes the image depend on every package and on nothing else', () => {
    const bom = cycloneDxDocument(sbomInput()) as CycloneDx;

    assert.equal(bom.dependencies.length, 1);
    assert.equal(bom.dependencies[0]?.ref, 'image');
    assert.deepEqual(
      bom.dependencies[0]?.dependsOn,
      bom.components.map((c) => c['bom-ref']),
    );
  });

  it('falls back to the codename table when os-release gave no version', () => {
    const { versionId: _dropped, ...input } = sbomInput();

    const bom = cycloneDxDocument(input) as CycloneDx;

    assert.ok(bom.components.every((c) => c.purl.includes('&distro=debian-12')));
  });
});

/** The fixture input with what a build reads from the image: licenses, edges and the app's files. */
function richInput(): SbomInput {
  return {
    ...sbomInput(),
    licenses: new Map([
      ['libc6', 'GPL-2.0-or-later AND LGPL-2.1-or-later'],
      ['base-files', 'GPL-2.0-or-later'],
    ]),
    dependsOn: new Map([
      ['libstdc++6', ['libc6']],
      ['libc6', []],
      ['base-files', []],
    ]),
    appFiles: [
      { path: 'usr/local/bin/hello', sha256: 'a'.repeat(64), sha1: 'b'.repeat(40) },
      { path: 'etc/hello.conf', sha256: 'c'.repeat(64), sha1: 'd'.repeat(40) },
    ],
  };
}

describe('licenses, dependencies and app files in the SBOMs', () => {
  it('declares the license read from the copyright file, and NOASSERTION where none was clear', () => {
    const spdx = spdxDocument(richInput()) as { packages: Record<string, unknown>[] };
    const cdx = cycloneDxDocument(richInput()) as { components: Record<string, unknown>[] };

    const declared = (name: string) => spdx.packages.find((p) => p.name === name)?.licenseDeclared;
    assert.equal(declared('libc6'), 'GPL-2.0-or-later AND LGPL-2.1-or-later');
    assert.equal(declared('libstdc++6'), 'NOASSERTION');
    assert.deepEqual(cdx.components.find((c) => c.name === 'libc6')?.licenses, [
      { expression: 'GPL-2.0-or-later AND LGPL-2.1-or-later' },
    ]);
    assert.equal(cdx.components.find((c) => c.name === 'libstdc++6')?.licenses, undefined);
  });

  it('relates packages with DEPENDS_ON in SPDX and dependencies in CycloneDX', () => {
    const spdx = spdxDocument(richInput()) as Spdx;
    const cdx = cycloneDxDocument(richInput()) as CycloneDx;

    assert.deepEqual(
      spdx.relationships.filter((r) => r.relationshipType === 'DEPENDS_ON'),
      [
        {
          spdxElementId: 'SPDXRef-Package-deb-libstdc-2B-2B6',
          relationshipType: 'DEPENDS_ON',
          relatedSpdxElement: 'SPDXRef-Package-deb-libc6',
        },
      ],
    );
    const libc = cdx.components.find((c) => c.name === 'libc6')?.purl;
    const libstdc = cdx.components.find((c) => c.name === 'libstdc++6')?.purl;
    assert.deepEqual(
      cdx.dependencies.find((d) => d.ref === libstdc),
      { ref: libstdc, dependsOn: [libc] },
    );
    // Known to depend on nothing: an empty list, not a missing entry (which means unknown).
    assert.deepEqual(cdx.dependencies.find((d) => d.ref === libc)?.dependsOn, []);
  });

  it("leaves a base package's edges unknown: no entry in CycloneDX", () => {
    const input = richInput();
    input.base = {
      ref: 'base@production',
      digest: `sha256:${'9'.repeat(64)}`,
      packages: [
        {
          name: 'zlib1g',
          version: '1:1.2.13-1',
          architecture: 'amd64',
          source: 'zlib',
          sourceVersion: '1:1.2.13-1',
        },
      ],
    };
    const cdx = cycloneDxDocument(input) as CycloneDx;

    const zlib = cdx.components.find((c) => c.name === 'zlib1g')?.purl;
    assert.equal(zlib, 'pkg:deb/debian/zlib1g@1:1.2.13-1?arch=amd64&distro=debian-12&upstream=zlib');
    assert.equal(
      cdx.dependencies.find((d) => d.ref === zlib),
      undefined,
    );
  });

  it("lists the app's files as one component, each file with its SHA-1 and SHA-256", () => {
    const spdx = spdxDocument(richInput()) as {
      files: { SPDXID: string; fileName: string; checksums: unknown[] }[];
      packages: Record<string, unknown>[];
      relationships: Spdx['relationships'];
    };
    const cdx = cycloneDxDocument(richInput()) as {
      components: { 'bom-ref': string; type?: string; components?: { name: string; hashes: unknown[] }[] }[];
      dependencies: CycloneDx['dependencies'];
    };

    const app = spdx.packages.find((p) => p.SPDXID === 'SPDXRef-App');
    assert.equal(app?.filesAnalyzed, true);
    assert.deepEqual(app?.hasFiles, ['SPDXRef-File-1', 'SPDXRef-File-2']);
    // §7.9: sha1 over the sorted, concatenated file SHA-1s.
    assert.deepEqual(app?.packageVerificationCode, {
      packageVerificationCodeValue: createHash('sha1')
        .update(`${'b'.repeat(40)}${'d'.repeat(40)}`)
        .digest('hex'),
    });
    assert.deepEqual(
      spdx.files.map((f) => f.fileName),
      ['./etc/hello.conf', './usr/local/bin/hello'],
    );
    assert.deepEqual(spdx.files[1]?.checksums, [
      { algorithm: 'SHA1', checksumValue: 'b'.repeat(40) },
      { algorithm: 'SHA256', checksumValue: 'a'.repeat(64) },
    ]);
    assert.ok(
      spdx.relationships.some(
        (r) => r.spdxElementId === 'SPDXRef-Image' && r.relatedSpdxElement === 'SPDXRef-App',
      ),
    );
    const component = cdx.components.find((c) => c['bom-ref'] === 'app');
    assert.equal(component?.type, 'application');
    assert.deepEqual(
      component?.components?.map((f) => [f.name, f.hashes]),
      [
        [
          '/etc/hello.conf',
          [
            { alg: 'SHA-1', content: 'd'.repeat(40) },
            { alg: 'SHA-256', content: 'c'.repeat(64) },
          ],
        ],
        [
          '/usr/local/bin/hello',
          [
            { alg: 'SHA-1', content: 'b'.repeat(40) },
            { alg: 'SHA-256', content: 'a'.repeat(64) },
          ],
        ],
      ],
    );
    assert.ok(cdx.dependencies.find((d) => d.ref === 'image')?.dependsOn.includes('app'));
  });

  it('adds no app component when the spec installs no files', () => {
    const spdx = spdxDocument(sbomInput()) as { files?: unknown; packages: { SPDXID: string }[] };

    assert.equal(spdx.files, undefined);
    assert.equal(
      spdx.packages.some((p) => p.SPDXID === 'SPDXRef-App'),
      false,
    );
  });
});

/** ajv with the string formats (date-time, uri, …) both official schemas use. */
function ajvWithFormats(): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true });
  // ajv-formats is CommonJS with a default export: Node hands it over as `.default`.
  const addFormats = ((formatsPlugin as unknown as { default?: unknown }).default ?? formatsPlugin) as (
    ajv: Ajv,
  ) => Ajv;
  return addFormats(ajv);
}

/** `richInput()` with a base image, so every part of both documents is there to be judged. */
function inputWithBase(): SbomInput {
  const input = richInput();
  input.base = {
    ref: 'base@production',
    digest: `sha256:${'9'.repeat(64)}`,
    packages: [
      {
        name: 'zlib1g',
        version: '1:1.2.13-1',
        architecture: 'amd64',
        source: 'zlib',
        sourceVersion: '1:1.2.13-1',
      },
    ],
  };
  return input;
}

describe('the SPDX document against the official SPDX 2.3 JSON schema', () => {
  const schemaPath = join('test', 'fixtures', 'spdx-2.3', 'spdx-schema.json');
  const officialSha256 = '239208b7ac287b3cf5d9a9af23f9d69863971102a5e1587a27a398b43490b89b';
  function validator() {
    const bytes = readFileSync(schemaPath);
    assert.equal(
      createHash('sha256').update(bytes).digest('hex'),
      officialSha256,
      `${schemaPath} is not the SPDX project's v2.3 schema`,
    );
    return ajvWithFormats().compile(JSON.parse(bytes.toString('utf8')) as Record<string, unknown>);
  }

  it('validates with licenses, dependencies, the app files and a base', () => {
    const validate = validator();

    const valid = validate(JSON.parse(JSON.stringify(spdxDocument(inputWithBase()))));

    assert.equal(valid, true, JSON.stringify(validate.errors, null, 2));
  });

  it('validates the smallest document: no licenses, edges, files or base', () => {
    const validate = validator();

    const valid = validate(JSON.parse(JSON.stringify(spdxDocument(sbomInput()))));

    assert.equal(valid, true, JSON.stringify(validate.errors, null, 2));
  });

  it('can fail: a document without its creators, or with a checksum that is not a list, is refused', () => {
    const validate = validator();
    const noCreators = JSON.parse(JSON.stringify(spdxDocument(richInput())));
    delete noCreators.creationInfo.creators;
    const badChecksums = JSON.parse(JSON.stringify(spdxDocument(richInput())));
    badChecksums.packages[0].checksums = 'sha256';

    assert.equal(validate(noCreators), false);
    assert.equal(validate(badChecksums), false);
  });
});

describe('the CycloneDX document against the official CycloneDX 1.5 JSON schema', () => {
  function validator() {
    const dir = join('node_modules', '@cyclonedx', 'cyclonedx-library', 'res', 'schema');
    const read = (name: string) =>
      JSON.parse(readFileSync(join(dir, name), 'utf8')) as Record<string, unknown>;
    const ajv = ajvWithFormats();
    // bom-1.5 refers to its companions by these file names, relative to its own $id.
    for (const name of ['spdx.SNAPSHOT.schema.json', 'jsf-0.82.SNAPSHOT.schema.json']) {
      ajv.addSchema({ ...read(name), $id: `http://cyclonedx.org/schema/${name}` });
    }
    return ajv.compile(read('bom-1.5.SNAPSHOT.schema.json'));
  }

  it('validates with licenses, dependencies, the app component and a base', () => {
    const validate = validator();

    const valid = validate(JSON.parse(JSON.stringify(cycloneDxDocument(inputWithBase()))));

    assert.equal(valid, true, JSON.stringify(validate.errors, null, 2));
  });

  it('can fail: a license that is neither an expression nor a license object is refused', () => {
    const validate = validator();
    const doc = JSON.parse(JSON.stringify(cycloneDxDocument(richInput())));
    doc.components[0].licenses = [{ spdx: 'GPL-2.0-or-later' }];

    assert.equal(validate(doc), false);
  });
});
