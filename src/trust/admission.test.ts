import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AdmissionFacts, decideAdmission } from './admission.js';

const digest = `sha256:${'a'.repeat(64)}` as const;
const admissible: AdmissionFacts = {
  service: 'hello',
  digest,
  verdict: { passed: true, profile: 'strict', evaluatedAt: '2026-11-30T00:00:00Z' },
  stage: 'candidate',
};

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
});
