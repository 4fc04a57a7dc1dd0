import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as signBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { envelopeSignedBy, parseEnvelope, preAuthEncoding, signEnvelope, verifyEnvelope } from './dsse.js';
import { TrustError } from './errors.js';
import { inTotoPayloadType, inTotoStatement } from './in-toto-statement.js';

const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const otherKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const digest = `sha256:${'12'.repeat(32)}` as const;
const sign = (bytes: Buffer) => signBytes('sha256', bytes, keys.privateKey).toString('base64');
const statement = inTotoStatement(
  { name: 'hello', digest },
  { predicateType: 'https://example.com/predicate/v1', predicate: { ok: true } },
);

describe('preAuthEncoding', () => {
  it('matches the DSSE protocol test vector', () => {
    const pae = preAuthEncoding('http://example.com/HelloWorld', Buffer.from('hello world'));

    assert.equal(pae.toString('utf8'), 'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });

  it('counts bytes, not characters', () => {
    const pae = preAuthEncoding('t', Buffer.from('é'));

    assert.equal(pae.toString('utf8'), 'DSSEv1 1 t 2 é');
  });
});

describe('signEnvelope and verifyEnvelope', () => {
  it('round-trips an in-toto statement', () => {
    const envelope = signEnvelope(statement, keys.privateKey);

    const verified = verifyEnvelope(parseEnvelope(Buffer.from(JSON.stringify(envelope))), keys.publicKey);

    assert.equal(envelope.payloadType, inTotoPayloadType);
    assert.deepEqual(
      envelope.signatures.map((s) => s.keyid),
      [''],
    );
    assert.deepEqual(verified, statement);
  });

  it('refuses another key with SIGNATURE_INVALID', () => {
    const envelope = signEnvelope(statement, keys.privateKey);

    assert.throws(
      () => verifyEnvelope(envelope, otherKeys.publicKey),
      (error: unknown) => error instanceof TrustError && error.code === 'SIGNATURE_INVALID',
    );
  });

  it('binds the payload type: the same body under another type does not verify', () => {
    const envelope = signEnvelope(statement, keys.privateKey);

    assert.equal(envelopeSignedBy({ ...envelope, payloadType: 'application/json' }, keys.publicKey), false);
  });

  it('refuses an edited payload', () => {
    const envelope = signEnvelope(statement, keys.privateKey);
    const edited = Buffer.from(JSON.stringify({ ...statement, predicate: { ok: false } })).toString('base64');

    assert.equal(envelopeSignedBy({ ...envelope, payload: edited }, keys.publicKey), false);
  });

  it('reads an envelope and a statement whose keys differ in case, as cosign’s Go decoder does', () => {
    const body = Buffer.from(
      JSON.stringify({
        _TYPE: statement._type,
        Subject: [{ Name: 'hello', Digest: { sha256: '12'.repeat(32) } }],
        PredicateType: statement.predicateType,
        PREDICATE: { Ok: true },
      }),
    );
    const signed = {
      PayloadType: inTotoPayloadType,
      Payload: body.toString('base64'),
      Signatures: [{ KeyID: '', Sig: sign(preAuthEncoding(inTotoPayloadType, body)) }],
    };

    const verified = verifyEnvelope(parseEnvelope(Buffer.from(JSON.stringify(signed))), keys.publicKey);

    assert.deepEqual(verified, {
      _type: statement._type,
      subject: [{ name: 'hello', digest: { sha256: '12'.repeat(32) } }],
      predicateType: statement.predicateType,
      // The predicate is data: its keys stay as written.
      predicate: { Ok: true },
    });
  });

  it('refuses a malformed envelope with ATTESTATION_INVALID', () => {
    assert.throws(
      () => parseEnvelope(Buffer.from('{"payloadType":"x","payload":"!!","signatures":[]}')),
      (error: unknown) => error instanceof TrustError && error.code === 'ATTESTATION_INVALID',
    );
  });
});
