import { cisDocker, dockle } from './references.js';
import { everyProfile, type HardeningRule, type RuleResult } from './rule.js';

/** Megabytes as `docker images` counts them: 10^6 bytes. */
const bytesPerMB = 1_000_000;

/**
 * `gate.budget`: at most so many packages, and at most so many MB of files (the unpacked size of
 * the root filesystem, which is what an instance maps; compressed layer sizes vary with the
 * compressor). Without a budget there is nothing to check.
 */
export const packageBudget: HardeningRule = {
  id: 'HERD-H011',
  name: 'package-budget',
  title: "Package count and size within the spec's budget",
  severity: 'error',
  rationale:
    'Every package is code that can have a vulnerability and a tool for an attacker. A budget makes growth a reviewed decision instead of an accident.',
  references: [
    cisDocker('4.3', 'Ensure that unnecessary packages are not installed in the container'),
    dockle('DKL-LI-0003', 'Only put necessary files'),
  ],
  profiles: everyProfile,
  check({ view, gate }) {
    const results: RuleResult[] = [];
    const budget = gate.budget;
    if (budget?.packages !== undefined && view.packages.length > budget.packages) {
      results.push({
        message: `the image has ${view.packages.length} packages, the budget allows ${budget.packages}`,
        location: { setting: 'gate.budget.packages' },
      });
    }
    if (budget?.sizeMB !== undefined) {
      let bytes = 0;
      for (const node of view.files.values()) bytes += node.size;
      const sizeMB = bytes / bytesPerMB;
      if (sizeMB > budget.sizeMB) {
        results.push({
          message: `the image's files take ${sizeMB.toFixed(1)} MB, the budget allows ${budget.sizeMB} MB`,
          location: { setting: 'gate.budget.sizeMB' },
        });
      }
    }
    return results;
  },
};
