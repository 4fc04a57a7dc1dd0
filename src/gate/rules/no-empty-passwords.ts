import { accountRecords } from './account-files.js';
import { dockle } from './references.js';
import { everyProfile, type HardeningRule, type RuleResult } from './rule.js';

/**
 * An empty password field lets anyone log in as the account without a password (`x` in passwd
 * defers to shadow; `!` and `*` lock the account).
 */
export const noEmptyPasswords: HardeningRule = {
  id: 'HERD-H010',
  name: 'no-empty-passwords',
  title: 'No account with an empty password',
  severity: 'error',
  rationale:
    'An account with an empty password field needs no password at all: su, login or any PAM service accepts it.',
  references: [dockle('DKL-LI-0001', 'Avoid empty password')],
  profiles: everyProfile,
  check({ view }) {
    const results: RuleResult[] = [];
    for (const path of ['/etc/passwd', '/etc/shadow']) {
      for (const record of accountRecords(view, path)) {
        if (record.fields.length < 2 || record.fields[1] !== '') continue;
        results.push({
          message: `account ${record.fields[0] ?? ''} has an empty password in ${path}`,
          location: { path, line: record.line },
        });
      }
    }
    return results;
  },
};
