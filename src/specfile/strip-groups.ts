/**
 * `image.strip`: named groups of files that only a debugger, a compiler or a linker reads, and
 * glibc's charset converters, which only iconv(3) loads. A group leaves whole files out and never
 * rewrites one, so every file left in the image is the package's own bytes: its md5sums line, the
 * file manifest, the SBOM's package and a fim baseline all stay true. Debian's binaries carry no
 * debug sections to rewrite anyway (dh_strip moves them into -dbgsym packages).
 */

/** Each group's path patterns, in the syntax of `image.exclude`. */
export const stripGroups = {
  /** Detached debug info (-dbgsym, -dbg packages) and gdb's scripts, such as libstdc++'s pretty printers. */
  debug: [
    '/usr/lib/debug',
    '/usr/lib/debug/**',
    '/usr/share/gdb',
    '/usr/share/gdb/**',
    '/usr/share/gcc/python',
    '/usr/share/gcc/python/**',
  ],
  /** Static libraries, read only by a linker. */
  static: ['/usr/lib/**/*.a'],
  /** C and C++ headers, read only by a compiler. */
  headers: ['/usr/include', '/usr/include/**'],
  /** TypeScript declarations (nodejs ships @types/node), read only by tsc and editors. */
  typescript: ['/usr/**/*.d.ts', '/usr/**/*.d.mts', '/usr/**/*.d.cts'],
  /**
   * glibc's iconv modules. Not in the default: a program calling iconv_open("CP850") gets EINVAL
   * without them. Node, ICU and OpenSSL never load them.
   */
  gconv: ['/usr/lib/*/gconv', '/usr/lib/*/gconv/**'],
} as const satisfies Record<string, readonly string[]>;

export type StripGroup = keyof typeof stripGroups;

export const stripGroupNames = Object.keys(stripGroups) as StripGroup[];

/** `strip: true`, and a spec that says nothing: what no running service reads, unless it compiles or debugs. */
export const defaultStrip: readonly StripGroup[] = ['debug', 'static', 'headers', 'typescript'];

/** The path patterns of `groups`, in the order the groups are listed. */
export function stripPatterns(groups: readonly StripGroup[]): string[] {
  return groups.flatMap((group) => stripGroups[group]);
}
