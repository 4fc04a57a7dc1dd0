import { readFileSync } from 'node:fs';

/** herd's version, from package.json, recorded in provenance. */
export const herdVersion: string = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
).version;
