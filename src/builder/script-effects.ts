/**
 * Does, on the composed tree, what the packages' maintainer scripts would have done and herd can
 * do declaratively (maintainer-scripts.ts reads them): alternatives as `update-alternatives
 * --auto` leaves them, system accounts with stable ids, the folders and links the scripts make,
 * and what base-files' scripts set up (/var/run and /var/lock, /etc/nsswitch.conf). Returns what
 * it did and what it could not, for the provenance and the gate. Pure: changes only the tree.
 */
import { createHash } from 'node:crypto';
import { resolvePath } from './entrypoint-check.js';
import { BuildError } from './errors.js';
import { fileBytes } from './file-content.js';
import { type ImageTree, ownerBase, ownerHerd } from './image-tree.js';
import { jksTruststore, pemCertificates } from './java-truststore.js';
import { type Alternative, readMaintainerScript, type ScriptActions } from './maintainer-scripts.js';

export interface ScriptPackage {
  name: string;
  preinst?: string;
  postinst?: string;
}

export interface ScriptEffects {
  alternatives: { name: string; link: string; path: string; priority: number; package: string }[];
  accounts: { kind: 'user' | 'group'; name: string; id: number; package: string }[];
  directories: { path: string; package: string }[];
  links: { link: string; target: string; package: string }[];
  /** Files herd writes as base-files' and libc-bin's scripts would. */
  systemFiles: string[];
  /** Per package, the script lines herd did not reproduce. */
  unreproduced: { package: string; lines: string[] }[];
}

/**
 * Debian's static ids from base-passwd (its passwd.master and group.master): an account a
 * script names gets the id every Debian system gives it.
 */
const baseUsers: Record<string, { uid: number; gid: number; home: string }> = {
  daemon: { uid: 1, gid: 1, home: '/usr/sbin' },
  bin: { uid: 2, gid: 2, home: '/bin' },
  sys: { uid: 3, gid: 3, home: '/dev' },
  games: { uid: 5, gid: 60, home: '/usr/games' },
  man: { uid: 6, gid: 12, home: '/var/cache/man' },
  lp: { uid: 7, gid: 7, home: '/var/spool/lpd' },
  mail: { uid: 8, gid: 8, home: '/var/mail' },
  news: { uid: 9, gid: 9, home: '/var/spool/news' },
  uucp: { uid: 10, gid: 10, home: '/var/spool/uucp' },
  proxy: { uid: 13, gid: 13, home: '/bin' },
  'www-data': { uid: 33, gid: 33, home: '/var/www' },
  backup: { uid: 34, gid: 34, home: '/var/backups' },
  list: { uid: 38, gid: 38, home: '/var/list' },
  irc: { uid: 39, gid: 39, home: '/run/ircd' },
  _apt: { uid: 42, gid: 65534, home: '/nonexistent' },
  nobody: { uid: 65534, gid: 65534, home: '/nonexistent' },
};
const baseGroups: Record<string, number> = {
  daemon: 1,
  bin: 2,
  sys: 3,
  adm: 4,
  tty: 5,
  disk: 6,
  lp: 7,
  mail: 8,
  news: 9,
  uucp: 10,
  man: 12,
  proxy: 13,
  kmem: 15,
  dialout: 20,
  fax: 21,
  voice: 22,
  cdrom: 24,
  floppy: 25,
  tape: 26,
  sudo: 27,
  audio: 29,
  dip: 30,
  'www-data': 33,
  backup: 34,
  operator: 37,
  list: 38,
  irc: 39,
  src: 40,
  shadow: 42,
  utmp: 43,
  video: 44,
  sasl: 45,
  plugdev: 46,
  staff: 50,
  games: 60,
  users: 100,
  nogroup: 65534,
};

/** Debian's system id range for accounts made by adduser --system (adduser.conf FIRST_SYSTEM_UID..LAST_SYSTEM_UID, less 0-99 which base-passwd owns). */
const systemRange = { first: 100, last: 999 };

/** As base-files installs /etc/nsswitch.conf, less the `db` sources that need libnss-db. */
export const nsswitchConf = `# /etc/nsswitch.conf: written by herd as base-files would, files first.
passwd:         files
group:          files
shadow:         files
gshadow:        files

hosts:          files dns
networks:       files

protocols:      files
services:       files
ethers:         files
rpc:            files
`;

export function applyScriptEffects(tree: ImageTree, packages: ScriptPackage[]): ScriptEffects {
  const effects: ScriptEffects = {
    alternatives: [],
    accounts: [],
    directories: [],
    links: [],
    systemFiles: [],
    unreproduced: [],
  };
  const read = [...packages]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((pkg) => ({ pkg, actions: mergeActions([pkg.preinst, pkg.postinst]) }));
  for (const { pkg, actions } of read) {
    if (actions.unreproduced.length > 0)
      effects.unreproduced.push({ package: pkg.name, lines: actions.unreproduced });
  }
  const ids = writeAccounts(tree, read, effects);
  writeAlternatives(tree, read, effects);
  for (const { pkg, actions } of read) {
    for (const dir of actions.directories) {
      const path = dir.path.replace(/^\/+/, '');
      if (path === '' || tree.get(path)) continue;
      const uid = dir.owner === undefined ? 0 : (ids.users.get(dir.owner) ?? 0);
      const gid = dir.group === undefined ? 0 : (ids.groups.get(dir.group) ?? 0);
      tree.add({ path, type: 'dir', mode: dir.mode ?? 0o755, uid, gid, owner: pkg.name });
      effects.directories.push({ path: dir.path, package: pkg.name });
    }
    for (const link of actions.links) {
      const path = link.link.replace(/^\/+/, '');
      const parent = path.slice(0, path.lastIndexOf('/'));
      if (tree.get(path) || tree.get(parent)?.type !== 'dir') continue;
      tree.add({ path, type: 'symlink', target: link.target, mode: 0o777, uid: 0, gid: 0, owner: pkg.name });
      effects.links.push({ ...link, package: pkg.name });
    }
  }
  writeBaseFilesSetup(tree, effects);
  if (packages.some((pkg) => pkg.name === 'ca-certificates-java')) writeJavaTruststore(tree, effects);
  return effects;
}

/**
 * ca-certificates-java's postinst runs keytool to import every CA certificate into the JKS store
 * Java reads; herd writes that store itself, from the same certificates.
 */
function writeJavaTruststore(tree: ImageTree, effects: ScriptEffects): void {
  const certificates = tree
    .sorted()
    .filter(
      (n) => n.type === 'file' && n.path.startsWith('usr/share/ca-certificates/') && n.path.endsWith('.crt'),
    )
    .flatMap((n) =>
      pemCertificates(fileBytes(n).toString('utf8')).map((der) => ({
        alias: `debian:${n.path.slice(n.path.lastIndexOf('/') + 1).replace(/\.crt$/, '.pem')}`,
        der,
      })),
    );
  if (certificates.length === 0) return;
  tree.add(
    {
      path: 'etc/ssl/certs/java/cacerts',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      data: jksTruststore(certificates),
      owner: 'ca-certificates-java',
    },
    { replace: true },
  );
  effects.systemFiles.push('/etc/ssl/certs/java/cacerts');
}

function mergeActions(scripts: (string | undefined)[]): ScriptActions {
  const merged: ScriptActions = {
    alternatives: [],
    accounts: [],
    directories: [],
    links: [],
    accountsUsed: [],
    unreproduced: [],
  };
  for (const script of scripts) {
    if (script === undefined) continue;
    const actions = readMaintainerScript(script);
    for (const key of Object.keys(merged) as (keyof ScriptActions)[]) {
      (merged[key] as unknown[]).push(...(actions[key] as unknown[]));
    }
  }
  return merged;
}

/** Highest priority wins, as `--auto` picks; a tie goes to the path that sorts first, so the choice is stable. */
function writeAlternatives(
  tree: ImageTree,
  read: { pkg: ScriptPackage; actions: ScriptActions }[],
  effects: ScriptEffects,
): void {
  const byName = new Map<string, { alternative: Alternative; package: string }[]>();
  for (const { pkg, actions } of read) {
    for (const alternative of actions.alternatives) {
      // update-alternatives refuses an alternative whose path is not there; so does herd (an excluded file).
      if (resolvePath(tree, alternative.path)?.node.type !== 'file') continue;
      byName.set(alternative.name, [
        ...(byName.get(alternative.name) ?? []),
        { alternative, package: pkg.name },
      ]);
    }
  }
  for (const name of [...byName.keys()].sort()) {
    const candidates = byName.get(name) ?? [];
    candidates.sort(
      (a, b) =>
        b.alternative.priority - a.alternative.priority ||
        (a.alternative.path < b.alternative.path ? -1 : a.alternative.path > b.alternative.path ? 1 : 0),
    );
    const winner = candidates[0];
    if (!winner) continue;
    const { alternative } = winner;
    for (const link of [alternative, ...alternative.slaves]) {
      if (link !== alternative && !resolvePath(tree, link.path)) continue;
      const path = link.link.replace(/^\/+/, '');
      // A real file at the link stays: update-alternatives does not replace what it did not make.
      if (tree.get(path)) continue;
      const owner = winner.package;
      tree.add({
        path,
        type: 'symlink',
        target: `/etc/alternatives/${link.name}`,
        mode: 0o777,
        uid: 0,
        gid: 0,
        owner,
      });
      tree.add(
        {
          path: `etc/alternatives/${link.name}`,
          type: 'symlink',
          target: link.path,
          mode: 0o777,
          uid: 0,
          gid: 0,
          owner,
        },
        { replace: true },
      );
      if (link === alternative) {
        effects.alternatives.push({
          name,
          link: link.link,
          path: link.path,
          priority: alternative.priority,
          package: owner,
        });
      }
    }
  }
}

interface AccountIds {
  users: Map<string, number>;
  groups: Map<string, number>;
}

/**
 * Appends the accounts the scripts make or name to /etc/passwd and /etc/group. Ids: base-passwd's
 * for the accounts it defines, else a hash of the name into the system range, moving on past ids
 * already taken, in name order so the same packages always give the same ids.
 */
function writeAccounts(
  tree: ImageTree,
  read: { pkg: ScriptPackage; actions: ScriptActions }[],
  effects: ScriptEffects,
): AccountIds {
  const passwd = textOf(tree, 'etc/passwd');
  const group = textOf(tree, 'etc/group');
  const users = idsOf(passwd);
  const groups = idsOf(group);
  const wantedUsers = new Map<string, { home?: string; group?: string; package: string }>();
  const wantedGroups = new Map<string, string>();
  for (const { pkg, actions } of read) {
    for (const account of actions.accounts) {
      if (account.kind === 'group')
        wantedGroups.set(account.name, wantedGroups.get(account.name) ?? pkg.name);
      else if (!wantedUsers.has(account.name)) {
        wantedUsers.set(account.name, {
          ...(account.home ? { home: account.home } : {}),
          ...(account.group ? { group: account.group } : {}),
          package: pkg.name,
        });
        if (account.group) wantedGroups.set(account.group, wantedGroups.get(account.group) ?? pkg.name);
      }
    }
    for (const name of actions.accountsUsed) {
      if (baseUsers[name] && !wantedUsers.has(name)) wantedUsers.set(name, { package: pkg.name });
      if (baseGroups[name] !== undefined && !wantedGroups.has(name)) wantedGroups.set(name, pkg.name);
    }
  }
  for (const name of wantedUsers.keys()) {
    const base = baseUsers[name];
    if (base && !wantedGroups.has(groupNameOf(base.gid) ?? '')) {
      const groupName = groupNameOf(base.gid);
      if (groupName) wantedGroups.set(groupName, wantedUsers.get(name)?.package ?? '');
    }
  }

  let groupText = group;
  for (const name of [...wantedGroups.keys()].sort()) {
    if (groups.byName.has(name)) continue;
    const id = pickId(name, baseGroups[name], groups.byId, '/etc/group');
    groups.byName.set(name, id);
    groups.byId.set(id, name);
    groupText = appendLine(groupText, `${name}:x:${id}:`);
    effects.accounts.push({ kind: 'group', name, id, package: wantedGroups.get(name) ?? '' });
  }
  let passwdText = passwd;
  for (const name of [...wantedUsers.keys()].sort()) {
    if (users.byName.has(name)) continue;
    const wanted = wantedUsers.get(name) as { home?: string; group?: string; package: string };
    const base = baseUsers[name];
    const id = pickId(name, base?.uid, users.byId, '/etc/passwd');
    users.byName.set(name, id);
    users.byId.set(id, name);
    const gid = base?.gid ?? groups.byName.get(wanted.group ?? 'nogroup') ?? 65534;
    const home = base?.home ?? wanted.home ?? '/nonexistent';
    passwdText = appendLine(passwdText, `${name}:x:${id}:${gid}:${name}:${home}:/usr/sbin/nologin`);
    effects.accounts.push({ kind: 'user', name, id, package: wanted.package });
  }
  const etc = { type: 'file' as const, mode: 0o644, uid: 0, gid: 0, owner: ownerHerd };
  if (passwdText !== passwd)
    tree.add({ ...etc, path: 'etc/passwd', data: Buffer.from(passwdText) }, { replace: true });
  if (groupText !== group)
    tree.add({ ...etc, path: 'etc/group', data: Buffer.from(groupText) }, { replace: true });
  return { users: users.byName, groups: groups.byName };
}

function groupNameOf(gid: number): string | undefined {
  return Object.entries(baseGroups).find(([, id]) => id === gid)?.[0];
}

function pickId(name: string, fixed: number | undefined, taken: Map<number, string>, file: string): number {
  if (fixed !== undefined) {
    const holder = taken.get(fixed);
    if (holder !== undefined && holder !== name) {
      throw new BuildError(
        'ACCOUNT_CONFLICT',
        `${file}: ${name} needs id ${fixed}, as base-passwd gives it, but ${holder} has that id; pick another run.user id`,
      );
    }
    return fixed;
  }
  const span = systemRange.last - systemRange.first + 1;
  const start = createHash('sha256').update(name).digest().readUInt32BE(0) % span;
  for (let i = 0; i < span; i++) {
    const id = systemRange.first + ((start + i) % span);
    if (!taken.has(id)) return id;
  }
  throw new BuildError(
    'ACCOUNT_CONFLICT',
    `${file}: no free id left in ${systemRange.first}-${systemRange.last} for ${name}`,
  );
}

function idsOf(text: string): { byName: Map<string, number>; byId: Map<number, string> } {
  const byName = new Map<string, number>();
  const byId = new Map<number, string>();
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    if (!name || id === undefined || !/^\d+$/.test(id)) continue;
    byName.set(name, Number(id));
    byId.set(Number(id), name);
  }
  return { byName, byId };
}

function textOf(tree: ImageTree, path: string): string {
  const node = tree.get(path);
  return node?.type === 'file' ? fileBytes(node).toString('utf8') : '';
}

function appendLine(text: string, line: string): string {
  return `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${line}\n`;
}

/** base-files' postinst: /var/run and /var/lock as links into /run, and /etc/nsswitch.conf. */
function writeBaseFilesSetup(tree: ImageTree, effects: ScriptEffects): void {
  const node = { uid: 0, gid: 0, owner: ownerHerd };
  if (tree.get('var')?.type === 'dir') {
    if (!tree.get('run')) tree.add({ ...node, path: 'run', type: 'dir', mode: 0o755 });
    if (!tree.get('run/lock')) tree.add({ ...node, path: 'run/lock', type: 'dir', mode: 0o1777 });
    for (const [path, target] of [
      ['var/run', '/run'],
      ['var/lock', '/run/lock'],
    ] as const) {
      // A package may ship the folder (base-files does); empty, it becomes the link its script makes.
      const existing = tree.get(path);
      const hasChildren = [...tree.nodes.keys()].some((p) => p.startsWith(`${path}/`));
      // A base's folder stays: a layer cannot turn a lower layer's folder into a link without a whiteout.
      if (existing && (existing.type !== 'dir' || hasChildren || existing.owner === ownerBase)) continue;
      tree.add({ ...node, path, type: 'symlink', target, mode: 0o777 }, { replace: true });
      effects.systemFiles.push(`/${path}`);
    }
  }
  if (!tree.get('etc/nsswitch.conf')) {
    // base-files ships its own copy under /usr/share and its script puts it in /etc.
    const shipped = tree.get('usr/share/base-files/nsswitch.conf');
    const data = shipped?.type === 'file' ? fileBytes(shipped) : Buffer.from(nsswitchConf);
    tree.add({ ...node, path: 'etc/nsswitch.conf', type: 'file', mode: 0o644, data });
    effects.systemFiles.push('/etc/nsswitch.conf');
  }
}
