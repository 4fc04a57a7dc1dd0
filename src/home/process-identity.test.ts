import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, it } from 'node:test';
import { deadProcess } from './home.test-support.js';
import { currentProcess, isRunning, parseProcStat } from './process-identity.js';

describe('process identity', () => {
  it('reads the state and start time after a command name with spaces and parentheses', () => {
    const line = '4242 (node (a) b) S 1 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 11 0 987654 1 2 3\n';

    assert.deepEqual(parseProcStat(line), { state: 'S', startTime: '987654' });
  });

  it('refuses a stat line without a start time', () => {
    assert.equal(parseProcStat('4242 (node) S 1 2'), undefined);
    assert.equal(parseProcStat('garbage'), undefined);
  });

  it('knows this process runs, with its own start time', () => {
    const me = currentProcess();

    assert.equal(me.pid, process.pid);
    assert.match(me.startTime ?? '', /^\d+$/);
    assert.equal(isRunning(me), true);
  });

  it('counts a killed process as gone', async () => {
    const dead = await deadProcess();

    assert.equal(isRunning(dead), false);
  });

  it('counts a pid running with another start time as another process (pid reuse)', () => {
    const me = currentProcess();

    assert.equal(isRunning({ ...me, startTime: String(Number(me.startTime) + 1) }), false);
  });

  it('counts a holder on another host as running: it cannot be checked from here', async () => {
    const dead = await deadProcess();

    assert.equal(isRunning({ ...dead, host: `not-${hostname()}` }), true);
  });
});
