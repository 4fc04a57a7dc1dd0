import { cisDocker } from './references.js';
import { everyProfile, type HardeningRule } from './rule.js';

/**
 * A spec that opts in to a writable root (`run.writableRoot: true`) gets a warning, never a failure:
 * the option exists for software that insists on writing outside its declared paths, and the
 * integrity monitor still replaces an instance whose files change. The warning keeps the choice
 * visible in every verdict, so it is made on purpose. Without the spec there is nothing to judge:
 * the root's mode is a run-time setting, not part of the image.
 */
export const writableRootFilesystem: HardeningRule = {
  id: 'HERD-H014',
  name: 'writable-root-filesystem',
  title: 'The root filesystem is mounted read-only',
  severity: 'warning',
  rationale:
    'A read-only root keeps an intruder from replacing binaries or planting tools, and keeps every change confined to declared tmpfs paths. A writable root leaves only drift detection between a change and the next request.',
  references: [cisDocker('5.12', "Ensure that the container's root filesystem is mounted as read only")],
  profiles: everyProfile,
  check({ spec }) {
    if (spec?.run.writableRoot !== true) return [];
    return [
      {
        message:
          'the spec asks for a writable root filesystem (run.writableRoot: true); declare the paths the service writes in run.writable instead where it allows',
        location: { setting: 'spec.run.writableRoot' },
      },
    ];
  },
};
