/**
 * What a package's maintainer scripts would have done, read (never run) from their text. herd
 * understands a few commands whose effect is a fact about the filesystem: update-alternatives
 * --install, adduser/useradd/addgroup/groupadd for system accounts, mkdir/install -d, ln -s, and
 * the accounts named in chown. It expands the constants the script sets at its top and `for x in
 * …` loops over them; anything it cannot resolve is reported with the script's line, never guessed.
 * Pure: text in, actions out.
 */

export interface AlternativeLink {
  link: string;
  name: string;
  path: string;
}

export interface Alternative extends AlternativeLink {
  priority: number;
  slaves: AlternativeLink[];
}

export interface SystemAccount {
  kind: 'user' | 'group';
  name: string;
  /** Home folder, for users, when the script names one. */
  home?: string;
  /** The user's primary group, when the script names one (`--ingroup`, `-g`, or `--group`: its own). */
  group?: string;
}

export interface ScriptDirectory {
  path: string;
  mode?: number;
  owner?: string;
  group?: string;
}

export interface ScriptLink {
  link: string;
  target: string;
}

export interface ScriptActions {
  alternatives: Alternative[];
  accounts: SystemAccount[];
  directories: ScriptDirectory[];
  links: ScriptLink[];
  /** Account names the script hands files to (`chown www-data:adm …`), which must exist. */
  accountsUsed: string[];
  /** Lines that change the system and that herd did not reproduce, as the script has them. */
  unreproduced: string[];
}

/** Commands with no effect inside an image herd builds: services, caches rebuilt at run time, debconf, shell built-ins. */
const ignoredCommands = new Set([
  '.',
  ':',
  '[',
  'break',
  'case',
  'continue',
  'db_get',
  'db_input',
  'db_go',
  'db_stop',
  'db_purge',
  'deb-systemd-helper',
  'deb-systemd-invoke',
  'do',
  'done',
  'dpkg-maintscript-helper',
  'dpkg-statoverride',
  'dpkg-trigger',
  'echo',
  'elif',
  'else',
  'esac',
  'exit',
  'export',
  'false',
  'fi',
  'for',
  'if',
  'in',
  'invoke-rc.d',
  'ldconfig',
  'local',
  'printf',
  'return',
  'set',
  'shift',
  'systemctl',
  'test',
  'then',
  'true',
  'unset',
  'update-rc.d',
  'while',
  ';;',
  '{',
  '}',
]);

export function readMaintainerScript(text: string): ScriptActions {
  const actions: ScriptActions = {
    alternatives: [],
    accounts: [],
    directories: [],
    links: [],
    accountsUsed: [],
    unreproduced: [],
  };
  const lines = joinContinuations(text);
  const constants = topLevelConstants(lines);
  for (const { line, constants: known } of expandLoops(lines, constants)) {
    // `[ -d /x ] || mkdir /x`, `if …; then cmd`: each simple command on its own.
    for (const segment of line.split(/\s*(?:\|\||&&|;)\s*/)) {
      const command = segment.replace(/^(then|do|else|!)\s+/, '').trim();
      if (command !== '') readCommand(line, command, known, actions);
    }
  }
  actions.unreproduced = [...new Set(actions.unreproduced)];
  actions.accountsUsed = [...new Set(actions.accountsUsed)];
  return actions;
}

interface ScriptLine {
  text: string;
  indented: boolean;
}

/** Joins `\`-continued lines, drops comments and blank lines. */
function joinContinuations(text: string): ScriptLine[] {
  const out: ScriptLine[] = [];
  let pending = '';
  let indented = false;
  for (const raw of text.split('\n')) {
    if (pending === '') indented = /^\s/.test(raw);
    const line = raw.replace(/\s+$/, '');
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const whole = `${pending}${line}`.trim();
    pending = '';
    if (whole === '' || whole.startsWith('#')) continue;
    out.push({ text: whole, indented });
  }
  return out;
}

/**
 * `name=value` lines at the script's top level, before its first `case`, `if` or function: the
 * constants a script sets for itself (`basedir=/usr/lib/jvm/…`). A value with a command
 * substitution is not a constant.
 */
function topLevelConstants(lines: ScriptLine[]): Map<string, string> {
  const constants = new Map<string, string>();
  for (const { text, indented } of lines) {
    if (/^(case|if|for|while)\b|\(\)\s*\{?$/.test(text)) break;
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(text);
    if (!match || indented) continue;
    const value = unquote(match[2] ?? '');
    if (value === undefined || /\$\(|`/.test(value)) continue;
    const expanded = expand(value, constants);
    if (expanded !== undefined) constants.set(match[1] as string, expanded);
  }
  return constants;
}

/** A shell word or quoted string without its quotes; undefined when quoting is unbalanced. */
function unquote(value: string): string | undefined {
  const trimmed = value.trim();
  const first = trimmed[0];
  if ((first === "'" || first === '"') && trimmed.endsWith(first) && trimmed.length >= 2) {
    return trimmed.slice(1, -1);
  }
  return /['"]/.test(trimmed) ? undefined : trimmed;
}

/** Replaces `$name` and `${name}` with known constants; undefined when one is unknown. */
function expand(text: string, constants: Map<string, string>): string | undefined {
  let unknown = false;
  const out = text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, a, b) => {
    const value = constants.get(a ?? b);
    if (value === undefined) unknown = true;
    return value ?? '';
  });
  return unknown ? undefined : out;
}

/** Each line with its words; the body of `for x in words; do … done` once per word. */
function expandLoops(
  lines: ScriptLine[],
  constants: Map<string, string>,
): { line: string; constants: Map<string, string> | undefined }[] {
  const out: { line: string; constants: Map<string, string> | undefined }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const text = (lines[i] as ScriptLine).text;
    const loop = /^for\s+([A-Za-z_][A-Za-z0-9_]*)\s+in\s+(.*?)\s*;?\s*(do)?$/.exec(text);
    if (!loop) {
      out.push({ line: text, constants });
      continue;
    }
    const end = loopEnd(lines, i);
    const body = lines.slice(i + 1, end);
    const items = expand(loop[2] ?? '', constants)
      ?.split(/\s+/)
      .filter(Boolean);
    if (items === undefined) {
      // The loop's list is unknown: its body's lines are reported, not guessed.
      for (const line of body) out.push({ line: line.text, constants: undefined });
    } else {
      for (const item of items) {
        const inner = new Map(constants).set(loop[1] as string, item);
        out.push(...expandLoops(body, inner));
      }
    }
    i = end;
  }
  return out;
}

function loopEnd(lines: ScriptLine[], start: number): number {
  let depth = 0;
  for (let i = start; i < lines.length; i++) {
    const text = (lines[i] as ScriptLine).text;
    if (/^(for|while)\b/.test(text)) depth++;
    if (/(^|;\s*)done\b/.test(text)) depth--;
    if (depth === 0) return i;
  }
  return lines.length - 1;
}

/**
 * A simple command's words after expanding constants; undefined when a word cannot be resolved.
 * With `dropUnknown`, words that cannot be resolved are left out and counted instead.
 */
function wordsOf(
  text: string,
  constants: Map<string, string>,
  options: { dropUnknown?: boolean } = {},
): { words: string[]; dropped: number } | undefined {
  const command = text.replace(/\s*(>|2>|>>|&>)\s*\S+/g, '');
  const words: string[] = [];
  let dropped = 0;
  for (const raw of command.match(/"[^"]*"|'[^']*'|\S+/g) ?? []) {
    const word = unquote(raw);
    const expanded = word === undefined ? undefined : raw.startsWith("'") ? word : expand(word, constants);
    if (expanded === undefined) {
      if (!options.dropUnknown) return undefined;
      dropped++;
      continue;
    }
    // An unquoted constant splits into words, as `$slaves` would.
    words.push(
      ...(raw.startsWith('"') || raw.startsWith("'") ? [expanded] : expanded.split(/\s+/).filter(Boolean)),
    );
  }
  return { words, dropped };
}

function readCommand(
  line: string,
  command: string,
  constants: Map<string, string> | undefined,
  actions: ScriptActions,
): void {
  const first = command.split(/\s+/, 1)[0] ?? '';
  if (ignoredCommands.has(first) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(first) || /^[^\s()]+\)$/.test(first)) {
    return;
  }
  if (first === 'chown') {
    // Who gets the files matters even when the files are a variable: those accounts must exist.
    const owner = command.split(/\s+/).find((word, i) => i > 0 && !word.startsWith('-'));
    if (owner && !owner.includes('$')) {
      for (const name of unquote(owner)?.split(/[:.]/) ?? []) {
        if (name !== '' && !/^\d+$/.test(name)) actions.accountsUsed.push(name);
      }
    }
    actions.unreproduced.push(line);
    return;
  }
  const known = [
    'update-alternatives',
    'adduser',
    'addgroup',
    'useradd',
    'groupadd',
    'mkdir',
    'install',
    'ln',
  ];
  // update-alternatives keeps its link when only trailing options (`$slave1`) are unknown; the line is still reported.
  const read =
    constants && known.includes(first)
      ? wordsOf(command, constants, { dropUnknown: first === 'update-alternatives' })
      : undefined;
  const required = read && first === 'update-alternatives' ? read.words.slice(0, 6).length === 6 : true;
  if (!read || !required || !readKnownCommand(read.words, actions) || read.dropped > 0) {
    actions.unreproduced.push(line);
  }
}

/** True when herd reproduced the command (or it has no lasting effect). */
function readKnownCommand(words: string[], actions: ScriptActions): boolean {
  const [command, ...args] = words;
  switch (command) {
    case 'update-alternatives':
      return readAlternatives(args, actions);
    case 'adduser':
    case 'useradd':
    case 'addgroup':
    case 'groupadd':
      return readAccount(command, args, actions);
    case 'mkdir':
      return readMkdir(args, actions);
    case 'install':
      return readInstallDirs(args, actions);
    case 'ln':
      return readLink(args, actions);
    default:
      return false;
  }
}

/** `update-alternatives --install <link> <name> <path> <priority> [--slave <link> <name> <path>]…`. */
function readAlternatives(args: string[], actions: ScriptActions): boolean {
  const options = args.filter(
    (a) => a === '--quiet' || a.startsWith('--altdir') || a.startsWith('--admindir'),
  );
  const rest = args.filter((a) => !options.includes(a));
  if (rest[0] !== '--install') {
    // --remove, --set, --list, --query… have nothing to add to a fresh image; --set would pick by hand.
    return rest[0] !== '--set' && rest[0] !== '--config';
  }
  const [link, name, path, priority, ...more] = rest.slice(1);
  if (
    !link ||
    !name ||
    !path ||
    !priority ||
    !/^-?\d+$/.test(priority) ||
    !link.startsWith('/') ||
    !path.startsWith('/')
  ) {
    return false;
  }
  const slaves: AlternativeLink[] = [];
  for (let i = 0; i < more.length; i += 4) {
    const [flag, slaveLink, slaveName, slavePath] = more.slice(i, i + 4);
    if (flag !== '--slave' || !slaveLink?.startsWith('/') || !slaveName || !slavePath?.startsWith('/'))
      return false;
    slaves.push({ link: slaveLink, name: slaveName, path: slavePath });
  }
  actions.alternatives.push({ link, name, path, priority: Number(priority), slaves });
  return true;
}

const optionsWithValue = new Set([
  '--home',
  '--shell',
  '--gecos',
  '--ingroup',
  '--uid',
  '--gid',
  '--comment',
  '--firstuid',
  '--lastuid',
  '-d',
  '-s',
  '-c',
  '-g',
  '-u',
  '-G',
  '-k',
  '-K',
]);

function readAccount(command: string, args: string[], actions: ScriptActions): boolean {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (optionsWithValue.has(arg)) flags.set(arg, args[++i] ?? '');
    else if (arg.startsWith('-')) flags.set(arg, true);
    else positional.push(arg);
  }
  const system = flags.has('--system') || flags.has('-r') || flags.has('--system-group');
  // An explicit uid or gid is the package's own choice; herd keeps its stable ids instead, and says so.
  if (flags.has('--uid') || flags.has('--gid') || flags.has('-u')) return false;
  if (command === 'addgroup' || command === 'groupadd') {
    const [name] = positional;
    if (!name || positional.length !== 1 || (command === 'addgroup' && !system)) return false;
    actions.accounts.push({ kind: 'group', name });
    return true;
  }
  // `adduser user group` adds a user to a group: not an account of its own.
  if (positional.length !== 1 || !system) return false;
  const name = positional[0] as string;
  const home = flags.get('--home') ?? flags.get('-d');
  const group =
    flags.get('--ingroup') ?? flags.get('-g') ?? (flags.has('--group') || flags.has('-U') ? name : undefined);
  if (typeof group === 'string' && group !== name) actions.accountsUsed.push(group);
  if (group === name) actions.accounts.push({ kind: 'group', name });
  actions.accounts.push({
    kind: 'user',
    name,
    ...(typeof home === 'string' ? { home } : {}),
    ...(typeof group === 'string' ? { group } : {}),
  });
  return true;
}

function readMkdir(args: string[], actions: ScriptActions): boolean {
  let mode: number | undefined;
  const paths: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '-m') mode = octal(args[++i]);
    else if (arg.startsWith('--mode=')) mode = octal(arg.slice(7));
    else if (arg === '-p' || arg === '--parents') continue;
    else if (arg.startsWith('-')) return false;
    else paths.push(arg);
  }
  if (
    paths.length === 0 ||
    paths.some((p) => !p.startsWith('/')) ||
    (mode === undefined && args.includes('-m'))
  ) {
    return false;
  }
  for (const path of paths) actions.directories.push({ path, ...(mode !== undefined ? { mode } : {}) });
  return true;
}

/** `install -d [-o owner] [-g group] [-m mode] dir…`; installing files is not reproduced. */
function readInstallDirs(args: string[], actions: ScriptActions): boolean {
  const dir: Omit<ScriptDirectory, 'path'> = {};
  const paths: string[] = [];
  let isDirs = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '-d' || arg === '--directory') isDirs = true;
    else if (arg === '-m') {
      const mode = octal(args[++i]);
      if (mode === undefined) return false;
      dir.mode = mode;
    } else if (arg === '-o') dir.owner = args[++i] ?? '';
    else if (arg === '-g') dir.group = args[++i] ?? '';
    else if (arg.startsWith('-')) return false;
    else paths.push(arg);
  }
  if (!isDirs || paths.length === 0 || paths.some((p) => !p.startsWith('/'))) return false;
  for (const name of [dir.owner, dir.group]) if (name && !/^\d+$/.test(name)) actions.accountsUsed.push(name);
  for (const path of paths) actions.directories.push({ path, ...dir });
  return true;
}

/** `ln -s[f] <target> <link>` with both absolute. */
function readLink(args: string[], actions: ScriptActions): boolean {
  const flags = args.filter((a) => a.startsWith('-'));
  const paths = args.filter((a) => !a.startsWith('-'));
  if (!flags.some((f) => /^-[a-zA-Z]*s/.test(f)) || paths.length !== 2) return false;
  const [target, link] = paths as [string, string];
  if (!link.startsWith('/') || !target.startsWith('/')) return false;
  actions.links.push({ link, target });
  return true;
}

function octal(text: string | undefined): number | undefined {
  return text !== undefined && /^[0-7]{3,4}$/.test(text) ? Number.parseInt(text, 8) : undefined;
}
