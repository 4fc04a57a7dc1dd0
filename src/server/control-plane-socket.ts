/**
 * Where the control plane's Unix socket is, in a module of its own: the CLI finds it without
 * loading the control plane (the engine, the fleet controller, the server).
 */
import { join } from 'node:path';
import type { HerdHome } from '../herd-home.js';

/**
 * `HERD_HOME/control-plane.sock`, mode 0600: the local CLI's default way in, needing no token
 * because only the user who started the control plane (and root) can connect.
 */
export function controlPlaneSocket(home: HerdHome): string {
  return join(home.root, 'control-plane.sock');
}
