/** Who the journal says did something: HERD_ACTOR when set (CI, the control plane), else the OS user. */
import { userInfo } from 'node:os';

export function resolveActor(env: NodeJS.ProcessEnv = process.env): string {
  const named = env.HERD_ACTOR?.trim();
  if (named) return named;
  try {
    return userInfo().username;
  } catch {
    // No passwd entry (e.g. an arbitrary uid in a container): the uid is still an answer.
    return `uid:${process.getuid?.() ?? 'unknown'}`;
  }
}
