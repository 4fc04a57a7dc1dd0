/**
 * apt sources discovery: which repository serves each suite, and which keyring must have signed it.
 * Reads the deb822 `.sources` format and the one-line `sources.list` format, as apt does
 * (sources.list(5)). herd never hard-codes a mirror: it comes from here unless the spec names one.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { field, parseControlParagraphs } from './control.js';
import { DebianError } from './errors.js';

/** One repository line or stanza, expanded to one entry per suite. */
export interface AptSource {
  uri: string;
  suite: string;
  components: string[];
  architectures?: string[];
  /** Paths of keyrings, or inline armored keys, that may sign this suite's InRelease. */
  keyring: KeyringRef;
  /** Where this entry was read, for error messages. */
  origin: string;
}

export type KeyringRef = { kind: 'files'; paths: string[] } | { kind: 'inline'; armored: string };

export interface AptConfigLocation {
  /** Root of the apt configuration, `/etc/apt` on a host; tests point it elsewhere. */
  etcApt: string;
}

const defaultLocation: AptConfigLocation = { etcApt: '/etc/apt' };

/** Reads every enabled `deb` source from sources.list and sources.list.d, in apt's order. */
export function readHostSources(location: AptConfigLocation = defaultLocation): AptSource[] {
  const files: string[] = [];
  const list = join(location.etcApt, 'sources.list');
  if (fileExists(list)) files.push(list);
  const partsDir = join(location.etcApt, 'sources.list.d');
  // apt reads only *.list and *.sources; anything else (e.g. *.disabled) is ignored on purpose.
  for (const name of listDir(partsDir).sort()) {
    if (name.endsWith('.list') || name.endsWith('.sources')) files.push(join(partsDir, name));
  }
  const fallbackKeyrings = trustedKeyrings(location);
  return files.flatMap((path) => {
    const text = readFileSync(path, 'utf8');
    return path.endsWith('.sources')
      ? parseDeb822Sources(text, { origin: path, fallbackKeyrings })
      : parseOneLineSources(text, { origin: path, fallbackKeyrings });
  });
}

/** Parses a deb822 `.sources` file. Stanzas with `Enabled: no` or without `deb` in Types are skipped. */
export function parseDeb822Sources(
  text: string,
  options: { origin: string; fallbackKeyrings: string[] },
): AptSource[] {
  const sources: AptSource[] = [];
  for (const paragraph of parseControlParagraphs(text, { comments: true })) {
    const types = words(field(paragraph, 'Types'));
    if (!types.includes('deb')) continue;
    if ((field(paragraph, 'Enabled') ?? 'yes').trim().toLowerCase() === 'no') continue;
    const uris = words(field(paragraph, 'URIs'));
    const suites = words(field(paragraph, 'Suites'));
    if (uris.length === 0 || suites.length === 0) {
      throw new DebianError(
        'SOURCES_INVALID',
        `${options.origin}: a deb stanza needs URIs and Suites, got URIs "${uris.join(' ')}" and Suites "${suites.join(' ')}"`,
      );
    }
    const components = words(field(paragraph, 'Components'));
    const architectures = words(field(paragraph, 'Architectures'));
    const keyring = keyringFromSignedBy(field(paragraph, 'Signed-By'), options.fallbackKeyrings);
    for (const uri of uris) {
      for (const suite of suites) {
        sources.push({
          uri: withTrailingSlash(uri),
          suite,
          components,
          ...(architectures.length > 0 ? { architectures } : {}),
          keyring,
          origin: options.origin,
        });
      }
    }
  }
  return sources;
}

/** Parses the one-line format: `deb [opt=value ...] uri suite component...`. */
export function parseOneLineSources(
  text: string,
  options: { origin: string; fallbackKeyrings: string[] },
): AptSource[] {
  const sources: AptSource[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const match = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)(.*)$/.exec(line);
    if (!match) {
      throw new DebianError(
        'SOURCES_INVALID',
        `${options.origin}:${index + 1}: expected "deb [options] uri suite component...", got "${line}"`,
      );
    }
    const [, type, opts = '', uri = '', suite = '', rest = ''] = match;
    if (type !== 'deb') return;
    const settings = new Map<string, string>();
    for (const pair of opts.trim().split(/\s+/).filter(Boolean)) {
      const eq = pair.indexOf('=');
      if (eq > 0) settings.set(pair.slice(0, eq).toLowerCase(), pair.slice(eq + 1));
    }
    const architectures = settings.get('arch')?.split(',');
    sources.push({
      uri: withTrailingSlash(uri),
      suite,
      components: words(rest),
      ...(architectures ? { architectures } : {}),
      keyring: keyringFromSignedBy(settings.get('signed-by'), options.fallbackKeyrings),
      origin: `${options.origin}:${index + 1}`,
    });
  });
  return sources;
}

/**
 * Picks, for each wanted suite, the first source that serves it with every wanted component.
 * Fails closed when a suite has no source: herd will not guess a mirror.
 */
export function sourcesForSuites(
  available: AptSource[],
  wanted: { suites: string[]; components: string[] },
): AptSource[] {
  return wanted.suites.map((suite) => {
    const found = available.find(
      (source) => source.suite === suite && wanted.components.every((c) => source.components.includes(c)),
    );
    if (!found) {
      const origins = [...new Set(available.map((s) => s.origin.replace(/:\d+$/, '')))];
      throw new DebianError(
        'SOURCE_NOT_FOUND',
        `no apt source serves suite "${suite}" with components ${wanted.components.join(', ')}; read ${
          origins.length > 0 ? origins.join(', ') : 'no sources files'
        }. Add one there, or name the repository in the spec under image.repositories`,
      );
    }
    return { ...found, components: wanted.components };
  });
}

/** apt's fallback when a source has no Signed-By: every keyring in trusted.gpg and trusted.gpg.d. */
function trustedKeyrings(location: AptConfigLocation): string[] {
  const paths: string[] = [];
  const legacy = join(location.etcApt, 'trusted.gpg');
  if (fileExists(legacy)) paths.push(legacy);
  const dir = join(location.etcApt, 'trusted.gpg.d');
  for (const name of listDir(dir).sort()) {
    if (name.endsWith('.gpg') || name.endsWith('.asc')) paths.push(join(dir, name));
  }
  return paths;
}

function keyringFromSignedBy(value: string | undefined, fallback: string[]): KeyringRef {
  const trimmed = value?.trim();
  if (!trimmed) return { kind: 'files', paths: fallback };
  if (trimmed.startsWith('-----BEGIN PGP PUBLIC KEY BLOCK-----')) {
    // deb822 continuation lines carry the armored key; a lone "." stands for an empty line.
    const armored = trimmed
      .split('\n')
      .map((line) => (line.trim() === '.' ? '' : line.trim()))
      .join('\n');
    return { kind: 'inline', armored };
  }
  // Signed-By may also list fingerprints; herd only supports keyring paths, which is what Debian ships.
  return { kind: 'files', paths: trimmed.split(/[\s,]+/).filter(Boolean) };
}

function words(value: string | undefined): string[] {
  return (value ?? '').split(/\s+/).filter(Boolean);
}

function withTrailingSlash(uri: string): string {
  return uri.endsWith('/') ? uri : `${uri}/`;
}

function fileExists(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
