/**
 * /etc/passwd and /etc/group for an image that has no base-passwd scripts: root, the distroless
 * `nonroot` account (65532), and the spec's user. No account has a password or a login shell.
 */
import type { RunSpec } from '../spec/types.js';

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
