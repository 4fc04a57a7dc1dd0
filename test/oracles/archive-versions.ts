/**
 * Real version strings from the Debian archive, for the version-order check: every `Version:` and
 * every version in `Source: name (version)` of the Packages indexes apt keeps in /var/lib/apt/lists
 * (plain, .gz, .xz, .zst or apt's default .lz4). When the host has no lists, the indexes are
 * fetched through the host's apt sources with herd's own verified loader.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { xz } from '@napi-rs/lzma';
import { decompress as zstdDecompress } from 'fzstd';
import { HttpFetcher } from '../../src/debian/fetcher.js';
import { readHostSources } from '../../src/debian/sources.js';
import { fetchSuiteRelease, loadSuiteIndex } from '../../src/debian/suite-index.js';
import { decodeLz4Frames } from './lz4-frame.js';

export interface ArchiveVersions {
  /** Where the versions were read. */
  origins: string[];
  /** Versions of each binary package across every index read. */
  byPackage: Map<string, Set<string>>;
  /** Every distinct version, binary and source. */
  versions: string[];
}

const aptLists = '/var/lib/apt/lists';
const indexName = /_Packages(\.(lz4|gz|xz|zst))?$/;

export async function readArchiveVersions(): Promise<ArchiveVersions> {
  const archive: ArchiveVersions = { origins: [], byPackage: new Map(), versions: [] };
  const all = new Set<string>();
  for (const name of listDir(aptLists)
    .filter((file) => indexName.test(file))
    .sort()) {
    const path = join(aptLists, name);
    addStanzas(archive, all, (await decompress(path)).toString('utf8'));
    archive.origins.push(path);
  }
  if (archive.origins.length === 0) await fetchThroughHostSources(archive, all);
  archive.versions = [...all].sort();
  return archive;
}

async function decompress(path: string): Promise<Buffer> {
  const bytes = readFileSync(path);
  if (path.endsWith('.lz4')) return decodeLz4Frames(bytes);
  if (path.endsWith('.gz')) return gunzipSync(bytes);
  if (path.endsWith('.xz')) return Buffer.from(await xz.decompress(bytes));
  if (path.endsWith('.zst')) return Buffer.from(zstdDecompress(bytes));
  return bytes;
}

/** Line by line: a Packages index is tens of MB, and only three fields matter here. */
function addStanzas(archive: ArchiveVersions, all: Set<string>, text: string): void {
  let name = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('Package: ')) name = line.slice(9).trim();
    else if (line.startsWith('Version: ')) {
      const version = line.slice(9).trim();
      all.add(version);
      let versions = archive.byPackage.get(name);
      if (!versions) {
        versions = new Set();
        archive.byPackage.set(name, versions);
      }
      versions.add(version);
    } else if (line.startsWith('Source: ')) {
      const sourceVersion = /\((.+)\)/.exec(line)?.[1]?.trim();
      if (sourceVersion) all.add(sourceVersion);
    }
  }
}

async function fetchThroughHostSources(archive: ArchiveVersions, all: Set<string>): Promise<void> {
  const architecture =
    spawnSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).stdout?.trim() || 'amd64';
  const fetcher = new HttpFetcher();
  for (const source of readHostSources()) {
    try {
      const index = await loadSuiteIndex(await fetchSuiteRelease(source, { fetcher }), {
        architecture,
        fetcher,
      });
      for (const record of index.packages) {
        all.add(record.version);
        all.add(record.sourceVersion);
        let versions = archive.byPackage.get(record.name);
        if (!versions) {
          versions = new Set();
          archive.byPackage.set(record.name, versions);
        }
        versions.add(record.version);
      }
      archive.origins.push(`${source.uri} ${source.suite}`);
    } catch {
      // Another source may still answer; none answering fails the test with instructions.
    }
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
