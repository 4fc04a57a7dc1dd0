/**
 * Which executables may run in an instance: pure. The spec's `run.processes` when it has one, else
 * the image's own program: the entrypoint's (or cmd's, without one), cmd's first word when that is
 * an executable file of the image (a wrapper such as tini runs it), and the interpreter of any of
 * them that is a script. Paths are compared as the kernel reports them, after links, so each one is
 * resolved through the image's signed file manifest (`/bin/sh` → `/usr/bin/dash`). The engine's init
 * is allowed as pid 1 only.
 */
import type { Baseline } from './baseline.js';

/** The inits engines add with `Init: true`: Podman's catatonit, Docker's tini. Not in the image. */
export const engineInits: readonly string[] = ['/run/podman-init', '/sbin/docker-init'];

/** Podman's PATH when the image sets none, for a program named without a path. */
const defaultPath = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export interface ProcessAllowlist {
  /** Resolved through the image's links. */
  executables: ReadonlySet<string>;
  /** What may run as pid 1 besides the above. */
  inits: ReadonlySet<string>;
  /** `spec`: run.processes; `default`: the image's program, derived here. */
  source: 'spec' | 'default';
}

/** What the image runs, from its config (the OCI config's Entrypoint, Cmd and PATH). */
export interface ImageProgram {
  entrypoint: readonly string[];
  cmd: readonly string[];
  /** The config's PATH, split; the default when it sets none. */
  path?: readonly string[];
}

/**
 * The programs the image starts, before links and interpreters: the first word of the entrypoint
 * (or of cmd, without one), and cmd's first word when an entrypoint runs it and it names an
 * executable file (`[/usr/bin/node]` + `[/app/server.js]` gives node only: the script is an argument).
 */
export function imagePrograms(program: ImageProgram, baseline: Baseline): string[] {
  const path = program.path ?? defaultPath;
  const [first] = program.entrypoint.length > 0 ? program.entrypoint : program.cmd;
  const programs: string[] = [];
  const found = first === undefined ? undefined : lookUp(first, path, baseline);
  if (found) programs.push(found);
  const [runs] = program.entrypoint.length > 0 ? program.cmd : [];
  const wrapped = runs === undefined ? undefined : lookUp(runs, path, baseline);
  if (wrapped && isExecutableFile(resolveLinks(wrapped, baseline), baseline)) programs.push(wrapped);
  return programs;
}

/**
 * The programs a script's first line runs: `#!/bin/sh -e` → `/bin/sh`; `#!/usr/bin/env node` → env,
 * and `node` looked up on the PATH (env then becomes it). None when the bytes do not start a script.
 */
export function interpretersOf(
  head: Buffer,
  baseline: Baseline,
  path: readonly string[] = defaultPath,
): string[] {
  if (head.length < 3 || head[0] !== 0x23 || head[1] !== 0x21) return [];
  const end = head.indexOf(0x0a);
  const line = head
    .subarray(2, end < 0 ? Math.min(head.length, 256) : end)
    .toString('utf8')
    .trim();
  const [interpreter, argument] = line.split(/\s+/);
  if (!interpreter?.startsWith('/')) return [];
  if (!/\/env$/.test(interpreter) || argument === undefined) return [interpreter];
  const named = lookUp(argument, path, baseline);
  return named ? [interpreter, named] : [interpreter];
}

export function allowlistOf(
  input: { declared?: readonly string[]; programs: readonly string[]; interpreters: readonly string[] },
  baseline: Baseline,
): ProcessAllowlist {
  const listed = input.declared ?? [...input.programs, ...input.interpreters];
  return {
    executables: new Set(listed.map((path) => resolveLinks(path, baseline))),
    inits: new Set(engineInits),
    source: input.declared ? 'spec' : 'default',
  };
}

/**
 * The path the kernel would report for `path` in the image: every symlink on the way resolved
 * through the manifest, relative targets included. A path the manifest lacks stays as it is, and so
 * does one that loops (more than 40 links, the kernel's ELOOP): it names nothing that runs.
 */
export function resolveLinks(path: string, baseline: Baseline): string {
  let parts = path.split('/').filter(Boolean);
  let resolved: string[] = [];
  for (let hops = 0; parts.length > 0; ) {
    if (hops > 40) return path;
    const part = parts.shift() as string;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = `/${[...resolved, part].join('/')}`;
    const entry = baseline.get(candidate);
    if (entry?.type === 'symlink' && entry.target !== undefined) {
      hops += 1;
      const target = entry.target.split('/').filter(Boolean);
      if (entry.target.startsWith('/')) resolved = [];
      parts = [...target, ...parts];
      continue;
    }
    resolved.push(part);
  }
  return `/${resolved.join('/')}`;
}

/** An absolute path as given; a bare name found on the PATH in the image (as the runtime finds it). */
function lookUp(program: string, path: readonly string[], baseline: Baseline): string | undefined {
  if (program.startsWith('/')) return program;
  if (program.includes('/')) return undefined;
  for (const dir of path) {
    const candidate = `${dir.replace(/\/+$/, '')}/${program}`;
    if (isExecutableFile(resolveLinks(candidate, baseline), baseline)) return candidate;
  }
  return undefined;
}

function isExecutableFile(path: string, baseline: Baseline): boolean {
  const entry = baseline.get(path);
  return entry?.type === 'file' && (entry.mode & 0o111) !== 0;
}
