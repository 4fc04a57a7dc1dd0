/**
 * The one place herd's Debian code touches the network. http(s) and file:// URIs, as apt accepts.
 * Transport errors become FETCH_FAILED naming the URL; integrity is checked by the callers. A
 * mirror is hostile input in time as well as in bytes: one that stops sending, or sends a byte now
 * and then, fails with FETCH_TIMEOUT instead of holding herd forever.
 */
import { fileURLToPath } from 'node:url';
import { readRegularFile } from '../common/index.js';
import { DebianError } from './errors.js';

export interface Fetcher {
  /**
   * Returns the whole body, or throws FETCH_FAILED (FETCH_TIMEOUT for a mirror that stalls or
   * drips). `maxBytes` guards against endless bodies.
   */
  fetchBytes(url: string, options?: { maxBytes?: number }): Promise<Buffer>;
  /**
   * Opens the body to be read as it arrives, so it can be hashed and decompressed while it
   * downloads. A missing file fails here, before any chunk; a body past `maxBytes` fails while it
   * is read. Both are FETCH_FAILED; a mirror that stalls or drips, at either step, FETCH_TIMEOUT.
   */
  openChunks(url: string, options?: { maxBytes?: number }): Promise<AsyncIterable<Buffer>>;
}

const defaultMaxBytes = 2 * 1024 ** 3;

export interface HttpFetcherOptions {
  /**
   * How long the mirror may send nothing: no answer after connecting, or no next byte of the
   * body. 30 s, apt's Acquire::http::Timeout, which also covers both.
   */
  stallTimeoutMs?: number;
  /**
   * The slowest a whole download may be on average. Every byte coming now and then keeps a stall
   * timeout from firing, so each download also has a deadline: the stall timeout plus `maxBytes`
   * (the size the signed index gives, or the cap) at this rate. 32 KiB/s, 256 kbit/s.
   */
  minBytesPerSecond?: number;
}

export class HttpFetcher implements Fetcher {
  private readonly stallTimeoutMs: number;
  private readonly minBytesPerSecond: number;

  constructor(options: HttpFetcherOptions = {}) {
    this.stallTimeoutMs = options.stallTimeoutMs ?? 30_000;
    this.minBytesPerSecond = options.minBytesPerSecond ?? 32 * 1024;
  }

  async fetchBytes(url: string, options: { maxBytes?: number } = {}): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of await this.openChunks(url, options)) {
      chunks.push(chunk);
      total += chunk.length;
    }
    return Buffer.concat(chunks, total);
  }

  async openChunks(url: string, options: { maxBytes?: number } = {}): Promise<AsyncIterable<Buffer>> {
    const maxBytes = options.maxBytes ?? defaultMaxBytes;
    if (url.startsWith('file:')) {
      const bytes = await this.readLocal(url, maxBytes);
      return (async function* () {
        yield bytes;
      })();
    }
    const clock = new MirrorClock(url, {
      stallMs: this.stallTimeoutMs,
      deadlineMs: this.stallTimeoutMs + (maxBytes / this.minBytesPerSecond) * 1000,
    });
    const response = await fetchFollowingRedirects(url, clock);
    const body = response.body;
    if (!response.ok || !body) {
      await body?.cancel();
      throw new DebianError('FETCH_FAILED', `could not fetch ${url}: HTTP ${response.status}`);
    }
    return limited(body, { url, maxBytes, clock });
  }

  /** A file: URI is read only if it is a regular file: a FIFO or /dev/zero there is no index. */
  private async readLocal(url: string, maxBytes: number): Promise<Buffer> {
    let read: Awaited<ReturnType<typeof readRegularFile>>;
    try {
      // A local repository may link its files (aptly publishes with symlinks): followed, but only to
      // a regular file.
      read = await readRegularFile(fileURLToPath(url), { maxBytes, followLinks: true });
    } catch (error) {
      throw new DebianError('FETCH_FAILED', `could not read ${url}: ${describe(error)}`, { cause: error });
    }
    switch (read.kind) {
      case 'file':
        return read.bytes;
      case 'too-large':
        throw new ResponseTooLarge(url, maxBytes);
      case 'missing':
        throw new DebianError('FETCH_FAILED', `could not read ${url}: ENOENT`);
      case 'not-regular':
        throw new DebianError(
          'FETCH_FAILED',
          `could not read ${url}: it is ${read.what}, not a regular file`,
        );
    }
  }
}

/**
 * The time one download may spend waiting on the mirror: at most `stallMs` for each wait (the
 * answer, each next chunk), and `deadlineMs` for all of them. Only waits count: a caller that is
 * slow to read (decompressing as it downloads) leaves the mirror nothing to send.
 */
class MirrorClock {
  readonly controller = new AbortController();
  /** Set when a limit was hit: the error every later step reports. */
  timedOut: DebianError | undefined;
  /** Set once the answer's headers are in: a stall before is no answer, however many header bytes came. */
  answered = false;
  received = 0;
  private waitedMs = 0;

  constructor(
    private readonly url: string,
    private readonly limits: { stallMs: number; deadlineMs: number },
  ) {}

  /**
   * Waits for `pending` (the answer, a chunk) at most `stallMs`, aborting the request past it. A
   * wait that ends in time still fails once all the waits add up past `deadlineMs`: a mirror that
   * drips never stalls, so the deadline is checked as its bytes come, late by at most one wait.
   */
  async wait<T>(pending: Promise<T>): Promise<T> {
    const started = performance.now();
    const timer = setTimeout(() => this.fail(this.stalled()), this.limits.stallMs);
    let result: T;
    try {
      result = await pending;
    } catch (error) {
      throw this.timedOut ?? error;
    } finally {
      clearTimeout(timer);
      this.waitedMs += performance.now() - started;
    }
    if (this.waitedMs > this.limits.deadlineMs) throw this.fail(this.pastDeadline());
    return result;
  }

  private fail(error: DebianError): DebianError {
    this.timedOut = error;
    this.controller.abort(error);
    return error;
  }

  private stalled(): DebianError {
    const waited = seconds(this.limits.stallMs);
    return new DebianError(
      'FETCH_TIMEOUT',
      this.answered
        ? `could not fetch ${this.url}: the mirror sent nothing for ${waited} (after ${this.received} bytes)`
        : `could not fetch ${this.url}: the mirror gave no answer within ${waited}`,
    );
  }

  private pastDeadline(): DebianError {
    return new DebianError(
      'FETCH_TIMEOUT',
      `could not fetch ${this.url}: not done after waiting ${seconds(this.limits.deadlineMs)} for it ` +
        `(${this.received} bytes received): the mirror sends too slowly`,
    );
  }
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/**
 * Waits before each new try of a request that got no answer at all (refused, reset, DNS), as apt's
 * Acquire::Retries does: a mirror that restarts or a loopback server that is slow to accept should
 * not fail a whole lock. An answer, even an error status, is never asked again.
 */
const retryDelaysMs = [100, 400, 1200];

/** Redirects a download may take, as many as fetch itself follows. */
const maxRedirects = 20;
const redirectStatuses = new Set([301, 302, 303, 307, 308]);

/**
 * The answer at the end of the mirror's redirects, each looked at before it is followed: a mirror
 * may send herd to another host (a CDN, another mirror), as apt lets it, but never from https down
 * to http, nor to any other scheme. What is fetched is checked against signed digests either way;
 * the refusal keeps what herd fetches, and from where, off the wire in clear when the spec or the
 * host's sources asked for https.
 */
async function fetchFollowingRedirects(url: string, clock: MirrorClock): Promise<Response> {
  let current = url;
  for (let hops = 0; ; hops++) {
    const response = await fetchWithRetries(current, clock);
    const location = response.headers.get('location');
    if (!redirectStatuses.has(response.status) || location === null) return response;
    await response.body?.cancel();
    const refused = redirectRefusal(current, location, hops);
    if (refused) throw new DebianError('FETCH_FAILED', `could not fetch ${url}: ${refused}`);
    current = new URL(location, current).href;
  }
}

/**
 * Why a redirect from `from` to `location` (the Location header, maybe relative) is not followed
 * after `hops` others, or undefined when it may be. Pure.
 */
export function redirectRefusal(from: string, location: string, hops: number): string | undefined {
  if (hops >= maxRedirects) return `more than ${maxRedirects} redirects`;
  let to: URL;
  try {
    to = new URL(location, from);
  } catch {
    return `the mirror redirects to ${JSON.stringify(location)}, which is no URL`;
  }
  if (to.protocol !== 'http:' && to.protocol !== 'https:') {
    return `the mirror redirects to ${to.href}; only http and https are followed`;
  }
  if (new URL(from).protocol === 'https:' && to.protocol !== 'https:') {
    return `the mirror redirects from https to ${to.href}; a redirect from https to http is refused, as apt refuses it`;
  }
  return undefined;
}

async function fetchWithRetries(url: string, clock: MirrorClock): Promise<Response> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const response = await clock.wait(
        fetch(url, {
          // Followed by fetchFollowingRedirects, which looks at each hop first.
          redirect: 'manual',
          // The bytes as they are, which is what the signed digests are of: no decoder between
          // the mirror and the hash, and none for a mirror to feed a bomb (as apt asks).
          headers: { 'accept-encoding': 'identity' },
          signal: clock.controller.signal,
        }),
      );
      clock.answered = true;
      return response;
    } catch (error) {
      // A mirror that accepted and then said nothing is not asked again: the wait was its answer.
      if (clock.timedOut) throw clock.timedOut;
      const delay = retryDelaysMs[attempt];
      if (delay === undefined) {
        throw new DebianError(
          'FETCH_FAILED',
          `could not fetch ${url} in ${attempt + 1} tries: ${describe(error)}`,
          { cause: error },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/**
 * The body, cut at once past `maxBytes` (endless data), each chunk waited for on `clock`. Reading
 * stops the clock and the connection however it ends, the caller's early return included.
 */
async function* limited(
  body: ReadableStream<Uint8Array>,
  options: { url: string; maxBytes: number; clock: MirrorClock },
): AsyncGenerator<Buffer> {
  const { clock } = options;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value: chunk } = await clock.wait(reader.read());
      if (done) return;
      clock.received += chunk.byteLength;
      if (clock.received > options.maxBytes) {
        throw new ResponseTooLarge(options.url, options.maxBytes);
      }
      yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
  } catch (error) {
    if (error instanceof DebianError) throw error;
    throw new DebianError(
      'FETCH_FAILED',
      `could not fetch ${options.url}: the body broke off after ${clock.received} bytes (${describe(error)})`,
      { cause: error },
    );
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/**
 * A response longer than the caller's limit. Still FETCH_FAILED to whoever only reads the code; a
 * caller whose limit is a signed size (an index's, from its Release) tells it apart by its class
 * and `limit`, not by its message.
 */
export class ResponseTooLarge extends DebianError {
  constructor(
    readonly url: string,
    readonly limit: number,
  ) {
    super('FETCH_FAILED', `${url} is larger than the ${limit}-byte limit`);
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
}
