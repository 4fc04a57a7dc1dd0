/**
 * Extended attributes. Node has no xattr API, so herd reads them with `getfattr` (Debian's `attr`
 * package) when it is installed: one process per batch of paths, never one per file. Without it,
 * the baseline says `xattrs: "unsupported"` in its header and no entry carries xattrs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { FimError } from './errors.js';

export type XattrSupport = 'getfattr' | 'unsupported';

export interface XattrReader {
  readonly support: XattrSupport;
  /** name → value in hex; `{}` when the entry has none. */
  read(path: string | Buffer): Promise<Record<string, string>>;
  close(): Promise<void>;
}

/** A reader for this host: getfattr when it runs, else one that reads nothing. */
export function xattrReaderForHost(): XattrReader {
  const probe = spawnSync('getfattr', ['--version'], { stdio: 'ignore' });
  return probe.status === 0 ? new GetfattrXattrReader() : new NoXattrReader();
}

export class NoXattrReader implements XattrReader {
  readonly support = 'unsupported' as const;
  async read(): Promise<Record<string, string>> {
    return {};
  }
  async close(): Promise<void> {}
}

interface Pending {
  key: string;
  path: string;
  resolve: (xattrs: Record<string, string>) => void;
  reject: (error: Error) => void;
}

/** Paths per getfattr run: well under ARG_MAX for any path length Linux allows. */
const batchPaths = 512;

export class GetfattrXattrReader implements XattrReader {
  readonly support = 'getfattr' as const;
  #batch: Pending[] = [];
  #scheduled = false;

  read(path: string | Buffer): Promise<Record<string, string>> {
    // A path that is not UTF-8 cannot be passed as a process argument intact; such rare paths are
    // recorded without xattrs (README.md lists this limit).
    if (typeof path !== 'string') return Promise.resolve({});
    return new Promise((resolve, reject) => {
      this.#batch.push({ key: pathKey(path), path, resolve, reject });
      if (this.#batch.length >= batchPaths) this.#flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#flush();
        });
      }
    });
  }

  async close(): Promise<void> {
    this.#flush();
  }

  #flush(): void {
    const batch = this.#batch;
    this.#batch = [];
    if (batch.length > 0) void runGetfattr(batch);
  }
}

async function runGetfattr(batch: Pending[]): Promise<void> {
  // -h: the link itself, never its target; -m -: every namespace; -e hex: values as bytes.
  const child = spawn(
    'getfattr',
    ['-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', '--', ...batch.map((p) => p.path)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const status = await new Promise<number | null>((resolve) => {
    child.once('close', resolve);
    child.once('error', () => resolve(null));
  });
  const stderr = Buffer.concat(err).toString('utf8');
  // getfattr exits 1 when one path vanished or its filesystem has no xattrs; only a run that said
  // nothing but failed is an error. Per-path problems show as missing output, read as "none".
  if (
    status === null ||
    (status !== 0 && !/No such file|Operation not supported|not supported/i.test(stderr))
  ) {
    const error = new FimError(
      'XATTRS_UNAVAILABLE',
      `getfattr failed (exit ${status ?? 'not started'}): ${stderr.trim().split('\n')[0] ?? ''}`,
    );
    for (const pending of batch) pending.reject(error);
    return;
  }
  const found = parseGetfattrDump(Buffer.concat(out));
  for (const pending of batch) pending.resolve(found.get(pending.key) ?? {});
}

/**
 * Parses `getfattr -d -e hex --absolute-names` output: a `# file: <path>` line, then `name=0x…`
 * lines, then a blank line. getfattr writes unusual bytes of the path as \ooo octal and a
 * backslash as \\; the key is the path's bytes as latin1, to match `pathKey`.
 */
export function parseGetfattrDump(dump: Buffer): Map<string, Record<string, string>> {
  const found = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const line of dump.toString('latin1').split('\n')) {
    if (line.startsWith('# file: ')) {
      current = {};
      found.set(unescapeGetfattrPath(line.slice('# file: '.length)), current);
    } else if (current && line.includes('=')) {
      const at = line.indexOf('=');
      const value = line.slice(at + 1);
      current[unescapeGetfattrPath(line.slice(0, at))] = value.startsWith('0x')
        ? value.slice(2).toLowerCase()
        : '';
    } else if (current && line.length > 0) {
      // A name without a value: getfattr prints it bare when the value is empty.
      current[unescapeGetfattrPath(line)] = '';
    }
  }
  return found;
}

/** A path's bytes as a latin1 string: the key both the parser and the reader compute. */
export function pathKey(path: string | Buffer): string {
  return (typeof path === 'string' ? Buffer.from(path, 'utf8') : path).toString('latin1');
}

function unescapeGetfattrPath(text: string): string {
  return text.replace(/\\(\\|[0-7]{3})/g, (_, code: string) =>
    code === '\\' ? '\\' : String.fromCharCode(Number.parseInt(code, 8)),
  );
}
