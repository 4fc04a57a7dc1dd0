/**
 * The `Credentials` role: where a registry's username and password come from. The client asks only
 * after a registry challenges it, and only for that registry's host, so a credential is never
 * offered to another registry. Implementations: `EnvCredentials`, `AuthFileCredentials`.
 */

export interface BasicCredential {
  username: string;
  password: string;
}

export interface Credentials {
  /** The credential for `registry` (`host[:port]`, as the reference names it), if any. */
  lookup(registry: string): Promise<BasicCredential | undefined>;
}

/** Anonymous access: public registries and local test registries. */
export const noCredentials: Credentials = { lookup: async () => undefined };

/** The first provider that knows the registry wins, e.g. the environment before the auth files. */
export function chainCredentials(providers: Credentials[]): Credentials {
  return {
    async lookup(registry) {
      for (const provider of providers) {
        const found = await provider.lookup(registry);
        if (found) return found;
      }
      return undefined;
    },
  };
}
