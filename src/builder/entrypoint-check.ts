/**
 * The entrypoint must run: before any layer is written, the build looks for the program the image
 * starts (the entrypoint's first word, else the command's) in the composed tree, as the run user
 * would reach it, and for everything the kernel and ld.so need to start it: an ELF program's
 * interpreter and needed libraries (and theirs), or a script's shebang interpreter. Pure: a tree in,
 * problems out. An image without entrypoint and command (a base for other images) is not checked.
 */
import { posix } from 'node:path';
import type { Spec } from '../specfile/index.js';
import { type ByteView, ElfFormatError, isElf, readElfDependencies } from './elf-dependencies.js';
import { fileBytes, fileView } from './file-content.js';
import { defaultPath } from './image-config.js';
import type { ImageTree, TreeNode } from './image-tree.js';

/** Debian's multiarch triplets: the folders its libc searches first. */
const multiarchTriplets: Record<string, string> = {
  amd64: 'x86_64-linux-gnu',
  arm64: 'aarch64-linux-gnu',
  armel: 'arm-linux-gnueabi',
  armhf: 'arm-linux-gnueabihf',
  i386: 'i386-linux-gnu',
  mips64el: 'mips64el-linux-gnuabi64',
  ppc64el: 'powerpc64le-linux-gnu',
  riscv64: 'riscv64-linux-gnu',
  s390x: 's390x-linux-gnu',
};

const maxLinks = 40;
const maxShebangDepth = 4;

export interface EntrypointReport {
  /** The program that starts the image, as the spec names it; absent when there is none. */
  program?: string;
  /** What stops it from starting, one sentence each; empty when it can start. */
  problems: string[];
  /** What herd could not judge (a file that is neither ELF nor a script): a warning, not a failure. */
  warnings: string[];
}

export function checkEntrypoint(tree: ImageTree, spec: Spec): EntrypointReport {
  const command = spec.run.entrypoint.length > 0 ? spec.run.entrypoint : spec.run.cmd;
  const program = command[0];
  const report: EntrypointReport = { problems: [], warnings: [] };
  if (program === undefined) return report;
  report.program = program;
  const context = {
    tree,
    user: spec.run.user,
    libraryDirs: libraryDirs(tree, spec.image.architecture),
    report,
  };
  checkProgram(context, program, `the entrypoint ${program}`, 0);
  return report;
}

interface Context {
  tree: ImageTree;
  user: { uid: number; gid: number };
  libraryDirs: string[];
  report: EntrypointReport;
}

function checkProgram(context: Context, name: string, what: string, depth: number): void {
  const { report } = context;
  const path = name.includes('/') ? name : findInPath(context.tree, name);
  if (path === undefined) {
    report.problems.push(`${what} is not in the image: no ${name} in PATH (${defaultPath})`);
    return;
  }
  if (!path.startsWith('/')) {
    report.problems.push(`${what}: expected an absolute path or a name found in PATH, got ${name}`);
    return;
  }
  const found = resolvePath(context.tree, path);
  if (!found) {
    report.problems.push(`${what} is not in the image: ${path} does not exist`);
    return;
  }
  if (found.node.type !== 'file') {
    report.problems.push(`${what} is not a file: ${path} is a ${found.node.type}`);
    return;
  }
  if (!mayExecute(found.node, context.user)) {
    report.problems.push(
      `${what} is not executable by the run user ${context.user.uid}:${context.user.gid}: ${path} has mode ${found.node.mode.toString(8).padStart(4, '0')}, owner ${found.node.uid}:${found.node.gid}`,
    );
    return;
  }
  const data = fileView(found.node);
  if (isElf(data)) {
    checkElf(context, found.path, data, what);
    return;
  }
  if (data.slice(0, 2).toString('latin1') === '#!') {
    if (depth >= maxShebangDepth) {
      report.problems.push(`${what}: more than ${maxShebangDepth} nested script interpreters`);
      return;
    }
    const [interpreter, argument] = shebangOf(data.slice(0, 4096));
    if (!interpreter) {
      report.problems.push(`${what}: ${path} starts with #! but names no interpreter`);
      return;
    }
    checkProgram(context, interpreter, `the interpreter ${interpreter} of ${path} (${what})`, depth + 1);
    // `#!/usr/bin/env python3`: env runs the program its argument names, found in PATH.
    if (posix.basename(interpreter) === 'env' && argument && !argument.startsWith('-')) {
      checkProgram(context, argument, `${argument}, which ${path} runs through env (${what})`, depth + 1);
    }
    return;
  }
  report.warnings.push(
    `${what}: ${path} is neither an ELF program nor a script with #!, so the kernel may refuse to run it`,
  );
}

function checkElf(context: Context, path: string, data: ByteView, what: string): void {
  const { report } = context;
  let dependencies: ReturnType<typeof readElfDependencies>;
  try {
    dependencies = readElfDependencies(data);
  } catch (error) {
    if (!(error instanceof ElfFormatError)) throw error;
    report.problems.push(`${what}: /${path} is not a readable ELF file: ${error.message}`);
    return;
  }
  if (dependencies.interpreter !== undefined) {
    const interpreter = resolvePath(context.tree, dependencies.interpreter);
    if (interpreter?.node.type !== 'file') {
      report.problems.push(
        `${what}: its ELF interpreter ${dependencies.interpreter} is not in the image (which package ships it, libc6?)`,
      );
    }
  }
  // Breadth-first over the needed libraries and theirs, as ld.so loads them.
  const seen = new Set<string>();
  const queue = [{ object: path, dependencies }];
  for (let item = queue.shift(); item; item = queue.shift()) {
    const origin = posix.dirname(`/${item.object}`);
    const dirs = [
      ...item.dependencies.runpath.map((dir) => dir.replaceAll(/\$\{?ORIGIN\}?/g, origin)),
      ...context.libraryDirs,
    ];
    for (const soname of item.dependencies.needed) {
      if (seen.has(soname)) continue;
      seen.add(soname);
      const library = findLibrary(context.tree, soname, dirs);
      if (!library) {
        report.problems.push(
          `${what}: the library ${soname} that /${item.object} needs is not in the image (searched ${dirs.join(', ')})`,
        );
        continue;
      }
      const bytes = fileView(library.node);
      try {
        queue.push({ object: library.path, dependencies: readElfDependencies(bytes) });
      } catch (error) {
        if (!(error instanceof ElfFormatError)) throw error;
        report.problems.push(
          `${what}: /${library.path} (${soname}) is not a readable ELF file: ${error.message}`,
        );
      }
    }
  }
}

function findLibrary(tree: ImageTree, soname: string, dirs: string[]) {
  if (soname.includes('/')) {
    const found = resolvePath(tree, soname);
    return found?.node.type === 'file' ? found : undefined;
  }
  for (const dir of dirs) {
    const found = resolvePath(tree, posix.join(dir, soname));
    if (found?.node.type === 'file') return found;
  }
  return undefined;
}

/**
 * Where ld.so looks when the program says nothing: Debian's multiarch folders, then the classic
 * ones. Folders from /etc/ld.so.conf.d count only when the image has /etc/ld.so.cache, since ld.so
 * reads them through the cache that ldconfig writes, and herd's own images run no ldconfig.
 */
export function libraryDirs(tree: ImageTree, architecture: string): string[] {
  const triplet = multiarchTriplets[architecture];
  const defaults = [
    ...(triplet ? [`/lib/${triplet}`, `/usr/lib/${triplet}`] : []),
    '/lib',
    '/usr/lib',
    '/lib64',
    '/usr/lib64',
  ];
  if (tree.get('etc/ld.so.cache')?.type !== 'file') return defaults;
  const configured: string[] = [];
  const files = tree
    .sorted()
    .filter(
      (n) =>
        n.type === 'file' &&
        (n.path === 'etc/ld.so.conf' || /^etc\/ld\.so\.conf\.d\/[^/]+\.conf$/.test(n.path)),
    );
  for (const file of files) {
    for (const line of fileBytes(file).toString('utf8').split('\n')) {
      const text = line.replace(/#.*/, '').trim();
      if (text === '' || text.startsWith('include ')) continue;
      for (const dir of text.split(/[\s:,]+/)) if (dir.startsWith('/')) configured.push(dir);
    }
  }
  return [...new Set([...configured, ...defaults])];
}

function findInPath(tree: ImageTree, name: string): string | undefined {
  for (const dir of defaultPath.split(':')) {
    const found = resolvePath(tree, posix.join(dir, name));
    if (found?.node.type === 'file') return posix.join(dir, name);
  }
  return undefined;
}

/** The interpreter and its one optional argument, as Linux reads a `#!` line. */
function shebangOf(data: Buffer): [string | undefined, string | undefined] {
  const end = data.indexOf(0x0a);
  const line = data
    .subarray(2, end < 0 ? Math.min(data.length, 256) : end)
    .toString('utf8')
    .trim();
  const space = line.search(/[ \t]/);
  if (space < 0) return [line || undefined, undefined];
  return [line.slice(0, space), line.slice(space).trim() || undefined];
}

/** The permission class the kernel picks: owner, else group, else other. */
function mayExecute(node: TreeNode, user: { uid: number; gid: number }): boolean {
  if (user.uid === 0) return (node.mode & 0o111) !== 0;
  if (node.uid === user.uid) return (node.mode & 0o100) !== 0;
  if (node.gid === user.gid) return (node.mode & 0o010) !== 0;
  return (node.mode & 0o001) !== 0;
}

/**
 * Follows symbolic links inside the tree, as the kernel would inside the container's root: `..`
 * stops at the root, absolute targets start again from it. Gives the final entry and its path.
 */
export function resolvePath(tree: ImageTree, path: string): { node: TreeNode; path: string } | undefined {
  let pending = path.split('/').filter((part) => part !== '' && part !== '.');
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const [part, ...rest] = pending as [string, ...string[]];
    pending = rest;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = [...resolved, part].join('/');
    const node = tree.get(candidate);
    if (!node) return undefined;
    if (node.type === 'symlink') {
      if (++links > maxLinks) return undefined;
      const target = node.target ?? '';
      if (target.startsWith('/')) resolved.length = 0;
      pending = [...target.split('/').filter((p) => p !== '' && p !== '.'), ...pending];
      continue;
    }
    if (node.type !== 'dir' && pending.length > 0) return undefined;
    resolved.push(part);
  }
  const final = resolved.join('/');
  const node = tree.get(final);
  return node ? { node, path: final } : undefined;
}
