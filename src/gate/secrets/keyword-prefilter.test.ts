import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContentDetector } from './detector.js';
import { FileText, KeywordIndex } from './keyword-prefilter.js';

const detector = (keywords: string[], caseSensitive = false): ContentDetector => ({
  rule: 'HERD-S000',
  keywords,
  ...(caseSensitive ? { caseSensitive } : {}),
  find: () => [],
});

describe('the keyword prefilter', () => {
  it('finds every keyword in a lowercased text, also where occurrences overlap or one is inside another', () => {
    const index = new KeywordIndex([
      detector(['npm_', '_auth', 'auth', 'xoxb', 'xoxe.xoxb-', 'pass', 'password']),
    ]);

    assert.deepEqual([...index.keywordsIn('npm_auth xoxe.xoxb- password')].sort(), [
      '_auth',
      'auth',
      'npm_',
      'pass',
      'password',
      'xoxb',
      'xoxe.xoxb-',
    ]);
  });

  it('runs a detector only when its file holds one of its keywords', () => {
    const stripe = detector(['sk_live', 'rk_live']);
    const index = new KeywordIndex([stripe]);

    assert.equal(new FileText(Buffer.from('const key = "SK_LIVE_…"'), index).mayContain(stripe), true);
    assert.equal(new FileText(Buffer.from('nothing to see'), index).mayContain(stripe), false);
  });

  it('looks for case-sensitive keywords as written, in the raw bytes', () => {
    const pem = detector(['-----BEGIN'], true);
    const index = new KeywordIndex([pem]);

    assert.equal(new FileText(Buffer.from('-----BEGIN X-----'), index).mayContain(pem), true);
    assert.equal(new FileText(Buffer.from('-----begin x-----'), index).mayContain(pem), false);
  });

  it('always runs a detector without keywords', () => {
    const generic = detector([]);

    assert.equal(new FileText(Buffer.from(''), new KeywordIndex([generic])).mayContain(generic), true);
  });
});
