/**
 * The layers of the largest packages, compressed while the other packages are still being
 * unpacked. gzip is most of a cold build's CPU, and until every package is unpacked the image
 * cannot be composed, so without this the cores decode .debs first and compress layers after,
 * each phase leaving one of them idle at its end.
 *
 * A package that will very likely have a layer of its own (one of the largest by .deb size) is
 * composed alone as soon as it is unpacked, and its layer written to the store. That is a guess:
 * the whole image may differ around it (another package's folder, a script effect). It is taken
 * only when the layer the whole image plans for that package is made of exactly the same entries
 * (write-layer.ts's entriesDigest: every header field and every file's sha256), hence the same
 * tar. The gzip of the same tar is the same bytes, so the image is the one a build without early
 * layers gives; a wrong guess only costs the CPU it took and leaves an unreferenced blob in the
 * store (as a build that fails after writing some of its layers does).
 */
import type { Spec } from '../specfile/index.js';
import { type AppFileData, composeImage, type UnpackedPackage } from './compose-rootfs.js';
import type { ImageTree, TreeNode } from './image-tree.js';
import type { Lock } from './lock-file.js';
import { type LayerPlan, type LayerPlanOptions, planLayers } from './plan-layers.js';
import type { WrittenLayer } from './write-layer.js';

export interface EarlyLayersInput {
  spec: Spec;
  lock: Lock;
  appFiles: AppFileData[];
  base?: ReadonlyMap<string, TreeNode>;
  planOptions: LayerPlanOptions;
  /** Writes one layer into the store (write-layer.ts with the build's options). */
  write: (plan: LayerPlan) => Promise<WrittenLayer>;
}

export class EarlyLayers {
  private readonly input: EarlyLayersInput;
  /** The packages worth a guess: as many of the largest as may get a layer of their own. */
  private readonly candidates: Set<string>;
  private readonly jobs = new Map<string, Promise<WrittenLayer | undefined>>();
  /** The package composed first: a folder several packages ship belongs to the first by name. */
  private readonly firstName: string | undefined;

  constructor(input: EarlyLayersInput) {
    this.input = input;
    this.firstName = input.lock.packages.map((p) => p.name).sort()[0];
    this.candidates = new Set(
      earlyCandidates(
        input.lock.packages,
        Math.max(0, input.planOptions.maxPackageLayers - 1),
        input.planOptions.ownLayerBytes,
      ),
    );
  }

  /** Starts writing `pkg`'s layer in the background when it is a candidate; never throws. */
  offer(pkg: UnpackedPackage): void {
    const name = pkg.locked.name;
    if (!this.candidates.has(name) || this.jobs.has(name)) return;
    const { spec, appFiles, base, planOptions, write } = this.input;
    // A failed guess is only a guess not taken: the whole image's own layer is written then.
    const job = Promise.resolve()
      .then(() => {
        const { tree } = composeImage({ spec, packages: [pkg], appFiles, ...(base ? { base } : {}) });
        if (this.firstName !== name) dropEmptyFolders(tree, name);
        const plan = planLayers(tree, planOptions).find((p) => p.owners.length === 1 && p.owners[0] === name);
        return plan ? write(plan) : undefined;
      })
      .catch(() => undefined);
    this.jobs.set(name, job);
  }

  /** The layer written early for this plan's only package, once written; undefined if none. */
  async for(plan: LayerPlan): Promise<WrittenLayer | undefined> {
    const [owner, ...others] = plan.owners;
    if (owner === undefined || others.length > 0) return undefined;
    return this.jobs.get(owner);
  }

  /** Waits for every job, so that nothing is still writing into the store when a build ends. */
  async settled(): Promise<void> {
    await Promise.all(this.jobs.values());
  }
}

/**
 * The names whose .deb is among the `count` largest (ties by name) and at least a quarter of
 * `ownLayerBytes`: unpacked, a package is several times its .deb, so a smaller one cannot reach a
 * layer of its own. Pure.
 */
export function earlyCandidates(
  packages: readonly { name: string; size: number }[],
  count: number,
  ownLayerBytes: number,
): string[] {
  return [...packages]
    .filter((p) => p.size * 4 >= ownLayerBytes)
    .sort((a, b) => b.size - a.size || (a.name < b.name ? -1 : 1))
    .slice(0, count)
    .map((p) => p.name);
}

/**
 * Removes `owner`'s folders that hold nothing of its own but folders. Such a folder (an emptied
 * usr/share/lintian, say) is most often shipped by other packages too, and a folder belongs to the
 * first package by name that ships it: in the whole image it is likely another's, so the guess
 * leaves it out of this package's layer. Its ancestors of kept entries stay, as planLayers adds them.
 */
export function dropEmptyFolders(tree: ImageTree, owner: string): void {
  const holding = new Set<string>();
  for (const node of tree.sorted().reverse()) {
    if (node.type === 'dir' && node.owner === owner && !holding.has(node.path)) {
      tree.remove(node.path);
      continue;
    }
    if (node.owner !== owner) continue;
    for (let slash = node.path.lastIndexOf('/'); slash > 0; slash = node.path.lastIndexOf('/', slash - 1)) {
      holding.add(node.path.slice(0, slash));
    }
  }
}
