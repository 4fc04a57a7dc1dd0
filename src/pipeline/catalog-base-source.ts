/**
 * `image.from` through the catalog: `service@stage` is the newest unrevoked release at that stage
 * (the catalog only released it because its signature verified); a digest stands for itself but
 * must not be revoked.
 */
import type { BaseImageSource } from '../builder/index.js';
import type { Catalog } from '../catalog/index.js';

export function catalogBaseSource(catalog: Catalog): BaseImageSource {
  return {
    async resolve(ref) {
      if (ref.kind === 'release') {
        const release = catalog.current(ref.service, ref.stage);
        return release ? { digest: release.digest } : undefined;
      }
      return catalog.isRevoked(ref.digest) ? undefined : { digest: ref.digest };
    },
  };
}
