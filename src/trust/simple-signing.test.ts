import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { loadPublicKey } from './cosign-key.js';
import { TrustError } from './errors.js';
import {
  parseSimpleSigningPayload,
  signPayload,
  simpleSigningPayload,
  verifyPayload,
} from './simple-signing.js';

const digest = `sha256:${'ab'.repeat(32)}` as const;
const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const otherKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

describe('simpleSigningPayload', () => {
  it('writes compact JSON with the keys in the order cosign and containers/image write them', () => {
    const payload = simpleSigningPayload({
      dockerReference: '127.0.0.1:5000/team/app',
      manifestDigest: digest,
    });

    assert.equal(
      payload.toString('utf8'),
      `{"critical":{"identity":{"docker-reference":"127.0.0.1:5000/team/app"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":null}`,
    );
  });
});

describe('signPayload and verifyPayload', () => {
  const payload = simpleSigningPayload({ dockerReference: 'registry.example/app', manifestDigest: digest });

  it('verifies a base64 DER ECDSA-SHA256 signature with the signer’s public key', () => {
    const signature = signPayload(payload, keys.privateKey);

    assert.equal(Buffer.from(signature, 'base64')[0], 0x30, 'a DER SEQUENCE');
    assert.ok(verifyPayload(payload, signature, keys.publicKey));
  });

  it('rejects another key, another payload and a signature that is not DER', () => {
    const signature = signPayload(payload, keys.privateKey);
    const other = simpleSigningPayload({
      dockerReference: 'registry.example/app',
      manifestDigest: `sha256:${'cd'.repeat(32)}`,
    });

    assert.equal(verifyPayload(payload, signature, otherKeys.publicKey), false);
    assert.equal(verifyPayload(other, signature, keys.publicKey), false);
    assert.equal(verifyPayload(payload, Buffer.from('garbage').toString('base64'), keys.publicKey), false);
    assert.equal(verifyPayload(payload, '', keys.publicKey), false);
  });
});

describe('signatures made by cosign', () => {
  // containers/image's signature/fixtures/cosign.pub and two signatures its tests made with the
  // matching cosign key (signature/internal/sigstore_payload_test.go).
  const containersImageCosignPub = loadPublicKey(`-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEFNLqFhf4fiN6o/glAuYnq2jYUeL0
vRuLu/z39pmbVwS9ff5AYnlwaP9sxREajdLY9ynM6G1sy6AAmb7Z63TsLg==
-----END PUBLIC KEY-----
`);

  it('verify with verifyPayload, and only over the exact bytes they signed', () => {
    const overBraces =
      'MEUCIQDkySOBGxastVP0+koTA33NH5hXjwosFau4rxTPN6g48QIgb7eWKkGqfEpHMM3aT4xiqyP/170jEkdFuciuwN4mux4=';
    const overAmpersand =
      'MEUCIARnnxZQPALBfqkB4aNAYXad79Qs6VehcrgIeZ8p7I2FAiEAzq2HXwXlz1iJeh+ucUR3L0zpjynQk6Rk0+/gXYp49RU=';

    assert.ok(verifyPayload(Buffer.from('{}'), overBraces, containersImageCosignPub));
    assert.ok(verifyPayload(Buffer.from('&'), overAmpersand, containersImageCosignPub));
    assert.equal(verifyPayload(Buffer.from('{ }'), overBraces, containersImageCosignPub), false);
    assert.equal(verifyPayload(Buffer.from('{}'), overBraces, keys.publicKey), false);
  });
});

describe('parseSimpleSigningPayload', () => {
  it('reads the identity and digest, and keeps what others wrote in optional', () => {
    const written = Buffer.from(
      `{"critical":{"identity":{"docker-reference":"r.example/app"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":{"creator":"someone"}}`,
    );

    const claim = parseSimpleSigningPayload(written);

    assert.deepEqual(claim, {
      dockerReference: 'r.example/app',
      manifestDigest: digest,
      optional: { creator: 'someone' },
    });
  });

  it('reads keys in any case, as cosign’s Go decoder does', () => {
    const written = Buffer.from(
      `{"Critical":{"Identity":{"Docker-Reference":"r.example/app"},"IMAGE":{"Docker-manifest-digest":"${digest}"},"Type":"cosign container image signature"},"Optional":{"Creator":"someone"}}`,
    );

    const claim = parseSimpleSigningPayload(written);

    assert.deepEqual(claim, {
      dockerReference: 'r.example/app',
      manifestDigest: digest,
      optional: { Creator: 'someone' },
    });
  });

  it('takes the later of two keys that differ only by case, wherever JSON.parse would put them', () => {
    const other = `sha256:${'cd'.repeat(32)}`;
    const written = Buffer.from(
      `{"critical":{"identity":{"docker-reference":"r.example/first"},"image":{"docker-manifest-digest":"${other}"},"type":"cosign container image signature"},` +
        `"Critical":{"identity":{"Docker-Reference":"r.example/second"}},` +
        `"critical":{"identity":{"docker-reference":"r.example/third"},"Image":{"docker-manifest-digest":"${digest}"}}}`,
    );

    const claim = parseSimpleSigningPayload(written);

    // Go applies the keys in order into one struct: the type stays from the first, the rest is the third's.
    assert.equal(claim.dockerReference, 'r.example/third');
    assert.equal(claim.manifestDigest, digest);
  });

  it('reads a missing or null optional as null', () => {
    const critical = `"critical":{"identity":{"docker-reference":"r.example/a"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"}`;

    assert.equal(parseSimpleSigningPayload(Buffer.from(`{${critical}}`)).optional, null);
    assert.equal(parseSimpleSigningPayload(Buffer.from(`{${critical},"optional":null}`)).optional, null);
  });

  it('refuses another signature type, a malformed digest, wrong types, a missing identity and non-JSON with PAYLOAD_INVALID', () => {
    const cases = [
      `{"critical":{"identity":{"docker-reference":"r/a"},"image":{"docker-manifest-digest":"${digest}"},"type":"atomic container signature"},"optional":null}`,
      '{"critical":{"identity":{"docker-reference":"r/a"},"image":{"docker-manifest-digest":"sha256:xyz"},"type":"cosign container image signature"},"optional":null}',
      `{"critical":{"identity":{"docker-reference":"r/a"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":"x"}`,
      `{"critical":{"identity":{},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"}}`,
      `{"critical":{"identity":{"docker-reference":7},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"}}`,
      'not json',
    ];

    for (const text of cases) {
      assert.throws(
        () => parseSimpleSigningPayload(Buffer.from(text)),
        (error: unknown) => error instanceof TrustError && error.code === 'PAYLOAD_INVALID',
      );
    }
  });
});
