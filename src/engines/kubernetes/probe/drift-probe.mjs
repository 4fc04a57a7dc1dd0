// herd's drift probe: run as an ephemeral container in an instance's pod (shared process namespace,
// the workload's own uid and gid, no capabilities), it finds the workload's process and lists the
// filesystem that process sees, through /proc/<pid>/root. The kernel lets a process of the same
// uid and gid, holding no capability the target lacks, read a dumpable process's root (ptrace
// access mode READ_FSCREDS); nothing more is needed. One JSON line per entry on stdout, then one
// summary line: the reader (the KubernetesEngine) takes a listing without it as cut short.
//
// Self-contained on purpose (Node's fs and crypto only): it is the whole of the probe image.
//
// Usage: node drift-probe.mjs --has <path>... [--skip <path>]... [--max-entries <n>]
//   --has   regular files of the workload's image: the probe's own root and the pod's pause
//           container lack them, so a root holding any of them is the workload's;
//   --skip  a mount of the pod (an emptyDir, /proc, /dev, the kubelet's /etc/hosts): not walked;
//   --max-entries  refuse to go on past this many entries (default 2,000,000).
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  statSync,
} from 'node:fs';

function parseArguments(argv) {
  const options = { has: [], skip: [], maxEntries: 2_000_000 };
  for (let index = 0; index < argv.length; index += 2) {
    const [flag, value] = [argv[index], argv[index + 1]];
    if (value === undefined) fail(`flag ${flag} has no value`);
    if (flag === '--has') options.has.push(value);
    else if (flag === '--skip') options.skip.push(value.replace(/\/+$/, '') || '/');
    else if (flag === '--max-entries') options.maxEntries = Number(value);
    else fail(`unknown flag ${flag}: expected --has, --skip or --max-entries`);
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
 * A regular file's sha256, opened without following a link and without blocking on a FIFO: the
 * workload may swap the path between the listing and the read. Undefined when it cannot be read.
 */
function hashFile(fullPath, listed) {
  let fd;
  try {
    fd = openSync(fullPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile() || opened.ino !== listed.ino) return undefined;
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const read = readSync(fd, buffer, 0, buffer.length, null);
      if (read === 0) break;
      hash.update(buffer.subarray(0, read));
    }
    return hash.digest('hex');
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

class Output {
  chunks = [];
  size = 0;
  write(value) {
    const line = `${JSON.stringify(value)}\n`;
    this.chunks.push(line);
    this.size += line.length;
    if (this.size > 1 << 16) this.flush();
  }
  flush() {
    // Synchronous for a pipe or a file on Linux: nothing is lost when the program ends.
    process.stdout.write(this.chunks.join(''));
    this.chunks = [];
    this.size = 0;
  }
}

function walk(pid, options) {
  const root = `/proc/${pid}/root`;
  const skip = new Set(options.skip);
  const output = new Output();
  let entries = 0;
  let unreadable = 0;
  const skipped = [];
  // Depth first, each directory's names sorted: the same root gives the same listing.
  const pending = ['/'];
  while (pending.length > 0) {
    const path = pending.pop();
    if (skip.has(path)) {
      skipped.push(path);
      continue;
    }
    let stat;
    try {
      stat = lstatSync(root + path);
    } catch {
      continue; // removed since its directory was read
    }
    const entry = {
      path,
      type: typeOf(stat),
      mode: stat.mode & 0o7777,
      uid: stat.uid,
      gid: stat.gid,
    };
    if (entry.type === 'file') {
      entry.size = stat.size;
      const sha256 = hashFile(root + path, stat);
      if (sha256) entry.sha256 = sha256;
      else entry.unreadable = true;
    } else if (entry.type === 'symlink') {
      try {
        entry.target = readlinkSync(root + path);
      } catch {
        entry.unreadable = true;
      }
    } else if (entry.type === 'dir') {
      try {
        const names = readdirSync(root + path)
          .sort()
          .reverse();
        for (const name of names) pending.push(path === '/' ? `/${name}` : `${path}/${name}`);
      } catch {
        entry.unreadable = true;
      }
    }
    if (entry.unreadable) unreadable += 1;
    entries += 1;
    if (entries > options.maxEntries) fail(`more than ${options.maxEntries} entries under ${root}`);
    output.write(entry);
  }
  output.write({ summary: { entries, unreadable, pid, skipped: skipped.sort() } });
  output.flush();
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
