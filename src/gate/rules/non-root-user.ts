import { uidOfUser } from './account-files.js';
import { cisDocker, dockle } from './references.js';
import { everyProfile, type HardeningRule } from './rule.js';

/** The image config's `User`, `user[:group]` by name or id; empty means root. */
export const nonRootUser: HardeningRule = {
  id: 'HERD-H001',
  name: 'non-root-user',
  title: 'The image runs as a user other than root',
  severity: 'error',
  rationale:
    'A process running as root in a container is root on the host as soon as it escapes: one kernel or runtime bug away. Run as an unprivileged uid (herd uses 65532 unless the spec says otherwise).',
  references: [
    cisDocker('4.1', 'Ensure that a user for the container has been created'),
    dockle('CIS-DI-0001', 'Create a user for the container'),
  ],
  profiles: everyProfile,
  check({ view }) {
    const user = (view.config.config.User ?? '').trim();
    const location = { setting: 'config.User' };
    const name = user.split(':')[0] ?? '';
    if (name === '') {
      return [{ message: 'the image runs as root: its config sets no User', location }];
    }
    const uid = /^\d+$/.test(name) ? Number(name) : uidOfUser(view, name);
    if (uid === undefined) {
      return [
        {
          message: `config.User names "${name}", which /etc/passwd does not list, so the runtime cannot start the image as it`,
          location,
          level: 'warning',
        },
      ];
    }
    if (uid === 0) return [{ message: `the image runs as root: config.User is "${user}"`, location }];
    return [];
  },
};
