import { everyProfile, type HardeningRule } from './rule.js';

const otherWrite = 0o002;
const sticky = 0o1000;

/** Symlinks are 0777 by nature and mean nothing; files and folders are what count. */
export const worldWritablePaths: HardeningRule = {
  id: 'HERD-H003',
  name: 'world-writable-paths',
  title: 'No world-writable files, and no world-writable folders without the sticky bit',
  severity: 'error',
  rationale:
    'Any user can change a world-writable file, or replace the files in a world-writable folder that lacks the sticky bit: a way to plant code for a more privileged process to run. /tmp-style folders keep the sticky bit, so only owners can remove their files.',
  references: [],
  profiles: everyProfile,
  check({ view }) {
    const results = [];
    for (const node of view.files.values()) {
      if (node.type === 'symlink' || (node.mode & otherWrite) === 0) continue;
      if (node.type === 'dir' && (node.mode & sticky) !== 0) continue;
      const owner = view.owners.get(node.path);
      const what = node.type === 'dir' ? 'folder without the sticky bit' : 'file';
      results.push({
        message: `${node.path} is a world-writable ${what} (mode ${node.mode.toString(8).padStart(4, '0')})`,
        location: { path: node.path, ...(owner ? { package: owner } : {}) },
      });
    }
    return results;
  },
};
