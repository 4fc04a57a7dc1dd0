/**
 * Which paths may be writable at run time (`run.writable`). One validator for every place a path
 * arrives: the spec loader (and so the fleet API, which takes a herd.yaml), the run template
 * attested with an image, and the templates stored with a fleet.
 *
 * A writable path becomes a tmpfs mounted over the read-only image. Over a system folder it hides
 * the image's programs and libraries and lets the workload put its own in their place; over the
 * app's own files it does the same to the app. And the engine's mount syntax reads `,` and `:` as
 * separators, so `/tmp,exec` would turn an option back on that herd turned off.
 */
import { posix } from 'node:path';
import { z } from 'zod';
import { describeValue } from './errors.js';

/**
 * System folders: a tmpfs on one, under one or above one would hide what the image ships there.
 * `/lib*` covers /lib, /lib32, /lib64 and /libx32 (merged /usr links them, a base may not).
 */
const systemFolders = ['/usr', '/etc', '/bin', '/sbin', '/var/lib/dpkg', '/boot', '/dev', '/proc', '/sys'];
const isLibFolder = (segment: string) => /^lib/.test(segment);

/** What a writable path may be made of: no separator the engine's mount syntax reads, no space. */
const safeSegment = /^[A-Za-z0-9._@+-]+$/;

/**
 * Why `path` may not be writable, or undefined when it may. `appFiles` are the `files[].dst` of the
 * same spec: a writable path may not be one of them or a folder above one.
 */
export function writablePathProblem(
  path: string,
  context: { appFiles: readonly string[] },
): string | undefined {
  const got = describeValue(path);
  const syntax = syntaxProblem(path);
  if (syntax) return `expected an absolute folder path such as /tmp or /var/cache/app, got ${got}; ${syntax}`;
  if (path === '/')
    return `expected a folder below /, got "/": a writable root is run.writableRoot, not a path`;
  const system = systemFolderOf(path);
  if (system) {
    const relation = system === path ? 'is' : path.startsWith(`${system}/`) ? 'is under' : 'holds';
    return `expected a folder outside the image's system folders, got ${got}: it ${relation} ${system}, which a tmpfs would hide and let the workload replace`;
  }
  const appFile = context.appFiles.find((file) => file === path || file.startsWith(`${path}/`));
  if (appFile) {
    return `expected a folder that holds none of the app's files, got ${got}: a tmpfs there would hide ${appFile} (files[].dst) and let the workload replace it`;
  }
  return undefined;
}

/** Every problem of a list of writable paths, by index, in the order given. */
export function writablePathProblems(
  paths: readonly string[],
  context: { appFiles: readonly string[] },
): { index: number; message: string }[] {
  return paths.flatMap((path, index) => {
    const message = writablePathProblem(path, context);
    return message === undefined ? [] : [{ index, message }];
  });
}

function syntaxProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'it is not absolute';
  if (path.includes(',')) return 'a comma would pass mount options to the engine';
  if (path.includes(':')) return 'a colon separates the fields of a mount';
  if (/\s/.test(path)) return 'it holds white space';
  if (path.includes('\0')) return 'it holds a NUL byte';
  const segments = path.split('/').slice(1);
  if (segments.includes('..') || segments.includes('.')) return 'it holds "." or ".." segments';
  if (path !== '/' && normalized(path) !== path)
    return `it is not normalized (did you mean "${normalized(path)}"?)`;
  if (path !== '/' && segments.some((segment) => !safeSegment.test(segment))) {
    return 'it holds characters other than letters, digits, ".", "_", "-", "+" and "@"';
  }
  return undefined;
}

function normalized(path: string): string {
  return posix.normalize(path).replace(/(.)\/$/, '$1');
}

/** The system folder `path` is, is under, or holds; undefined when it touches none. */
function systemFolderOf(path: string): string | undefined {
  const [first = ''] = path.split('/').slice(1);
  if (isLibFolder(first)) return `/${first}`;
  return systemFolders.find(
    (folder) => folder === path || path.startsWith(`${folder}/`) || folder.startsWith(`${path}/`),
  );
}

/**
 * One writable path on its own, as a zod schema: everything but the app's files, which only the
 * whole spec knows (schema.ts checks those, with the same function).
 */
export const WritablePath = z
  .string({
    error: (issue) => `expected an absolute folder path such as /tmp, got ${describeValue(issue.input)}`,
  })
  .superRefine((value, ctx) => {
    const problem = writablePathProblem(value, { appFiles: [] });
    if (problem) ctx.addIssue({ code: 'custom', input: value, message: problem });
  });
