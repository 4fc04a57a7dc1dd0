import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { appFileDetectors, contentDetectors, packageFileDetectors } from './content-detectors.js';
import { secretRules } from './secret-rules.js';

describe('the detector registry', () => {
  it('raises only registered rules, and every rule but the file-name one has a detector', () => {
    const raised = new Set(appFileDetectors.map((detector) => detector.rule));

    for (const rule of raised) assert.ok(secretRules.has(rule), rule);
    for (const rule of secretRules.keys()) {
      if (rule !== 'HERD-S010') assert.ok(raised.has(rule), `${rule} has no detector`);
    }
  });

  it('gives every rule a title, a rationale and a kebab-case name', () => {
    for (const rule of secretRules.values()) {
      assert.match(rule.id, /^HERD-S\d{3}$/);
      assert.match(rule.name, /^[a-z0-9]+(?:-[a-z0-9]+)*$/, rule.id);
      assert.ok(rule.title.length > 0 && rule.rationale.length > 0, rule.id);
    }
  });

  it('states keywords in lower case unless they are looked for as written', () => {
    for (const detector of appFileDetectors) {
      if (detector.caseSensitive) continue;
      for (const keyword of detector.keywords) assert.equal(keyword, keyword.toLowerCase(), detector.rule);
    }
  });

  it('gives package files only private keys and detectors bound to credential file names', () => {
    const [privateKey, ...named] = packageFileDetectors;

    assert.equal(privateKey?.rule, 'HERD-S001');
    for (const detector of named)
      assert.ok(detector.appliesTo, `${detector.rule} must be bound to file names`);
    assert.ok(packageFileDetectors.length < contentDetectors.length);
  });

  it('runs every detector in linear time on hostile repetitions of its keywords', () => {
    for (const detector of appFileDetectors) {
      const keywords = detector.keywords.length > 0 ? detector.keywords : ['password'];
      for (const keyword of keywords) {
        for (const unit of [`${keyword}=`, `"${keyword}":"`, `${keyword}${keyword.toUpperCase()}a1-`]) {
          const hostile = unit.repeat(Math.ceil(300_000 / unit.length));
          const started = performance.now();

          detector.find(hostile, '/app/.env');

          const ms = performance.now() - started;
          assert.ok(ms < 3000, `${detector.rule} on repeated ${JSON.stringify(unit)}: ${ms.toFixed(0)} ms`);
        }
      }
    }
  });
});
