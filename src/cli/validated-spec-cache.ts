/**
 * herd.yaml as `herd gate --spec` loads it: a spec this very build of herd validated before is
 * taken from HERD_HOME/cache/specs, sealed, instead of being parsed and validated again.
 *
 * Why: validating a spec loads the YAML parser and zod and builds the whole schema, about 110 ms
 * of a gate whose goal is 300 ms, for a herd.yaml that seldom changes between two gates. The
 * result of validation is a pure function of the file's bytes and of the code that validates them,
 * so the entry is keyed by both: the sha256 of the bytes, and `buildId`, the compiled CLI's hash of
 * its sources and lock file (scripts/build.ts). Under tsx there is no build id, and every load
 * validates.
 *
 * Nothing changes but the time: a spec that failed validation is never stored, so its errors are
 * the loader's own, every time. A stored spec is written with the V8 serializer, which keeps
 * undefined fields, regular expressions, maps and dates, and only when reading it back gives an
 * equal value (same prototypes too); the seal (src/oci's CacheSeal, under HERD_HOME/keys'
 * cache-seal.key) means an entry someone else wrote, or one cut short, is not taken: the spec is
 * validated again and the entry replaced. Otherwise a writer of the cache could waive any finding.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { deserialize, serialize } from 'node:v8';
import { sha256Hex, writeAtomic } from '../common/index.js';
import type { HerdHome } from '../herd-home.js';
import { CacheSeal } from '../oci/index.js';
import type { LoadedSpec, Spec } from '../specfile/index.js';
import { buildId as compiledBuildId } from './build-id.js';

const sealPurpose = 'validated-spec';
const specFileName = 'herd.yaml';

export interface ValidatedSpecCacheOptions {
  home: Pick<HerdHome, 'root' | 'cacheSealKey'>;
  /** Which build of herd validated; undefined (the sources under tsx): no cache. */
  buildId?: string | undefined;
  /** The validating loader, src/specfile's loadSpec unless a test counts its calls. */
  load?: (path: string) => Promise<LoadedSpec>;
}

/** `loadSpec(path)`, or the same LoadedSpec from a sealed entry this build stored for these bytes. */
export async function loadValidatedSpec(
  path: string,
  options: ValidatedSpecCacheOptions,
): Promise<LoadedSpec> {
  const buildId = 'buildId' in options ? options.buildId : compiledBuildId;
  const load = options.load ?? (async (at: string) => (await import('../specfile/index.js')).loadSpec(at));
  if (buildId === undefined) return load(path);
  const file = resolve((await isDirectory(path)) ? join(path, specFileName) : path);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch {
    // The loader says what is wrong with the path, as it always has.
    return load(path);
  }
  const digest = `sha256:${sha256Hex(bytes)}` as const;
  let seal: CacheSeal;
  try {
    seal = await CacheSeal.open(options.home.cacheSealKey);
  } catch {
    // A seal key that cannot be read is the flattened-layer cache's error to report, after the spec.
    return load(path);
  }
  const cached = await readEntry(entryPath(options.home, buildId, digest), seal, buildId, digest);
  if (cached) return { spec: cached, path: file, dir: dirname(file), digest };
  const loaded = await load(path);
  try {
    // Keyed by the bytes the loader read, which are the ones it validated.
    await writeEntry(entryPath(options.home, buildId, loaded.digest), seal, buildId, loaded);
  } catch {
    // A cache that cannot be written costs the next gate the validation, nothing more.
  }
  return loaded;
}

function entryPath(home: Pick<HerdHome, 'root'>, buildId: string, digest: string): string {
  return join(home.root, 'cache', 'specs', `${sha256Hex(`${buildId}\n${digest}`)}.spec`);
}

function purposeOf(buildId: string, digest: string): string {
  return `${sealPurpose}\n${buildId}\n${digest}`;
}

async function readEntry(
  path: string,
  seal: CacheSeal,
  buildId: string,
  digest: string,
): Promise<Spec | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'latin1');
  } catch {
    return undefined;
  }
  const newline = text.indexOf('\n');
  if (newline < 0) return undefined;
  const payload = text.slice(newline + 1);
  if (!seal.verify(purposeOf(buildId, digest), payload, text.slice(0, newline))) return undefined;
  try {
    return deserialize(Buffer.from(payload, 'latin1')) as Spec;
  } catch {
    return undefined;
  }
}

/** Stores `loaded.spec` when the serializer gives it back equal; a spec it cannot is validated each time. */
async function writeEntry(path: string, seal: CacheSeal, buildId: string, loaded: LoadedSpec): Promise<void> {
  let payload: string;
  try {
    const bytes = serialize(loaded.spec);
    if (!isDeepStrictEqual(deserialize(bytes), loaded.spec)) return;
    payload = bytes.toString('latin1');
  } catch {
    return;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const sealed = seal.seal(purposeOf(buildId, loaded.digest), payload);
  await writeAtomic(path, Buffer.from(`${sealed}\n${payload}`, 'latin1'), { mode: 0o600 });
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
