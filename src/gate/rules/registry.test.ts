import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { defaultGateSection } from '../../specfile/gate-section.js';
import { levels, profiles } from '../findings.js';
import { memoryImageView } from '../memory-image.js';
import { hardeningRules, rulesFor } from './registry.js';

const helpers = new Set(['account-files', 'executables', 'references', 'registry', 'rule']);

describe('the hardening rule registry', () => {
  for (const [id, rule] of hardeningRules) {
    describe(id, () => {
      it('is registered under its own id, which has the HERD-H000 form', () => {
        assert.equal(rule.id, id);
        assert.match(id, /^HERD-H\d{3}$/);
      });

      it('has a kebab-case name, a title and a rationale that read as text', () => {
        assert.match(rule.name, /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/);
        assert.ok(rule.title.length > 10 && rule.title.length <= 90, rule.title);
        assert.ok(!rule.title.endsWith('.'), 'a title is not a sentence');
        assert.ok(rule.rationale.length > 40 && /[.!]$/.test(rule.rationale), rule.rationale);
      });

      it('has a severity and at least one profile, all known', () => {
        assert.ok(levels.includes(rule.severity));
        assert.ok(rule.profiles.length > 0);
        for (const profile of rule.profiles) assert.ok(profiles.includes(profile));
      });

      it('links each reference to a CIS Docker Benchmark section or a Dockle checkpoint', () => {
        for (const reference of rule.references) {
          assert.match(reference.id, /^(?:CIS \d+\.\d+|CIS-DI-\d{4}|DKL-(?:DI|LI)-\d{4})$/);
          assert.match(reference.url, /^https:\/\//);
          assert.ok(reference.title.length > 0);
        }
      });

      it('judges an empty image without throwing, and says something in each result', () => {
        const results = rule.check({ view: memoryImageView(), gate: defaultGateSection });

        for (const result of results) {
          assert.ok(result.message.length > 0);
          assert.ok(!result.message.includes(rule.id), 'the verdict adds the id, the message need not');
        }
      });
    });
  }

  it('has one module per rule, named after the rule', async () => {
    const modules = (await readdir(new URL('.', import.meta.url)))
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
      .map((file) => file.replace(/\.ts$/, ''))
      .filter((name) => !helpers.has(name));

    assert.deepEqual(modules.sort(), [...hardeningRules.values()].map((rule) => rule.name).sort());
  });

  it('evaluates the shell and package manager rules under strict only', () => {
    const strictOnly = rulesFor('strict')
      .filter((rule) => !rulesFor('baseline').includes(rule))
      .map((rule) => rule.id);

    assert.deepEqual(strictOnly, ['HERD-H005', 'HERD-H006']);
  });
});
