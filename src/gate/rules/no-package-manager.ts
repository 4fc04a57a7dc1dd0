import { executablesNamed } from './executables.js';
import { cisDocker, dockle } from './references.js';
import { type HardeningRule, strictOnly } from './rule.js';

/** dpkg and apt's front ends: what changes an installed image. */
export const packageManagerNames: ReadonlySet<string> = new Set([
  'dpkg',
  'dpkg-deb',
  'dpkg-query',
  'apt',
  'apt-get',
  'apt-cache',
  'apt-mark',
  'aptitude',
]);

export const noPackageManager: HardeningRule = {
  id: 'HERD-H006',
  name: 'no-package-manager',
  title: 'No package manager in the image (strict)',
  severity: 'error',
  rationale:
    'An image is immutable: changes come from a new lock and a new build, never from installing into a running instance. A package manager only helps an attacker add tools.',
  references: [
    cisDocker('4.3', 'Ensure that unnecessary packages are not installed in the container'),
    dockle('CIS-DI-0003', 'Do not install unnecessary packages in the container'),
  ],
  profiles: strictOnly,
  check({ view }) {
    return executablesNamed(view, packageManagerNames).map((node) => {
      const owner = view.owners.get(node.path);
      return {
        message: `${node.path} is a package manager`,
        location: { path: node.path, ...(owner ? { package: owner } : {}) },
      };
    });
  },
};
