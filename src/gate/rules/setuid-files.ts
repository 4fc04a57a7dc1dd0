import { cisDocker, dockle } from './references.js';
import { everyProfile, type HardeningRule } from './rule.js';

const setuid = 0o4000;
const setgid = 0o2000;

/** Regular files only: the setgid bit on a folder only makes new files inherit its group. */
export const setuidFiles: HardeningRule = {
  id: 'HERD-H002',
  name: 'setuid-files',
  title: 'No setuid or setgid files, unless the spec allows them by path',
  severity: 'error',
  rationale:
    "A setuid or setgid program runs with its owner's or group's rights whoever starts it, which is how a compromised unprivileged process becomes root. Services rarely need one; list the ones yours needs in gate.allowSetuid.",
  references: [
    cisDocker('4.8', 'Ensure setuid and setgid permissions are removed'),
    dockle('CIS-DI-0008', 'Confirm safety of setuid/setgid files'),
  ],
  profiles: everyProfile,
  check({ view, gate }) {
    const allowed = new Set(gate.allowSetuid);
    const results = [];
    for (const node of view.files.values()) {
      if (node.type !== 'file' || (node.mode & (setuid | setgid)) === 0 || allowed.has(node.path)) continue;
      const bits = [node.mode & setuid ? 'setuid' : '', node.mode & setgid ? 'setgid' : ''].filter(Boolean);
      const owner = view.owners.get(node.path);
      results.push({
        message: `${node.path} is ${bits.join(' and ')} (mode ${octal(node.mode)}, uid ${node.uid}, gid ${node.gid})`,
        location: { path: node.path, ...(owner ? { package: owner } : {}) },
      });
    }
    return results;
  },
};

function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}
