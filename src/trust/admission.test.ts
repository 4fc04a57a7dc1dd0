import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunTemplate } from '../specfile/run-template.js';
import { type AdmissionFacts, decideAdmission } from './admission.js';

const digest = `sha256:${'a'.repeat(64)}` as const;
const signedTemplate: RunTemplate = {
  version: 1,
  user: { uid: 65532, gid: 65532 },
  writable: ['/tmp'],
  writableRoot: false,
  capabilities: [],
  ports: [{ port: 8080, protocol: 'tcp' }],
  entrypoint: ['/usr/bin/server'],
  cmd: [],
  env: ['GREETING'],
  health: { kind: 'http', path: '/healthz', port: 8080, intervalSeconds: 10, timeoutSeconds: 3, retries: 3 },
};
const admissible: AdmissionFacts = {
  service: 'hello',
  digest,
  verdict: { passed: true, profile: 'strict', evaluatedAt: '2026-11-30T00:00:00Z' },
  stage: 'candidate',
  template: { attested: signedTemplate, requested: signedTemplate },
};

function refusalOf(facts: AdmissionFacts): { code: string; reason: string } {
  const decision = decideAdmission(facts);
  assert.equal(decision.admitted, false, 'expected a refusal');
  return decision.admitted ? { code: '', reason: '' } : { code: decision.code, reason: decision.reason };
}

describe('decideAdmission', () => {
  it('admits a signed, gate-passed, released digest', () => {
    assert.deepEqual(decideAdmission(admissible), { admitted: true, stage: 'candidate', profile: 'strict' });
  });

  for (const [name, change, code] of [
    ['a revoked digest', { revoked: { reason: 'CVE', actor: 'sec', at: 'now' } }, 'REVOKED'],
    ['an unsigned digest', { signatureProblem: 'no signature' }, 'UNSIGNED'],
    ['a digest without a signed verdict', { verdict: undefined }, 'NOT_GATED'],
    [
      'a digest that failed the gate',
      { verdict: { passed: false, profile: 'strict', evaluatedAt: 'x' } },
      'GATE_FAILED',
    ],
    ['a digest never released', { stage: undefined }, 'NOT_RELEASED'],
    [
      'a digest while the catalog disagrees with the journal',
      { catalogInconsistency: 'journal entry 5 revoked it, but the catalog no longer holds that revocation' },
      'CATALOG_INCONSISTENT',
    ],
  ] as const) {
    it(`refuses ${name}`, () => {
      const decision = decideAdmission({ ...admissible, ...change } as AdmissionFacts);

      assert.equal(decision.admitted, false);
      assert.equal(!decision.admitted && decision.code, code);
      assert.match(!decision.admitted ? decision.reason : '', new RegExp(digest));
    });
  }

  it('names revocation before anything else is wrong', () => {
    const decision = decideAdmission({
      service: 'hello',
      digest,
      revoked: { reason: 'leaked key', actor: 'sec', at: 'now' },
      signatureProblem: 'no signature',
    });

    assert.equal(!decision.admitted && decision.code, 'REVOKED');
  });

  it('names an inconsistent catalog before a problem it could be hiding', () => {
    const decision = decideAdmission({
      ...admissible,
      catalogInconsistency:
        'the journal ends at entry 4, but its checkpoint records 6 entries (tail deleted)',
      signatureProblem: 'no signature',
    });

    assert.equal(!decision.admitted && decision.code, 'CATALOG_INCONSISTENT');
    assert.match(
      !decision.admitted ? decision.reason : '',
      /checkpoint records 6 entries.*herd journal --verify/,
    );
  });

  it('admits a rollout whose template differs from the signed one only in the health check', () => {
    const requested: RunTemplate = {
      ...signedTemplate,
      health: { kind: 'tcp', port: 8080, intervalSeconds: 30, timeoutSeconds: 5, retries: 5 },
    };

    const decision = decideAdmission({ ...admissible, template: { attested: signedTemplate, requested } });

    assert.equal(decision.admitted, true);
  });

  it('refuses a rollout with another user than the signed run template, naming the field, signed and requested', () => {
    const requested: RunTemplate = { ...signedTemplate, user: { uid: 1000, gid: 1000 } };

    const refusal = refusalOf({ ...admissible, template: { attested: signedTemplate, requested } });

    assert.equal(refusal.code, 'TEMPLATE_MISMATCH');
    assert.match(refusal.reason, /\(user\): user: signed 65532:65532, requested 1000:1000/);
    assert.match(refusal.reason, new RegExp(digest));
  });

  it('refuses writable paths, a writable root, capabilities and ports that differ, naming each', () => {
    const requested: RunTemplate = {
      ...signedTemplate,
      writable: ['/tmp', '/var/cache/app'],
      writableRoot: true,
      capabilities: ['CAP_NET_RAW'],
      ports: [
        { port: 8080, protocol: 'tcp' },
        { port: 22, protocol: 'tcp' },
      ],
    };

    const refusal = refusalOf({ ...admissible, template: { attested: signedTemplate, requested } });

    assert.equal(refusal.code, 'TEMPLATE_MISMATCH');
    assert.match(refusal.reason, /\(writable, writableRoot, capabilities, ports\)/);
    assert.match(refusal.reason, /writable: signed \["\/tmp"\], requested \["\/tmp", "\/var\/cache\/app"\]/);
    assert.match(refusal.reason, /ports: signed \[8080\/tcp\], requested \[22\/tcp, 8080\/tcp\]/);
  });

  it('refuses an image signed before run templates, saying to build and sign it again', () => {
    const refusal = refusalOf({ ...admissible, template: { requested: signedTemplate } });

    assert.equal(refusal.code, 'TEMPLATE_UNATTESTED');
    assert.match(refusal.reason, /no signed run template.*build it again.*sign it again/);
  });

  it('refuses an unreadable signed run template, and a fleet template that predates run templates', () => {
    const unreadable = refusalOf({
      ...admissible,
      template: { attestedProblem: 'version 2, expected 1', requested: signedTemplate },
    });
    const predates = refusalOf({ ...admissible, template: { attested: signedTemplate } });

    assert.equal(unreadable.code, 'TEMPLATE_UNATTESTED');
    assert.match(unreadable.reason, /version 2, expected 1/);
    assert.equal(predates.code, 'TEMPLATE_MISMATCH');
    assert.match(predates.reason, /--spec/);
  });

  it('names revocation and a missing signature before any template problem', () => {
    const requested: RunTemplate = { ...signedTemplate, user: { uid: 1000, gid: 1000 } };
    const template = { attested: signedTemplate, requested };

    assert.equal(
      refusalOf({ ...admissible, template, revoked: { reason: 'x', actor: 'sec', at: 'now' } }).code,
      'REVOKED',
    );
    assert.equal(refusalOf({ ...admissible, template, signatureProblem: 'no signature' }).code, 'UNSIGNED');
  });
});
