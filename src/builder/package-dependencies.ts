/**
 * The package-to-package edges of an image, for the SBOMs' DEPENDS_ON relationships. The lock
 * keeps only why each package is there (one `reason`), not the graph, so the edges come from the
 * packages' own Pre-Depends and Depends, read from the .deb control files the build verifies, and
 * resolved against what is installed the way the resolver chose: for each group of alternatives,
 * the first one an installed package satisfies by name and version, else the first real package
 * that Provides it. Pure and deterministic: the same packages give the same edges.
 */
import {
  field,
  parseControlParagraphs,
  parseRelations,
  type Relation,
  relationsForArchitecture,
  satisfiesRelation,
} from '../debian/index.js';

export interface InstalledPackage {
  name: string;
  version: string;
  architecture: string;
}

export interface PackageWithControl extends InstalledPackage {
  /** The .deb's control file, one deb822 stanza. */
  control: string;
}

/**
 * Package name → the names of the installed packages it depends on, sorted and each once, for
 * every package in `packages` (an empty list means none). `installed` adds what is in the image
 * without a control file here (a base's packages): they can be depended on, their own edges are
 * not known.
 */
export function dependencyEdges(
  packages: readonly PackageWithControl[],
  options: { architecture: string; installed?: readonly InstalledPackage[] },
): Map<string, string[]> {
  const byName = new Map<string, InstalledPackage[]>();
  const providers = new Map<string, { pkg: InstalledPackage; version?: string }[]>();
  const controls = packages.map((pkg) => ({
    pkg,
    paragraph: parseControlParagraphs(pkg.control, { origin: `${pkg.name}_${pkg.version}.deb` })[0] ?? [],
  }));
  for (const pkg of [...(options.installed ?? []), ...packages]) {
    byName.set(pkg.name, [...(byName.get(pkg.name) ?? []), pkg]);
  }
  for (const { pkg, paragraph } of controls) {
    const provides = field(paragraph, 'Provides');
    if (!provides) continue;
    for (const group of parseRelations(provides)) {
      for (const provided of group) {
        const entry = {
          pkg,
          ...(provided.op === '=' && provided.version ? { version: provided.version } : {}),
        };
        providers.set(provided.name, [...(providers.get(provided.name) ?? []), entry]);
      }
    }
  }

  const satisfier = (relation: Relation): string | undefined => {
    const real = (byName.get(relation.name) ?? []).find(
      (pkg) =>
        !relation.op || !relation.version || satisfiesRelation(pkg.version, relation.op, relation.version),
    );
    if (real) return real.name;
    const virtual = (providers.get(relation.name) ?? []).find(
      (p) =>
        !relation.op ||
        !relation.version ||
        (p.version !== undefined && satisfiesRelation(p.version, relation.op, relation.version)),
    );
    return virtual?.pkg.name;
  };

  const edges = new Map<string, string[]>();
  for (const { pkg, paragraph } of controls) {
    const groups = ['Pre-Depends', 'Depends'].flatMap((name) => {
      const text = field(paragraph, name);
      return text ? relationsForArchitecture(parseRelations(text), options.architecture) : [];
    });
    const targets = new Set<string>();
    for (const group of groups) {
      for (const relation of group) {
        const target = satisfier(relation);
        if (target === undefined) continue;
        if (target !== pkg.name) targets.add(target);
        break;
      }
    }
    edges.set(pkg.name, [...targets].sort());
  }
  return edges;
}
