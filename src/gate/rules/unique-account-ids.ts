import { accountRecords } from './account-files.js';
import { dockle } from './references.js';
import { everyProfile, type HardeningRule, type RuleResult } from './rule.js';

/** Two names for one uid (or gid) make file ownership and audit logs lie about who did what. */
export const uniqueAccountIds: HardeningRule = {
  id: 'HERD-H009',
  name: 'unique-account-ids',
  title: 'No duplicate user or group ids, and no duplicate names',
  severity: 'error',
  rationale:
    "A uid or gid shared by two accounts (a second uid 0 above all) grants one account the other's rights under a different name, and hides it in logs.",
  references: [dockle('DKL-LI-0002', 'Be unique UID/GROUPs')],
  profiles: everyProfile,
  check({ view }) {
    return [
      ...duplicates(accountRecords(view, '/etc/passwd'), { field: 2, what: 'uid' }),
      ...duplicates(accountRecords(view, '/etc/passwd'), { field: 0, what: 'user name' }),
      ...duplicates(accountRecords(view, '/etc/group'), { field: 2, what: 'gid' }),
      ...duplicates(accountRecords(view, '/etc/group'), { field: 0, what: 'group name' }),
    ];
  },
};

function duplicates(
  records: ReturnType<typeof accountRecords>,
  key: { field: number; what: string },
): RuleResult[] {
  const first = new Map<string, { name: string; line: number }>();
  const results: RuleResult[] = [];
  for (const record of records) {
    const value = record.fields[key.field] ?? '';
    const name = record.fields[0] ?? '';
    const earlier = first.get(value);
    if (!earlier) {
      first.set(value, { name, line: record.line });
      continue;
    }
    results.push({
      message: `${record.path} gives ${key.what} ${value} twice: ${earlier.name} (line ${earlier.line}) and ${name} (line ${record.line})`,
      location: { path: record.path, line: record.line },
    });
  }
  return results;
}
