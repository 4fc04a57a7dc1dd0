/**
 * docker's credential helper protocol, the `get` half: run `docker-credential-<name> get`, write
 * the registry's host on stdin, read `{"ServerURL", "Username", "Secret"}` from stdout. A helper
 * that knows nothing exits non-zero saying "credentials not found in native keychain".
 * Protocol: https://github.com/docker/docker-credential-helpers#development
 * What a helper prints is never shown: on failure it may hold the secret it was asked for.
 */
import { spawn } from 'node:child_process';
import type { BasicCredential } from './credentials.js';
import { RegistryError } from './errors.js';

/** docker-credential-helpers' `credentials.errCredentialsNotFoundMessage`. */
const notFoundMessage = 'credentials not found in native keychain';
/** A helper may ask the user (a GPG pinentry for `pass`); it may not hang a push forever. */
const defaultTimeoutMs = 60_000;
const maxOutputBytes = 1024 * 1024;

export type CredentialHelperRunner = (
  helper: string,
  registry: string,
) => Promise<BasicCredential | undefined>;

/** Asks `docker-credential-<helper>` for `registry`'s credential; undefined when it has none. */
export function runCredentialHelper(
  helper: string,
  registry: string,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<BasicCredential | undefined> {
  const program = `docker-credential-${helper}`;
  const fail = (why: string, cause?: unknown) =>
    new RegistryError(
      'CREDENTIAL_HELPER_FAILED',
      `credential helper ${program} ${why} (asked for ${registry})`,
      {
        ...(cause ? { cause } : {}),
      },
    );
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  return new Promise((resolve, reject) => {
    // Its own process group, so that a timeout ends the helper and whatever it started: a helper
    // that ignores SIGTERM, or a child of it that keeps stdout open, would otherwise never let
    // 'close' come and would hang the command.
    const child = spawn(program, ['get'], {
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'ignore'],
      detached: true,
    });
    let settled = false;
    const settle = (finish: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      finish();
    };
    const timer = setTimeout(() => {
      settle(() => {
        killGroup(child.pid);
        child.stdout.destroy();
        reject(fail(`did not answer within ${timeoutMs} ms (timed out)`));
      });
    }, timeoutMs);
    const chunks: Buffer[] = [];
    let size = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxOutputBytes) {
        killGroup(child.pid);
        child.stdout.destroy();
        settle(() => reject(fail(`printed more than ${maxOutputBytes} bytes`)));
      } else chunks.push(chunk);
    });
    // A helper that exits without reading stdin would make the write fail; its exit status says why.
    child.stdin.on('error', () => {});
    child.stdin.end(registry);
    child.on('error', (error: NodeJS.ErrnoException) => {
      settle(() =>
        reject(
          error.code === 'ENOENT'
            ? fail('is not on PATH: install it, or remove it from credHelpers/credsStore in the auth file')
            : fail(`could not run: ${error.code ?? 'error'}`),
        ),
      );
    });
    child.on('close', (status, signal) => {
      settle(() => {
        const out = Buffer.concat(chunks).toString('utf8').trim();
        if (signal) return reject(fail(`was stopped by ${signal}`));
        if (status !== 0) {
          if (out === notFoundMessage) return resolve(undefined);
          return reject(fail(`exited with status ${status}`));
        }
        try {
          resolve(credentialOf(out));
        } catch (error) {
          reject(fail((error as Error).message));
        }
      });
    });
  });
}

/** SIGKILL to the helper's process group; it may be gone already. */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function credentialOf(out: string): BasicCredential | undefined {
  let json: { Username?: unknown; Secret?: unknown };
  try {
    json = JSON.parse(out) as typeof json;
  } catch {
    throw new Error('printed something that is not JSON, expected {"Username": …, "Secret": …}');
  }
  if (typeof json?.Username !== 'string' || typeof json.Secret !== 'string') {
    throw new Error('printed JSON without string "Username" and "Secret"');
  }
  if (json.Username === '<token>') {
    throw new Error('answered with an identity token, which herd cannot use: store a username and password');
  }
  if (json.Username === '' && json.Secret === '') return undefined;
  return { username: json.Username, password: json.Secret };
}
