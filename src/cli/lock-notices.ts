/** What `herd lock`, `herd build` and `herd up` say on standard error while a lock is resolved. */
import { describeDowngrade } from '../debian/index.js';
import type { LockNotices } from '../pipeline/index.js';

export const lockNotices: LockNotices = {
  replacingUnreadable(lockPath, error) {
    console.error(`herd: replacing ${lockPath}, which does not read (${error.message})`);
  },
  replacedCacheEntries(reasons) {
    for (const reason of reasons) console.error(`herd: downloaded again: ${reason}`);
  },
  allowedDowngrades(downgrades) {
    for (const downgrade of downgrades) {
      console.error(`herd: --allow-downgrade: taking an older Release: ${describeDowngrade(downgrade)}`);
    }
  },
};
