/**
 * The values an instance (or an acceptance candidate) gets from the control plane's environment:
 * the names its spec lists as secrets or required, never one of herd's own. The control plane holds
 * HERD_KEY_PASSWORD (the signing key a remediation run unlocks), HERD_TOKEN, HERD_VULNDB_URL and the
 * like; a spec that listed one would hand it to every instance and to whoever is inside one.
 */

/** herd's own variables: never given to an instance, whatever its spec says. */
export const herdVariablePrefix = 'HERD_';

/** Pure: `names` picked from `environment`, herd's own variables and unset names left out. */
export function instanceEnvironment(
  environment: NodeJS.ProcessEnv,
  names: readonly string[],
): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    if (name.startsWith(herdVariablePrefix)) continue;
    const value = environment[name];
    if (value !== undefined) picked[name] = value;
  }
  return picked;
}
