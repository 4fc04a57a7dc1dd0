import { cisDocker, dockle } from './references.js';
import { everyProfile, type HardeningRule, type RuleResult } from './rule.js';

/**
 * Every package must come from a suite whose InRelease the lock verified (a signer recorded). herd
 * resolves only from verified suites, so its own images always pass; the rule reads the lock's
 * data rather than trusting that, so a hand-edited lock or a future resolver bug still shows.
 * A package the lock does not list at all (from a base image, say) is a warning, and without the
 * lock nothing can be checked, which is said once as `info`.
 */
export const signedSuites: HardeningRule = {
  id: 'HERD-H012',
  name: 'signed-suites',
  title: 'Every package comes from a signed suite',
  severity: 'error',
  rationale:
    "A package from an unverified suite could be anyone's: the repository signature is what ties a .deb to Debian (or to your own archive key).",
  references: [
    cisDocker('4.11', 'Ensure only verified packages are installed'),
    dockle('CIS-DI-0011', 'Install verified packages only'),
  ],
  profiles: everyProfile,
  check({ view }) {
    const lock = view.lock;
    if (!lock) {
      return [
        {
          message: 'package origins not checked: the image was gated without its herd.lock',
          location: { setting: 'herd.lock' },
          level: 'info',
        },
      ];
    }
    const signed = new Set(lock.suites.filter((s) => s.signer.trim() !== '').map((s) => s.suite));
    const results: RuleResult[] = [];
    const unlisted: string[] = [];
    for (const pkg of view.packages) {
      if (pkg.suite === undefined) unlisted.push(pkg.name);
      else if (!signed.has(pkg.suite)) {
        results.push({
          message: `package ${pkg.name} ${pkg.version} comes from suite ${pkg.suite}, which the lock records no signature for`,
          location: { package: pkg.name },
        });
      }
    }
    if (unlisted.length > 0) {
      const shown =
        unlisted.slice(0, 10).join(', ') + (unlisted.length > 10 ? `, … (${unlisted.length} in all)` : '');
      results.push({
        message: `the lock does not list ${unlisted.length} installed package(s), so their suite is unknown: ${shown}`,
        location: { setting: 'herd.lock' },
        level: 'warning',
      });
    }
    return results;
  },
};
