import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailureLimiter } from './failure-limiter.js';

function limiter(options: { maxClients?: number } = {}) {
  const clock = { at: Date.parse('2025-01-01T00:00:00Z'), now: () => clock.at };
  const advance = (ms: number) => {
    clock.at += ms;
  };
  return { limits: new FailureLimiter({ maxFailures: 10, windowMs: 60_000, clock, ...options }), advance };
}

describe('FailureLimiter', () => {
  it('lets a client fail nine times, and refuses it after the tenth', () => {
    const { limits } = limiter();

    for (let i = 0; i < 9; i++) limits.recordFailure('203.0.113.5');
    const afterNine = limits.retryAfterSeconds('203.0.113.5');
    limits.recordFailure('203.0.113.5');

    assert.equal(afterNine, undefined);
    assert.equal(limits.retryAfterSeconds('203.0.113.5'), 60);
  });

  it('says to retry when the oldest failure leaves the window, and then lets the client in', () => {
    const { limits, advance } = limiter();
    limits.recordFailure('203.0.113.5');
    advance(20_000);
    for (let i = 0; i < 9; i++) limits.recordFailure('203.0.113.5');

    const retry = limits.retryAfterSeconds('203.0.113.5');
    advance(40_001);

    assert.equal(retry, 40);
    assert.equal(limits.retryAfterSeconds('203.0.113.5'), undefined);
  });

  it('counts each client on its own', () => {
    const { limits } = limiter();

    for (let i = 0; i < 10; i++) limits.recordFailure('203.0.113.5');

    assert.equal(limits.retryAfterSeconds('198.51.100.7'), undefined);
  });

  it('forgets the quietest client first when it knows too many', () => {
    const { limits } = limiter({ maxClients: 2 });
    for (let i = 0; i < 10; i++) limits.recordFailure('a');
    for (let i = 0; i < 10; i++) limits.recordFailure('b');

    limits.recordFailure('c');

    assert.equal(limits.retryAfterSeconds('a'), undefined);
    assert.equal(limits.retryAfterSeconds('b'), 60);
  });
});
