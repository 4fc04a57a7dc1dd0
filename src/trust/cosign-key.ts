/**
 * cosign's key pair format, so that keys move freely between herd, cosign and podman.
 * - public key: PEM `PUBLIC KEY`, PKIX (SPKI), ECDSA P-256;
 * - private key: PKCS#8 DER, encrypted by go-securesystemslib's `encrypted.Encrypt` (a scrypt key
 *   opens a NaCl secretbox; the parameters sit beside the ciphertext in a JSON document), wrapped in
 *   PEM `ENCRYPTED SIGSTORE PRIVATE KEY` (older cosign wrote `ENCRYPTED COSIGN PRIVATE KEY`).
 * Sources: https://github.com/sigstore/cosign/blob/main/pkg/cosign/keys.go,
 * https://github.com/secure-systems-lab/go-securesystemslib/blob/main/encrypted/encrypted.go
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  scryptSync,
} from 'node:crypto';
import { xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import { z } from 'zod';
import { TrustError } from './errors.js';

export const sigstorePrivateKeyPemType = 'ENCRYPTED SIGSTORE PRIVATE KEY';
export const cosignPrivateKeyPemType = 'ENCRYPTED COSIGN PRIVATE KEY';

/**
 * scrypt parameters go-securesystemslib accepts when decrypting (Legacy, Standard, OWASP); any other
 * set is refused so that a tampered key file cannot make the KDF eat the machine.
 */
const acceptedScryptParams = [
  { N: 32768, r: 8, p: 1 },
  { N: 65536, r: 8, p: 1 },
  { N: 131072, r: 8, p: 1 },
] as const;

/**
 * herd writes the Legacy set (N = 2^15): the go-securesystemslib that podman 4.3's
 * containers/image vendors accepts only that one, and every later version still reads it.
 */
const writtenScryptParams = acceptedScryptParams[0];
const saltSize = 32;
const nonceSize = 24;
const boxKeySize = 32;
/** scrypt needs 128 · N · r bytes; Node's default ceiling (32 MiB) is too low for N = 2^15 and up. */
const scryptMaxMem = 256 * 1024 * 1024;

/** The JSON inside the PEM, as go-securesystemslib marshals it: []byte fields are std base64. */
const EncryptedKey = z.object({
  kdf: z.object({
    name: z.literal('scrypt'),
    params: z.object({ N: z.number(), r: z.number(), p: z.number() }),
    salt: z.base64(),
  }),
  cipher: z.object({ name: z.literal('nacl/secretbox'), nonce: z.base64() }),
  ciphertext: z.base64(),
});
type EncryptedKey = z.infer<typeof EncryptedKey>;

export interface CosignKeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

/** A fresh ECDSA P-256 key pair, the private half encrypted under `password` as cosign does it. */
export function generateCosignKeyPair(password: string): CosignKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  const salt = randomBytes(saltSize);
  const nonce = randomBytes(nonceSize);
  const boxKey = deriveBoxKey(password, salt, writtenScryptParams);
  const ciphertext = xsalsa20poly1305(boxKey, nonce).encrypt(der);
  // Key order as Go's encoding/json writes the structs: kdf{name,params{N,r,p},salt}, cipher, ciphertext.
  const document: EncryptedKey = {
    kdf: { name: 'scrypt', params: { ...writtenScryptParams }, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(ciphertext).toString('base64'),
  };
  return {
    privateKeyPem: encodePem(sigstorePrivateKeyPemType, Buffer.from(JSON.stringify(document))),
    publicKeyPem: publicKeyPemOf(publicKey),
  };
}

/** Decrypts a cosign private key. The password never appears in an error. */
export function loadCosignPrivateKey(pem: string, password: string): KeyObject {
  const block = decodePem(pem);
  if (!block || (block.type !== sigstorePrivateKeyPemType && block.type !== cosignPrivateKeyPemType)) {
    throw new TrustError(
      'KEY_INVALID',
      `expected a PEM block of type ${sigstorePrivateKeyPemType} (or ${cosignPrivateKeyPemType}), got ${block ? block.type : 'no PEM block'}`,
    );
  }
  const document = parseEncryptedKey(block.bytes);
  const params = document.kdf.params;
  const accepted = acceptedScryptParams.find((a) => a.N === params.N && a.r === params.r && a.p === params.p);
  if (!accepted) {
    throw new TrustError(
      'KEY_INVALID',
      `unsupported scrypt parameters N=${params.N} r=${params.r} p=${params.p}: expected N of 2^15, 2^16 or 2^17 with r=8, p=1`,
    );
  }
  const nonce = Buffer.from(document.cipher.nonce, 'base64');
  if (nonce.length !== nonceSize) {
    throw new TrustError('KEY_INVALID', `secretbox nonce is ${nonce.length} bytes, expected ${nonceSize}`);
  }
  const boxKey = deriveBoxKey(password, Buffer.from(document.kdf.salt, 'base64'), accepted);
  let der: Uint8Array;
  try {
    der = xsalsa20poly1305(boxKey, nonce).decrypt(Buffer.from(document.ciphertext, 'base64'));
  } catch {
    // secretbox cannot tell a wrong password from a damaged ciphertext; the password is far likelier.
    throw new TrustError(
      'KEY_PASSWORD_WRONG',
      'cannot decrypt the private key: the password is wrong (or the key file is damaged)',
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  } catch (error) {
    throw new TrustError('KEY_INVALID', 'the decrypted private key is not PKCS#8 DER', { cause: error });
  }
  requireP256(key, 'private key');
  return key;
}

/** Reads a PEM `PUBLIC KEY` (PKIX) and accepts only ECDSA P-256, the one algorithm herd signs with. */
export function loadPublicKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (error) {
    const found = decodePem(pem)?.type ?? 'no PEM block';
    throw new TrustError('KEY_INVALID', `expected a PEM PUBLIC KEY (ECDSA P-256), got ${found}`, {
      cause: error,
    });
  }
  if (key.type !== 'public') {
    throw new TrustError('KEY_INVALID', `expected a public key, got a ${key.type} key`);
  }
  requireP256(key, 'public key');
  return key;
}

export function publicKeyPemOf(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

/** sha256 of the key's SPKI DER, in hex: names a key in results and logs without printing it. */
export function keyFingerprint(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

function deriveBoxKey(
  password: string,
  salt: Uint8Array,
  params: { N: number; r: number; p: number },
): Buffer {
  return scryptSync(Buffer.from(password, 'utf8'), salt, boxKeySize, { ...params, maxmem: scryptMaxMem });
}

function parseEncryptedKey(bytes: Buffer): EncryptedKey {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new TrustError('KEY_INVALID', 'the encrypted private key does not hold JSON');
  }
  const parsed = EncryptedKey.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TrustError(
      'KEY_INVALID',
      `the encrypted private key is not go-securesystemslib's format: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`,
    );
  }
  return parsed.data;
}

function requireP256(key: KeyObject, what: string): void {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
    throw new TrustError(
      'KEY_INVALID',
      `expected an ECDSA P-256 ${what}, got ${key.asymmetricKeyType ?? 'unknown'}${curve ? ` (${curve})` : ''}`,
    );
  }
}

/** RFC 7468 textual encoding, 64 columns, as Go's encoding/pem writes it. */
function encodePem(type: string, bytes: Buffer): string {
  const lines = bytes.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}

function decodePem(text: string): { type: string; bytes: Buffer } | undefined {
  const match = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text);
  if (!match?.[1] || match[2] === undefined) return undefined;
  // Go's pem.Decode skips "Key: value" headers before the body; cosign never writes any.
  const body = match[2]
    .split(/\r?\n/)
    .filter((line) => !line.includes(':'))
    .join('');
  return { type: match[1], bytes: Buffer.from(body, 'base64') };
}
