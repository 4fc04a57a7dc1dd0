/**
 * Glob patterns over absolute image paths, for the spec's `exclude` and `keep` lists.
 * `*` matches within one path component, `**` across components, `?` one character.
 */
export type PathMatcher = (absolutePath: string) => boolean;

export function compileGlobs(patterns: readonly string[]): PathMatcher {
  if (patterns.length === 0) return () => false;
  const regexes = patterns.map(globToRegExp);
  return (path) => regexes.some((re) => re.test(path));
}

export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (char === '*' && pattern[i + 1] === '*') {
      // `/**` at the end matches the folder's contents at any depth; `**/` in the middle matches zero or more folders.
      if (pattern[i + 2] === '/') {
        source += '(?:.*/)?';
        i += 2;
      } else {
        source += '.*';
        i += 1;
      }
    } else if (char === '*') {
      source += '[^/]*';
    } else if (char === '?') {
      source += '[^/]';
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}
