import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultWatchSection, WatchSection } from './watch-section.js';

function problems(input: unknown): string[] {
  const result = WatchSection.safeParse(input);
  return result.success
    ? []
    : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('the watch section of herd.yaml', () => {
  it('has no webhook and no rotation by age by default, and looks for updates every 5 minutes', () => {
    assert.deepEqual(WatchSection.parse({}), { updates: { intervalSeconds: 300 } });
    assert.deepEqual(WatchSection.parse({ webhook: null }), defaultWatchSection);
    assert.deepEqual(defaultWatchSection, { updates: { intervalSeconds: 300 } });
  });

  it('takes an http or https webhook URL as written', () => {
    for (const webhook of ['https://alerts.example/herd', 'http://127.0.0.1:9000/hooks?team=core']) {
      assert.deepEqual(WatchSection.parse({ webhook }), { webhook, updates: { intervalSeconds: 300 } });
    }
  });

  it('rejects a webhook that is not an http or https URL, saying what it got', () => {
    for (const webhook of ['alerts.example/herd', 'file:///tmp/alerts', 'javascript:alert(1)', '', 42]) {
      const found = problems({ webhook });

      assert.equal(found.length, 1, String(webhook));
      assert.match(
        found[0] ?? '',
        /^webhook: expected an http:\/\/ or https:\/\/ URL such as https:\/\/alerts\.example\/herd, got /,
      );
    }
  });

  it('rejects a webhook with a user or password, without echoing the password', () => {
    const found = problems({ webhook: 'https://bot:hunter2@alerts.example/herd' });

    assert.equal(found.length, 1);
    assert.match(found[0] ?? '', /^webhook: expected a URL without a user or password/);
    assert.match(found[0] ?? '', /HERD_WATCH_WEBHOOK/);
    assert.ok(!(found[0] ?? '').includes('hunter2'));
  });

  it('rejects a URL longer than 2048 characters', () => {
    const found = problems({ webhook: `https://alerts.example/${'a'.repeat(2048)}` });

    assert.deepEqual(found, ['webhook: expected a URL of at most 2048 characters, got 2071']);
  });

  it('takes a deep check interval as a duration and keeps it in seconds', () => {
    assert.deepEqual(WatchSection.parse({ deepCheck: { interval: '5m' } }), {
      deepCheck: { intervalSeconds: 300 },
      updates: { intervalSeconds: 300 },
    });
    assert.deepEqual(WatchSection.parse({ deepCheck: { interval: '1h' } }).deepCheck, {
      intervalSeconds: 3600,
    });
  });

  it('rejects a deep check interval below 10s, above 24h or without a unit, saying what it got', () => {
    for (const interval of ['5s', '25h', '300', 0]) {
      assert.deepEqual(problems({ deepCheck: { interval } }), [
        `deepCheck.interval: expected a duration from 10s to 24h such as 5m or 1h, got ${typeof interval === 'string' ? JSON.stringify(interval) : interval}`,
      ]);
    }
    assert.ok(
      problems({ deepCheck: { every: '5m' } }).includes(
        'deepCheck.every: unknown field "every" (known fields: interval)',
      ),
    );
  });

  it('takes the update monitor interval as a duration from 1s to 7d, in seconds', () => {
    assert.deepEqual(WatchSection.parse({ updates: { interval: '2s' } }).updates, { intervalSeconds: 2 });
    assert.deepEqual(WatchSection.parse({ updates: { interval: '7d' } }).updates, {
      intervalSeconds: 604_800,
    });
    assert.deepEqual(WatchSection.parse({ updates: {} }).updates, { intervalSeconds: 300 });
    assert.deepEqual(WatchSection.parse({ updates: null }).updates, { intervalSeconds: 300 });
  });

  it('rejects an update interval below 1s, above 7d or without a unit', () => {
    for (const interval of ['500ms', '8d', '169h', '30', 30]) {
      assert.deepEqual(problems({ updates: { interval } }), [
        `updates.interval: expected a duration from 1s to 7d such as 5m or 1h, got ${typeof interval === 'string' ? JSON.stringify(interval) : interval}`,
      ]);
    }
    assert.deepEqual(problems({ updates: { every: '5m' } }), [
      'updates.every: unknown field "every" (known fields: interval)',
    ]);
  });

  it('rotates by age only when maxImageAge is given, from 1h to 365d', () => {
    assert.equal(WatchSection.parse({}).maxImageAgeSeconds, undefined);
    assert.equal(WatchSection.parse({ maxImageAge: '30d' }).maxImageAgeSeconds, 2_592_000);
    assert.equal(WatchSection.parse({ maxImageAge: '1h' }).maxImageAgeSeconds, 3600);
    assert.equal(WatchSection.parse({ maxImageAge: '365d' }).maxImageAgeSeconds, 31_536_000);

    for (const maxImageAge of ['59m', '366d', '30', 30]) {
      assert.deepEqual(problems({ maxImageAge }), [
        `maxImageAge: expected a duration from 1h to 365d such as 30d, got ${typeof maxImageAge === 'string' ? JSON.stringify(maxImageAge) : maxImageAge}`,
      ]);
    }
  });

  it('names an unknown field and suggests the nearest known one', () => {
    assert.deepEqual(problems({ webhok: 'https://alerts.example/' }), [
      'webhok: unknown field "webhok" (did you mean "webhook"?)',
    ]);
    assert.deepEqual(problems({ maxImageAgeDays: 30 }), [
      'maxImageAgeDays: unknown field "maxImageAgeDays" (known fields: webhook, deepCheck, updates, maxImageAge)',
    ]);
  });
});
