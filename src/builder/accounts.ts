/**
 * /etc/passwd and /etc/group for an image that has no base-passwd scripts: root, the distroless
 * `nonroot` account (65532), and the spec's user. No account has a password or a login shell.
 */
import type { RunSpec } from '../specfile/index.js';
import { BuildError } from './errors.js';

export const nonrootId = 65532;

export interface AccountFiles {
  passwd: string;
  group: string;
  homes: { path: string; uid: number; gid: number }[];
}

export function accountFiles(user: RunSpec['user']): AccountFiles {
  const users = [
    { name: 'root', uid: 0, gid: 0, home: 'root' },
    { name: 'nonroot', uid: nonrootId, gid: nonrootId, home: 'home/nonroot' },
  ];
  if (!users.some((u) => u.uid === user.uid)) {
    users.push({ name: user.name, uid: user.uid, gid: user.gid, home: `home/${user.name}` });
  }
  const groups = [
    { name: 'root', gid: 0 },
    { name: 'nonroot', gid: nonrootId },
  ];
  if (!groups.some((g) => g.gid === user.gid)) groups.push({ name: user.name, gid: user.gid });
  return {
    passwd: users
      .map((u) => `${u.name}:x:${u.uid}:${u.gid}:${u.name}:/${u.home}:/usr/sbin/nologin\n`)
      .join(''),
    group: groups.map((g) => `${g.name}:x:${g.gid}:\n`).join(''),
    homes: users.map((u) => ({ path: u.home, uid: u.uid, gid: u.gid })),
  };
}

/**
 * Accounts on top of a base's own /etc/passwd and /etc/group: its lines stay as they are, and
 * root, nonroot and the spec's user are appended only when their id is missing. Unchanged text
 * means the base's files stand, so no new layer carries them. A name the base gives another id is
 * refused: two lines for one name would leave the account to whichever a tool reads first.
 */
export function accountFilesOver(
  base: { passwd: string; group: string },
  user: RunSpec['user'],
): AccountFiles {
  const wanted = accountFiles(user);
  const users = accountLines(base.passwd);
  const groups = accountLines(base.group);
  let passwd = base.passwd;
  let group = base.group;
  const homes: AccountFiles['homes'] = [];
  for (const line of wanted.passwd.split('\n').filter(Boolean)) {
    const [name = '', , uid = '', gid = '', , home = ''] = line.split(':');
    if (users.some((u) => u.id === uid)) continue;
    checkNameIsFree(users, { name, id: uid, file: '/etc/passwd' });
    passwd = appendLine(passwd, line);
    homes.push({ path: home.replace(/^\/+/, ''), uid: Number(uid), gid: Number(gid) });
  }
  for (const line of wanted.group.split('\n').filter(Boolean)) {
    const [name = '', , gid = ''] = line.split(':');
    if (groups.some((g) => g.id === gid)) continue;
    checkNameIsFree(groups, { name, id: gid, file: '/etc/group' });
    group = appendLine(group, line);
  }
  return { passwd, group, homes };
}

/** `name:x:id:…` lines; anything else (comments, NIS `+` lines) is kept but not read. */
function accountLines(text: string): { name: string; id: string }[] {
  return text
    .split('\n')
    .map((line) => line.split(':'))
    .filter((fields) => fields.length >= 3 && /^\d+$/.test(fields[2] ?? ''))
    .map((fields) => ({ name: fields[0] ?? '', id: fields[2] ?? '' }));
}

function checkNameIsFree(
  existing: { name: string; id: string }[],
  wanted: { name: string; id: string; file: string },
): void {
  const taken = existing.find((entry) => entry.name === wanted.name);
  if (taken) {
    throw new BuildError(
      'ACCOUNT_CONFLICT',
      `the base image's ${wanted.file} has ${wanted.name} with id ${taken.id}, but this image needs ${wanted.name} with id ${wanted.id}; pick another name or id in run.user`,
    );
  }
}

function appendLine(text: string, line: string): string {
  return `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${line}\n`;
}
