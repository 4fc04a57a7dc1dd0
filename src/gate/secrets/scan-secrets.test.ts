import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { RootfsNode } from '../../oci/index.js';
import { memoryImageView } from '../memory-image.js';
import { scanSecrets, scanSecretsStreamed } from './scan-secrets.js';

function randomAlnum(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return [...randomBytes(length)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

const privateKey = () =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;

describe('the secret scan', () => {
  it('scans app files strictly and reports path, line, rule and a fingerprint', () => {
    const token = `ghp_${randomAlnum(36)}`;
    const view = memoryImageView({
      files: [{ path: '/app/settings.py', content: `DEBUG = False\nGITHUB = "${token}"\n` }],
    });

    const { findings } = scanSecrets(view);

    assert.deepEqual(
      findings.map((f) => [f.rule, f.location.path, f.location.line]),
      [['HERD-S005', '/app/settings.py', 2]],
    );
    assert.match(findings[0]?.fingerprint ?? '', /^[0-9a-f]{16}$/);
  });

  it('never shows any part of the secret, in messages or anywhere in a finding', () => {
    const key = privateKey();
    const token = `glpat-${randomAlnum(20)}`;
    const view = memoryImageView({
      files: [
        { path: '/app/key.pem', content: key },
        { path: '/app/.env', content: `GITLAB=${token}\nDB_PASSWORD=${randomAlnum(20)}\n` },
      ],
    });

    const serialized = JSON.stringify(scanSecrets(view).findings);

    assert.ok(!serialized.includes(token.slice('glpat-'.length, 'glpat-'.length + 8)));
    for (const line of key.split('\n').slice(1, -2)) assert.ok(!serialized.includes(line.slice(0, 12)));
  });

  it('scans package files only for credential file names, private keys and credential files', () => {
    const view = memoryImageView({
      packages: [
        {
          name: 'some-tool',
          files: [
            { path: '/usr/lib/some-tool/sample.conf', content: `api_key = ${randomAlnum(24)}\n` },
            { path: '/usr/lib/some-tool/bundled.pem', content: privateKey() },
            {
              path: '/usr/share/some-tool/mirrors.txt',
              content: `https://me:${randomAlnum(16)}@mirror.example\n`,
            },
            { path: '/etc/some-tool/.pgpass', content: '' },
            { path: '/etc/some-tool/.netrc', content: `machine m login me password ${randomAlnum(12)}\n` },
          ],
        },
      ],
    });

    const { findings } = scanSecrets(view);

    assert.deepEqual(findings.map((f) => [f.rule, f.location.path]).sort(), [
      ['HERD-S001', '/usr/lib/some-tool/bundled.pem'],
      ['HERD-S010', '/etc/some-tool/.pgpass'],
      ['HERD-S020', '/etc/some-tool/.netrc'],
    ]);
  });

  it('reports a secret once, under the rule of its format rather than the rule of its place', () => {
    const view = memoryImageView({
      files: [
        {
          path: '/app/.env',
          content: `GITHUB_TOKEN=ghp_${randomAlnum(36)}\nREPO_URL=https://x-access-token:ghs_${randomAlnum(36)}@git.example.internal/acme/app\n`,
        },
      ],
    });

    const { findings } = scanSecrets(view);

    assert.deepEqual(
      findings.map((f) => [f.rule, f.location.line]),
      [
        ['HERD-S005', 1],
        ['HERD-S005', 2],
      ],
    );
  });

  it('keeps a file with only placeholders in its credential fields out of the findings', () => {
    const view = memoryImageView({
      files: [
        // biome-ignore lint/suspicious/noTemplateCurlyInString: references to the environment, as they should be
        { path: '/app/.env', content: 'API_KEY=${API_KEY}\nDB_PASSWORD=changeme\n' },
        // biome-ignore lint/suspicious/noTemplateCurlyInString: npm's syntax for reading the environment
        { path: '/app/.npmrc', content: '//npm.example.internal/:_authToken=${NPM_TOKEN}\n' },
        { path: '/root/.docker/config.json', content: '{"auths": {}, "credsStore": "pass"}' },
      ],
    });

    assert.deepEqual(scanSecrets(view).findings, []);
  });

  it('skips package files under the documented safe paths, but not app files there', () => {
    const view = memoryImageView({
      packages: [
        {
          name: 'python3-crypto',
          files: [{ path: '/usr/lib/python3/dist-packages/crypto/tests/key.pem', content: privateKey() }],
        },
      ],
      files: [{ path: '/app/tests/key.pem', content: privateKey() }],
    });

    const { findings, stats } = scanSecrets(view);

    assert.deepEqual(
      findings.map((f) => f.location.path),
      ['/app/tests/key.pem'],
    );
    assert.equal(stats.skippedKnownSafe, 1);
  });

  it('counts files it does not read: too large, or binary', () => {
    const view = memoryImageView({
      files: [
        { path: '/app/big.txt', content: Buffer.alloc(2048, 0x61) },
        {
          path: '/app/tool',
          content: Buffer.concat([Buffer.from('\x7fELF\0'), Buffer.from(`ghp_${randomAlnum(36)}`)]),
        },
        { path: '/app/small.txt', content: 'hello\n' },
        { path: '/app/id_rsa', content: Buffer.alloc(4096, 0) },
      ],
    });

    const { findings, stats } = scanSecrets(view, { maxFileBytes: 1024 });

    assert.deepEqual(stats, {
      files: 4,
      scanned: 1,
      skippedTooLarge: 2,
      skippedBinary: 1,
      skippedKnownSafe: 0,
    });
    assert.deepEqual(
      findings.map((f) => f.rule),
      ['HERD-S010'],
      'a credential file is found by its name even when its content is not read',
    );
  });

  it('finds the same, in the same order, when it streams the bytes, and never reads a file the cache marks binary', async () => {
    const token = `ghp_${randomAlnum(36)}`;
    const view = memoryImageView({
      files: [
        { path: '/app/a.env', content: `GITHUB=${token}\n` },
        { path: '/app/id_rsa', content: privateKey() },
        { path: '/app/blob', content: Buffer.concat([Buffer.alloc(16, 0), Buffer.from(token)]) },
        { path: '/app/z.py', content: `TOKEN = "${token}"\n` },
      ],
    });
    const read: string[] = [];
    const streamed = {
      ...view,
      files: new Map(
        [...view.files].map(([path, node]) => [
          path,
          path === '/app/blob' && node.data
            ? {
                ...node,
                data: undefined,
                content: { layer: 'sha256:x', offset: 0, sha256: '', binary: true },
              }
            : node,
        ]),
      ),
      contents: {
        read: async (node: RootfsNode) => {
          read.push(node.path);
          return node.data ?? Buffer.alloc(0);
        },
      },
    };

    const held = scanSecrets(view);
    const scan = await scanSecretsStreamed(streamed, { concurrency: 3 });

    assert.deepEqual(scan.findings, held.findings);
    assert.deepEqual(scan.stats, held.stats);
    assert.ok(!read.includes('/app/blob'), 'a binary by the sealed index is not read');
    assert.deepEqual(
      scan.findings.map((f) => [f.rule, f.location.path]),
      [
        ['HERD-S005', '/app/a.env'],
        ['HERD-S010', '/app/id_rsa'],
        ['HERD-S001', '/app/id_rsa'],
        ['HERD-S005', '/app/z.py'],
      ],
    );
  });
});
