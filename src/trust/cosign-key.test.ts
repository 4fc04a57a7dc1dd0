import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, scryptSync, sign, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import {
  cosignPrivateKeyPemType,
  generateCosignKeyPair,
  keyFingerprint,
  loadCosignPrivateKey,
  loadPublicKey,
  sigstorePrivateKeyPemType,
} from './cosign-key.js';
import { TrustError } from './errors.js';

const password = 'correct horse battery staple';
const pair = generateCosignKeyPair(password);

function pemBody(pem: string): { type: string; bytes: Buffer } {
  const match = /^-----BEGIN ([A-Z ]+)-----\n([\s\S]+?)\n-----END \1-----\n$/.exec(pem);
  assert.ok(match?.[1] && match[2], 'the key is one PEM block');
  return { type: match[1], bytes: Buffer.from(match[2].replaceAll('\n', ''), 'base64') };
}

function throwsCode(action: () => unknown, code: string): void {
  assert.throws(action, (error: unknown) => error instanceof TrustError && error.code === code);
}

describe('generateCosignKeyPair', () => {
  it('writes the private key as go-securesystemslib encrypted JSON in an ENCRYPTED SIGSTORE PRIVATE KEY block', () => {
    const { type, bytes } = pemBody(pair.privateKeyPem);
    const document = JSON.parse(bytes.toString('utf8'));

    assert.equal(type, sigstorePrivateKeyPemType);
    assert.deepEqual(Object.keys(document), ['kdf', 'cipher', 'ciphertext']);
    assert.deepEqual(Object.keys(document.kdf), ['name', 'params', 'salt']);
    assert.equal(document.kdf.name, 'scrypt');
    assert.equal(JSON.stringify(document.kdf.params), '{"N":32768,"r":8,"p":1}');
    assert.equal(Buffer.from(document.kdf.salt, 'base64').length, 32);
    assert.deepEqual(Object.keys(document.cipher), ['name', 'nonce']);
    assert.equal(document.cipher.name, 'nacl/secretbox');
    assert.equal(Buffer.from(document.cipher.nonce, 'base64').length, 24);
  });

  it('encrypts PKCS#8 DER with a secretbox keyed by scrypt(password, salt, N=2^15, r=8, p=1)', () => {
    const document = JSON.parse(pemBody(pair.privateKeyPem).bytes.toString('utf8'));
    const boxKey = scryptSync(password, Buffer.from(document.kdf.salt, 'base64'), 32, {
      N: 32768,
      r: 8,
      p: 1,
      maxmem: 64 * 1024 * 1024,
    });

    const der = xsalsa20poly1305(boxKey, Buffer.from(document.cipher.nonce, 'base64')).decrypt(
      Buffer.from(document.ciphertext, 'base64'),
    );
    const key = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });

    assert.equal(key.asymmetricKeyType, 'ec');
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  });

  it('writes the public key as a PEM PUBLIC KEY block holding an ECDSA P-256 SPKI', () => {
    const { type } = pemBody(pair.publicKeyPem);
    const key = loadPublicKey(pair.publicKeyPem);

    assert.equal(type, 'PUBLIC KEY');
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  });
});

describe('loadCosignPrivateKey', () => {
  it('round-trips: the decrypted key signs what the public key verifies', () => {
    const privateKey = loadCosignPrivateKey(pair.privateKeyPem, password);
    const publicKey = loadPublicKey(pair.publicKeyPem);

    const signature = sign('sha256', Buffer.from('payload'), privateKey);

    assert.ok(verify('sha256', Buffer.from('payload'), publicKey, signature));
    assert.equal(keyFingerprint(privateKey), keyFingerprint(publicKey));
  });

  it('refuses a wrong password with KEY_PASSWORD_WRONG and never echoes the password', () => {
    const wrong = 'hunter2-not-the-password';

    assert.throws(
      () => loadCosignPrivateKey(pair.privateKeyPem, wrong),
      (error: unknown) =>
        error instanceof TrustError &&
        error.code === 'KEY_PASSWORD_WRONG' &&
        !error.message.includes(wrong) &&
        !error.message.includes(password),
    );
  });

  it('also reads the older ENCRYPTED COSIGN PRIVATE KEY block type', () => {
    const older = pair.privateKeyPem.replaceAll(sigstorePrivateKeyPemType, cosignPrivateKeyPemType);

    const key = loadCosignPrivateKey(older, password);

    assert.equal(key.type, 'private');
  });

  it('refuses scrypt parameters go-securesystemslib would refuse, before running the KDF', () => {
    const { bytes } = pemBody(pair.privateKeyPem);
    const document = JSON.parse(bytes.toString('utf8'));
    document.kdf.params.N = 2 ** 22;
    const body = Buffer.from(JSON.stringify(document)).toString('base64');
    const pem = `-----BEGIN ${sigstorePrivateKeyPemType}-----\n${body}\n-----END ${sigstorePrivateKeyPemType}-----\n`;

    throwsCode(() => loadCosignPrivateKey(pem, password), 'KEY_INVALID');
  });

  it('refuses a PEM block of another type', () => {
    throwsCode(() => loadCosignPrivateKey(pair.publicKeyPem, password), 'KEY_INVALID');
  });
});

describe('a key written by cosign itself', () => {
  // `cosign generate-key-pair` with an empty password (cosign 1.x: N = 2^15, the older PEM type),
  // published with its public key in edgelesssys/constellation's upgrade tests.
  const cosignPrivateKey = `-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----
eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjozMjc2OCwiciI6
OCwicCI6MX0sInNhbHQiOiJlRHVYMWRQMGtIWVRnK0xkbjcxM0tjbFVJaU92eFVX
VXgvNi9BbitFVk5BPSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94
Iiwibm9uY2UiOiJwaWhLL2txNmFXa2hqSVVHR3RVUzhTVkdHTDNIWWp4TCJ9LCJj
aXBoZXJ0ZXh0Ijoidm81SHVWRVFWcUZ2WFlQTTVPaTVaWHM5a255bndZU2dvcyth
VklIeHcrOGFPamNZNEtvVjVmL3lHRHR0K3BHV2toanJPR1FLOWdBbmtsazFpQ0c5
a2czUXpPQTZsU2JRaHgvZlowRVRZQ0hLeElncEdPRVRyTDlDenZDemhPZXVSOXJ6
TDcvRjBBVy9vUDVqZXR3dmJMNmQxOEhjck9kWE8yVmYxY2w0YzNLZjVRcnFSZzlN
dlRxQWFsNXJCNHNpY1JaMVhpUUJjb0YwNHc9PSJ9
-----END ENCRYPTED COSIGN PRIVATE KEY-----
`;
  const cosignPublicKey = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEu78QgxOOcao6U91CSzEXxrKhvFTt
JHNy+eX6EMePtDm8CnDF9HSwnTlD0itGJ/XHPQA5YX10fJAqI1y+ehlFMw==
-----END PUBLIC KEY-----
`;

  it('decrypts to the private half of the public key cosign wrote beside it', () => {
    const privateKey = loadCosignPrivateKey(cosignPrivateKey, '');

    assert.equal(keyFingerprint(privateKey), keyFingerprint(loadPublicKey(cosignPublicKey)));
  });

  it('refuses a wrong password with KEY_PASSWORD_WRONG', () => {
    throwsCode(() => loadCosignPrivateKey(cosignPrivateKey, 'guess'), 'KEY_PASSWORD_WRONG');
  });
});

describe('loadPublicKey', () => {
  it('refuses keys other than ECDSA P-256', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();

    throwsCode(() => loadPublicKey(pem), 'KEY_INVALID');
  });

  it('refuses text that is not a public key', () => {
    throwsCode(() => loadPublicKey('not a key'), 'KEY_INVALID');
  });
});
