// herd's drift probe: run as an ephemeral container in an instance's pod (shared process namespace,
// the workload's own uid and gid, no capabilities), it finds the workload's process and lists the
// filesystem that process sees, through /proc/<pid>/root. The kernel lets a process of the same
// uid and gid, holding no capability the target lacks, read a dumpable process's root (ptrace
// access mode READ_FSCREDS); nothing more is needed. One JSON line per entry on stdout, then one
// summary line: the reader (the KubernetesEngine) takes a listing without it as cut short.
//
// Self-contained on purpose (Node's fs and crypto only): it is the whole of the probe image.
//
// Usage: node drift-probe.mjs --has <path>... [--skip <path>]... [--max-entries <n>] [--max-bytes <n>]
//   --has   regular files of the workload's image: the probe's own root and the pod's pause
//           container lack them, so a root holding any of them is the workload's;
//   --skip  a mount of the pod (an emptyDir, /proc, /dev, the kubelet's /etc/hosts): not walked;
//   --max-entries  refuse to go on past this many entries (default 200,000), names waiting to be
//           walked included: a directory of millions of names is refused before it is held;
//   --max-bytes  refuse to print more than this (default 8 MiB): the kubelet keeps 10 MiB of a
//           container's log by default, and a longer listing would reach the engine cut short.
//
// Bounded against what the workload may plant where it writes: names are read and passed on as
// bytes (a name that is not UTF-8 is listed, shown as hex, never lost to a lossy decoding), a FIFO
// is opened without blocking, links are never followed, a path the kernel refuses (too long) fails
// the probe instead of being passed over, a file's metadata and hash are of the one inode opened
// (a file swapped between lstat and open is looked at again, never passed as unreadable), and only
// a mode that denies the probe makes an entry unreadable. A huge file takes the engine's timeout to
// hash: a failure.
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  opendirSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  statSync,
} from 'node:fs';

function parseArguments(argv) {
  const options = { has: [], skip: [], maxEntries: 200_000, maxBytes: 8 << 20 };
  for (let index = 0; index < argv.length; index += 2) {
    const [flag, value] = [argv[index], argv[index + 1]];
    if (value === undefined) fail(`flag ${flag} has no value`);
    if (flag === '--has') options.has.push(value);
    else if (flag === '--skip') options.skip.push(value.replace(/\/+$/, '') || '/');
    else if (flag === '--max-entries') options.maxEntries = Number(value);
    else if (flag === '--max-bytes') options.maxBytes = Number(value);
    else fail(`unknown flag ${flag}: expected --has, --skip, --max-entries or --max-bytes`);
  }
  if (options.has.length === 0) fail('--has <absolute path> is required');
  for (const path of options.has) if (!path.startsWith('/')) fail(`--has ${path} is not absolute`);
  for (const path of options.skip) if (!path.startsWith('/')) fail(`--skip ${path} is not absolute`);
  return options;
}

function fail(message) {
  process.stdout.write(`${JSON.stringify({ error: message })}\n`);
  process.exitCode = 2;
  throw new ProbeFailure(message);
}

class ProbeFailure extends Error {}

/** The pid of the workload: the lowest pid whose root holds one of `has` and is not the probe's own. */
function findWorkload(has) {
  const own = statSync('/');
  const roots = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const root = statSync(`/proc/${name}/root/`);
      if (root.dev === own.dev && root.ino === own.ino) continue;
      if (!has.some((path) => isFile(`/proc/${name}/root${path}`))) continue;
      const key = `${root.dev}:${root.ino}`;
      const pid = Number(name);
      if (!roots.has(key) || roots.get(key) > pid) roots.set(key, pid);
    } catch {
      // Not ours to read (another uid, a kernel thread, gone since the listing): not the workload.
    }
  }
  if (roots.size === 0)
    fail(`no readable process has ${has.join(' or ')} in its root: expected the workload's`);
  if (roots.size > 1) fail(`${roots.size} roots hold ${has.join(' or ')}: expected one workload container`);
  return [...roots.values()][0];
}

function isFile(path) {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

const typeOf = (stat) =>
  stat.isFile()
    ? 'file'
    : stat.isDirectory()
      ? 'dir'
      : stat.isSymbolicLink()
        ? 'symlink'
        : stat.isCharacterDevice()
          ? 'char'
          : stat.isBlockDevice()
            ? 'block'
            : stat.isFIFO()
              ? 'fifo'
              : 'socket';

/**
 * A path's metadata and, for a regular file, its sha256, both of one inode: the file is opened
 * (without following a link, without blocking on a FIFO) and its metadata taken from the open
 * file, so a workload that swaps the path between the lstat and the open gains nothing. A file is
 * `unreadable` only when its own mode denies the probe; an open refused against its mode, or a path
 * that changes under each of three tries, fails the probe. Undefined when the path is gone.
 */
function statOf(full, path) {
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    let stat;
    try {
      stat = lstatSync(full);
    } catch (error) {
      if (error.code === 'ENOENT') return undefined; // removed since its directory was read
      fail(
        `cannot read (${error.code}) ${shorter(path)}: expected every path of the root readable by its name`,
      );
    }
    if (!stat.isFile()) return { stat };
    let fd;
    try {
      fd = openSync(full, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      if (error.code === 'EACCES' && !readableByMode(stat)) return { stat, unreadable: true };
      continue; // swapped, replaced or removed since the lstat: look again
    }
    try {
      const opened = fstatSync(fd);
      if (opened.isFile()) return { stat: opened, sha256: sha256Of(fd) };
    } finally {
      closeSync(fd);
    }
  }
  fail(`${shorter(path)} changed while it was read, 3 times: expected a file that holds still for a moment`);
}

function sha256Of(fd) {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(1 << 20);
  for (;;) {
    const read = readSync(fd, buffer, 0, buffer.length, null);
    if (read === 0) return hash.digest('hex');
    hash.update(buffer.subarray(0, read));
  }
}

/** Whether `stat`'s mode lets this process read it: the owner's bits, else the group's, else the others'. */
function readableByMode(stat) {
  const bits =
    stat.uid === process.getuid()
      ? 0o400
      : [process.getgid(), ...process.getgroups()].includes(stat.gid)
        ? 0o040
        : 0o004;
  return (stat.mode & bits) !== 0;
}

function shorter(path) {
  return path.length > 300 ? `${path.slice(0, 300)}… (${path.length} characters)` : path;
}

class Output {
  chunks = [];
  size = 0;
  total = 0;
  constructor(maxBytes) {
    this.maxBytes = maxBytes;
  }
  write(value) {
    const line = `${JSON.stringify(value)}\n`;
    this.chunks.push(line);
    this.size += line.length;
    this.total += Buffer.byteLength(line);
    if (this.total > this.maxBytes) {
      this.chunks = [];
      fail(
        `the listing passed ${this.maxBytes} bytes, more than the kubelet keeps of a log by default: expected a smaller root, or a larger --max-bytes and containerLogMaxSize`,
      );
    }
    if (this.size > 1 << 16) this.flush();
  }
  flush() {
    // Synchronous for a pipe or a file on Linux: nothing is lost when the program ends.
    process.stdout.write(this.chunks.join(''));
    this.chunks = [];
    this.size = 0;
  }
}

/** A name as listed: itself when it is UTF-8, else its bytes in hex (no image holds such a name). */
function shownName(raw) {
  const name = raw.toString('utf8');
  return Buffer.from(name, 'utf8').equals(raw) ? name : `<not utf-8: ${raw.toString('hex')}>`;
}

function walk(pid, options) {
  const root = Buffer.from(`/proc/${pid}/root`);
  const skip = new Set(options.skip);
  const output = new Output(options.maxBytes);
  let entries = 0;
  let unreadable = 0;
  const skipped = [];
  // Depth first, each directory's names sorted by their bytes: the same root gives the same
  // listing. Paths are bytes (raw) and as listed (shown).
  const pending = [{ raw: Buffer.from('/'), shown: '/' }];
  while (pending.length > 0) {
    const { raw, shown: path } = pending.pop();
    if (skip.has(path)) {
      skipped.push(path);
      continue;
    }
    const full = Buffer.concat([root, raw]);
    const read = statOf(full, path);
    if (!read) continue;
    const { stat } = read;
    const entry = {
      path,
      type: typeOf(stat),
      mode: stat.mode & 0o7777,
      uid: stat.uid,
      gid: stat.gid,
    };
    if (entry.type === 'file') {
      entry.size = stat.size;
      if (read.sha256) entry.sha256 = read.sha256;
      else entry.unreadable = true;
    } else if (entry.type === 'symlink') {
      try {
        entry.target = shownName(readlinkSync(full, { encoding: 'buffer' }));
      } catch {
        entry.unreadable = true;
      }
    } else if (entry.type === 'dir') {
      const names = readNames(full, options.maxEntries - entries - pending.length, path);
      if (names) {
        names.sort(Buffer.compare).reverse();
        for (const name of names) {
          const child = Buffer.concat([
            raw.length === 1 ? raw : Buffer.concat([raw, Buffer.from('/')]),
            name,
          ]);
          pending.push({
            raw: child,
            shown: path === '/' ? `/${shownName(name)}` : `${path}/${shownName(name)}`,
          });
        }
      } else if (readableByMode(stat)) {
        fail(`cannot list ${shorter(path)}, whose mode lets the probe read it: expected its names`);
      } else entry.unreadable = true;
    }
    if (entry.unreadable) unreadable += 1;
    entries += 1;
    if (entries > options.maxEntries) fail(`more than ${options.maxEntries} entries under /proc/${pid}/root`);
    output.write(entry);
  }
  output.write({ summary: { entries, unreadable, pid, skipped: skipped.sort() } });
  output.flush();
}

/**
 * A directory's names as bytes, read one at a time and refused past `room` (so a directory of
 * millions of names is never held whole); undefined when it cannot be opened.
 */
function readNames(full, room, path) {
  let dir;
  try {
    dir = opendirSync(full, { encoding: 'buffer', bufferSize: 256 });
  } catch {
    return undefined;
  }
  const names = [];
  try {
    for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) {
      names.push(entry.name);
      if (names.length > room) fail(`${path} holds more names than the ${room} entries left to list`);
    }
  } catch (error) {
    if (error instanceof ProbeFailure) throw error;
    return undefined;
  } finally {
    dir.closeSync();
  }
  return names;
}

try {
  const options = parseArguments(process.argv.slice(2));
  walk(findWorkload(options.has), options);
} catch (error) {
  if (!(error instanceof ProbeFailure)) {
    process.stdout.write(`${JSON.stringify({ error: String(error) })}\n`);
    process.exitCode = 2;
  }
}
