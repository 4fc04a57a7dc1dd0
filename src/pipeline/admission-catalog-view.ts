/**
 * The catalog as admission sees it (src/trust's CatalogView, since trust/ may not import the
 * catalog): a digest's furthest stage, its revocation, and whether the catalog can be believed at
 * all, which it cannot while it disagrees with the journal or the journal with its checkpoint.
 */
import type { KeyObject } from 'node:crypto';
import type { Catalog } from '../catalog/index.js';
import type { HerdHome } from '../herd-home.js';
import type { Journal } from '../journal/index.js';
import type { Digest } from '../oci/index.js';
import type { CatalogView } from '../trust/index.js';
import { catalogInconsistency, journalCheckpointPath } from '../trust/index.js';

export function admissionCatalogView(parts: {
  catalog: Catalog;
  journal: Journal;
  home: Pick<HerdHome, 'root'>;
  publicKeys: readonly KeyObject[];
}): CatalogView {
  const { catalog, journal } = parts;
  return {
    revocation: (digest) => catalog.revocation(digest),
    stageOf: (service, digest) => furthestStage(catalog, service, digest),
    inconsistency: () =>
      catalogInconsistency(
        { journal, catalog },
        { path: journalCheckpointPath(parts.home), publicKeys: parts.publicKeys },
      ),
  };
}

function furthestStage(catalog: Catalog, service: string, digest: Digest): string | undefined {
  return catalog.entries(service).find((e) => e.digest === digest && !e.revoked)?.stage;
}
