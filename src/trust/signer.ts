/**
 * The signing role. herd signs with a local cosign key today; a KMS or hardware key would be one
 * more `<Tech>Signer` behind the same two members.
 */
import { createPublicKey, KeyObject, sign } from 'node:crypto';

export interface Signer {
  /** ECDSA P-256 over SHA-256 of `data`, ASN.1 DER: what cosign and containers/image verify. */
  sign(data: Uint8Array): Buffer;
  readonly publicKey: KeyObject;
}

/** Signs with an in-memory private key, e.g. one from `loadCosignPrivateKey`. */
export class LocalKeySigner implements Signer {
  readonly publicKey: KeyObject;
  readonly #privateKey: KeyObject;

  constructor(privateKey: KeyObject) {
    this.#privateKey = privateKey;
    this.publicKey = createPublicKey(privateKey);
  }

  sign(data: Uint8Array): Buffer {
    return sign('sha256', data, this.#privateKey);
  }
}

/** Callers hand in either a private key or a Signer; everything below works with a Signer. */
export function signerOf(key: KeyObject | Signer): Signer {
  return key instanceof KeyObject ? new LocalKeySigner(key) : key;
}
