/**
 * Which paths of the packages the image leaves out: those an `exclude` pattern or a `strip` group
 * matches, unless a `keep` pattern does. Pure; paths are relative to the root, as the image tree
 * holds them. Leaving out is the only way herd slims an image: files go whole or stay as the
 * package ships them, so the md5sums, the file manifest and the SBOM describe what is there.
 */
import { type Spec, stripPatterns } from '../specfile/index.js';
import { compileGlobs } from './path-glob.js';

export function leftOutPaths(
  image: Pick<Spec['image'], 'exclude' | 'keep' | 'strip'>,
): (path: string) => boolean {
  const leftOut = compileGlobs([...image.exclude, ...stripPatterns(image.strip)]);
  const kept = compileGlobs(image.keep);
  return (path) => leftOut(`/${path}`) && !kept(`/${path}`);
}
