/**
 * DSSE envelopes: a signature over the payload *and* its type, via the pre-authentication encoding,
 * so a signed SBOM cannot be replayed as, say, a signed verdict. cosign's `.att` layers hold them.
 * Spec: https://github.com/secure-systems-lab/dsse/blob/master/protocol.md (PAE),
 * https://github.com/secure-systems-lab/dsse/blob/master/envelope.md (JSON envelope)
 */
import { type KeyObject, verify } from 'node:crypto';
import { z } from 'zod';
import { TrustError } from './errors.js';
import { decodeGoJson, GoJsonError, goAny, goMap, goSlice, goString, goStruct } from './go-json.js';
import { InTotoStatement, inTotoPayloadType } from './in-toto-statement.js';
import { type Signer, signerOf } from './signer.js';

export const dsseEnvelopeMediaType = 'application/vnd.dsse.envelope.v1+json';

/** envelope.md. `keyid` is written as "" like cosign does: the verifier is handed its keys. */
export interface DsseEnvelope {
  payloadType: string;
  /** Standard base64 of the payload bytes. */
  payload: string;
  signatures: { keyid: string; sig: string }[];
}

/** PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths in bytes, decimal. */
export function preAuthEncoding(payloadType: string, body: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'utf8'),
    type,
    Buffer.from(` ${body.length} `, 'utf8'),
    body,
  ]);
}

/** Signs an in-toto statement; the statement's JSON bytes become the payload. */
export function signEnvelope(statement: InTotoStatement, key: KeyObject | Signer): DsseEnvelope {
  const body = Buffer.from(JSON.stringify(statement));
  const sig = signerOf(key).sign(preAuthEncoding(inTotoPayloadType, body));
  return {
    payloadType: inTotoPayloadType,
    payload: body.toString('base64'),
    signatures: [{ keyid: '', sig: sig.toString('base64') }],
  };
}

/** True when one of the envelope's signatures is `publicKey`'s, over PAE(payloadType, payload). */
export function envelopeSignedBy(envelope: DsseEnvelope, publicKey: KeyObject): boolean {
  const message = preAuthEncoding(envelope.payloadType, Buffer.from(envelope.payload, 'base64'));
  return envelope.signatures.some((s) => {
    try {
      return verify('sha256', message, publicKey, Buffer.from(s.sig, 'base64'));
    } catch {
      return false;
    }
  });
}

/** Checks the signature, then reads the statement. Throws SIGNATURE_INVALID or ATTESTATION_INVALID. */
export function verifyEnvelope(
  envelope: DsseEnvelope,
  publicKey: KeyObject | readonly KeyObject[],
): InTotoStatement {
  const keys: readonly KeyObject[] = Array.isArray(publicKey) ? publicKey : [publicKey as KeyObject];
  if (!keys.some((key) => envelopeSignedBy(envelope, key))) {
    throw new TrustError('SIGNATURE_INVALID', 'dsse envelope is not signed by any of the given keys');
  }
  return parseStatement(envelope);
}

/**
 * The envelope as go-securesystemslib's `dsse.Envelope` declares it; cosign reads it with Go's
 * encoding/json, so keys match case-insensitively (see go-json.ts).
 */
const DsseEnvelopeShape = goStruct({
  payloadType: goString,
  payload: goString,
  signatures: goSlice(goStruct({ keyid: goString, sig: goString })),
});

const DsseEnvelope = z.object({
  payloadType: z.string(),
  payload: z.base64(),
  signatures: z.array(z.object({ keyid: z.string().optional(), sig: z.base64() })).min(1),
});

/** Reads an envelope from a store or registry blob: untrusted until `verifyEnvelope` passes. */
export function parseEnvelope(bytes: Uint8Array): DsseEnvelope {
  let json: unknown;
  try {
    json = decodeGoJson(Buffer.from(bytes).toString('utf8'), DsseEnvelopeShape);
  } catch (error) {
    if (!(error instanceof GoJsonError)) throw error;
    throw new TrustError(
      'ATTESTATION_INVALID',
      `dsse envelope is not JSON of its shape at ${error.path || '(root)'}: ${error.message}`,
    );
  }
  const parsed = DsseEnvelope.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TrustError(
      'ATTESTATION_INVALID',
      `dsse envelope is malformed at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const { payloadType, payload, signatures } = parsed.data;
  return { payloadType, payload, signatures: signatures.map((s) => ({ keyid: s.keyid ?? '', sig: s.sig })) };
}

/** in-toto-golang's `Statement`: its keys too match case-insensitively; the predicate is any JSON. */
const InTotoStatementShape = goStruct({
  _type: goString,
  subject: goSlice(goStruct({ name: goString, digest: goMap(goString) })),
  predicateType: goString,
  predicate: goAny,
});

function parseStatement(envelope: DsseEnvelope): InTotoStatement {
  if (envelope.payloadType !== inTotoPayloadType) {
    throw new TrustError(
      'ATTESTATION_INVALID',
      `dsse payload type is ${envelope.payloadType}, expected ${inTotoPayloadType}`,
    );
  }
  let json: unknown;
  try {
    json = decodeGoJson(Buffer.from(envelope.payload, 'base64').toString('utf8'), InTotoStatementShape);
  } catch (error) {
    if (!(error instanceof GoJsonError)) throw error;
    throw new TrustError(
      'ATTESTATION_INVALID',
      `dsse payload is not JSON of an in-toto statement at ${error.path || '(root)'}: ${error.message}`,
    );
  }
  const parsed = InTotoStatement.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TrustError(
      'ATTESTATION_INVALID',
      `dsse payload is not an in-toto statement at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}
