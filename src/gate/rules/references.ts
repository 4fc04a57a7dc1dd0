/**
 * References from herd's rules to the benchmarks people already know, so a finding can be mapped
 * to an audit checklist. CIS Docker Benchmark v1.6.0 section numbers (section 4, "Container Images
 * and Build File Configuration"; 5, "Container Runtime") and Dockle checkpoint ids.
 * Dockle: https://github.com/goodwithtech/dockle/blob/master/CHECKPOINT.md
 */

export interface RuleReference {
  kind: 'cis-docker' | 'dockle';
  id: string;
  title: string;
  url: string;
}

export function cisDocker(section: string, title: string): RuleReference {
  return {
    kind: 'cis-docker',
    id: `CIS ${section}`,
    title,
    url: 'https://www.cisecurity.org/benchmark/docker',
  };
}

export function dockle(checkpoint: string, title: string): RuleReference {
  return {
    kind: 'dockle',
    id: checkpoint,
    title,
    url: `https://github.com/goodwithtech/dockle/blob/master/CHECKPOINT.md#${checkpoint.toLowerCase()}`,
  };
}

/** The most specific page about a rule: Dockle's checkpoint, else the CIS benchmark. */
export function helpUriOf(references: readonly RuleReference[]): string | undefined {
  return (references.find((r) => r.kind === 'dockle') ?? references[0])?.url;
}
