/**
 * The acceptance checks' requests, from outside the candidate as a client would make them: one GET
 * (its body read up to a cap) or one TCP connect, each within its check's timeout. Never rejects:
 * a refusal, a reset or silence is a failed check with a detail that says which. Judging an answer
 * is acceptance-checks.ts's.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { type HttpAnswer, maxBodyBytes } from './acceptance-checks.js';

/** Where the check's container port is reachable from herd: the engine's published `127.0.0.1:<port>`. */
export interface CandidateAddress {
  host: string;
  port: number;
}

export type HttpOutcome = { kind: 'answered'; answer: HttpAnswer } | { kind: 'failed'; detail: string };

/** One `GET path` to `address`, the whole exchange (connect, headers, body) within `timeoutMs`. */
export function requestAnswer(
  address: CandidateAddress,
  options: { path: string; timeoutMs: number; bodyCapBytes?: number },
): Promise<HttpOutcome> {
  const cap = options.bodyCapBytes ?? maxBodyBytes;
  const what = `GET ${options.path} at ${address.host}:${address.port}`;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: HttpOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(
      () => settle({ kind: 'failed', detail: `no answer to ${what} within ${seconds(options.timeoutMs)}` }),
      options.timeoutMs,
    );
    // agent: false: a connection of its own, so a pooled socket cannot answer for a dead listener.
    const req = request({
      host: address.host,
      port: address.port,
      path: options.path,
      method: 'GET',
      agent: false,
      headers: { connection: 'close', 'user-agent': 'herd-accept/1' },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () =>
        settle({
          kind: 'answered',
          answer: {
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          },
        });
      res.on('data', (chunk: Buffer) => {
        const room = cap - size;
        chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
        size += Math.min(chunk.length, room);
        // Judged on what fits: the rest is not read at all.
        if (size >= cap) done();
      });
      res.on('end', done);
      res.on('error', (error) => settle({ kind: 'failed', detail: `${what}: ${reasonOf(error)}` }));
    });
    req.on('error', (error) => settle({ kind: 'failed', detail: `${what}: ${reasonOf(error)}` }));
    req.end();
  });
}

/** One TCP connect to `address` within `timeoutMs`; passes once the connection is accepted. */
export function connectOnce(
  address: CandidateAddress,
  options: { timeoutMs: number },
): Promise<{ passed: boolean; detail: string }> {
  const where = `${address.host}:${address.port}`;
  return new Promise((resolve) => {
    const socket = connect({ host: address.host, port: address.port });
    const timer = setTimeout(
      () => settle(false, `no connection to ${where} within ${seconds(options.timeoutMs)}`),
      options.timeoutMs,
    );
    function settle(passed: boolean, detail: string) {
      clearTimeout(timer);
      socket.destroy();
      resolve({ passed, detail });
    }
    socket.on('connect', () => settle(true, `connected to ${where}`));
    socket.on('error', (error) => settle(false, `connect to ${where}: ${reasonOf(error)}`));
  });
}

function reasonOf(error: Error & { code?: string }): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    default:
      return error.code ? `${error.code} (${error.message})` : error.message;
  }
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}
