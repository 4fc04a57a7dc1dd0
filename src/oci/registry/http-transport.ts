/**
 * Raw HTTP for the registry client: one exchange, redirects followed by hand. It knows nothing of
 * registries or credentials; it only guarantees that the Authorization header never follows a
 * redirect off the origin it was meant for (blob GETs are often redirected to object storage with
 * a presigned URL, which must not receive the registry's token).
 */
import { RegistryError } from './errors.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpRequest {
  method: HttpMethod;
  url: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
}

export interface HttpTransport {
  /** Sends the request and follows redirects; answers the final response, whatever its status. */
  send(request: HttpRequest): Promise<Response>;
}

/** Headers that carry credentials: dropped when a redirect leaves the original origin. */
const sensitiveHeaders = ['authorization', 'cookie', 'proxy-authorization'];

export class FetchTransport implements HttpTransport {
  readonly #maxRedirects: number;
  readonly #headersTimeoutMs: number;

  constructor(options: { maxRedirects?: number; headersTimeoutMs?: number } = {}) {
    this.#maxRedirects = options.maxRedirects ?? 5;
    this.#headersTimeoutMs = options.headersTimeoutMs ?? 60_000;
  }

  async send(request: HttpRequest): Promise<Response> {
    const origin = new URL(request.url).origin;
    let url = request.url;
    let method = request.method;
    let body = request.body;
    let headers = { ...request.headers };
    for (let hop = 0; ; hop++) {
      const response = await this.#exchange({ method, url, headers, ...(body ? { body } : {}) });
      const location = response.headers.get('location');
      if (![301, 302, 303, 307, 308].includes(response.status) || !location) return response;
      if (hop >= this.#maxRedirects) {
        throw new RegistryError(
          'PROTOCOL_ERROR',
          `${method} ${redactUrl(request.url)} redirected more than ${this.#maxRedirects} times`,
        );
      }
      await response.body?.cancel();
      const next = new URL(location, url);
      if (new URL(url).protocol === 'https:' && next.protocol !== 'https:') {
        throw new RegistryError(
          'PROTOCOL_ERROR',
          `${redactUrl(url)} redirected to ${redactUrl(next.href)}, expected an https URL`,
        );
      }
      if (next.origin !== origin) headers = withoutSensitiveHeaders(headers);
      if (response.status === 303) {
        method = 'GET';
        body = undefined;
      }
      url = next.href;
    }
  }

  async #exchange(request: HttpRequest): Promise<Response> {
    // The timeout covers waiting for the response headers; body reads have undici's idle timeout.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.#headersTimeoutMs);
    try {
      return await fetch(request.url, {
        method: request.method,
        headers: request.headers ?? {},
        ...(request.body ? { body: request.body } : {}),
        redirect: 'manual',
        signal: controller.signal,
      });
    } catch (error) {
      const reason = controller.signal.aborted
        ? `no response within ${this.#headersTimeoutMs} ms`
        : networkReason(error);
      // The cause is dropped on purpose: it is not needed and could carry request details.
      throw new RegistryError('REGISTRY_UNREACHABLE', `cannot reach ${redactUrl(request.url)}: ${reason}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * A URL fit for messages and logs: scheme, host and path only. User info, upload state and
 * presigned-URL signatures live in the user part and the query, so both are dropped.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '<invalid url>';
  }
}

function withoutSensitiveHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).filter(([name]) => !sensitiveHeaders.includes(name.toLowerCase())),
  );
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  // e.g. undici's "bad port" for ports fetch refuses; connection messages name host and port only.
  if (typeof cause?.message === 'string') return cause.message.slice(0, 200);
  return 'network error';
}
