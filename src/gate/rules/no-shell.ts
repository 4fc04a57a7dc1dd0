import { executablesNamed } from './executables.js';
import { cisDocker, dockle } from './references.js';
import { type HardeningRule, strictOnly } from './rule.js';

/** POSIX and interactive shells, and the multi-call binaries that include one. */
export const shellNames: ReadonlySet<string> = new Set([
  'sh',
  'ash',
  'bash',
  'rbash',
  'dash',
  'posh',
  'yash',
  'ksh',
  'ksh93',
  'mksh',
  'pdksh',
  'zsh',
  'csh',
  'tcsh',
  'fish',
  'busybox',
  'toybox',
]);

export const noShell: HardeningRule = {
  id: 'HERD-H005',
  name: 'no-shell',
  title: 'No shell in the image (strict)',
  severity: 'error',
  rationale:
    'A shell is what most exploits reach for next: without one, an attacker who gets code execution has no interpreter for the next step. herd runs commands in exec form and never needs one.',
  references: [
    cisDocker('4.3', 'Ensure that unnecessary packages are not installed in the container'),
    dockle('CIS-DI-0003', 'Do not install unnecessary packages in the container'),
  ],
  profiles: strictOnly,
  check({ view }) {
    return executablesNamed(view, shellNames).map((node) => {
      const owner = view.owners.get(node.path);
      return {
        message: `${node.path} is a shell`,
        location: { path: node.path, ...(owner ? { package: owner } : {}) },
      };
    });
  },
};
