/**
 * An instance's process allowlist with its parts gathered: the spec's `run.processes` from the
 * template the instance was made from, or else the image's program from its config in herd's store
 * (what the engine runs; a base image's entrypoint included), resolved through the image's trusted
 * file manifest, and the first line of each program read through the engine, for the interpreter
 * of a script. Kept per image and list: the image's files do not change without drift, which the
 * integrity monitor replaces.
 */
import type { Engine, Instance } from '../engines/index.js';
import type { Digest, ImageConfig, LayoutStore } from '../oci/index.js';
import { firstFileHead } from '../oci/index.js';
import {
  allowlistOf,
  type ImageProgram,
  imagePrograms,
  interpretersOf,
  type ProcessAllowlist,
  resolveLinks,
} from './allowed-processes.js';
import type { Baseline } from './baseline.js';
import { readExportStream } from './export-stream.js';
import type { TrustedBaseline } from './trusted-manifest.js';

/** Bytes of a program read for its `#!` line. */
const scriptHeadBytes = 256;

export interface InstanceAllowlistOptions {
  store: LayoutStore;
  engine: Pick<Engine, 'readPath'>;
  baselineOf: (digest: Digest) => Promise<TrustedBaseline>;
}

export class InstanceAllowlists {
  private readonly known = new Map<string, Promise<ProcessAllowlist | undefined>>();

  constructor(private readonly options: InstanceAllowlistOptions) {}

  /** Undefined when the image's file manifest is not trusted: the integrity monitor says why. */
  of(instance: Instance, declared: readonly string[] | undefined): Promise<ProcessAllowlist | undefined> {
    const key = `${instance.digest} ${JSON.stringify(declared ?? null)}`;
    let pending = this.known.get(key);
    if (!pending) {
      pending = this.load(instance, declared);
      // A failure to read (the instance went away mid-read) is not kept: the next sample asks again.
      pending.catch(() => this.known.delete(key));
      this.known.set(key, pending);
    }
    return pending;
  }

  private async load(
    instance: Instance,
    declared: readonly string[] | undefined,
  ): Promise<ProcessAllowlist | undefined> {
    const trusted = await this.options.baselineOf(instance.digest);
    if (trusted.kind !== 'trusted') return undefined;
    const { baseline } = trusted;
    if (declared) return allowlistOf({ declared, programs: [], interpreters: [] }, baseline);
    const program = await imageProgramOf(this.options.store, instance.digest);
    const programs = imagePrograms(program, baseline);
    const interpreters: string[] = [];
    for (const path of programs) {
      const head = await this.headOf(instance.id, resolveLinks(path, baseline), baseline);
      interpreters.push(...interpretersOf(head, baseline, program.path));
    }
    return allowlistOf({ programs, interpreters }, baseline);
  }

  /** The first bytes of a regular file of the instance; empty for anything else. */
  private async headOf(id: string, path: string, baseline: Baseline): Promise<Buffer> {
    if (baseline.get(path)?.type !== 'file') return Buffer.alloc(0);
    const abort = new AbortController();
    try {
      const stream = await this.options.engine.readPath(id, path, { signal: abort.signal });
      // The archive's first entry is the path itself: a folder put there is no program to read.
      const head = await firstFileHead(readExportStream(stream as AsyncIterable<Buffer>), scriptHeadBytes);
      return head ?? Buffer.alloc(0);
    } finally {
      // Only the first bytes are wanted: a 50 MB program is not read to its end.
      abort.abort();
    }
  }
}

/** Entrypoint, Cmd and PATH from the image's config in the store (the blob re-hashed on read). */
export async function imageProgramOf(store: LayoutStore, digest: Digest): Promise<ImageProgram> {
  const manifest = await store.getManifest(digest);
  const config = await store.getJson<ImageConfig>(manifest.config.digest);
  const path = config.config?.Env?.find((one) => one.startsWith('PATH='))?.slice('PATH='.length);
  return {
    entrypoint: config.config?.Entrypoint ?? [],
    cmd: config.config?.Cmd ?? [],
    ...(path ? { path: path.split(':').filter(Boolean) } : {}),
  };
}
