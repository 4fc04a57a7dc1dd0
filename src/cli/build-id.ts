/**
 * Which build of herd this is: `npm run build` (scripts/build.ts) defines HERD_BUILD_ID as a hash
 * of the sources and package-lock.json it compiled, so what one build derived and cached
 * (validated-spec-cache.ts) is never taken by another. Under tsx it is undefined.
 */
declare const HERD_BUILD_ID: string | undefined;

export const buildId: string | undefined = typeof HERD_BUILD_ID === 'string' ? HERD_BUILD_ID : undefined;
