/**
 * /etc/passwd, /etc/group and /etc/shadow as colon-separated records, for the rules that read
 * accounts. Pure; a missing file reads as no records. passwd(5), group(5), shadow(5).
 */
import type { ImageView } from '../image-view.js';

export interface AccountRecord {
  /** The file it is in, and its 1-based line. */
  path: string;
  line: number;
  fields: string[];
}

export function accountRecords(view: ImageView, path: string): AccountRecord[] {
  const node = view.files.get(path);
  if (node?.type !== 'file' || !node.data) return [];
  const records: AccountRecord[] = [];
  for (const [index, text] of node.data.toString('utf8').split('\n').entries()) {
    // NIS `+`/`-` entries and comments are not accounts.
    if (text.trim() === '' || text.startsWith('#') || /^[+-]/.test(text)) continue;
    records.push({ path, line: index + 1, fields: text.split(':') });
  }
  return records;
}

/** The uid /etc/passwd gives a user name; undefined when it lists no such user. */
export function uidOfUser(view: ImageView, name: string): number | undefined {
  const record = accountRecords(view, '/etc/passwd').find((r) => r.fields[0] === name);
  const uid = record?.fields[2];
  return uid !== undefined && /^\d+$/.test(uid) ? Number(uid) : undefined;
}
