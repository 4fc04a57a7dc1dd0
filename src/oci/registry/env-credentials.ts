import type { BasicCredential, Credentials } from './credentials.js';

/**
 * `HERD_REGISTRY_USERNAME` and `HERD_REGISTRY_PASSWORD`, for CI where a config file is awkward.
 * They apply to every registry that asks; the client asks only when challenged, and only over the
 * connection to that registry (or its token service).
 */
export class EnvCredentials implements Credentials {
  readonly #env: NodeJS.ProcessEnv;

  constructor(options: { env?: NodeJS.ProcessEnv } = {}) {
    this.#env = options.env ?? process.env;
  }

  async lookup(_registry: string): Promise<BasicCredential | undefined> {
    const username = this.#env.HERD_REGISTRY_USERNAME;
    const password = this.#env.HERD_REGISTRY_PASSWORD;
    return username && password ? { username, password } : undefined;
  }
}
