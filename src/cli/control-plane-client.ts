/**
 * How one-shot commands reach a running control plane: HERD_URL, else the URL `herd serve` or
 * `herd up` left in HERD_HOME. Errors name the URL and what the control plane answered.
 */
import { readFile } from 'node:fs/promises';
import { herdHome } from '../herd-home.js';
import { controlPlaneFile } from '../server/control-plane.js';
import { CliError } from './errors.js';

export interface ControlPlaneClient {
  call(path: string, init?: RequestInit): Promise<unknown>;
  get(path: string): Promise<unknown>;
  post(path: string, body: unknown): Promise<unknown>;
}

export async function controlPlaneUrl(): Promise<string> {
  return process.env.HERD_URL ?? (await advertisedUrl());
}

export async function controlPlaneClient(): Promise<ControlPlaneClient> {
  const url = await controlPlaneUrl();
  const call = async (path: string, init?: RequestInit) => {
    let response: Response;
    try {
      response = await fetch(`${url}${path}`, init);
    } catch (error) {
      throw new CliError(
        'CONTROL_PLANE_UNREACHABLE',
        `no control plane answers at ${url}: ${(error as Error).message}`,
      );
    }
    const body = (await response.json().catch(() => ({}))) as { error?: { code: string; message: string } };
    if (!response.ok) {
      throw new CliError(
        'CONTROL_PLANE_REFUSED',
        body.error?.message ?? `${url}${path} answered ${response.status}`,
      );
    }
    return body;
  };
  return {
    call,
    get: (path) => call(path),
    post: (path, body) =>
      call(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
  };
}

async function advertisedUrl(): Promise<string> {
  const file = controlPlaneFile(herdHome());
  try {
    return (JSON.parse(await readFile(file, 'utf8')) as { url: string }).url;
  } catch {
    throw new CliError(
      'CONTROL_PLANE_UNREACHABLE',
      `no control plane is running for this HERD_HOME (no ${file}): start herd serve or herd up, or set HERD_URL`,
    );
  }
}
